//! BT.601 studio-range YCbCr exactly as MATLAB's `rgb2ycbcr` / `ycbcr2rgb`,
//! on values in the 0..=255 domain (Y in 16..=235).

use crate::planar::Plane;

/// MATLAB's `rgb2ycbcr` matrix for RGB in [0, 1] and YCbCr in 0..=255.
const RGB_TO_YCBCR: [[f64; 3]; 3] = [[65.481, 128.553, 24.966], [-37.797, -74.203, 112.0], [112.0, -93.786, -18.214]];
pub const YCBCR_OFFSET: [f64; 3] = [16.0, 128.0, 128.0];

fn inverse(m: [[f64; 3]; 3]) -> [[f64; 3]; 3] {
    let det = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
        + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
    let mut inv = [[0.0; 3]; 3];
    for (r, row) in inv.iter_mut().enumerate() {
        for (c, v) in row.iter_mut().enumerate() {
            let (r1, r2) = ((c + 1) % 3, (c + 2) % 3);
            let (c1, c2) = ((r + 1) % 3, (r + 2) % 3);
            *v = (m[r1][c1] * m[r2][c2] - m[r1][c2] * m[r2][c1]) / det;
        }
    }
    inv
}

/// Y only, in floating point (not rounded), from RGB planes in 0..=255.
pub fn y_channel(r: &Plane, g: &Plane, b: &Plane) -> Plane {
    let [kr, kg, kb] = RGB_TO_YCBCR[0];
    let data = r
        .data
        .iter()
        .zip(&g.data)
        .zip(&b.data)
        .map(|((&r, &g), &b)| (YCBCR_OFFSET[0] + (kr * r as f64 + kg * g as f64 + kb * b as f64) / 255.0) as f32)
        .collect();
    Plane::new(r.width, r.height, data)
}

/// Y, Cb, Cr planes (unrounded) from RGB planes in 0..=255.
pub fn rgb_to_ycbcr(r: &Plane, g: &Plane, b: &Plane) -> [Plane; 3] {
    let mut out = [Plane::zeros(r.width, r.height), Plane::zeros(r.width, r.height), Plane::zeros(r.width, r.height)];
    for i in 0..r.data.len() {
        let rgb = [r.data[i] as f64, g.data[i] as f64, b.data[i] as f64];
        for (c, plane) in out.iter_mut().enumerate() {
            let m = RGB_TO_YCBCR[c];
            plane.data[i] = (YCBCR_OFFSET[c] + (m[0] * rgb[0] + m[1] * rgb[1] + m[2] * rgb[2]) / 255.0) as f32;
        }
    }
    out
}

/// RGB planes in 0..=255 (unrounded, unclamped) from Y, Cb, Cr in 0..=255.
pub fn ycbcr_to_rgb(y: &Plane, cb: &Plane, cr: &Plane) -> [Plane; 3] {
    let inv = inverse(RGB_TO_YCBCR);
    let mut out = [Plane::zeros(y.width, y.height), Plane::zeros(y.width, y.height), Plane::zeros(y.width, y.height)];
    for i in 0..y.data.len() {
        let ycc = [y.data[i] as f64 - YCBCR_OFFSET[0], cb.data[i] as f64 - YCBCR_OFFSET[1], cr.data[i] as f64 - YCBCR_OFFSET[2]];
        for (c, plane) in out.iter_mut().enumerate() {
            let m = inv[c];
            plane.data[i] = (255.0 * (m[0] * ycc[0] + m[1] * ycc[1] + m[2] * ycc[2])) as f32;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_matlab_reference_values() {
        // rgb2ycbcr(uint8([255 0 0])) in MATLAB is [81 90 240]; white is [235 128 128].
        let p = |v: f32| Plane::new(1, 1, vec![v]);
        let [y, cb, cr] = rgb_to_ycbcr(&p(255.0), &p(0.0), &p(0.0));
        assert_eq!((y.data[0].round(), cb.data[0].round(), cr.data[0].round()), (81.0, 90.0, 240.0));
        let [y, cb, cr] = rgb_to_ycbcr(&p(255.0), &p(255.0), &p(255.0));
        assert!((y.data[0] - 235.0).abs() < 1e-4 && (cb.data[0] - 128.0).abs() < 1e-3 && (cr.data[0] - 128.0).abs() < 1e-3);
    }

    #[test]
    fn round_trip_is_exact_to_a_thousandth() {
        let r = Plane::new(3, 1, vec![0.0, 12.0, 250.0]);
        let g = Plane::new(3, 1, vec![255.0, 100.0, 3.0]);
        let b = Plane::new(3, 1, vec![128.0, 7.0, 90.0]);
        let [y, cb, cr] = rgb_to_ycbcr(&r, &g, &b);
        let [r2, g2, b2] = ycbcr_to_rgb(&y, &cb, &cr);
        for (a, b) in [(&r, &r2), (&g, &g2), (&b, &b2)] {
            for (x, z) in a.data.iter().zip(&b.data) {
                assert!((x - z).abs() < 1e-3, "{x} vs {z}");
            }
        }
    }
}
