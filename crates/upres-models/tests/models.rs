//! Every network: output shape per scale, parameter count against the paper,
//! and a save -> load round trip (exact in f32, within 1/255 in f16).

use burn::module::Module;
use burn::prelude::*;
use burn::tensor::Distribution;
use upres_models::blocks::ActivationKind;
use upres_models::srcnn::SrcnnConfig;
use upres_models::{Expectation, ModelConfig, ModelError, Provenance, WeightsDtype, WeightsMeta, load_weights, save_weights};

type B = burn::backend::Flex;

fn params(config: &ModelConfig) -> usize {
    config.init::<B>(&Default::default()).unwrap().num_params()
}

fn preset(name: &str, scale: usize) -> ModelConfig {
    ModelConfig::preset(name, scale).unwrap()
}

#[test]
fn vdsr_has_the_papers_parameter_count() {
    // 20 layers of 64 3x3 filters: 0.665M weights (the reference weights have no biases).
    let mut c = preset("vdsr", 2);
    if let ModelConfig::Vdsr(v) = &mut c {
        v.bias = false;
    }
    assert_eq!(params(&c), 664_704);
    assert_eq!(params(&preset("vdsr", 2)), 664_704 + 19 * 64 + 1);
}

#[test]
fn edsr_baseline_has_the_papers_parameter_counts() {
    // EDSR paper, Table 1 and the official code: 1.37M / 1.55M / 1.52M.
    assert_eq!(params(&preset("edsr-baseline", 2)), 1_369_859);
    assert_eq!(params(&preset("edsr-baseline", 3)), 1_554_499);
    assert_eq!(params(&preset("edsr-baseline", 4)), 1_517_571);
}

#[test]
fn edsr_paper_size_has_the_papers_parameter_counts() {
    // 40.7M / 43.7M / 43.1M.
    let m = |s| params(&preset("edsr", s)) as f64 / 1e6;
    assert!((m(2) - 40.7).abs() < 0.05, "{}", m(2));
    assert!((m(3) - 43.7).abs() < 0.05, "{}", m(3));
    assert!((m(4) - 43.1).abs() < 0.05, "{}", m(4));
}

#[test]
fn srresnet_has_about_one_and_a_half_million_parameters() {
    // burn's num_params also counts batch-norm running statistics (mean and
    // variance: 2 x 64 for each of the 33 BN layers); the paper counts weights only.
    let p = params(&preset("srresnet", 4)) - 33 * 128;
    assert!((1_500_000..1_600_000).contains(&p), "{p}");
    // 9x9 head, 16 blocks (two convs, two BNs, one PReLU), mid conv+BN, two upsampling convs + PReLU, 9x9 tail.
    assert_eq!(p, 15_616 + 1 + 16 * (2 * 36_928 + 2 * 128 + 1) + 36_928 + 128 + 2 * (147_712 + 1) + 15_555);
}

#[test]
fn srcnn_has_the_papers_parameter_counts() {
    // 9-1-5: 8,032 weights + 97 biases; 9-5-5: 57,184 + 97.
    assert_eq!(params(&preset("srcnn-915", 1)), 8_129);
    assert_eq!(params(&preset("srcnn", 1)), 57_281);
}

fn random_input(c: usize, h: usize, w: usize) -> Tensor<B, 4> {
    Tensor::random([1, c, h, w], Distribution::Uniform(0.0, 1.0), &Default::default())
}

fn output_dims(config: &ModelConfig, scale: usize, h: usize, w: usize) -> [usize; 4] {
    let model = config.init::<B>(&Default::default()).unwrap();
    let c = config.color_space().channels();
    model.forward(random_input(c, h, w), scale).dims()
}

#[test]
fn every_model_has_the_right_output_shape_for_each_scale() {
    for s in [2, 3, 4] {
        assert_eq!(output_dims(&preset("edsr-baseline", s), s, 7, 5), [1, 3, 7 * s, 5 * s]);
        assert_eq!(output_dims(&preset("mdsr-baseline", s), s, 7, 5), [1, 3, 7 * s, 5 * s]);
        let srcnn_tail = ModelConfig::Srcnn(SrcnnConfig::new().with_channels(3).with_upsample(Some(s)));
        assert_eq!(output_dims(&srcnn_tail, s, 7, 5), [1, 3, 7 * s, 5 * s]);
    }
    assert_eq!(output_dims(&preset("srresnet", 4), 4, 6, 9), [1, 3, 24, 36]);
    assert_eq!(output_dims(&preset("srresnet", 2), 2, 6, 9), [1, 3, 12, 18]);
    // Bicubic-input networks keep the size.
    assert_eq!(output_dims(&preset("vdsr", 2), 2, 13, 11), [1, 1, 13, 11]);
    assert_eq!(output_dims(&preset("srcnn", 2), 2, 13, 11), [1, 1, 13, 11]);
}

