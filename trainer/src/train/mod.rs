//! `trainer train`: the loop, generic over any autodiff backend.

pub mod checkpoint;
pub mod config;
pub mod data;
pub mod plot;
pub mod precision;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use burn::module::{AutodiffModule, Module, ModuleVisitor, Param};
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{Adam, AdamConfig, GradientsAccumulator, GradientsParams, Optimizer, Sgd, SgdConfig};
use burn::prelude::*;
use burn::record::{BinBytesRecorder, FullPrecisionSettings, Recorder};
use burn::tensor::activation::softplus;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::DType;
use upres_image::{read_image, DecodeLimits, PlanarImage};
use upres_models::eval::{bicubic_quality, model_quality, protocol_pair};
use upres_models::discriminator::{Discriminator, DiscriminatorConfig};
use upres_models::vgg::{Vgg19, VggConfig, TORCHVISION_INDEX};
use upres_models::{save_weights, Expectation, ModelConfig, Provenance, SrModel, WeightsDtype, WeightsMeta};

use crate::cli::Precision;
use checkpoint::{Checkpoint, LoopState};
use precision::{forward_in_model_dtype, master_gradients, working_copy, LossScale};
use upres_models::blocks::in_dtype;
use config::{LossKind, OptimizerConfig, PerceptualConfig, TrainConfig};
use data::{resolve, Batch, Dataset, Prefetcher};

/// Everything `trainer train` was asked, resolved.
pub struct TrainJob {
    pub config: TrainConfig,
    pub run_dir: PathBuf,
    pub data_root: PathBuf,
    pub resume: bool,
    pub max_iters: Option<u64>,
    pub init_from: Option<PathBuf>,
    pub vgg_weights: Option<PathBuf>,
    /// The float type of the forward and backward passes (mixed precision);
    /// `None`: the resumed run's, or f32.
    pub precision: Option<Precision>,
    /// The f16 loss scale to start from.
    pub loss_scale: Option<f32>,
    pub stop: Arc<AtomicBool>,
    pub quiet: bool,
}

/// How a run ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Finished { iterations: u64 },
    Interrupted { iteration: u64 },
}

type Record = BinBytesRecorder<FullPrecisionSettings>;

enum Optim<AB: AutodiffBackend> {
    Adam(OptimizerAdaptor<Adam, SrModel<AB>, AB>),
    /// SGD with the clip bound (theta / lr) it was built for.
    Sgd(OptimizerAdaptor<Sgd<AB::InnerBackend>, SrModel<AB>, AB>, Option<f32>),
}

fn sgd<AB: AutodiffBackend>(momentum: f64, weight_decay: f32, clip: Option<f32>) -> OptimizerAdaptor<Sgd<AB::InnerBackend>, SrModel<AB>, AB> {
    SgdConfig::new()
        // PyTorch's SGD: no dampening.
        .with_momentum((momentum > 0.0).then(|| MomentumConfig::new().with_momentum(momentum).with_dampening(0.0)))
        .with_weight_decay((weight_decay > 0.0).then(|| WeightDecayConfig::new(weight_decay)))
        .with_gradient_clipping(clip.map(burn::optim::grad_clipping::GradientClippingConfig::Value))
        .init()
}

impl<AB: AutodiffBackend> Optim<AB> {
    fn new(config: &OptimizerConfig, lr: f64) -> Self {
        match *config {
            OptimizerConfig::Adam { beta1, beta2, epsilon, weight_decay, .. } => Optim::Adam(
                AdamConfig::new()
                    .with_beta_1(beta1)
                    .with_beta_2(beta2)
                    .with_epsilon(epsilon)
                    .with_weight_decay((weight_decay > 0.0).then(|| WeightDecayConfig::new(weight_decay)))
                    .init(),
            ),
            OptimizerConfig::Sgd { momentum, weight_decay, clip_theta, .. } => {
                let clip = clip_theta.map(|t| t / lr as f32);
                Optim::Sgd(sgd(momentum, weight_decay, clip), clip)
            }
        }
    }

