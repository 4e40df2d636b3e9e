//! `trainer train`: the loop, generic over any autodiff backend. The step
//! itself is [`step::Trainer::step`]; this file sets a run up, resumes it,
//! logs, validates, checkpoints and exports.

pub mod checkpoint;
pub mod config;
pub mod data;
pub mod metrics;
pub mod optim;
pub mod perceptual;
pub mod plot;
pub mod precision;
pub mod step;
pub mod validation;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;
use upres_kernels::{SrAutodiffBackend, SrBackend};

use anyhow::{Context, Result};
use burn::module::{AutodiffModule, Module, ModuleVisitor, Param};
use burn::prelude::*;
use burn::record::Recorder;
use upres_models::{Expectation, Provenance, SrModel, WeightsDtype, WeightsMeta, save_weights};

use checkpoint::{Checkpoint, LoopState};
use config::TrainConfig;
use data::{Dataset, Prefetcher, resolve};
use metrics::MetricsRow;
use optim::Record;
use precision::{LossScale, Precision};
use step::{Objective, Trainer};
use validation::Validation;

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

/// Initialise every lazily initialised parameter now. burn draws a lazy
/// parameter's values at its first use, separately for each clone, so the
/// copies forked to several devices would otherwise start from different weights.
struct Materialise;

impl<B: SrBackend> ModuleVisitor<B> for Materialise {
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
    move_degraded_validation_to_notes(&mut p);
    p
}

/// `set5_psnr` is the papers' clean protocol, which the model menus print
/// beside the paper's figure. A run validated on degraded LR
/// (`validation.degrade`) scored something else: that score goes into the
/// notes with what it was measured on, and `set5_psnr` stays empty. Also
/// applied by `trainer export`, for weights written before this rule.
pub fn move_degraded_validation_to_notes(p: &mut Provenance) {
    let validation = p.training_config.as_ref().and_then(|c| c.get("validation"));
    let Some(spec) = validation.and_then(|v| v.get("degrade")).and_then(|d| d.as_str()) else { return };
    let dir = validation.and_then(|v| v.get("dir")).and_then(|d| d.as_str()).unwrap_or("validation set");
    for (scale, psnr) in std::mem::take(&mut p.set5_psnr) {
        p.notes = format!("{}; best validation: {dir} {scale} degraded by {spec}, {psnr:.2} dB", p.notes);
    }
}

fn export<B: SrBackend>(
    model: &SrModel<B>,
    config: &TrainConfig,
    path: &Path,
    iterations: u64,
    set5: Option<(usize, f64)>,
    elapsed_s: f64,
    execution: &str,
) -> Result<()> {
    let meta = WeightsMeta::new(config.model.clone(), config.data.scales.clone(), provenance(config, iterations, set5, elapsed_s, execution));
    let bytes = save_weights(model, &meta, WeightsDtype::F32)?;
    crate::files::write_atomic(path, &bytes)
}

/// A run folder's files.
struct RunFiles {
    dir: PathBuf,
    checkpoint: PathBuf,
    metrics: PathBuf,
}

impl RunFiles {
    fn new(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create run folder", dir.display()))?;
        Ok(Self { dir: dir.to_owned(), checkpoint: dir.join("checkpoint.bin"), metrics: dir.join("metrics.csv") })
    }
}

/// The model a run starts from: the recipe's, seeded, or the weights of
/// `--init-from` where they fit.
fn initial_model<AB: SrAutodiffBackend>(config: &TrainConfig, init_from: Option<&Path>, device: &AB::Device) -> Result<SrModel<AB>> {
    AB::seed(device, config.seed);
    let mut model: SrModel<AB> = config.model.init(device)?;
    if let Some(path) = init_from {
        // Fine-tuning: weights of the same architecture (e.g. EDSR x3 from x2 share all but the upsampler).
        let bytes = crate::files::read_bytes(path)?;
        let file = upres_models::open_weights(&bytes[..]).with_context(|| path.display().to_string())?;
        let loaded = file.load::<AB>(device, &Expectation { arch: Some(config.model.arch().into()), scale: None });
        model = match loaded {
            Ok(w) if w.meta.config == config.model => w.model,
            _ => init_shared_tensors(model, config.model.arch(), &bytes, file.meta(), path)?,
        };
    }
    model.visit(&mut Materialise);
    Ok(model)
}

