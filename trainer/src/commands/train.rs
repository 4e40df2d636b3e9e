use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use upres_kernels::SrBackend;

use anyhow::{Context, Result};
use burn::backend::Autodiff;
use upres_models::{Expectation, WeightsDtype, WeightsMeta, load_weights, save_weights};

use crate::backend::{OnBackend, dispatch};
use crate::cli::{ExportArgs, TrainArgs, WhichCheckpoint};
use crate::files::{read_bytes, write_atomic};
use crate::train::config::TrainConfig;
use crate::train::{Outcome, TrainJob, train};

struct TrainTask(TrainJob);

impl OnBackend for TrainTask {
    type Output = Outcome;
    const MULTI_DEVICE: bool = true;
    fn run<B: SrBackend>(self, device: B::Device) -> Result<Outcome> {
        self.run_on::<B>(vec![device])
    }
    fn run_on<B: SrBackend>(self, devices: Vec<B::Device>) -> Result<Outcome> {
        train::<Autodiff<B>>(self.0, devices)
    }
}

fn data_root(arg: Option<PathBuf>) -> PathBuf {
    arg.or_else(|| std::env::var_os("UPRES_DATA").map(PathBuf::from)).unwrap_or_else(|| PathBuf::from("../shared/data"))
}

pub fn run(args: TrainArgs) -> Result<()> {
    let config = match (&args.config, args.resume) {
        (Some(path), _) => TrainConfig::load(path, &args.overrides)?,
        (None, _) => {
            let out = args.out.as_ref().context("--resume needs --out RUN_DIR (or --config)")?;
            TrainConfig::load(&out.join("config.json"), &args.overrides)?
        }
    };
    let run_dir = args.out.clone().unwrap_or_else(|| PathBuf::from("runs").join(&config.name));
    if let Some(s) = args.loss_scale {
        anyhow::ensure!(s.is_finite() && s > 0.0, "--loss-scale must be a positive number, not {s}");
    }
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    // First Ctrl-C (or SIGTERM): checkpoint and stop after the current step; a second one exits at once.
    ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
    })
    .context("cannot install the Ctrl-C handler")?;
    let job = TrainJob {
        config,
        run_dir,
        data_root: data_root(args.data_root.clone()),
        resume: args.resume,
        max_iters: args.max_iters,
        init_from: args.init_from.clone(),
        vgg_weights: args.vgg_weights.clone(),
        precision: args.precision,
        loss_scale: args.loss_scale,
        stop,
        quiet: args.quiet,
    };
    match dispatch(&args.backend, TrainTask(job))? {
        Outcome::Finished { .. } | Outcome::Interrupted { .. } => Ok(()),
    }
}

pub fn export(args: ExportArgs) -> Result<()> {
    let name = match args.checkpoint {
        WhichCheckpoint::Best => "best.safetensors",
        WhichCheckpoint::Last => "last.safetensors",
    };
    let path = args.run.join(name);
    let bytes = read_bytes(&path).with_context(|| format!("{}: is this a run folder that has validated once?", args.run.display()))?;
    let weights =
        load_weights::<burn::backend::Flex>(&bytes, &Default::default(), &Expectation::default()).with_context(|| path.display().to_string())?;
    let dtype = if args.f16 { WeightsDtype::F16 } else { WeightsDtype::F32 };
    // Shipped weights are the inference form (SESR's blocks collapsed).
    let (config, model) = weights.model.for_inference(&weights.meta.config);
    let mut meta = WeightsMeta { config, ..weights.meta };
    crate::train::move_degraded_validation_to_notes(&mut meta.provenance);
    if let Some(notes) = &args.notes {
        meta.provenance.notes = format!("{}; {notes}", meta.provenance.notes);
    }
    let out = save_weights(&model, &meta, dtype)?;
    write_atomic(&args.out, &out)?;
    eprintln!("export: {} -> {} ({:.2} MB, {dtype:?})", path.display(), args.out.display(), out.len() as f64 / 1e6);
    Ok(())
}