    /// VDSR's adjustable clipping follows the learning rate: rebuild the
    /// optimiser with the new bound, keeping its momentum state.
    fn adjust_for_lr(self, config: &OptimizerConfig, lr: f64) -> Self {
        match (self, config) {
            (Optim::Sgd(o, clip), OptimizerConfig::Sgd { momentum, weight_decay, clip_theta: Some(theta), .. }) => {
                let wanted = Some(theta / lr as f32);
                if wanted == clip {
                    return Optim::Sgd(o, clip);
                }
                let record = o.to_record();
                Optim::Sgd(sgd(*momentum, *weight_decay, wanted).load_record(record), wanted)
            }
            (other, _) => other,
        }
    }

    fn step(&mut self, lr: f64, model: SrModel<AB>, grads: GradientsParams) -> SrModel<AB> {
        match self {
            Optim::Adam(o) => o.step(lr, model, grads),
            Optim::Sgd(o, _) => o.step(lr, model, grads),
        }
    }

    fn to_bytes(&self) -> Result<Vec<u8>> {
        let rec = Record::default();
        Ok(match self {
            Optim::Adam(o) => Recorder::<AB>::record(&rec, o.to_record(), ())?,
            Optim::Sgd(o, _) => Recorder::<AB>::record(&rec, o.to_record(), ())?,
        })
    }

    fn load_bytes(self, bytes: Vec<u8>, device: &AB::Device) -> Result<Self> {
        let rec = Record::default();
        Ok(match self {
            Optim::Adam(o) => Optim::Adam(o.load_record(Recorder::<AB>::load(&rec, bytes, device)?)),
            Optim::Sgd(o, c) => Optim::Sgd(o.load_record(Recorder::<AB>::load(&rec, bytes, device)?), c),
        })
    }
}

/// Initialise every lazily initialised parameter now. burn draws a lazy
/// parameter's values at its first use, separately for each clone, so the
/// copies forked to several devices would otherwise start from different weights.
struct Materialise;

impl<B: Backend> ModuleVisitor<B> for Materialise {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let _ = param.val();
    }
}

fn learning_rate(config: &TrainConfig, iteration: u64, iters_per_epoch: f64) -> f64 {
    let base = config.optimizer.lr();
    match &config.schedule {
        Some(s) => base * s.gamma.powi((iteration / s.every.iterations(iters_per_epoch).max(1)) as i32),
        None => base,
    }
}

/// Set5 (or the configured set) as protocol pairs, loaded once.
struct Validation {
    pairs: Vec<(PlanarImage, PlanarImage)>,
    scale: f64,
    bicubic_psnr: f64,
}

impl Validation {
    fn load(dir: &Path, scale: usize) -> Result<Self> {
        let mut pairs = Vec::new();
        for f in crate::files::list_images(dir).context("validation set")? {
            let image = read_image(&f, DecodeLimits::default())?;
            pairs.push(protocol_pair(&image, scale as f64, &f.display().to_string())?);
        }
        let scale = scale as f64;
        let mut sum = 0.0;
        for (hr, lr) in &pairs {
            sum += bicubic_quality(hr, lr, scale)?.psnr;
        }
        Ok(Self { bicubic_psnr: sum / pairs.len() as f64, pairs, scale })
    }

    fn run<B: Backend>(&self, model: &SrModel<B>, config: &ModelConfig, device: &B::Device) -> Result<(f64, f64)> {
        let (mut p, mut s) = (0.0, 0.0);
        for (hr, lr) in &self.pairs {
            let q = model_quality(model, config, hr, lr, self.scale, device)?;
            p += q.psnr;
            s += q.ssim;
        }
        let n = self.pairs.len() as f64;
        Ok((p / n, s / n))
    }
}

/// How a run was executed, for the weights' provenance notes.
fn execution(precision: Precision, devices: usize) -> String {
    let mixed = if precision == Precision::F32 { "" } else { " mixed precision (f32 master weights)" };
    format!("{}{mixed} on {devices} device(s)", precision.name())
}