#[test]
fn srcnn_study_variants_build_and_run() {
    let variants = [
        SrcnnConfig::new().with_depth(4),
        SrcnnConfig::new().with_global_residual(true),
        SrcnnConfig::new().with_batch_norm(true),
        SrcnnConfig::new().with_depth(3).with_features([64, 64]).with_residual_blocks(true),
        SrcnnConfig::new().with_activation(ActivationKind::LeakyRelu(0.2)),
        SrcnnConfig::new().with_activation(ActivationKind::PRelu { per_channel: true }),
        SrcnnConfig::new().with_channel_attention(true),
    ];
    for v in variants {
        let c = ModelConfig::Srcnn(v.clone());
        assert_eq!(output_dims(&c, 2, 12, 10), [1, 1, 12, 10], "{v:?}");
    }
    let bad = ModelConfig::Srcnn(SrcnnConfig::new().with_global_residual(true).with_upsample(Some(2)));
    assert!(matches!(bad.init::<B>(&Default::default()), Err(ModelError::InvalidConfig(_))));
}

#[test]
fn srgan_discriminator_gives_one_logit_per_image() {
    let d = upres_models::discriminator::DiscriminatorConfig::new().init::<B>(&Default::default());
    let logits = d.forward(Tensor::random([2, 3, 96, 96], Distribution::Uniform(0.0, 1.0), &Default::default()));
    assert_eq!(logits.dims(), [2, 1]);
}

#[test]
fn srgan_discriminator_at_half_width_has_the_parameters_its_layout_implies() {
    let d = upres_models::discriminator::DiscriminatorConfig::new().with_features(32).with_dense(128).init::<B>(&Default::default());
    // Eight 3x3 convs with biases, batch-norm (4 parameters a channel) after
    // all but the first, then 6x6x256 -> 128 -> 1.
    let plan = [(3, 32), (32, 32), (32, 64), (64, 64), (64, 128), (128, 128), (128, 256), (256, 256)];
    let convs: usize = plan.iter().map(|&(i, o)| i * o * 9 + o).sum();
    let norms: usize = plan[1..].iter().map(|&(_, o)| 4 * o).sum();
    let dense = 256 * 36 * 128 + 128 + 128 + 1;
    assert_eq!(d.num_params(), convs + norms + dense);
    let logits = d.forward(Tensor::random([1, 3, 96, 96], Distribution::Uniform(0.0, 1.0), &Default::default()));
    assert_eq!(logits.dims(), [1, 1]);
}

fn round_trip(config: ModelConfig, scale: usize, c: usize) {
    let device = Default::default();
    let model = config.init::<B>(&device).unwrap();
    let x = random_input(c, 12, 10);
    let y = model.forward(x.clone(), scale).into_data().to_vec::<f32>().unwrap();
    let meta = WeightsMeta::new(config.clone(), vec![scale], Provenance { author: "test".into(), ..Default::default() });

    let bytes = save_weights(&model, &meta, WeightsDtype::F32).unwrap();
    let loaded = load_weights::<B>(&bytes, &device, &Expectation::default()).unwrap();
    assert_eq!(loaded.meta.config, config);
    assert_eq!(loaded.meta.provenance.author, "test");
    // The file says which paper's network it is, from the one list of presets.
    assert_eq!(loaded.meta.preset.as_deref(), upres_models::presets::preset_of(&config).map(|p| p.name));
    let y32 = loaded.model.forward(x.clone(), scale).into_data().to_vec::<f32>().unwrap();
    assert_eq!(y, y32, "{} f32 round trip must be exact", config.arch());

    let bytes16 = save_weights(&model, &meta, WeightsDtype::F16).unwrap();
    assert!(bytes16.len() < bytes.len() * 6 / 10);
    let loaded = load_weights::<B>(&bytes16, &device, &Expectation::default()).unwrap();
    assert_eq!(loaded.meta.dtype, WeightsDtype::F16);
    let y16 = loaded.model.forward(x, scale).into_data().to_vec::<f32>().unwrap();
    let worst = y.iter().zip(&y16).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
    assert!(worst <= 1.0 / 255.0, "{} f16 differs by {worst}", config.arch());
}

