//! The validation set (Set5 unless the recipe says otherwise), measured with
//! the papers' protocol after every `validation.every` steps.

use std::path::Path;
use upres_kernels::SrBackend;

use anyhow::{Context, Result};
use upres_image::PlanarImage;
use upres_models::eval::{bicubic_quality, model_quality};
use upres_models::{ModelConfig, SrModel};

use crate::pairs::LrSource;

/// Set5 (or the configured set) as protocol pairs, loaded once.
pub struct Validation {
    pairs: Vec<(PlanarImage, PlanarImage)>,
    scale: f64,
    pub bicubic_psnr: f64,
}

impl Validation {
    /// The set's protocol pairs, with the LR degraded by `degrade` (a
    /// `trainer eval --degrade` spec, seed 0) if given.
    pub fn load(dir: &Path, scale: usize, degrade: Option<&str>) -> Result<Self> {
        let source = LrSource::synthetic(degrade, 0)?;
        let mut pairs = Vec::new();
        for f in crate::files::list_images(dir).context("validation set")? {
            pairs.push(source.pair(&f, scale as f64)?);
        }
        let scale = scale as f64;
        let mut sum = 0.0;
        for (hr, lr) in &pairs {
            sum += bicubic_quality(hr, lr, scale)?.psnr;
        }
        Ok(Self { bicubic_psnr: sum / pairs.len() as f64, pairs, scale })
    }

    pub fn run<B: SrBackend>(&self, model: &SrModel<B>, config: &ModelConfig, device: &B::Device) -> Result<(f64, f64)> {
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
