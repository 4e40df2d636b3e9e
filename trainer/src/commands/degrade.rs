use anyhow::{Context, Result};
use upres_image::write_png_atomic;

use crate::cli::DegradeArgs;
use crate::files::{list_images, scale_label, stem};
use crate::pairs::LrSource;

/// The LR images `trainer eval` measures on: the papers' MATLAB bicubic
/// downscale of each modcropped HR image, degraded with `--degrade` if given.
pub fn run(args: DegradeArgs) -> Result<()> {
    if !(args.scale.is_finite() && args.scale > 1.0) {
        anyhow::bail!("--scale must be larger than 1, got {}", args.scale);
    }
    let source = LrSource::synthetic(args.degrade.as_deref(), args.seed)?;
    let files = list_images(&args.input)?;
    std::fs::create_dir_all(&args.output).with_context(|| format!("{}: cannot create folder", args.output.display()))?;
    let mut failed = 0;
    for path in &files {
        let result = (|| -> Result<()> {
            let (_, lr) = source.pair(path, args.scale)?;
            let out = args.output.join(format!("{}x{}.png", stem(path), scale_label(args.scale)));
            write_png_atomic(&lr, &out)?;
            Ok(())
        })();
        if let Err(e) = result {
            eprintln!("warning: skipped {e:#}");
            failed += 1;
        }
    }
    let how = source.label().map(|l| format!(" ({l})")).unwrap_or_default();
    eprintln!("degrade: wrote {} LR image(s){how} to {}", files.len() - failed, args.output.display());
    if failed > 0 {
        anyhow::bail!("{failed} of {} image(s) could not be degraded", files.len());
    }
    Ok(())
}
