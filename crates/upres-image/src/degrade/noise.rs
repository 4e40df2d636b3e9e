//! Sensor noise as Real-ESRGAN models it: additive Gaussian noise (per
//! channel, or the same on every channel: "gray" noise) and Poisson (shot)
//! noise, on planes with values in [0, 1], clipped back to [0, 1].

use rand::Rng;
use rand_distr::{Distribution, Normal, Poisson, StandardNormal};

use crate::planar::Plane;

/// Add N(0, (sigma / 255)^2) to every sample, drawn once per pixel for
/// every plane when `gray`, else per sample; clip to [0, 1].
pub fn add_gaussian<R: Rng + ?Sized>(planes: &mut [Plane], sigma: f64, gray: bool, rng: &mut R) {
    let s = (sigma / 255.0) as f32;
    if gray {
        let n = planes[0].data.len();
        let noise: Vec<f32> = (0..n).map(|_| s * Distribution::<f32>::sample(&StandardNormal, rng)).collect();
        for p in planes.iter_mut() {
            for (v, e) in p.data.iter_mut().zip(&noise) {
                *v = (*v + e).clamp(0.0, 1.0);
            }
        }
    } else {
        let normal = Normal::new(0.0f32, s).expect("sigma is finite and non-negative");
        for p in planes.iter_mut() {
            for v in p.data.iter_mut() {
                *v = (*v + normal.sample(rng)).clamp(0.0, 1.0);
            }
        }
    }
}

/// Real-ESRGAN's `generate_poisson_noise`: the image rounded to 8 bits,
/// `vals` = the next power of two of its number of distinct levels, noise =
/// Poisson(img * vals) / vals - img, added `scale` times; `gray` draws it on
/// the BT.601 luma and adds it to every plane.
pub fn add_poisson<R: Rng + ?Sized>(planes: &mut [Plane], scale: f64, gray: bool, rng: &mut R) {
    let to8 = |v: f32| (v * 255.0).round().clamp(0.0, 255.0) as u8;
    let sources: Vec<Vec<u8>> = if gray && planes.len() == 3 {
        let luma = planes[0].data.iter().zip(&planes[1].data).zip(&planes[2].data).map(|((r, g), b)| to8(0.299 * r + 0.587 * g + 0.114 * b));
        vec![luma.collect()]
    } else if gray {
        vec![planes[0].data.iter().map(|&v| to8(v)).collect()]
    } else {
        planes.iter().map(|p| p.data.iter().map(|&v| to8(v)).collect()).collect()
    };
    let noises: Vec<Vec<f32>> = sources.iter().map(|levels| shot_noise(levels, scale, rng)).collect();
    for (i, p) in planes.iter_mut().enumerate() {
        let noise = &noises[if gray { 0 } else { i }];
        for (v, e) in p.data.iter_mut().zip(noise) {
            *v = (*v + e).clamp(0.0, 1.0);
        }
    }
}

fn shot_noise<R: Rng + ?Sized>(levels: &[u8], scale: f64, rng: &mut R) -> Vec<f32> {
    let mut seen = [false; 256];
    levels.iter().for_each(|&l| seen[l as usize] = true);
    let distinct = seen.iter().filter(|s| **s).count().max(1);
    let vals = (distinct as f64).log2().ceil().exp2();
    // At most 256 distinct means: one distribution per level, made once.
    let mut by_level: Vec<Option<Poisson<f64>>> = vec![None; 256];
    levels
        .iter()
        .map(|&l| {
            let img = l as f64 / 255.0;
            let lambda = img * vals;
            let draw = if lambda > 0.0 {
                by_level[l as usize].get_or_insert_with(|| Poisson::new(lambda).expect("a positive finite mean")).sample(rng)
            } else {
                0.0
            };
            ((draw / vals - img) * scale) as f32
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn stats(a: &[f32]) -> (f64, f64) {
        let n = a.len() as f64;
        let mean = a.iter().map(|&v| v as f64).sum::<f64>() / n;
        (mean, a.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n)
    }

    #[test]
    fn gaussian_noise_has_the_asked_deviation_and_gray_noise_is_shared() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let mut planes = vec![Plane::new(200, 200, vec![0.5; 40_000]); 3];
        add_gaussian(&mut planes, 10.0, false, &mut rng);
        let (mean, var) = stats(&planes[1].data);
        assert!((mean - 0.5).abs() < 1e-3 && (var.sqrt() * 255.0 - 10.0).abs() < 0.15, "{mean} {}", var.sqrt() * 255.0);
        assert_ne!(planes[0].data, planes[1].data);
        let mut gray = vec![Plane::new(100, 100, vec![0.5; 10_000]); 3];
        add_gaussian(&mut gray, 10.0, true, &mut rng);
        assert_eq!(gray[0].data, gray[2].data);
    }

    #[test]
    fn poisson_noise_variance_is_its_mean_over_vals() {
        // Two levels (0.2 and 0.8) give vals = 2: the noise of a level v is
        // (Poisson(2v) / 2 - v) * scale, of variance v / 2 * scale^2.
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
        let level = |v: f32| (v * 255.0).round() / 255.0;
        let (lo, hi) = (level(0.2), level(0.8));
        let data: Vec<f32> = (0..80_000).map(|i| if i % 2 == 0 { lo } else { hi }).collect();
        let mut planes = vec![Plane::new(400, 200, data)];
        let scale = 0.1;
        add_poisson(&mut planes, scale, false, &mut rng);
        for (first, v) in [(0, lo), (1, hi)] {
            let noise: Vec<f32> = planes[0].data.iter().skip(first).step_by(2).map(|x| x - v).collect();
            let (mean, var) = stats(&noise);
            let want = v as f64 / 2.0 * scale * scale;
            assert!(mean.abs() < 2e-3, "level {v}: mean {mean}");
            assert!((var / want - 1.0).abs() < 0.05, "level {v}: variance {var} vs {want}");
        }
    }
}
