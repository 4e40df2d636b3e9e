mod bench;
mod bench_layers;
mod degrade;
mod eval;
mod features;
pub(crate) mod import;
mod info;
mod train;
mod upscale;

use anyhow::{Context, Result};
use upres_kernels::SrBackend;
use upres_models::{Expectation, WeightsFile, load_weights};

use crate::cli::{Cli, Command};

pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Degrade(a) => degrade::run(a).context("degrade"),
        Command::Eval(a) => eval::run(a).context("eval"),
        Command::Upscale(a) => upscale::run(a).context("upscale"),
        Command::Import(a) => import::run(a).context("import"),
        Command::Info(a) => info::run(a).context("info"),
        Command::Features(a) => features::run(a).context("features"),
        Command::Train(a) => train::run(a).context("train"),
        Command::Export(a) => train::export(a).context("export"),
        Command::Bench(a) => bench::run(a).context("bench"),
        Command::BenchLayers(a) => bench_layers::run(a).context("bench-layers"),
    }
}

/// Load a weights file, naming the file in any error.
pub fn load_model<B: SrBackend>(path: &std::path::Path, device: &B::Device, expect: &Expectation) -> Result<WeightsFile<B>> {
    let bytes = crate::files::read_bytes(path)?;
    load_weights::<B>(&bytes, device, expect).with_context(|| path.display().to_string())
}

/// A progress bar on stderr (hidden when stderr is not a terminal).
pub fn progress_bar(len: usize, what: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(len as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg:>12} [{bar:40}] {pos}/{len} {elapsed_precise} eta {eta}")
            .expect("static template")
            .progress_chars("=> "),
    );
    bar.set_message(what.to_string());
    bar
}
