//! PSNR and SSIM exactly as the SR papers report them: on the Y channel of
//! MATLAB's `rgb2ycbcr` (computed in floating point), with `shave` pixels
//! removed at every border, and SSIM as Wang et al.'s `ssim_index.m`
//! (11x11 Gaussian window, sigma 1.5, K1 = 0.01, K2 = 0.03, L = 255,
//! 'valid' filtering, no downsampling).

use crate::color::y_channel;
use crate::crop::shave;
use crate::error::ImageError;
use crate::planar::{PlanarImage, Plane};

/// PSNR/SSIM of one image pair on the published protocol.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Quality {
    pub psnr: f64,
    pub ssim: f64,
}

fn check_same_size(a: &Plane, b: &Plane) -> Result<(), ImageError> {
    if a.width != b.width || a.height != b.height {
        return Err(ImageError::SizeMismatch(a.width, a.height, b.width, b.height));
    }
    Ok(())
}

/// PSNR in dB for values in 0..=255. Identical planes give `f64::INFINITY`.
pub fn psnr(a: &Plane, b: &Plane) -> Result<f64, ImageError> {
    check_same_size(a, b)?;
    let mse = a.data.iter().zip(&b.data).map(|(&x, &y)| (x as f64 - y as f64).powi(2)).sum::<f64>() / a.data.len() as f64;
    Ok(10.0 * (255.0f64 * 255.0 / mse).log10())
}

fn gaussian_window() -> [f64; 121] {
    let mut w = [0.0; 121];
    let mut sum = 0.0;
    for y in 0..11 {
        for x in 0..11 {
            let (dx, dy) = (x as f64 - 5.0, y as f64 - 5.0);
            let v = (-(dx * dx + dy * dy) / (2.0 * 1.5 * 1.5)).exp();
            w[y * 11 + x] = v;
            sum += v;
        }
    }
    w.iter_mut().for_each(|v| *v /= sum);
    w
}

/// 'valid' correlation with the 11x11 window (separable: the Gaussian is).
fn filter_valid(data: &[f64], width: usize, height: usize) -> Vec<f64> {
    let g1: Vec<f64> = {
        let raw: Vec<f64> = (0..11).map(|i| (-((i as f64 - 5.0).powi(2)) / (2.0 * 1.5 * 1.5)).exp()).collect();
        let s: f64 = raw.iter().sum();
        raw.iter().map(|v| v / s).collect()
    };
    let (ow, oh) = (width - 10, height - 10);
    let mut horizontal = vec![0.0; ow * height];
    for y in 0..height {
        for x in 0..ow {
            horizontal[y * ow + x] = (0..11).map(|k| g1[k] * data[y * width + x + k]).sum();
        }
    }
    let mut out = vec![0.0; ow * oh];
    for y in 0..oh {
        for x in 0..ow {
            out[y * ow + x] = (0..11).map(|k| g1[k] * horizontal[(y + k) * ow + x]).sum();
        }
    }
    out
}

/// Mean SSIM for values in 0..=255.
pub fn ssim(a: &Plane, b: &Plane) -> Result<f64, ImageError> {
    check_same_size(a, b)?;
    if a.width < 11 || a.height < 11 {
        return Err(ImageError::TooSmall { name: "SSIM input".into(), width: a.width, height: a.height, min: 11 });
    }
    debug_assert!((gaussian_window().iter().sum::<f64>() - 1.0).abs() < 1e-12);
    let (w, h) = (a.width, a.height);
    let x: Vec<f64> = a.data.iter().map(|&v| v as f64).collect();
    let y: Vec<f64> = b.data.iter().map(|&v| v as f64).collect();
    let xx: Vec<f64> = x.iter().map(|v| v * v).collect();
    let yy: Vec<f64> = y.iter().map(|v| v * v).collect();
    let xy: Vec<f64> = x.iter().zip(&y).map(|(p, q)| p * q).collect();
    let (mu_x, mu_y) = (filter_valid(&x, w, h), filter_valid(&y, w, h));
    let (e_xx, e_yy, e_xy) = (filter_valid(&xx, w, h), filter_valid(&yy, w, h), filter_valid(&xy, w, h));
    let c1 = (0.01f64 * 255.0).powi(2);
    let c2 = (0.03f64 * 255.0).powi(2);
    let n = mu_x.len();
    let total: f64 = (0..n)
        .map(|i| {
            let (mx, my) = (mu_x[i], mu_y[i]);
            let (sxx, syy, sxy) = (e_xx[i] - mx * mx, e_yy[i] - my * my, e_xy[i] - mx * my);
            ((2.0 * mx * my + c1) * (2.0 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))
        })
        .sum();
    Ok(total / n as f64)
}

