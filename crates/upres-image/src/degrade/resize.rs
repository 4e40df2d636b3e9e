//! The resizes of Real-ESRGAN's degradation model: PyTorch's
//! `F.interpolate` in `area`, `bilinear` and `bicubic` modes
//! (`align_corners=False`, no antialiasing), on float planes. These are what
//! photos go through in other people's software, unlike the papers'
//! MATLAB bicubic ([`crate::imresize`]), which stays the protocol's.

use serde::{Deserialize, Serialize};

use crate::planar::Plane;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResizeMode {
    /// Mean over each output pixel's footprint (`adaptive_avg_pool2d`).
    Area,
    Bilinear,
    /// Keys' cubic with a = -0.75, as PyTorch and OpenCV.
    Bicubic,
}

pub const RESIZE_MODES: [ResizeMode; 3] = [ResizeMode::Area, ResizeMode::Bilinear, ResizeMode::Bicubic];

/// For each output index, the input indices and weights that make it.
fn taps(in_len: usize, out_len: usize, mode: ResizeMode) -> Vec<Vec<(usize, f32)>> {
    let ratio = in_len as f64 / out_len as f64;
    let last = in_len as isize - 1;
    let clamp = |i: isize| i.clamp(0, last) as usize;
    (0..out_len)
        .map(|o| match mode {
            ResizeMode::Area => {
                let start = (o as f64 * ratio).floor() as usize;
                let end = (((o + 1) as f64 * ratio).ceil() as usize).clamp(start + 1, in_len);
                let w = 1.0 / (end - start) as f32;
                (start..end).map(|i| (i, w)).collect()
            }
            ResizeMode::Bilinear => {
                let src = ((o as f64 + 0.5) * ratio - 0.5).max(0.0);
                let i0 = src.floor() as isize;
                let t = (src - i0 as f64) as f32;
                vec![(clamp(i0), 1.0 - t), (clamp(i0 + 1), t)]
            }
            ResizeMode::Bicubic => {
                let src = (o as f64 + 0.5) * ratio - 0.5;
                let i0 = src.floor() as isize;
                let t = src - i0 as f64;
                let cubic = |d: f64| {
                    let (a, d) = (-0.75, d.abs());
                    if d <= 1.0 {
                        ((a + 2.0) * d - (a + 3.0)) * d * d + 1.0
                    } else if d < 2.0 {
                        ((a * d - 5.0 * a) * d + 8.0 * a) * d - 4.0 * a
                    } else {
                        0.0
                    }
                };
                (-1..=2).map(|k| (clamp(i0 + k), cubic(t - k as f64) as f32)).collect()
            }
        })
        .collect()
}

/// Resize a plane to `width` x `height` (each at least 1).
pub fn resize_plane(plane: &Plane, width: usize, height: usize, mode: ResizeMode) -> Plane {
    let (w, h) = (plane.width, plane.height);
    if (w, h) == (width, height) {
        return plane.clone();
    }
    let across = taps(w, width, mode);
    let mut rows = vec![0f32; width * h];
    for y in 0..h {
        let src = &plane.data[y * w..(y + 1) * w];
        for (x, t) in across.iter().enumerate() {
            rows[y * width + x] = t.iter().map(|&(i, k)| k * src[i]).sum();
        }
    }
    let down = taps(h, height, mode);
    let mut out = vec![0f32; width * height];
    for (y, t) in down.iter().enumerate() {
        let dst = &mut out[y * width..(y + 1) * width];
        for &(i, k) in t {
            for (d, s) in dst.iter_mut().zip(&rows[i * width..(i + 1) * width]) {
                *d += k * s;
            }
        }
    }
    Plane::new(width, height, out)
}

pub fn resize(planes: &mut [Plane], width: usize, height: usize, mode: ResizeMode) {
    for p in planes {
        *p = resize_plane(p, width.max(1), height.max(1), mode);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(w: usize, h: usize) -> Plane {
        Plane::new(w, h, (0..w * h).map(|i| (i % w) as f32 + 10.0 * (i / w) as f32).collect())
    }

    #[test]
    fn area_halving_is_the_mean_of_each_two_by_two_block() {
        let p = ramp(6, 4);
        let out = resize_plane(&p, 3, 2, ResizeMode::Area);
        for (y, x) in [(0, 0), (1, 2)] {
            let want = (p.get(2 * x, 2 * y) + p.get(2 * x + 1, 2 * y) + p.get(2 * x, 2 * y + 1) + p.get(2 * x + 1, 2 * y + 1)) / 4.0;
            assert_eq!(out.get(x, y), want);
        }
    }

    #[test]
    fn every_mode_keeps_a_constant() {
        let flat = Plane::new(7, 5, vec![0.4; 35]);
        for mode in RESIZE_MODES {
            for (w, h) in [(3, 2), (11, 13), (7, 5)] {
                assert!(resize_plane(&flat, w, h, mode).data.iter().all(|v| (v - 0.4).abs() < 1e-6), "{mode:?} {w}x{h}");
            }
        }
    }

    #[test]
    fn bilinear_keeps_a_ramp_and_bicubic_interpolates_and_rings() {
        // Linear data away from the borders is reproduced exactly by
        // bilinear: upscaling x2 puts samples at x/2 - 0.25.
        let p = ramp(16, 16);
        let out = resize_plane(&p, 32, 32, ResizeMode::Bilinear);
        for x in 4..28 {
            let want = (x as f32 + 0.5) / 2.0 - 0.5 + 10.0 * ((12.0 + 0.5) / 2.0 - 0.5);
            assert!((out.get(x, 12) - want).abs() < 1e-4, "x={x}: {} vs {want}", out.get(x, 12));
        }
        // Keys' cubic interpolates: upscaling x3 puts output 3k + 1 on input
        // k exactly, whatever the data; around a step it overshoots
        // (a = -0.75 rings, as PyTorch's and OpenCV's bicubic do).
        let data: Vec<f32> = (0..12 * 12).map(|i| ((i * 7919) % 13) as f32).collect();
        let p = Plane::new(12, 12, data);
        let out = resize_plane(&p, 36, 36, ResizeMode::Bicubic);
        for k in 0..12 {
            for j in 0..12 {
                assert!((out.get(3 * k + 1, 3 * j + 1) - p.get(k, j)).abs() < 1e-4);
            }
        }
        let step = Plane::new(8, 1, vec![0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0]);
        let up = resize_plane(&step, 32, 1, ResizeMode::Bicubic);
        assert!(up.data.iter().any(|v| *v < -0.01) && up.data.iter().any(|v| *v > 1.01), "{:?}", up.data);
    }
}
