use std::path::Path;
use upres_kernels::SrBackend;

use anyhow::{Context, Result};
use upres_image::{DecodeLimits, Decoded, OutputSize, UpscaleRequest, read_image_with_notes, write_png_atomic};
use upres_models::{Expectation, WeightsFile};

use crate::backend::{OnBackend, dispatch};
use crate::cli::UpscaleArgs;
use crate::files::{is_image_path, list_images};

struct UpscaleTask {
    args: UpscaleArgs,
}

fn output_size(args: &UpscaleArgs, weights_default: f64) -> OutputSize {
    match (args.width, args.height) {
        (Some(width), Some(height)) => OutputSize::Exact { width, height },
        _ => OutputSize::Scale(args.scale.unwrap_or(weights_default)),
    }
}

fn upscale_one<B: SrBackend>(weights: &WeightsFile<B>, input: &Path, output: &Path, args: &UpscaleArgs, device: &B::Device) -> Result<()> {
    let default_scale = weights.meta.scales.first().copied().unwrap_or(2) as f64;
    let Decoded { image, notes } = read_image_with_notes(input, DecodeLimits::default())?;
    for line in notes.messages(&input.display().to_string()) {
        eprintln!("note: {line}");
    }
    let request = UpscaleRequest {
        size: output_size(args, default_scale),
        tile: args.tiles.tile,
        overlap: args.tiles.overlap.unwrap_or_else(|| weights.meta.default_overlap()),
    };
    let bar = super::progress_bar(0, "tiles");
    let out = upres_models::run::upscale(&weights.model, &weights.meta.config, &image, &request, device, |done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
        true
    })
    .with_context(|| input.display().to_string())?;
    bar.finish_and_clear();
    write_png_atomic(&out.image, output)?;
    eprintln!("{} ({}x{}) -> {} ({}x{})", input.display(), image.width, image.height, output.display(), out.image.width, out.image.height);
    Ok(())
}

fn require_png(path: &Path) -> Result<()> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    if ext != "png" {
        anyhow::bail!("{}: output must be a .png file (PNG keeps alpha and 16-bit depth)", path.display());
    }
    Ok(())
}

impl OnBackend for UpscaleTask {
    type Output = ();
    fn run<B: SrBackend>(self, device: B::Device) -> Result<()> {
        let args = self.args;
        let expect = Expectation { arch: None, scale: args.scale };
        if args.input.is_dir() {
            let files = list_images(&args.input)?;
            let weights = super::load_model::<B>(&args.weights, &device, &expect)?;
            std::fs::create_dir_all(&args.output).with_context(|| format!("{}: cannot create folder", args.output.display()))?;
            let mut failed = 0;
            for file in &files {
                let out = args.output.join(format!("{}.png", crate::files::stem(file)));
                if let Err(e) = upscale_one(&weights, file, &out, &args, &device) {
                    eprintln!("warning: skipped {e:#}");
                    failed += 1;
                }
            }
            if failed > 0 {
                anyhow::bail!("{failed} of {} image(s) failed; the others were written", files.len());
            }
            return Ok(());
        }
        if !args.input.exists() {
            anyhow::bail!("{}: no such file or folder", args.input.display());
        }
        require_png(&args.output)?;
        if !is_image_path(&args.input) {
            eprintln!("note: {} has no image extension; trying to decode it anyway", args.input.display());
        }
        let weights = super::load_model::<B>(&args.weights, &device, &expect)?;
        upscale_one(&weights, &args.input, &args.output, &args, &device)
    }
}

pub fn run(args: UpscaleArgs) -> Result<()> {
    let backend = args.backend.clone();
    dispatch(&backend, UpscaleTask { args })
}