fn provenance(config: &TrainConfig, iterations: u64, set5: Option<(usize, f64)>, elapsed_s: f64, execution: &str) -> Provenance {
    let mut p = Provenance {
        author: "upres trainer".into(),
        training_data: config.data.dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(" + "),
        iterations: Some(iterations),
        notes: format!("{} ({:.0} s of training, {execution})", config.name, elapsed_s),
        training_config: serde_json::to_value(config).ok(),
        ..Default::default()
    };
    if let Some((scale, psnr)) = set5 {
        p.set5_psnr.insert(format!("x{scale}"), (psnr * 100.0).round() / 100.0);
    }
    p
}

fn export<B: Backend>(model: &SrModel<B>, config: &TrainConfig, path: &Path, iterations: u64, set5: Option<(usize, f64)>, elapsed_s: f64, execution: &str) -> Result<()> {
    let meta = WeightsMeta::new(config.model.clone(), config.data.scales.clone(), provenance(config, iterations, set5, elapsed_s, execution));
    let bytes = save_weights(model, &meta, WeightsDtype::F32)?;
    crate::files::write_atomic(path, &bytes)
}

fn loss<B: Backend>(kind: LossKind, output: Tensor<B, 4>, target: Tensor<B, 4>) -> Tensor<B, 1> {
    let diff = output - target;
    match kind {
        LossKind::L1 => diff.abs().mean(),
        LossKind::Mse => diff.powi_scalar(2).mean(),
        LossKind::None => diff.sum().mul_scalar(0.0),
    }
}

/// A batch's (or one device's share's) planes as a tensor on `device`.
fn batch_tensor<B: Backend>(values: Vec<f32>, dims: [usize; 4], device: &B::Device) -> Tensor<B, 4> {
    Tensor::<B, 1>::from_data(TensorData::new(values, [dims.iter().product::<usize>()]), device).reshape(dims)
}

/// The generator's loss on a batch: the pixel loss, plus the perceptual term
/// where the recipe has one. Also returns the network's output.
fn generator_loss<AB: AutodiffBackend>(
    model: &SrModel<AB>,
    vgg: Option<&Vgg19<AB>>,
    config: &TrainConfig,
    x: Tensor<AB, 4>,
    y: Tensor<AB, 4>,
    scale: usize,
) -> (Tensor<AB, 1>, Tensor<AB, 4>) {
    // A half-precision network gets a half input; its output is compared with
    // the f32 target in f32 (sums over a batch overflow f16).
    let sr = forward_in_model_dtype(model, x, scale);
    let mut l = loss(config.loss, in_dtype(sr.clone(), DType::F32), y.clone());
    if let (Some(vgg), Some(p)) = (vgg, &config.perceptual) {
        let target = in_dtype(y, sr.dtype());
        let features = vgg.forward(as_rgb(sr.clone())) - vgg.forward(as_rgb(target)).detach();
        l = l + in_dtype(features, DType::F32).powi_scalar(2).mean().mul_scalar(p.weight);
    }
    (l, sr)
}

fn scaled<B: Backend>(l: Tensor<B, 1>, loss_scale: f32) -> Tensor<B, 1> {
    if loss_scale == 1.0 { l } else { l.mul_scalar(loss_scale) }
}

/// Cut a batch into `n` shares along the batch axis, as even as they come.
fn split_batch(batch: Batch, n: usize) -> Vec<Batch> {
    let total = batch.input_dims[0];
    let (in_len, out_len) = (batch.input.len() / total, batch.target.len() / total);
    let mut shares = Vec::with_capacity(n);
    let mut start = 0;
    for k in 0..n {
        let end = total * (k + 1) / n;
        if end > start {
            let mut input_dims = batch.input_dims;
            let mut target_dims = batch.target_dims;
            input_dims[0] = end - start;
            target_dims[0] = end - start;
            shares.push(Batch {
                scale: batch.scale,
                input: batch.input[start * in_len..end * in_len].to_vec(),
                input_dims,
                target: batch.target[start * out_len..end * out_len].to_vec(),
                target_dims,
            });
        }
        start = end;
    }
    shares
}

