//! Feature maps as pictures, as in the VDSR paper's Figure 2: each channel of
//! an activation normalised to its own range and laid out in a near-square grid.

use crate::planar::Plane;

/// Pixels between the channels of a grid (white).
pub const GRID_GAP: usize = 2;

/// The 0.5th and 99.5th percentiles: a few strong activations would
/// otherwise leave the rest of the map black.
pub fn robust_range(values: &[f32]) -> (f32, f32) {
    if values.is_empty() {
        return (0.0, 1.0);
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f32::total_cmp);
    let at = |q: f64| sorted[((sorted.len() - 1) as f64 * q).round() as usize];
    let (lo, hi) = (at(0.005), at(0.995));
    if hi > lo { (lo, hi) } else { (sorted[0], sorted[sorted.len() - 1]) }
}

/// `channels` maps of `h` x `w` (channels-first `values`) as one gray plane
/// (0..=255), at most `max_channels` of them.
pub fn feature_grid(values: &[f32], channels: usize, h: usize, w: usize, max_channels: usize) -> Plane {
    let channels = channels.min(max_channels.max(1));
    let cols = (channels as f64).sqrt().ceil() as usize;
    let rows = channels.div_ceil(cols);
    let (gw, gh) = (cols * (w + GRID_GAP) - GRID_GAP, rows * (h + GRID_GAP) - GRID_GAP);
    let mut out = Plane::new(gw, gh, vec![255.0; gw * gh]);
    for c in 0..channels {
        let ch = &values[c * h * w..(c + 1) * h * w];
        let (lo, hi) = robust_range(ch);
        let range = if hi > lo { hi - lo } else { 1.0 };
        let (ox, oy) = ((c % cols) * (w + GRID_GAP), (c / cols) * (h + GRID_GAP));
        for y in 0..h {
            for x in 0..w {
                out.data[(oy + y) * gw + ox + x] = ((ch[y * w + x] - lo) / range * 255.0).round().clamp(0.0, 255.0);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_places_each_channel_in_its_cell_normalised_to_its_own_range() {
        // Two 2x2 channels with very different ranges: both must span 0..255.
        let values = [0.0, 1.0, 2.0, 3.0, 100.0, 200.0, 300.0, 400.0];
        let g = feature_grid(&values, 2, 2, 2, 64);
        assert_eq!((g.width, g.height), (2 * 2 + GRID_GAP, 2));
        assert_eq!(g.get(0, 0), 0.0);
        assert_eq!(g.get(1, 1), 255.0);
        assert_eq!(g.get(4, 0), 0.0);
        assert_eq!(g.get(5, 1), 255.0);
        assert_eq!(g.get(2, 0), 255.0, "the gap is white");
    }

    #[test]
    fn grid_keeps_at_most_max_channels() {
        let values = vec![0.5; 9 * 4];
        let g = feature_grid(&values, 9, 2, 2, 4);
        assert_eq!((g.width, g.height), (2 * 2 + GRID_GAP, 2 * 2 + GRID_GAP));
    }
}
