//! HR/LR pairs to measure a model on: the papers' protocol (HR modcropped,
//! LR by MATLAB bicubic), that LR degraded as photos are (`--degrade`), or
//! real pairs read from a folder of LR images with the HR's names (`--lr`,
//! DRealSR's camera pairs).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use upres_image::degrade::{Degradation, Source};
use upres_image::{DecodeLimits, PlanarImage, modcrop, read_image};
use upres_models::eval::protocol_pair;

use crate::files::{list_images, stem};

/// Where the LR of each HR image comes from.
#[derive(Debug, Clone)]
pub enum LrSource {
    /// MATLAB bicubic of the HR, then `degradation` if any, drawn from a
    /// generator seeded with `seed` and the image's name.
    Synthetic { degradation: Option<(String, Degradation)>, seed: u64 },
    /// The file of the same name in this folder.
    Folder(PathBuf),
}

impl LrSource {
    pub fn synthetic(spec: Option<&str>, seed: u64) -> Result<Self> {
        let degradation = spec.map(|s| Ok::<_, anyhow::Error>((s.trim().to_string(), Degradation::parse(s)?))).transpose()?;
        Ok(LrSource::Synthetic { degradation, seed })
    }

    /// "jpeg:75", "LR from <folder>", or None for the papers' clean LR.
    pub fn label(&self) -> Option<String> {
        match self {
            LrSource::Synthetic { degradation: Some((spec, _)), .. } => Some(spec.clone()),
            LrSource::Synthetic { degradation: None, .. } => None,
            LrSource::Folder(dir) => Some(format!("LR from {}", dir.display())),
        }
    }

    /// HR (8-bit, cropped to the LR times the scale) and its LR.
    pub fn pair(&self, hr_path: &Path, scale: f64) -> Result<(PlanarImage, PlanarImage)> {
        let image = read_image(hr_path, DecodeLimits::default())?;
        let name = hr_path.display().to_string();
        match self {
            LrSource::Synthetic { degradation, seed } => {
                let (hr, lr) = protocol_pair(&image, scale, &name)?;
                let Some((_, d)) = degradation else { return Ok((hr, lr)) };
                let mut rng = image_rng(*seed, &stem(hr_path));
                let source = if d.source() == Source::Hr { &hr } else { &lr };
                let lr = d.apply_to_image(source, lr.width, lr.height, &mut rng).with_context(|| name.clone())?;
                Ok((hr, lr))
            }
            LrSource::Folder(dir) => {
                let lr_path = same_name_in(dir, hr_path)?;
                let lr = read_image(&lr_path, DecodeLimits::default())?.to_depth8();
                anyhow::ensure!(scale.fract() == 0.0, "--lr pairs need an integer --scale, got {scale}");
                let s = scale as usize;
                let hr = image.to_depth8();
                let (w, h) = (lr.width * s, lr.height * s);
                // A real pair may be a few pixels off a multiple of the scale; more is the wrong scale or the wrong file.
                anyhow::ensure!(
                    hr.width >= w && hr.height >= h && hr.width < w + s && hr.height < h + s,
                    "{name} is {}x{} but its LR {} is {}x{}: not a x{s} pair",
                    hr.width,
                    hr.height,
                    lr_path.display(),
                    lr.width,
                    lr.height
                );
                Ok((modcrop(&hr, scale), lr))
            }
        }
    }
}

/// The generator of one image's degradation: the same for a name and seed
/// whatever else is in the folder.
pub fn image_rng(seed: u64, name: &str) -> ChaCha8Rng {
    // FNV-1a: stable across platforms and Rust versions, unlike std's hasher.
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3));
    ChaCha8Rng::seed_from_u64(seed ^ hash)
}

fn same_name_in(dir: &Path, hr_path: &Path) -> Result<PathBuf> {
    let name = stem(hr_path);
    list_images(dir)?
        .into_iter()
        .find(|p| stem(p) == name)
        .with_context(|| format!("{}: no LR image named {name}.* in {} (real pairs share their names)", hr_path.display(), dir.display()))
}
