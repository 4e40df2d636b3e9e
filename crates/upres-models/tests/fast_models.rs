//! FSRCNN and SESR: the collapse of SESR's linear blocks is exact, the costs
//! are the papers', and both run at x2, x3 and x4 from the LR image.

use burn::module::{Module, Param};
use burn::prelude::*;
use burn::tensor::Distribution;
use upres_models::sesr::{ExpandedBlock, LinearBlock};
use upres_models::{Expectation, ModelConfig, Provenance, SrModel, WeightsDtype, WeightsMeta, load_weights, save_weights};

type B = burn::backend::Flex;

fn random<const D: usize>(shape: [usize; D], spread: f64) -> Tensor<B, D> {
    Tensor::random(shape, Distribution::Uniform(-spread, spread), &Default::default())
}

fn max_abs_diff(a: Tensor<B, 4>, b: Tensor<B, 4>) -> f32 {
    (a - b).abs().max().into_scalar()
}

fn expanded_block(cin: usize, cout: usize, k: usize, p: usize) -> ExpandedBlock<B> {
    ExpandedBlock {
        expand: Param::from_tensor(random([p, cin, k, k], 0.2)),
        project: Param::from_tensor(random([cout, p], 0.2)),
        bias: Param::from_tensor(random([cout], 0.5)),
        residual: cin == cout,
    }
}

#[test]
fn a_collapsed_linear_block_computes_what_its_two_layers_compute() {
    // The paper's 3x3 blocks (with the short residual) and its 5x5 head and tail (without).
    for (cin, cout, k) in [(16, 16, 3), (1, 16, 5), (16, 4, 5)] {
        let block = expanded_block(cin, cout, k, 256);
        let x = random([2, cin, 11, 9], 1.0);
        let layer_by_layer = block.forward_expanded(x.clone());
        let collapsed = LinearBlock::Expanded(block).collapse();
        let diff = max_abs_diff(collapsed.forward(x), layer_by_layer.clone());
        let scale: f32 = layer_by_layer.abs().max().into_scalar();
        assert!(diff <= 1e-5 * scale.max(1.0), "{cin}->{cout} {k}x{k}: differs by {diff} (outputs up to {scale})");
    }
}

#[test]
fn a_collapsed_sesr_equals_the_trained_form_and_keeps_only_plain_kernels() {
    let device = Default::default();
    for scale in [2, 3, 4] {
        let config = ModelConfig::preset("sesr-m5", scale).unwrap();
        let model = config.init::<B>(&device).unwrap();
        let x = Tensor::<B, 4>::random([1, 1, 13, 10], Distribution::Uniform(0.0, 1.0), &device);
        let y = model.forward(x.clone(), scale);
        assert_eq!(y.dims(), [1, 1, 13 * scale, 10 * scale]);
        let (inference_config, collapsed) = model.for_inference(&config);
        let diff = max_abs_diff(collapsed.forward(x, scale), y);
        assert!(diff <= 1e-5, "x{scale}: collapsed differs by {diff}");
        let ModelConfig::Sesr(c) = &inference_config else { panic!("still SESR") };
        assert!(c.collapsed);
        // The collapsed file holds the m + 2 kernels, their biases and the PReLU slopes: 13.52K weights at x2.
        let SrModel::Sesr(m) = &collapsed else { panic!("still SESR") };
        let kernels: usize =
            std::iter::once(&m.input_block).chain(&m.blocks).chain([&m.output_block]).map(|b| b.kernel().dims().iter().product::<usize>()).sum();
        assert_eq!(kernels as u64, inference_config.macs_per_lr_pixel(scale), "x{scale}");
        assert_eq!(collapsed.num_params(), kernels + (16 + 5 * 16 + scale * scale) + 5 * 16);
    }
}

#[test]
fn costs_per_lr_pixel_are_the_papers() {
    let macs = |name: &str, scale: usize| ModelConfig::preset(name, scale).unwrap().macs_per_lr_pixel(scale);
    // SESR paper, Table 1: M5 13.52K, M11 27.34K, XL 105.37K at x2; the tail grows with scale^2.
    assert_eq!(macs("sesr-m5", 2), 13_520);
    assert_eq!(macs("sesr-m11", 2), 27_344);
    assert_eq!(macs("sesr-xl", 2), 105_376);
    assert_eq!(macs("sesr-m5", 4), 13_520 + 25 * 16 * 12);
    // FSRCNN paper, section 3.3: 12,464 for (56, 12, 4) and 3,937 for FSRCNN-s (32, 5, 1), at any scale.
    assert_eq!(macs("fsrcnn", 2), 12_464);
    assert_eq!(macs("fsrcnn", 4), 12_464);
    assert_eq!(macs("fsrcnn-s", 3), 3_937);
    // VDSR runs at the output size: 664,704 per HR pixel, 2.66M per LR pixel at x2.
    assert_eq!(macs("vdsr", 2), 4 * 664_704);
    // FSRCNN's parameters are its weights (one per multiply-add), the biases and the PReLU slopes.
    let fsrcnn = ModelConfig::preset("fsrcnn", 3).unwrap().init::<B>(&Default::default()).unwrap();
    assert_eq!(fsrcnn.num_params(), 12_464 + (56 + 12 + 4 * 12 + 56 + 1) + (56 + 12 + 4 * 12 + 56));
}

#[test]
fn fsrcnn_upscales_by_its_scale_exactly() {
    for scale in [2, 3, 4] {
        let config = ModelConfig::preset("fsrcnn", scale).unwrap();
        let model = config.init::<B>(&Default::default()).unwrap();
        let x = Tensor::<B, 4>::random([2, 1, 9, 7], Distribution::Uniform(0.0, 1.0), &Default::default());
        assert_eq!(model.forward(x, scale).dims(), [2, 1, 9 * scale, 7 * scale]);
    }
}

#[test]
fn fast_models_survive_a_save_load_round_trip_in_both_forms() {
    let device = Default::default();
    for name in ["fsrcnn", "fsrcnn-s", "sesr-m5", "sesr-xl"] {
        let config = ModelConfig::preset(name, 3).unwrap();
        let model = config.init::<B>(&device).unwrap();
        let (config, model) = if name == "sesr-xl" { model.for_inference(&config) } else { (config, model) };
        let x = Tensor::<B, 4>::random([1, 1, 8, 9], Distribution::Uniform(0.0, 1.0), &device);
        let y = model.forward(x.clone(), 3);
        let meta = WeightsMeta::new(config.clone(), vec![3], Provenance::default());
        let bytes = save_weights(&model, &meta, WeightsDtype::F32).unwrap();
        let loaded = load_weights::<B>(&bytes, &device, &Expectation::default()).unwrap();
        assert_eq!(loaded.meta.config, config, "{name}");
        assert_eq!(max_abs_diff(loaded.model.forward(x, 3), y), 0.0, "{name}");
    }
}
