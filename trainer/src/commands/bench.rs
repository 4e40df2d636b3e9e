//! `trainer bench`: training-step and inference throughput per model, on the
//! chosen backend and, with `--compare`, on a reference backend in the same
//! process, with the ratio.

use std::time::Instant;
use upres_kernels::SrBackend;

use anyhow::{Context, Result};
use burn::backend::Autodiff;
use burn::module::Module;
use burn::prelude::*;
use burn::tensor::Distribution;
use rand::{Rng, SeedableRng};
use upres_models::vgg::VggConfig;
use upres_models::{InputKind, ModelConfig};

use crate::backend::{OnBackend, dispatch};
use crate::cli::{BackendArgs, BenchArgs};
use crate::train::config::{LossKind, OptimizerConfig};
use crate::train::data::Batch;
use crate::train::precision::{LossScale, Precision};
use crate::train::step::{Objective, Trainer};

/// A model with its paper's batch, patch (network-input pixels) and scale,
/// and what its step optimises (a recipe's, or L1 with Adam).
struct Case {
    name: String,
    config: ModelConfig,
    objective: Objective,
    perceptual_layer: Option<(String, usize)>,
    batch: usize,
    patch: usize,
    scale: usize,
}

impl Case {
    /// Multiply-adds of one forward pass over the batch.
    fn forward_macs(&self) -> f64 {
        let per_lr_pixel = self.config.macs_per_lr_pixel(self.scale) as f64;
        let input_pixels = (self.batch * self.patch * self.patch) as f64;
        match self.config.input_kind() {
            InputKind::Bicubic => per_lr_pixel * input_pixels / (self.scale * self.scale) as f64,
            InputKind::LowRes => per_lr_pixel * input_pixels,
        }
    }
}

/// A recipe's model, batch, patch and first scale, as `trainer train` runs it.
fn recipe_case(path: &std::path::Path, batch: Option<usize>) -> Result<Case> {
    let recipe = crate::train::config::TrainConfig::load(path, &[])?;
    let scale = *recipe.data.scales.first().context("the recipe has no training scale")?;
    Ok(Case {
        name: recipe.name.clone(),
        objective: Objective::from(&recipe),
        perceptual_layer: recipe.perceptual.as_ref().map(|p| (p.layer.clone(), p.network.depth())),
        config: recipe.model,
        batch: batch.unwrap_or(recipe.data.batch),
        patch: recipe.data.patch,
        scale,
    })
}

fn cases(names: &[String], recipes: &[std::path::PathBuf], batch: Option<usize>) -> Result<Vec<Case>> {
    if !recipes.is_empty() && names.is_empty() {
        return recipes.iter().map(|r| recipe_case(r, batch).with_context(|| r.display().to_string())).collect();
    }
    let all = [
        ("srcnn", "srcnn", 128, 33, 3),
        ("vdsr", "vdsr", 64, 41, 2),
        ("edsr-baseline", "edsr-baseline", 16, 48, 2),
        ("srresnet", "srresnet", 16, 24, 4),
        ("mdsr-baseline", "mdsr-baseline", 16, 48, 2),
    ];
    let mut out = Vec::new();
    for (name, preset, b, patch, scale) in all {
        if names.is_empty() || names.iter().any(|n| n == name) {
            out.push(Case {
                name: name.to_string(),
                config: ModelConfig::preset(preset, scale)?,
                objective: Objective {
                    optimizer: OptimizerConfig::Adam { lr: 1e-4, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weight_decay: 0.0 },
                    loss: LossKind::L1,
                    perceptual_weight: None,
                    gan: None,
                },
                perceptual_layer: None,
                batch: batch.unwrap_or(b),
                patch,
                scale,
            });
        }
    }
    for r in recipes {
        out.push(recipe_case(r, batch).with_context(|| r.display().to_string())?);
    }
    anyhow::ensure!(!out.is_empty(), "no such model in the benchmark: {names:?}");
    Ok(out)
}

#[derive(Debug, Clone)]
struct Timing {
    step_ms: f64,
    infer_ms: f64,
}

struct BenchTask<'a> {
    cases: &'a [Case],
    steps: usize,
    precision: Precision,
}

fn sync<B: SrBackend>(t: Tensor<B, 1>) {
    let _ = t.into_data();
}

