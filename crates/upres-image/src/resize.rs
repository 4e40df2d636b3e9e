//! MATLAB's `imresize(..., 'bicubic')`, reproduced operation for operation.
//!
//! The SR papers made their LR inputs with it, so a different bicubic (PIL,
//! OpenCV, torch) gives different LR images and different PSNRs. What matters
//! for bit-exactness:
//! * the cubic kernel with a = -0.5, widened by 1/scale when shrinking
//!   (antialiasing), weights normalised per output sample;
//! * sample positions `u = x/scale + 0.5 (1 - 1/scale)` and symmetric padding;
//! * with a scale factor, the output length is `ceil(scale * len)` and the
//!   *given* scale (not out/in) sets the weights;
//! * the dimension with the smaller scale is resized first (rows on ties);
//! * for integer images the first pass is stored as integers (uint8 in
//!   MATLAB) before the second pass, rounding half away from zero.

use crate::error::ImageError;
use crate::planar::{PlanarImage, Plane};

/// What output size to produce.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ResizeTarget {
    /// `imresize(img, s)`: both dimensions scaled by `s`, output `ceil(s * len)`.
    Scale(f64),
    /// `imresize(img, [h w])`: exact size; each dimension's scale is out/in.
    Size { width: usize, height: usize },
}

/// How samples are stored between and after the passes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Quantize {
    /// Floating-point image (MATLAB `double`): no rounding.
    None,
    /// Integer image with this maximum (255 for uint8): round and saturate.
    Integer(f32),
}

impl Quantize {
    #[inline]
    fn apply(self, v: f64) -> f32 {
        match self {
            Quantize::None => v as f32,
            // MATLAB's cast to an integer class rounds half away from zero and saturates.
            Quantize::Integer(max) => v.round().clamp(0.0, max as f64) as f32,
        }
    }
}

/// Output length for a scale factor, as MATLAB computes it.
pub fn output_len(len: usize, scale: f64) -> usize {
    (scale * len as f64).ceil() as usize
}

fn cubic(x: f64) -> f64 {
    let ax = x.abs();
    let ax2 = ax * ax;
    let ax3 = ax2 * ax;
    if ax <= 1.0 {
        1.5 * ax3 - 2.5 * ax2 + 1.0
    } else if ax <= 2.0 {
        -0.5 * ax3 + 2.5 * ax2 - 4.0 * ax + 2.0
    } else {
        0.0
    }
}

/// The weights and source indices for resizing one dimension (MATLAB's `contributions`).
#[derive(Debug, Clone)]
pub struct Contributions {
    pub taps: usize,
    /// `out_len * taps` weights, row per output sample.
    pub weights: Vec<f64>,
    /// `out_len * taps` zero-based source indices, after symmetric padding.
    pub indices: Vec<usize>,
}

impl Contributions {
    pub fn new(in_len: usize, out_len: usize, scale: f64, antialias: bool) -> Self {
        const KERNEL_WIDTH: f64 = 4.0;
        let shrink = scale < 1.0 && antialias;
        let kernel_width = if shrink { KERNEL_WIDTH / scale } else { KERNEL_WIDTH };
        let taps = kernel_width.ceil() as usize + 2;
        let mut weights = vec![0.0; out_len * taps];
        let mut indices = vec![0usize; out_len * taps];
        let period = 2 * in_len as i64;
        for x in 0..out_len {
            let u = (x + 1) as f64 / scale + 0.5 * (1.0 - 1.0 / scale);
            let left = (u - kernel_width / 2.0).floor() as i64;
            let row = &mut weights[x * taps..(x + 1) * taps];
            for (k, w) in row.iter_mut().enumerate() {
                let dist = u - (left + k as i64) as f64;
                *w = if shrink { scale * cubic(scale * dist) } else { cubic(dist) };
            }
            let sum: f64 = row.iter().sum();
            row.iter_mut().for_each(|w| *w /= sum);
            for k in 0..taps {
                // One-based index as in MATLAB, then mirrored: [1..n, n..1] repeating.
                let one_based = left + k as i64;
                let m = (one_based - 1).rem_euclid(period);
                indices[x * taps + k] = if m < in_len as i64 { m as usize } else { (period - 1 - m) as usize };
            }
        }
        Self { taps, weights, indices }
    }
}

fn resize_rows(src: &Plane, out_h: usize, c: &Contributions, q: Quantize) -> Plane {
    let w = src.width;
    let mut out = vec![0f32; w * out_h];
    let mut acc = vec![0f64; w];
    for y in 0..out_h {
        acc.iter_mut().for_each(|a| *a = 0.0);
        for k in 0..c.taps {
            let wt = c.weights[y * c.taps + k];
            if wt == 0.0 {
                continue;
            }
            let row = &src.data[c.indices[y * c.taps + k] * w..][..w];
            for (a, &v) in acc.iter_mut().zip(row) {
                *a += wt * v as f64;
            }
        }
        for (o, &a) in out[y * w..(y + 1) * w].iter_mut().zip(&acc) {
            *o = q.apply(a);
        }
    }
    Plane::new(w, out_h, out)
}

