//! `trainer bench`: training-step and inference throughput per model, on the
//! chosen backend and, with `--compare`, on a reference backend in the same
//! process, with the ratio.

use std::time::Instant;

use anyhow::{Context, Result};
use burn::backend::Autodiff;
use burn::optim::{AdamConfig, GradientsParams, Optimizer};
use burn::prelude::*;
use burn::tensor::{DType, Distribution};
use upres_models::{InputKind, ModelConfig};

use crate::backend::{dispatch, OnBackend};
use crate::cli::{BackendArgs, BenchArgs, Precision};
use crate::train::precision::{forward_in_model_dtype, master_gradients, working_copy};
use upres_models::blocks::in_dtype;

/// A model with its paper's batch, patch (network-input pixels) and scale.
struct Case {
    name: String,
    config: ModelConfig,
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
    Ok(Case { name: recipe.name, config: recipe.model, batch: batch.unwrap_or(recipe.data.batch), patch: recipe.data.patch, scale })
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
            out.push(Case { name: name.to_string(), config: ModelConfig::preset(preset, scale)?, batch: batch.unwrap_or(b), patch, scale });
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

fn sync<B: Backend>(t: Tensor<B, 1>) {
    let _ = t.into_data();
}

impl OnBackend for BenchTask<'_> {
    type Output = Vec<Timing>;
    fn run<B: Backend>(self, device: B::Device) -> Result<Vec<Timing>> {
        type AB<B> = Autodiff<B>;
        let mut out = Vec::new();
        for case in self.cases {
            let mut model = case.config.init::<AB<B>>(&device)?;
            let mut optim = AdamConfig::new().init();
            let c = if case.config.color_space() == upres_models::ColorSpace::Y { 1 } else { 3 };
            let target = match case.config.input_kind() {
                InputKind::Bicubic => case.patch,
                InputKind::LowRes => case.patch * case.scale,
            };
            let x = Tensor::<AB<B>, 4>::random([case.batch, c, case.patch, case.patch], Distribution::Uniform(0.0, 1.0), &device);
            let y = Tensor::<AB<B>, 4>::random([case.batch, c, target, target], Distribution::Uniform(0.0, 1.0), &device);
            let half = self.precision.half();
            // As `trainer train` steps: in half precision, forward and backward
            // on a half copy, the f32 gradients applied to the f32 weights.
            let mut step = |model: upres_models::SrModel<AB<B>>| {
                let working = half.map(|dtype| working_copy(&model, dtype));
                let network = working.as_ref().unwrap_or(&model);
                let output = in_dtype(forward_in_model_dtype(network, x.clone(), case.scale), DType::F32);
                let loss = (output - y.clone()).abs().mean();
                let grads = GradientsParams::from_grads(loss.backward(), network);
                let grads = if half.is_some() { master_gradients(&model, grads, 1.0, false).0 } else { grads };
                let model = optim.step(1e-4, model, grads);
                sync(loss.inner());
                model
            };
            model = step(model); // warm-up (allocations, autotuning)
            let t = Instant::now();
            for _ in 0..self.steps {
                model = step(model);
            }
            let step_ms = 1000.0 * t.elapsed().as_secs_f64() / self.steps as f64;

            // Inference on one 256x256 network input (the image a user drops is tiled to this size).
            let valid = burn::module::AutodiffModule::valid(&model);
            let img = Tensor::<B, 4>::random([1, c, 256, 256], Distribution::Uniform(0.0, 1.0), &device);
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
        Some(kind) => Some(dispatch(&BackendArgs { backend: kind, ..args.backend.clone() }, BenchTask { cases: &cases, steps: args.steps, precision: args.precision })?),
        None => None,
    };
    println!("backend {:?} ({}){}, {} timed steps after one warm-up; inference on one 256x256 input", args.backend.backend, args.precision.name(),
        args.compare.map(|c| format!(" vs {c:?}")).unwrap_or_default(), args.steps);
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
