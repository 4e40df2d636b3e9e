use anyhow::{Context, Result};
use upres_image::{imresize, modcrop, read_image, write_png_atomic, DecodeLimits, ResizeTarget};

use crate::cli::DegradeArgs;
use crate::files::{list_images, scale_label, stem};

pub fn run(args: DegradeArgs) -> Result<()> {
    if !(args.scale.is_finite() && args.scale > 1.0) {
        anyhow::bail!("--scale must be larger than 1, got {}", args.scale);
    }
    let files = list_images(&args.input)?;
    std::fs::create_dir_all(&args.output).with_context(|| format!("{}: cannot create folder", args.output.display()))?;
    let mut failed = 0;
    for path in &files {
        let result = (|| -> Result<()> {
            let hr = modcrop(&read_image(path, DecodeLimits::default())?, args.scale);
            let lr = imresize(&hr, ResizeTarget::Scale(1.0 / args.scale)).with_context(|| path.display().to_string())?;
            let out = args.output.join(format!("{}x{}.png", stem(path), scale_label(args.scale)));
            write_png_atomic(&lr, &out)?;
            Ok(())
        })();
        if let Err(e) = result {
            eprintln!("warning: skipped {e:#}");
            failed += 1;
        }
    }
    eprintln!("degrade: wrote {} LR image(s) to {}", files.len() - failed, args.output.display());
    if failed > 0 {
        anyhow::bail!("{failed} of {} image(s) could not be degraded", files.len());
    }
    Ok(())
}