/// Data-parallel gradients, computed as burn-train's multi-device strategy
/// does: the model forked to each device, each device's share of the batch
/// through forward and backward on a thread of its own, the gradients moved
/// to the main device and summed there by burn's `GradientsAccumulator`. Each
/// share's loss is weighted by its part of the batch, so that the sum is the
/// gradient of the whole batch's mean loss.
fn data_parallel_gradients<AB: AutodiffBackend>(
    model: &SrModel<AB>,
    vgg: Option<&Vgg19<AB>>,
    config: &TrainConfig,
    batch: Batch,
    devices: &[AB::Device],
    loss_scale: f32,
) -> Result<(GradientsParams, Tensor<AB::InnerBackend, 1>)> {
    let main = &devices[0];
    let total = batch.input_dims[0] as f32;
    let shares = split_batch(batch, devices.len());
    let results = std::thread::scope(|s| {
        let workers: Vec<_> = shares
            .into_iter()
            .zip(devices)
            .map(|(share, device)| {
                let model = model.clone().fork(device);
                let vgg = vgg.map(|v| v.clone().fork(device));
                let weight = share.input_dims[0] as f32 / total;
                s.spawn(move || {
                    let x = batch_tensor::<AB>(share.input, share.input_dims, device);
                    let y = batch_tensor::<AB>(share.target, share.target_dims, device);
                    let (l, _) = generator_loss(&model, vgg.as_ref(), config, x, y, share.scale);
                    let l = l.mul_scalar(weight);
                    let grads = GradientsParams::from_grads(scaled(l.clone(), loss_scale).backward(), &model);
                    (grads.to_device(main, &model), l.inner().to_device(main))
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join()).collect::<Vec<_>>()
    });
    let mut accumulator = GradientsAccumulator::new();
    let mut batch_loss: Option<Tensor<AB::InnerBackend, 1>> = None;
    for result in results {
        let (grads, l) = result.map_err(|_| anyhow::anyhow!("a device's training thread panicked"))?;
        accumulator.accumulate(model, grads);
        batch_loss = Some(match batch_loss {
            Some(sum) => sum + l,
            None => l,
        });
    }
    Ok((accumulator.grads(), batch_loss.context("an empty batch")?))
}

/// VGG wants RGB: a Y network's output is repeated into three channels.
fn as_rgb<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 4> {
    if x.dims()[1] == 1 { x.repeat_dim(1, 3) } else { x }
}

/// The frozen VGG19 of the perceptual loss, from torchvision weights.
fn load_vgg<AB: AutodiffBackend>(config: &PerceptualConfig, weights: Option<&Path>, device: &AB::Device) -> Result<Vgg19<AB>> {
    let vgg = VggConfig::new().with_layer(config.layer.clone()).init::<AB>(device)?;
    let path = weights.context(
        "the perceptual loss needs VGG19 weights, which cannot be downloaded here: pass --vgg-weights with torchvision's vgg19 state dict (.pth) or its safetensors",
    )?;
    if path.as_os_str() == "random" {
        eprintln!("warning: --vgg-weights random: an untrained VGG19; the perceptual term only exercises the code path");
        return Ok(vgg.no_grad());
    }
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    let tensors = if ext == "safetensors" {
        crate::commands::import::read_safetensors(path)?
    } else {
        crate::commands::import::read_pytorch(path, None)?
    };
    let wanted: std::collections::BTreeSet<String> = upres_models::weights::expected_tensors(&vgg).into_iter().map(|(n, _)| n).collect();
    let mapped: Vec<(String, Vec<usize>, Vec<f32>)> = tensors
        .into_iter()
        .filter_map(|(name, shape, values)| {
            let rest = name.strip_prefix("features.")?;
            let (idx, leaf) = rest.split_once('.')?;
            let conv = TORCHVISION_INDEX.iter().position(|&i| i.to_string() == idx)?;
            let ours = format!("convs.{conv}.{leaf}");
            wanted.contains(&ours).then_some((ours, shape, values))
        })
        .collect();
    let vgg = upres_models::weights::apply_named_tensors(vgg, "vgg19", mapped).with_context(|| path.display().to_string())?;
    Ok(vgg.no_grad())
}

struct Gan<AB: AutodiffBackend> {
    discriminator: Discriminator<AB>,
    optimizer: OptimizerAdaptor<Adam, Discriminator<AB>, AB>,
}

/// Drop metric rows past `iteration` (written after the checkpoint a resumed run starts from).
fn truncate_metrics(path: &Path, iteration: u64) -> Result<()> {
    let Ok(text) = std::fs::read_to_string(path) else { return Ok(()) };
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| l.split(',').next().and_then(|i| i.parse::<u64>().ok()).is_none_or(|i| i <= iteration))
        .collect();
    crate::files::write_atomic(path, (kept.join("\n") + "\n").as_bytes())
}

pub fn train<AB: AutodiffBackend>(job: TrainJob, devices: Vec<AB::Device>) -> Result<Outcome> {
    let started = Instant::now();
    let device = devices.first().context("no device to train on")?.clone();
    std::fs::create_dir_all(&job.run_dir).with_context(|| format!("{}: cannot create run folder", job.run_dir.display()))?;
    let checkpoint_path = job.run_dir.join("checkpoint.bin");
    let metrics_path = job.run_dir.join("metrics.csv");

    let resumed = if job.resume {
        let ck = Checkpoint::read(&checkpoint_path).context("--resume")?;
        Some(ck)
    } else {
        if checkpoint_path.exists() {
            anyhow::bail!("{} already has a checkpoint: pass --resume to continue it, or choose another --out", job.run_dir.display());
        }
        None
    };
    let config = match &resumed {
        Some(ck) => ck.state.config.clone(),
        None => job.config.clone(),
    };
    let precision = job.precision.or(resumed.as_ref().map(|ck| ck.state.precision)).unwrap_or_default();
    crate::files::write_atomic(&job.run_dir.join("config.json"), serde_json::to_string_pretty(&config)?.as_bytes())?;

    if devices.len() > 1 {
        anyhow::ensure!(
            config.gan.is_none(),
            "{}: adversarial training (the discriminator's own step) runs on one device; drop --devices",
            config.name
        );
        anyhow::ensure!(
            devices.len() <= config.data.batch,
            "--devices: {} devices for a batch of {}; each device needs at least one patch",
            devices.len(),
            config.data.batch
        );
    }
    let spec = config.model.network_spec();
    let dataset = Arc::new(Dataset::load(&config.data, &job.data_root, spec.input, spec.color)?);
    let validation = Validation::load(&resolve(&job.data_root, &config.validation.dir), config.validation.scale)?;
    let epoch_patches = config.data.epoch_patches.unwrap_or_else(|| dataset.grid_patches());
    let iters_per_epoch = (epoch_patches as f64 / config.data.batch as f64).max(1.0);
    let total = config.duration.iterations(iters_per_epoch);
    let end = job.max_iters.map_or(total, |m| m.min(total));

    AB::seed(&device, config.seed);
    let mut model: SrModel<AB> = config.model.init(&device)?;
    if let Some(path) = &job.init_from {
        // Fine-tuning: weights of the same architecture (e.g. EDSR x3 from x2 share all but the upsampler).
        let bytes = crate::files::read_bytes(path)?;
        let meta = upres_models::read_meta(&bytes).with_context(|| path.display().to_string())?;
        let loaded = upres_models::load_weights::<AB>(&bytes, &device, &Expectation { arch: Some(config.model.arch().into()), scale: None })
            .with_context(|| path.display().to_string());
        model = match loaded {
            Ok(w) if w.meta.config == config.model => w.model,
            _ => init_shared_tensors(model, config.model.arch(), &bytes, &meta, path)?,
        };
    }
    model.visit(&mut Materialise);
    let half = precision.half();
    if half.is_some() {
        anyhow::ensure!(
            config.gan.is_none(),
            "{}: --precision {}: adversarial training runs in f32 for now",
            config.name,
            precision.name()
        );
        // burn's batch-norm running statistics are shared between a model and
        // its copies, so a half copy would turn the master's into half too.
        anyhow::ensure!(
            !upres_models::weights::expected_tensors(&model).iter().any(|(name, _)| name.ends_with("running_mean")),
            "{}: --precision {}: models with batch-norm ({}) train in f32 for now",
            config.name,
            precision.name(),
            config.model.arch()
        );
    }
    let mut optim = Optim::<AB>::new(&config.optimizer, learning_rate(&config, 0, iters_per_epoch));
    let vgg = match &config.perceptual {
        Some(p) => {
            let vgg = load_vgg::<AB>(p, job.vgg_weights.as_deref(), &device)?;
            vgg.visit(&mut Materialise);
            // Frozen: in mixed precision one half copy serves every step.
            Some(match half {
                Some(dtype) => working_copy(&vgg, dtype),
                None => vgg,
            })
        }
        None => None,
    };
    let channels = if spec.color == upres_models::ColorSpace::Y { 1 } else { 3 };
    let mut gan: Option<Gan<AB>> = config.gan.as_ref().map(|g| Gan {
        discriminator: DiscriminatorConfig::new().with_features(g.discriminator_features).with_channels(channels).init(&device),
        optimizer: AdamConfig::new().with_beta_1(0.9).with_beta_2(0.999).with_epsilon(1e-8).init(),
    });
    let new_loss_scale = || (precision == Precision::F16).then(|| LossScale::new(job.loss_scale.unwrap_or(65536.0)));
    let mut state =
        LoopState { iteration: 0, best_psnr: None, best_iteration: None, config: config.clone(), elapsed_s: 0.0, precision, loss_scale: new_loss_scale() };
    if let Some(ck) = resumed {
        let record = Recorder::<AB>::load(&Record::default(), ck.model, &device).context("checkpoint model")?;
        model = model.load_record(record);
        optim = optim.load_bytes(ck.optimizer, &device).context("checkpoint optimiser")?;
        if let Some(g) = gan.take() {
            let d = Recorder::<AB>::load(&Record::default(), ck.discriminator, &device).context("checkpoint discriminator")?;
            let o = Recorder::<AB>::load(&Record::default(), ck.discriminator_optimizer, &device).context("checkpoint discriminator optimiser")?;
            gan = Some(Gan { discriminator: g.discriminator.load_record(d), optimizer: g.optimizer.load_record(o) });
        }
        state = ck.state;
        if state.precision != precision || job.loss_scale.is_some() {
            state.precision = precision;
            state.loss_scale = new_loss_scale();
        }
        truncate_metrics(&metrics_path, state.iteration)?;
        eprintln!("resuming {} at iteration {}", job.run_dir.display(), state.iteration);
    } else {
        std::fs::write(&metrics_path, "iteration,epoch,loss,lr,val_psnr,val_ssim,data_ms,step_ms\n")?;
    }
    let elapsed_before = state.elapsed_s;
    let execution = execution(precision, devices.len());
    let lr0 = learning_rate(&config, state.iteration, iters_per_epoch);
    optim = optim.adjust_for_lr(&config.optimizer, lr0);

    if !job.quiet {
        eprintln!(
            "train {}: {} ({} parameters), {} images, {} iterations ({:.1} epochs of {} patches), bicubic {:.2} dB on validation x{}",
            config.name,
            config.model.arch(),
            model.num_params(),
            dataset.len(),
            end,
            end as f64 / iters_per_epoch,
            epoch_patches,
            validation.bicubic_psnr,
            config.validation.scale
        );
        eprintln!("{execution}: {devices:?}");
    }
    let bar = if job.quiet { indicatif::ProgressBar::hidden() } else { indicatif::ProgressBar::new(end) };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {msg} {per_sec} eta {eta}")
            .expect("static template")
            .progress_chars("=> "),
    );
    bar.set_position(state.iteration);

    let mut prefetch = Prefetcher::new(dataset.clone(), config.seed, state.iteration, end, config.data.workers);
    let log_every = config.validation.every.clamp(1, 25);
    let mut loss_sum: Option<Tensor<AB::InnerBackend, 1>> = None;
    let (mut data_time, mut step_time, mut window) = (0.0f64, 0.0f64, 0u64);
    let save_checkpoint = |model: &SrModel<AB>, optim: &Optim<AB>, gan: &Option<Gan<AB>>, state: &LoopState| -> Result<()> {
        let rec = Record::default();
        let model_bytes = Recorder::<AB>::record(&rec, model.clone().into_record(), ())?;
        let (discriminator, discriminator_optimizer) = match gan {
            Some(g) => (Recorder::<AB>::record(&rec, g.discriminator.clone().into_record(), ())?, Recorder::<AB>::record(&rec, g.optimizer.to_record(), ())?),
            None => (Vec::new(), Vec::new()),
        };
        Checkpoint { state: state.clone(), model: model_bytes, optimizer: optim.to_bytes()?, discriminator, discriminator_optimizer }.write(&checkpoint_path)
    };

    let mut lr = lr0;
    while state.iteration < end {
        if job.stop.load(Ordering::SeqCst) {
            state.elapsed_s = elapsed_before + started.elapsed().as_secs_f64();
            save_checkpoint(&model, &optim, &gan, &state)?;
            bar.abandon_with_message("interrupted");
            eprintln!("interrupted: checkpoint saved at iteration {}; continue with --resume", state.iteration);
            return Ok(Outcome::Interrupted { iteration: state.iteration });
        }
        let it = state.iteration;
        let new_lr = learning_rate(&config, it, iters_per_epoch);
        if new_lr != lr {
            optim = optim.adjust_for_lr(&config.optimizer, new_lr);
            lr = new_lr;
        }
        let t0 = Instant::now();
        let batch = prefetch.get(it);
        let t1 = Instant::now();
        // Mixed precision: forward and backward on a half copy of the f32 master weights.
        let working = half.map(|dtype| working_copy(&model, dtype));
        let network = working.as_ref().unwrap_or(&model);
        let scale = state.loss_scale.map_or(1.0, |s| s.scale);
        let (grads, detached) = if devices.len() > 1 {
            data_parallel_gradients(network, vgg.as_ref(), &config, batch, &devices, scale)?
        } else {
            let x = batch_tensor::<AB>(batch.input, batch.input_dims, &device);
            let y = batch_tensor::<AB>(batch.target, batch.target_dims, &device);
            let (mut l, sr) = generator_loss(network, vgg.as_ref(), &config, x, y.clone(), batch.scale);
            if let (Some(Gan { discriminator, optimizer }), Some(g)) = (gan.take(), &config.gan) {
                // Discriminator step on real HR and detached SR, then the generator's -log D(G(z)).
                let (real, fake) = (discriminator.forward(y.clone()), discriminator.forward(sr.clone().detach()));
                let d_loss = softplus(real.neg(), 1.0).mean() + softplus(fake, 1.0).mean();
                let d_grads = GradientsParams::from_grads(d_loss.backward(), &discriminator);
                let mut optimizer = optimizer;
                let d_lr = g.lr * lr / config.optimizer.lr();
                let discriminator = optimizer.step(d_lr, discriminator, d_grads);
                l = l + softplus(discriminator.forward(sr).neg(), 1.0).mean().mul_scalar(g.adversarial_weight);
                gan = Some(Gan { discriminator, optimizer });
            }
            (GradientsParams::from_grads(scaled(l.clone(), scale).backward(), network), l.inner())
        };
        let (grads, finite) = match half {
            Some(_) => master_gradients(&model, grads, scale, state.loss_scale.is_some()),
            None => (grads, true),
        };
        if let Some(s) = state.loss_scale.as_mut() {
            s.update(finite);
        }
        // An overflowed f16 step is skipped (its scale is already halved).
        if finite {
            model = optim.step(lr, model, grads);
        }
        loss_sum = Some(match loss_sum.take() {
            Some(s) => s + detached,
            None => detached,
        });
        data_time += (t1 - t0).as_secs_f64();
        step_time += t1.elapsed().as_secs_f64();
        window += 1;
        state.iteration += 1;
        let it = state.iteration;

        let validate = it % config.validation.every == 0 || it == end;
        if it % log_every == 0 || validate {
            let mean_loss = loss_sum.take().map(|s| s.into_scalar().elem::<f64>()).unwrap_or(f64::NAN) / window as f64;
            if !mean_loss.is_finite() {
                bar.abandon_with_message("diverged");
                let hint = match precision {
                    Precision::F32 => "; lower the learning rate (--set optimizer.lr=...)",
                    _ => "; lower the learning rate, or train in f32",
                };
                anyhow::bail!(
                    "iteration {it}: the loss is {mean_loss}: training diverged{hint}; --resume continues from the last checkpoint, iteration {}",
                    Checkpoint::read(&checkpoint_path).map(|c| c.state.iteration).unwrap_or(0)
                );
            }
            let (mut psnr, mut ssim) = (String::new(), String::new());
            if validate {
                let valid_model = model.valid();
                let (p, s) = validation.run(&valid_model, &config.model, &device)?;
                psnr = format!("{p:.4}");
                ssim = format!("{s:.5}");
                if state.best_psnr.is_none_or(|b| p > b) {
                    state.best_psnr = Some(p);
                    state.best_iteration = Some(it);
                    let elapsed = elapsed_before + started.elapsed().as_secs_f64();
                    export(&valid_model, &config, &job.run_dir.join("best.safetensors"), it, Some((config.validation.scale, p)), elapsed, &execution)?;
                }
                bar.suspend(|| {
                    if !job.quiet {
                        eprintln!("iteration {it}: validation {p:.2} dB / {s:.4} (bicubic {:.2}), best {:.2}", validation.bicubic_psnr, state.best_psnr.unwrap_or(p));
                    }
                });
            }
            let row = format!(
                "{it},{:.4},{mean_loss:.6},{lr:e},{psnr},{ssim},{:.3},{:.3}\n",
                it as f64 / iters_per_epoch,
                1000.0 * data_time / window as f64,
                1000.0 * step_time / window as f64
            );
            std::io::Write::write_all(&mut std::fs::OpenOptions::new().append(true).open(&metrics_path)?, row.as_bytes())?;
            bar.set_message(format!(
                "ep {:.2} loss {mean_loss:.5} lr {lr:.1e} data {:.1}ms/it",
                it as f64 / iters_per_epoch,
                1000.0 * data_time / window as f64
            ));
            (data_time, step_time, window) = (0.0, 0.0, 0);
        }
        if it % config.checkpoint_every == 0 || it == end {
            state.elapsed_s = elapsed_before + started.elapsed().as_secs_f64();
            save_checkpoint(&model, &optim, &gan, &state)?;
        }
        bar.set_position(it);
    }
    bar.finish_and_clear();
    let elapsed = elapsed_before + started.elapsed().as_secs_f64();
    let last_psnr = plot::last_validation(&metrics_path);
    export(&model.valid(), &config, &job.run_dir.join("last.safetensors"), end, last_psnr.map(|p| (config.validation.scale, p)), elapsed, &execution)?;
    if let Err(e) = plot::curves(&metrics_path, &job.run_dir.join("curves.png"), validation.bicubic_psnr, config.validation.published_psnr, &config.name) {
        eprintln!("warning: no curves.png: {e:#}");
    }
    if !job.quiet {
        eprintln!(
            "done: {end} iterations in {elapsed:.0} s; best validation {:.2} dB at iteration {} (bicubic {:.2}); weights in {}",
            state.best_psnr.unwrap_or(f64::NAN),
            state.best_iteration.unwrap_or(0),
            validation.bicubic_psnr,
            job.run_dir.display()
        );
    }
    Ok(Outcome::Finished { iterations: end })
}

/// Start from another model's weights where names and shapes agree (EDSR x3
/// from x2: everything but the upsampler), and say what was kept.
fn init_shared_tensors<AB: AutodiffBackend>(model: SrModel<AB>, arch: &str, bytes: &[u8], meta: &WeightsMeta, path: &Path) -> Result<SrModel<AB>> {
    let file = safetensors::SafeTensors::deserialize(bytes).with_context(|| path.display().to_string())?;
    let expected: std::collections::BTreeMap<String, Vec<usize>> = upres_models::weights::expected_tensors(&model).into_iter().collect();
    let mut shared = Vec::new();
    for (name, shape) in &expected {
        if let Ok(view) = file.tensor(name) {
            if view.shape() == shape.as_slice() {
                if let Some(values) = upres_models::weights::float_values(&view) {
                    shared.push((name.clone(), shape.clone(), values));
                }
            }
        }
    }
    anyhow::ensure!(!shared.is_empty(), "{}: no tensor of this {} model fits the {arch}", path.display(), meta.describe());
    eprintln!("init-from {}: {} of {} tensors taken over", path.display(), shared.len(), expected.len());
    Ok(upres_models::weights::apply_partial(model, arch, shared)?)
}