/// What mixed precision does not cover yet.
fn check_precision<AB: SrAutodiffBackend>(config: &TrainConfig, model: &SrModel<AB>, precision: Precision) -> Result<()> {
    if precision.half().is_none() {
        return Ok(());
    }
    anyhow::ensure!(config.gan.is_none(), "{}: --precision {}: adversarial training runs in f32 for now", config.name, precision.name());
    // burn's batch-norm running statistics are shared between a model and
    // its copies, so a half copy would turn the master's into half too.
    anyhow::ensure!(
        !upres_models::weights::expected_tensors(model).iter().any(|(name, _)| name.ends_with("running_mean")),
        "{}: --precision {}: models with batch-norm ({}) train in f32 for now",
        config.name,
        precision.name(),
        config.model.arch()
    );
    Ok(())
}

fn save_checkpoint<AB: SrAutodiffBackend>(path: &Path, model: &SrModel<AB>, trainer: &Trainer<AB>, state: &LoopState) -> Result<()> {
    let rec = Record::default();
    let model_bytes = Recorder::<AB>::record(&rec, model.clone().into_record(), ())?;
    let (discriminator, discriminator_optimizer) = match &trainer.gan {
        Some(g) => (Recorder::<AB>::record(&rec, g.discriminator.clone().into_record(), ())?, g.optimizer.to_bytes()?),
        None => (Vec::new(), Vec::new()),
    };
    Checkpoint { state: state.clone(), model: model_bytes, optimizer: trainer.optimizer.to_bytes()?, discriminator, discriminator_optimizer }
        .write(path)
}

/// The model, optimisers and loop state of a checkpoint.
fn restore<AB: SrAutodiffBackend>(
    ck: Checkpoint,
    model: SrModel<AB>,
    trainer: &mut Trainer<AB>,
    device: &AB::Device,
) -> Result<(SrModel<AB>, LoopState)> {
    let rec = Record::default();
    let model = model.load_record(Recorder::<AB>::load(&rec, ck.model, device).context("checkpoint model")?);
    trainer.optimizer.load_bytes(ck.optimizer, device).context("checkpoint optimiser")?;
    if let Some(g) = trainer.gan.as_mut() {
        let d = Recorder::<AB>::load(&rec, ck.discriminator, device).context("checkpoint discriminator")?;
        g.discriminator = g.discriminator.clone().load_record(d);
        g.optimizer.load_bytes(ck.discriminator_optimizer, device).context("checkpoint discriminator optimiser")?;
    }
    Ok((model, ck.state))
}

/// Mean loss and times of the steps since the last row of metrics.csv.
#[derive(Default)]
struct Window<B: SrBackend> {
    loss_sum: Option<Tensor<B, 1>>,
    data_s: f64,
    step_s: f64,
    steps: u64,
}

impl<B: SrBackend> Window<B> {
    fn add(&mut self, loss: Tensor<B, 1>, data_s: f64, step_s: f64) {
        self.loss_sum = Some(match self.loss_sum.take() {
            Some(s) => s + loss,
            None => loss,
        });
        self.data_s += data_s;
        self.step_s += step_s;
        self.steps += 1;
    }

    /// The window's mean loss (read back now) and mean ms per step for the data and the step; the window starts again.
    fn take(&mut self) -> (f64, f64, f64) {
        let n = self.steps.max(1) as f64;
        let loss = self.loss_sum.take().map(|s| s.into_scalar().elem::<f64>()).unwrap_or(f64::NAN) / n;
        let out = (loss, 1000.0 * self.data_s / n, 1000.0 * self.step_s / n);
        *self = Self { loss_sum: None, data_s: 0.0, step_s: 0.0, steps: 0 };
        out
    }
}