#[test]
fn save_load_round_trip_for_every_model() {
    round_trip(preset("srcnn", 2), 2, 1);
    round_trip(ModelConfig::Srcnn(SrcnnConfig::new().with_batch_norm(true).with_activation(ActivationKind::PRelu { per_channel: true })), 2, 1);
    round_trip(preset("vdsr", 2), 2, 1);
    round_trip(preset("edsr-baseline", 3), 3, 3);
    round_trip(preset("mdsr-baseline", 4), 4, 3);
    round_trip(preset("srresnet", 4), 4, 3);
}

#[test]
fn weights_of_another_architecture_or_scale_are_refused_by_name() {
    let device = Default::default();
    let edsr = preset("edsr-baseline", 2);
    let model = edsr.init::<B>(&device).unwrap();
    let bytes = save_weights(&model, &WeightsMeta::new(edsr, vec![2], Provenance::default()), WeightsDtype::F32).unwrap();

    let err = load_weights::<B>(&bytes, &device, &Expectation { arch: Some("vdsr".into()), scale: None }).err().unwrap();
    assert_eq!(err.to_string(), "weights are for edsr (x2), expected vdsr");
    let err = load_weights::<B>(&bytes, &device, &Expectation { arch: None, scale: Some(3.0) }).err().unwrap();
    assert_eq!(err.to_string(), "scale x3 is not supported by this edsr model (it supports x2)");
}

#[test]
fn a_file_whose_tensors_do_not_fit_the_config_is_refused() {
    // Tensors of an x2 EDSR under an x3 config: the upsampler's shape differs.
    let device = Default::default();
    let model = preset("edsr-baseline", 2).init::<B>(&device).unwrap();
    let lying_meta = WeightsMeta::new(preset("edsr-baseline", 3), vec![3], Provenance::default());
    let bytes = save_weights(&model, &lying_meta, WeightsDtype::F32).unwrap();
    let err = load_weights::<B>(&bytes, &device, &Expectation::default()).err().unwrap().to_string();
    assert!(err.contains("upsampler.convs.0.weight is [256, 64, 3, 3], expected [576, 64, 3, 3]"), "{err}");

    let err = load_weights::<B>(b"definitely not safetensors", &device, &Expectation::default()).err().unwrap().to_string();
    assert!(err.starts_with("not an upres weights file"), "{err}");
}