/// A batch of uniform noise shaped as the case's patches.
fn noise_batch(case: &Case, seed: u64) -> Batch {
    let c = case.config.color_space().channels();
    let target = match case.config.input_kind() {
        InputKind::Bicubic => case.patch,
        InputKind::LowRes => case.patch * case.scale,
    };
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut planes = |side: usize| (0..case.batch * c * side * side).map(|_| rng.random::<f32>()).collect::<Vec<f32>>();
    let input = planes(case.patch);
    let target_values = planes(target);
    Batch {
        scale: case.scale,
        input,
        input_dims: [case.batch, c, case.patch, case.patch],
        target: target_values,
        target_dims: [case.batch, c, target, target],
    }
}

impl OnBackend for BenchTask<'_> {
    type Output = Vec<Timing>;
    fn run<B: SrBackend>(self, device: B::Device) -> Result<Vec<Timing>> {
        type AB<B> = Autodiff<B>;
        let mut out = Vec::new();
        for case in self.cases {
            let mut model = case.config.init::<AB<B>>(&device)?;
            // Timing needs no trained VGG: an untrained one costs the same.
            let vgg = match &case.perceptual_layer {
                Some((layer, depth)) => Some(VggConfig::new().with_layer(layer.clone()).with_depth(*depth).init::<AB<B>>(&device)?.no_grad()),
                None => None,
            };
            let channels = case.config.color_space().channels();
            // The step `trainer train` runs: the same Trainer, on one device.
            let mut trainer = Trainer::new(case.objective.clone(), vgg, channels, vec![device.clone()], self.precision)?;
            let mut loss_scale = (self.precision == Precision::F16).then(|| LossScale::new(65536.0));
            let batch = noise_batch(case, 0);
            let mut step = |model| -> Result<_> {
                let (model, loss) = trainer.step(model, batch.clone(), &mut loss_scale)?;
                sync(loss);
                Ok(model)
            };
            model = step(model)?; // warm-up (allocations, autotuning)
            let t = Instant::now();
            for _ in 0..self.steps {
                model = step(model)?;
            }
            let step_ms = 1000.0 * t.elapsed().as_secs_f64() / self.steps as f64;

            // Inference on one 256x256 network input (the image a user drops is tiled to this size).
            let valid = burn::module::AutodiffModule::valid(&model);
            let img = Tensor::<B, 4>::random([1, channels, 256, 256], Distribution::Uniform(0.0, 1.0), &device);
            sync(valid.forward(img.clone(), case.scale).flatten::<1>(0, 3).slice(0..1));
            let t = Instant::now();
            sync(valid.forward(img, case.scale).flatten::<1>(0, 3).slice(0..1));
            out.push(Timing { step_ms, infer_ms: 1000.0 * t.elapsed().as_secs_f64() });
        }
        Ok(out)
    }
}

pub fn run(args: BenchArgs) -> Result<()> {
    let cases = cases(&args.models, &args.configs, args.batch)?;
    let ours = dispatch(&args.backend, BenchTask { cases: &cases, steps: args.steps, precision: args.precision })?;
    let reference = match args.compare {
        Some(kind) => Some(dispatch(
            &BackendArgs { backend: kind, ..args.backend.clone() },
            BenchTask { cases: &cases, steps: args.steps, precision: args.precision },
        )?),
        None => None,
    };
    println!(
        "backend {:?} ({}){}, {} timed steps after one warm-up; inference on one 256x256 input",
        args.backend.backend,
        args.precision.name(),
        args.compare.map(|c| format!(" vs {c:?}")).unwrap_or_default(),
        args.steps
    );
    // GFLOP/s counts 2 FLOPs a multiply-add, and a training step as three forward passes (forward, backward-data, backward-weights).
    print!("{:<15} {:>5} {:>6} {:>10} {:>8} {:>10} {:>10} {:>12}", "model", "batch", "patch", "step ms", "it/s", "patches/s", "GFLOP/s", "infer ms");
    if reference.is_some() {
        print!(" {:>12} {:>12}", "ref step ms", "speed-up");
    }
    println!();
    for (i, (case, t)) in cases.iter().zip(&ours).enumerate() {
        print!(
            "{:<15} {:>5} {:>6} {:>10.1} {:>8.2} {:>10.1} {:>10.1} {:>12.1}",
            case.name,
            case.batch,
            case.patch,
            t.step_ms,
            1000.0 / t.step_ms,
            1000.0 * case.batch as f64 / t.step_ms,
            6.0 * case.forward_macs() / (t.step_ms * 1e6),
            t.infer_ms
        );
        if let Some(r) = &reference {
            print!(" {:>12.1} {:>11.2}x", r[i].step_ms, r[i].step_ms / t.step_ms);
        }
        println!();
    }
    Ok(())
}