/// PSNR and SSIM of `output` against `reference` on the published protocol:
/// Y channel (floating point), `shave` pixels removed at each border.
/// Both images must have the same size; see [`luma`] for gray images.
pub fn evaluate_y(output: &PlanarImage, reference: &PlanarImage, shave_px: usize) -> Result<Quality, ImageError> {
    evaluate_y_planes(&luma(output), &luma(reference), shave_px)
}

/// The Y plane the papers measure, in 0..=255: rgb2ycbcr's Y (floating
/// point) for colour images, and the gray level itself for gray images
/// (their MATLAB code converts only images with three channels; Set14's
/// `bridge` is gray, and converting it would add 1.32 dB).
pub fn luma(image: &PlanarImage) -> Plane {
    let img = image.to_depth8();
    if img.layout.is_gray() {
        return img.planes[0].clone();
    }
    let [r, g, b] = img.rgb_planes();
    y_channel(&r, &g, &b)
}

/// As [`evaluate_y`], for Y planes already computed.
pub fn evaluate_y_planes(output_y: &Plane, reference_y: &Plane, shave_px: usize) -> Result<Quality, ImageError> {
    check_same_size(output_y, reference_y)?;
    let (a, b) = (shave(output_y, shave_px), shave(reference_y, shave_px));
    Ok(Quality { psnr: psnr(&a, &b)?, ssim: ssim(&a, &b)? })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psnr_of_a_known_error() {
        // MSE of 1 on the whole plane is 48.1308 dB for peak 255.
        let a = Plane::new(4, 4, vec![10.0; 16]);
        let b = Plane::new(4, 4, vec![11.0; 16]);
        assert!((psnr(&a, &b).unwrap() - 48.130_803_608).abs() < 1e-6);
    }

    #[test]
    fn ssim_is_one_for_identical_and_lower_for_noise() {
        let a = Plane::new(32, 32, (0..1024).map(|i| ((i * 37) % 251) as f32).collect());
        assert!((ssim(&a, &a).unwrap() - 1.0).abs() < 1e-12);
        let b = a.map(|v| (v + 20.0).min(255.0));
        let s = ssim(&a, &b).unwrap();
        assert!(s < 1.0 && s > 0.5, "{s}");
    }

    #[test]
    fn ssim_matches_a_direct_2d_window() {
        // The separable filter must equal the 2-D Gaussian window of ssim_index.m.
        let w = gaussian_window();
        let data: Vec<f64> = (0..15 * 13).map(|i| ((i * 7919) % 256) as f64).collect();
        let fast = filter_valid(&data, 15, 13);
        for y in 0..3 {
            for x in 0..5 {
                let direct: f64 = (0..11).flat_map(|j| (0..11).map(move |i| (i, j))).map(|(i, j)| w[j * 11 + i] * data[(y + j) * 15 + x + i]).sum();
                assert!((direct - fast[y * 5 + x]).abs() < 1e-9);
            }
        }
    }

    #[test]
    fn size_mismatch_is_an_error() {
        assert!(psnr(&Plane::zeros(2, 2), &Plane::zeros(3, 2)).is_err());
    }
}