fn resize_cols(src: &Plane, out_w: usize, c: &Contributions, q: Quantize) -> Plane {
    let mut out = vec![0f32; out_w * src.height];
    for y in 0..src.height {
        let row = &src.data[y * src.width..(y + 1) * src.width];
        for x in 0..out_w {
            let mut a = 0f64;
            for k in 0..c.taps {
                a += c.weights[x * c.taps + k] * row[c.indices[x * c.taps + k]] as f64;
            }
            out[y * out_w + x] = q.apply(a);
        }
    }
    Plane::new(out_w, src.height, out)
}

fn plan(width: usize, height: usize, target: ResizeTarget) -> Result<(usize, usize, f64, f64), ImageError> {
    let (out_w, out_h, sx, sy) = match target {
        ResizeTarget::Scale(s) => {
            if !(s.is_finite() && s > 0.0) {
                return Err(ImageError::InvalidResize(format!("scale must be a positive number, got {s}")));
            }
            (output_len(width, s), output_len(height, s), s, s)
        }
        ResizeTarget::Size { width: ow, height: oh } => (ow, oh, ow as f64 / width as f64, oh as f64 / height as f64),
    };
    if width == 0 || height == 0 || out_w == 0 || out_h == 0 {
        return Err(ImageError::InvalidResize(format!("cannot resize {width}x{height} to {out_w}x{out_h}")));
    }
    Ok((out_w, out_h, sx, sy))
}

/// Resize one plane with MATLAB's bicubic (antialiased when shrinking).
pub fn imresize_plane(plane: &Plane, target: ResizeTarget, quantize: Quantize) -> Result<Plane, ImageError> {
    let (out_w, out_h, sx, sy) = plan(plane.width, plane.height, target)?;
    let rows = |p: &Plane| -> Plane {
        if out_h == p.height && sy == 1.0 {
            return p.clone();
        }
        resize_rows(p, out_h, &Contributions::new(p.height, out_h, sy, true), quantize)
    };
    let cols = |p: &Plane| -> Plane {
        if out_w == p.width && sx == 1.0 {
            return p.clone();
        }
        resize_cols(p, out_w, &Contributions::new(p.width, out_w, sx, true), quantize)
    };
    // MATLAB: `[~, order] = sort(scale)`, a stable sort, so rows go first on ties.
    Ok(if sx < sy { rows(&cols(plane)) } else { cols(&rows(plane)) })
}

/// Resize every plane of an image; integer images are rounded as MATLAB's uint8/uint16.
pub fn imresize(image: &PlanarImage, target: ResizeTarget) -> Result<PlanarImage, ImageError> {
    let q = Quantize::Integer(image.depth.max_value());
    let planes = image.planes.iter().map(|p| imresize_plane(p, target, q)).collect::<Result<Vec<_>, _>>()?;
    Ok(PlanarImage::new(image.layout, image.depth, planes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downscale_by_two_averages_with_antialiased_weights() {
        let plane = Plane::new(16, 1, (0..16).map(|v| v as f32 * 10.0).collect());
        let out = imresize_plane(&plane, ResizeTarget::Size { width: 8, height: 1 }, Quantize::None).unwrap();
        // Interior samples of a linear ramp stay on the ramp at the new centres (x = 2i + 0.5).
        assert!((out.data[3] - 65.0).abs() < 1e-4, "{:?}", out.data);
        assert!((out.data[4] - 85.0).abs() < 1e-4, "{:?}", out.data);
    }

    #[test]
    fn weights_sum_to_one_and_indices_stay_in_range() {
        for (inl, outl, s) in [(10, 5, 0.5), (10, 30, 3.0), (7, 3, 1.0 / 3.0), (255, 170, 1.0 / 1.5)] {
            let c = Contributions::new(inl, outl, s, true);
            for x in 0..outl {
                let sum: f64 = c.weights[x * c.taps..(x + 1) * c.taps].iter().sum();
                assert!((sum - 1.0).abs() < 1e-12);
            }
            assert!(c.indices.iter().all(|&i| i < inl));
        }
    }

    #[test]
    fn constant_image_stays_constant_at_any_scale() {
        let plane = Plane::new(13, 9, vec![77.0; 13 * 9]);
        for s in [0.25, 0.5, 1.0 / 3.0, 1.5, 2.0, 3.7] {
            let out = imresize_plane(&plane, ResizeTarget::Scale(s), Quantize::Integer(255.0)).unwrap();
            assert!(out.data.iter().all(|&v| v == 77.0), "scale {s}");
            assert_eq!(out.width, output_len(13, s));
        }
    }

    #[test]
    fn bad_scale_is_an_error() {
        let plane = Plane::new(4, 4, vec![0.0; 16]);
        assert!(imresize_plane(&plane, ResizeTarget::Scale(0.0), Quantize::None).is_err());
        assert!(imresize_plane(&plane, ResizeTarget::Scale(f64::NAN), Quantize::None).is_err());
    }
}