#[test]
fn every_architecture_in_the_table_reads_back_under_its_own_tag() {
    // The table's tags and serde's variant names must agree, or weights
    // written under one would not load under the other.
    for &arch in upres_models::ARCHITECTURES {
        let config: ModelConfig = serde_json::from_str(&format!(r#"{{"arch": "{arch}"}}"#)).unwrap();
        assert_eq!(config.arch(), arch);
        let written = serde_json::to_value(&config).unwrap();
        assert_eq!(written["arch"], arch);
        let again: ModelConfig = serde_json::from_value(written).unwrap();
        assert_eq!(again, config);
    }
    let err = serde_json::from_str::<ModelConfig>(r#"{"arch": "rcan"}"#).unwrap_err().to_string();
    assert!(err.contains("rcan") && err.contains("sesr"), "{err}");
}

#[test]
fn f16_files_keep_batch_norm_statistics_in_f32() {
    use burn_store::ModuleSnapshot;
    // A trained SRResNet's running variances can sit below f16's smallest
    // normal; in f16 1e-7 would come back as 1.19e-7 (or 0 a bit lower).
    let config: ModelConfig = serde_json::from_str(r#"{"arch": "srresnet", "blocks": 1, "features": 8, "scale": 2}"#).unwrap();
    let model = config.init::<B>(&Default::default()).unwrap();
    let shapes = upres_models::expected_tensors(&model);
    let variances: Vec<_> = shapes.iter().filter(|(n, _)| n.ends_with("running_var")).cloned().collect();
    assert!(!variances.is_empty(), "SRResNet has batch-norm");
    let tiny = variances.iter().map(|(n, s)| (n.clone(), s.clone(), vec![1e-7f32; s.iter().product()])).collect();
    let model = upres_models::weights::apply_partial(model, "srresnet", tiny).unwrap();
    let meta = WeightsMeta::new(config.clone(), vec![2], Provenance::default());
    let bytes = save_weights(&model, &meta, WeightsDtype::F16).unwrap();

    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    for (name, view) in file.tensors() {
        // Burn-store's half-precision adapter leaves whole batch-norm layers
        // in f32 (gamma and beta are burn's names for their scale and shift).
        let batch_norm = ["running_var", "running_mean", "gamma", "beta"].iter().any(|leaf| name.ends_with(leaf));
        let expected = if batch_norm { safetensors::Dtype::F32 } else { safetensors::Dtype::F16 };
        assert_eq!(view.dtype(), expected, "{name}");
    }
    let loaded = load_weights::<B>(&bytes, &Default::default(), &Expectation::default()).unwrap();
    let shapes_after = loaded.model.collect(None, None, true);
    for snap in shapes_after.iter().filter(|s| s.full_path().ends_with("running_var")) {
        let values = snap.to_data().unwrap().convert::<f32>().into_vec::<f32>().unwrap();
        assert!(values.iter().all(|&v| v == 1e-7), "{}: {:?}", snap.full_path(), &values[..2]);
    }
}

/// Rewrite a weights file's tensors (keeping its metadata), as a lying or
/// hand-edited file would.
fn rewritten(bytes: &[u8], edit: impl FnOnce(&mut Vec<(String, safetensors::Dtype, Vec<usize>, Vec<u8>)>)) -> Vec<u8> {
    let (_, header) = safetensors::SafeTensors::read_metadata(bytes).unwrap();
    let file = safetensors::SafeTensors::deserialize(bytes).unwrap();
    let mut tensors: Vec<_> = file.tensors().into_iter().map(|(n, v)| (n, v.dtype(), v.shape().to_vec(), v.data().to_vec())).collect();
    edit(&mut tensors);
    let views = tensors.iter().map(|(n, d, s, b)| (n.clone(), safetensors::tensor::TensorView::new(*d, s.clone(), b).unwrap()));
    safetensors::serialize(views, header.metadata().clone()).unwrap()
}

#[test]
fn weights_holding_nan_or_infinity_are_refused_naming_each_tensor() {
    let device = Default::default();
    let config = preset("srcnn", 2);
    let model = config.init::<B>(&device).unwrap();
    let meta = WeightsMeta::new(config, vec![2], Provenance::default());
    let load = |bytes: &[u8]| load_weights::<B>(bytes, &device, &Expectation::default()).err().map(|e| e.to_string());
    // Overwrite the first `count` values of `name` with `value`'s bytes.
    let poisoned = |bytes: &[u8], edits: &[(&str, usize, &[u8])]| {
        rewritten(bytes, |tensors| {
            for (name, count, value) in edits {
                let (.., data) = tensors.iter_mut().find(|(n, ..)| n == name).unwrap();
                for chunk in data.chunks_mut(value.len()).take(*count) {
                    chunk.copy_from_slice(value);
                }
            }
        })
    };

    let f32_file = save_weights(&model, &meta, WeightsDtype::F32).unwrap();
    assert_eq!(load(&f32_file), None, "the clean file loads");
    let bad = poisoned(&f32_file, &[("tail.weight", 576, &f32::NAN.to_le_bytes()), ("tail.bias", 1, &f32::INFINITY.to_le_bytes())]);
    assert_eq!(
        load(&bad).as_deref(),
        Some("weights of srcnn (x2) hold non-finite values: tail.bias holds 1 infinite value, tail.weight holds 576 NaN values"),
    );

    // The same in an f16 file, where NaN has its own bit pattern.
    let f16_file = save_weights(&model, &meta, WeightsDtype::F16).unwrap();
    let nan16 = half::f16::NAN.to_le_bytes();
    let inf16 = half::f16::NEG_INFINITY.to_le_bytes();
    let bad = poisoned(&f16_file, &[("head.weight", 3, &nan16)]);
    let bad = poisoned(&bad, &[("head.bias", 2, &inf16)]);
    let message = load(&bad).expect("refused");
    assert!(message.ends_with("head.bias holds 2 infinite values, head.weight holds 3 NaN values"), "{message}");
}

#[test]
fn a_header_claiming_a_billion_layers_is_refused_before_anything_is_allocated() {
    // Found by hand: `layers: 1000000000` aborted the process on a 752 GB allocation.
    let device = Default::default();
    let config = preset("vdsr", 2);
    let model = config.init::<B>(&device).unwrap();
    let bytes = save_weights(&model, &WeightsMeta::new(config, vec![2], Provenance::default()), WeightsDtype::F16).unwrap();
    let lie = |edit: &dyn Fn(&mut serde_json::Value)| {
        let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
        let mut metadata = header.metadata().clone().unwrap();
        let mut config: serde_json::Value = serde_json::from_str(&metadata["model_config"]).unwrap();
        edit(&mut config);
        metadata.insert("model_config".into(), config.to_string());
        let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        safetensors::serialize(file.tensors(), Some(metadata)).unwrap()
    };
    let load = |bytes: &[u8]| load_weights::<B>(bytes, &device, &Expectation::default()).err().expect("refused").to_string();
    let layers = lie(&|c| c["layers"] = 1_000_000_000.into());
    assert_eq!(
        load(&layers),
        "not an upres weights file: model_config.layers is 1000000000, more than any network this build makes; a damaged or hostile file"
    );
    // Wide layers are made lazily: refused by the shape check, without allocating them.
    let wide = lie(&|c| c["features"] = 60_000.into());
    assert!(load(&wide).contains("body.0.weight is [64, 64, 3, 3], expected [60000, 60000, 3, 3]"), "{}", load(&wide));
}

#[test]
fn extra_missing_and_integer_tensors_are_refused_by_name() {
    let device = Default::default();
    let config = preset("srcnn", 2);
    let model = config.init::<B>(&device).unwrap();
    let bytes = save_weights(&model, &WeightsMeta::new(config, vec![2], Provenance::default()), WeightsDtype::F32).unwrap();
    let load = |bytes: &[u8]| load_weights::<B>(bytes, &device, &Expectation::default()).err().expect("refused").to_string();

    let extra = rewritten(&bytes, |t| t.push(("extra.weight".into(), safetensors::Dtype::F32, vec![1], vec![0; 4])));
    assert!(load(&extra).contains("unexpected 1 tensor(s) (extra.weight)"), "{}", load(&extra));

    let missing = rewritten(&bytes, |t| t.retain(|(n, ..)| n != "tail.bias"));
    assert!(load(&missing).contains("missing 1 tensor(s) (tail.bias)"), "{}", load(&missing));

    let integers = rewritten(&bytes, |t| {
        let bias = t.iter_mut().find(|(n, ..)| n == "tail.bias").unwrap();
        bias.1 = safetensors::Dtype::I32;
    });
    assert!(load(&integers).contains("tail.bias has dtype I32; only F32, F16, BF16 and F64 are read"), "{}", load(&integers));
}

/// The shipped files (written before `preset` was stored) are recognised as
/// the papers' presets (or as sizes of our own) from the config they carry,
/// whatever form they were saved in.
#[test]
fn saved_weights_say_their_preset_and_the_papers_figure() {
    let config = ModelConfig::preset("sesr-m11", 2).unwrap();
    let model = config.init::<B>(&Default::default()).unwrap();
    let meta = WeightsMeta::new(config, vec![2], Provenance::default());
    let bytes = save_weights(&model, &meta, WeightsDtype::F16).unwrap();
    let read = upres_models::read_meta(&bytes).unwrap();
    assert_eq!(read.preset.as_deref(), Some("sesr-m11"));
    assert_eq!(read.published_set5().get("x2"), Some(&37.58));
    let own = ModelConfig::Vdsr(upres_models::vdsr::VdsrConfig::new().with_layers(6).with_features(32));
    let model = own.init::<B>(&Default::default()).unwrap();
    let bytes = save_weights(&model, &WeightsMeta::new(own, vec![2], Provenance::default()), WeightsDtype::F32).unwrap();
    assert_eq!(upres_models::read_meta(&bytes).unwrap().preset, None, "sizes of our own are no preset");
}

#[test]
fn shipped_weights_are_recognised_as_their_presets() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../weights");
    let expected = [
        ("sesr-m5-x2", Some("sesr-m5"), Some(37.39)),
        ("sesr-m5-x4", Some("sesr-m5"), None),
        ("sesr-m5-x4-photo", Some("sesr-m5"), None),
        ("sesr-m11-x2-photo", Some("sesr-m11"), Some(37.58)),
        ("sesr-xl-x2", Some("sesr-xl"), Some(37.77)),
        ("vdsr-small-x2", None, None),
        ("edsr-small-x2", None, None),
    ];
    for (name, preset, paper) in expected {
        let bytes = std::fs::read(dir.join(format!("{name}.f16.safetensors"))).unwrap();
        let mut meta = upres_models::read_meta(&bytes).unwrap();
        assert_eq!(upres_models::presets::preset_of(&meta.config).map(|p| p.name), preset, "{name}");
        meta.recognise_preset();
        let first = format!("x{}", meta.scales[0]);
        assert_eq!(meta.published_set5().get(&first).copied(), paper, "{name}");
    }
}