pub fn train<AB: SrAutodiffBackend>(job: TrainJob, devices: Vec<AB::Device>) -> Result<Outcome> {
    let started = Instant::now();
    let device = devices.first().context("no device to train on")?.clone();
    let files = RunFiles::new(&job.run_dir)?;

    let resumed = if job.resume {
        Some(Checkpoint::read(&files.checkpoint).context("--resume")?)
    } else {
        if files.checkpoint.exists() {
            anyhow::bail!("{} already has a checkpoint: pass --resume to continue it, or choose another --out", files.dir.display());
        }
        None
    };
    let config = match &resumed {
        Some(ck) => ck.state.config.clone(),
        None => with_presets_expanded(job.config.clone()),
    };
    let precision = job.precision.or(resumed.as_ref().map(|ck| ck.state.precision)).unwrap_or_default();
    crate::files::write_atomic(&files.dir.join("config.json"), serde_json::to_string_pretty(&config)?.as_bytes())?;
    anyhow::ensure!(
        devices.len() <= config.data.batch,
        "--devices: {} devices for a batch of {}; each device needs at least one patch",
        devices.len(),
        config.data.batch
    );
    let spec = config.model.network_spec();
    let dataset = Arc::new(Dataset::load(&config.data, &job.data_root, spec.input, spec.color)?);
    let validation =
        Validation::load(&resolve(&job.data_root, &config.validation.dir), config.validation.scale, config.validation.degrade.as_deref())?;
    let epoch_patches = config.data.epoch_patches.unwrap_or_else(|| dataset.grid_patches());
    let iters_per_epoch = (epoch_patches as f64 / config.data.batch as f64).max(1.0);
    let total = config.duration.iterations(iters_per_epoch);
    let end = job.max_iters.map_or(total, |m| m.min(total));

    let mut model = initial_model::<AB>(&config, job.init_from.as_deref(), &device)?;
    check_precision(&config, &model, precision)?;
    let vgg = match &config.perceptual {
        Some(p) => {
            let vgg = perceptual::load_vgg::<AB>(p, job.vgg_weights.as_deref(), &device)?;
            vgg.visit(&mut Materialise);
            Some(vgg)
        }
        None => None,
    };
    let mut trainer =
        Trainer::new(Objective::from(&config), vgg, spec.color.channels(), devices.clone(), precision).with_context(|| config.name.clone())?;
    let new_loss_scale = || (precision == Precision::F16).then(|| LossScale::new(job.loss_scale.unwrap_or(65536.0)));
    let mut state = LoopState {
        iteration: 0,
        best_psnr: None,
        best_iteration: None,
        config: config.clone(),
        elapsed_s: 0.0,
        precision,
        loss_scale: new_loss_scale(),
    };
    if let Some(ck) = resumed {
        (model, state) = restore(ck, model, &mut trainer, &device)?;
        if state.precision != precision || job.loss_scale.is_some() {
            state.precision = precision;
            state.loss_scale = new_loss_scale();
        }
        metrics::truncate(&files.metrics, state.iteration)?;
        eprintln!("resuming {} at iteration {}", files.dir.display(), state.iteration);
    } else {
        metrics::create(&files.metrics)?;
    }
    let elapsed_before = state.elapsed_s;
    let execution = execution(precision, devices.len());
    let mut lr = learning_rate(&config, state.iteration, iters_per_epoch);
    trainer.set_lr(lr);

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
        indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {msg} {per_sec} eta {eta}").expect("static template").progress_chars("=> "),
    );
    bar.set_position(state.iteration);

    let mut prefetch = Prefetcher::new(dataset.clone(), config.seed, state.iteration, end, config.data.workers);
    let log_every = config.validation.every.clamp(1, 25);
    let mut window = Window::<AB::InnerBackend>::default();
    let mut timed = Timed::default();
    while state.iteration < end {
        if job.stop.load(Ordering::SeqCst) {
            state.elapsed_s = elapsed_before + started.elapsed().as_secs_f64();
            save_checkpoint(&files.checkpoint, &model, &trainer, &state)?;
            bar.abandon_with_message("interrupted");
            eprintln!("interrupted: checkpoint saved at iteration {}; continue with --resume", state.iteration);
            return Ok(Outcome::Interrupted { iteration: state.iteration });
        }
        let new_lr = learning_rate(&config, state.iteration, iters_per_epoch);
        if new_lr != lr {
            trainer.set_lr(new_lr);
            lr = new_lr;
        }
        let t0 = Instant::now();
        let batch = prefetch.get(state.iteration);
        let t1 = Instant::now();
        let loss;
        (model, loss) = trainer.step(model, batch, &mut state.loss_scale)?;
        let (wait_s, step_s) = ((t1 - t0).as_secs_f64(), t1.elapsed().as_secs_f64());
        window.add(loss, wait_s, step_s);
        timed = Timed { steps: timed.steps + 1, wait_s: timed.wait_s + wait_s, step_s: timed.step_s + step_s };
        state.iteration += 1;
        let it = state.iteration;

        let validate = it % config.validation.every == 0 || it == end;
        if it % log_every == 0 || validate {
            let (mean_loss, data_ms, step_ms) = window.take();
            if !mean_loss.is_finite() {
                bar.abandon_with_message("diverged");
                let hint = match precision {
                    Precision::F32 => "; lower the learning rate (--set optimizer.lr=...)",
                    _ => "; lower the learning rate, or train in f32",
                };
                anyhow::bail!(
                    "iteration {it}: the loss is {mean_loss}: training diverged{hint}; --resume continues from the last checkpoint, iteration {}",
                    Checkpoint::read(&files.checkpoint).map(|c| c.state.iteration).unwrap_or(0)
                );
            }
            let mut row = MetricsRow {
                iteration: it,
                epoch: it as f64 / iters_per_epoch,
                loss: mean_loss,
                lr,
                val_psnr: None,
                val_ssim: None,
                data_ms,
                step_ms,
            };
            if validate {
                let valid_model = model.valid();
                let (p, s) = validation.run(&valid_model, &config.model, &device)?;
                (row.val_psnr, row.val_ssim) = (Some(p), Some(s));
                if state.best_psnr.is_none_or(|b| p > b) {
                    state.best_psnr = Some(p);
                    state.best_iteration = Some(it);
                    let elapsed = elapsed_before + started.elapsed().as_secs_f64();
                    export(&valid_model, &config, &files.dir.join("best.safetensors"), it, Some((config.validation.scale, p)), elapsed, &execution)?;
                }
                bar.suspend(|| {
                    if !job.quiet {
                        eprintln!(
                            "iteration {it}: validation {p:.2} dB / {s:.4} (bicubic {:.2}), best {:.2}",
                            validation.bicubic_psnr,
                            state.best_psnr.unwrap_or(p)
                        );
                    }
                });
            }
            metrics::append(&files.metrics, &row)?;
            bar.set_message(format!("ep {:.2} loss {mean_loss:.5} lr {lr:.1e} data {data_ms:.1}ms/it", row.epoch));
        }
        if it % config.checkpoint_every == 0 || it == end {
            state.elapsed_s = elapsed_before + started.elapsed().as_secs_f64();
            save_checkpoint(&files.checkpoint, &model, &trainer, &state)?;
        }
        bar.set_position(it);
    }
    bar.finish_and_clear();
    let elapsed = elapsed_before + started.elapsed().as_secs_f64();
    let last_psnr = metrics::last_validation(&files.metrics);
    export(&model.valid(), &config, &files.dir.join("last.safetensors"), end, last_psnr.map(|p| (config.validation.scale, p)), elapsed, &execution)?;
    if let Err(e) =
        plot::curves(&files.metrics, &files.dir.join("curves.png"), validation.bicubic_psnr, config.validation.published_psnr, &config.name)
    {
        eprintln!("warning: no curves.png: {e:#}");
    }
    if !job.quiet {
        if let Some(ms) = prefetch.mean_batch_ms() {
            let n = timed.steps.max(1) as f64;
            eprintln!(
                "data: {ms:.1} ms to make a batch on {} loader thread(s), against {:.1} ms a step; the step waited {:.2} ms a batch",
                config.data.workers,
                1e3 * timed.step_s / n,
                1e3 * timed.wait_s / n
            );
        }
        eprintln!(
            "done: {end} iterations in {elapsed:.0} s; best validation {:.2} dB at iteration {} (bicubic {:.2}); weights in {}",
            state.best_psnr.unwrap_or(f64::NAN),
            state.best_iteration.unwrap_or(0),
            validation.bicubic_psnr,
            files.dir.display()
        );
    }
    Ok(Outcome::Finished { iterations: end })
}

/// A degradation preset's name written out as its chain in the run's
/// config: a run resumed after a preset changed degrades as it began.
fn with_presets_expanded(mut config: TrainConfig) -> TrainConfig {
    if let Some(d) = &config.data.degradation {
        config.data.degradation = Some(upres_image::degrade::DegradationRecipe::Custom(d.degradation()));
    }
    config
}

/// Seconds the loop waited for batches and spent in steps, this session.
#[derive(Default, Clone, Copy)]
struct Timed {
    steps: u64,
    wait_s: f64,
    step_s: f64,
}

/// Start from another model's weights where names and shapes agree (EDSR x3
/// from x2: everything but the upsampler), and say what was kept.
fn init_shared_tensors<AB: SrAutodiffBackend>(model: SrModel<AB>, arch: &str, bytes: &[u8], meta: &WeightsMeta, path: &Path) -> Result<SrModel<AB>> {
    let all = upres_models::weights::expected_tensors(&model).len();
    let (model, shared) = upres_models::weights::load_shared_tensors(model, arch, bytes)
        .with_context(|| format!("{}: no tensor of this {} model fits the {arch}", path.display(), meta.describe()))?;
    eprintln!("init-from {}: {shared} of {all} tensors taken over", path.display());
    Ok(model)
}
