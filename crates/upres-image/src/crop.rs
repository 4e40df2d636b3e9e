use crate::planar::{PlanarImage, Plane};

/// MATLAB's `modcrop`: `img(1:sz - mod(sz, scale), ...)`. For integer scales
/// the side becomes a multiple of the scale; for non-integer ones MATLAB's
/// colon operator floors `sz - mod(sz, scale)` (344 at x2.5 keeps 342).
pub fn modcrop_len(len: usize, scale: f64) -> usize {
    let l = len as f64;
    // MATLAB's mod(x, y) = x - floor(x/y) * y.
    (l - (l - (l / scale).floor() * scale)).floor() as usize
}

/// Crop the bottom/right so that both sides are multiples of `scale`.
pub fn modcrop(image: &PlanarImage, scale: f64) -> PlanarImage {
    image.crop(0, 0, modcrop_len(image.width, scale), modcrop_len(image.height, scale))
}

/// The border shave used with a scale: the scale itself, rounded half away
/// from zero for the non-integer scales (x1.5 shaves 2, x2.5 shaves 3).
pub fn shave_for_scale(scale: f64) -> usize {
    scale.round() as usize
}

/// Remove `border` pixels on every side.
pub fn shave(plane: &Plane, border: usize) -> Plane {
    let (w, h) = (plane.width.saturating_sub(2 * border), plane.height.saturating_sub(2 * border));
    plane.crop(border.min(plane.width), border.min(plane.height), w, h)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn modcrop_follows_matlab_mod() {
        assert_eq!(modcrop_len(256, 2.0), 256);
        assert_eq!(modcrop_len(257, 2.0), 256);
        assert_eq!(modcrop_len(256, 3.0), 255);
        assert_eq!(modcrop_len(256, 1.5), 255);
        assert_eq!(modcrop_len(344, 2.5), 342);
        assert_eq!(modcrop_len(228, 3.5), 227);
    }
}
