//! Tiles for running a network on an image of any size with memory bounded
//! by the tile, and blending their outputs without seams.
//!
//! Each axis is cut into the fewest tiles of at most `tile` input pixels that
//! overlap by at least `overlap`, all of one length and spread evenly, so an
//! image a little larger than a tile costs little more than itself: a 256-pixel
//! side with tiles of 192 and an overlap of 32 is two tiles of 144 (288 pixels
//! computed), where tiles of 192 stepping by 160 computed 384, and a 256x256
//! input 2.25x its pixels. Equal tiles also keep one tensor shape per image,
//! which the GPU backends compile once. Near its inner edges
//! (never at the image border) each tile's output is weighted down: zero up
//! to one pixel short of the overlap's middle, where zero padding distorts a
//! network's output most, then a short cross-fade with the neighbour. The
//! weighted outputs are normalised, so tiles leave no seam, and with an
//! overlap of twice a network's receptive radius plus two the result equals
//! the untiled one.

use crate::error::ImageError;
use crate::planar::Plane;

/// One tile: a rectangle of the input image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tile {
    pub x: usize,
    pub y: usize,
    pub width: usize,
    pub height: usize,
}

/// All tiles covering an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TilePlan {
    pub width: usize,
    pub height: usize,
    pub tile: usize,
    pub overlap: usize,
    pub tiles: Vec<Tile>,
}

/// The tiles along one axis of `len` pixels: their common length and their
/// starts. `n` tiles of length `tile` overlapping by `overlap` cover
/// `n * tile - (n - 1) * overlap` pixels, so `n` is the least for which that
/// reaches `len`; the length is then the least that does with `n` tiles, and
/// the starts are spread evenly, so neighbours overlap by `overlap` or by one
/// pixel more.
fn axis_tiles(len: usize, tile: usize, overlap: usize) -> (usize, Vec<usize>) {
    if len <= tile {
        return (len, vec![0]);
    }
    let n = (len - overlap).div_ceil(tile - overlap);
    let size = (len + (n - 1) * overlap).div_ceil(n);
    // Rounded to the nearest: the step never exceeds `size - overlap`, since
    // `(len - size) / (n - 1) <= size - overlap` and the right side is whole.
    let starts = (0..n).map(|i| (2 * i * (len - size) + (n - 1)) / (2 * (n - 1))).collect();
    (size, starts)
}

impl TilePlan {
    pub fn new(width: usize, height: usize, tile: usize, overlap: usize) -> Result<Self, ImageError> {
        if width == 0 || height == 0 {
            return Err(ImageError::InvalidTiling(format!("empty image {width}x{height}")));
        }
        if tile == 0 || overlap >= tile {
            return Err(ImageError::InvalidTiling(format!("tile size {tile} must be larger than the overlap {overlap}")));
        }
        let (tile_width, xs) = axis_tiles(width, tile, overlap);
        let (tile_height, ys) = axis_tiles(height, tile, overlap);
        let tiles =
            ys.iter().flat_map(|&y| xs.iter().map(move |&x| (x, y))).map(|(x, y)| Tile { x, y, width: tile_width, height: tile_height }).collect();
        Ok(Self { width, height, tile, overlap, tiles })
    }
}

/// Accumulates tile outputs (at `scale` times the input size) into full planes.
pub struct TileBlender {
    width: usize,
    height: usize,
    scale: usize,
    /// The blend's `(margin, ramp)` in output pixels (see [`blend_of`]).
    blend: (usize, usize),
    sums: Vec<Vec<f32>>,
    weights: Vec<f32>,
}

/// Where two tiles overlapping by `overlap` input pixels hand over, in
/// output pixels at `scale`: each is trusted up to one input pixel short of
/// the overlap's middle (`margin`) and they cross-fade over the two middle
/// input pixels (`ramp`, three for an odd overlap). A tile's output is
/// exact where it lies at least the network's receptive radius `r` inside
/// the tile, so an overlap of `2r + 2` makes the blend exactly the untiled
/// output. The error of zero padding shrinks with the distance from the
/// edge, so for a smaller overlap too the middle is the best place to
/// hand over. (It used to trust a tile from a quarter of the overlap in,
/// cross-fading over the middle half, which needed four times the radius to
/// be exact: BENCHMARKS.md, "Tiles: exactness and speed".)
fn blend_of(overlap: usize, scale: usize) -> (usize, usize) {
    let margin = (overlap / 2).saturating_sub(1);
    (margin * scale, (overlap - 2 * margin) * scale)
}

/// Weight of position `p` of a tile of length `len` along one axis, in
/// output pixels. Near an inner edge (one shared with a neighbour) the first
/// `margin` pixels, where zero padding distorts the network's output, get no
/// weight, and the weight then rises linearly to 1 over `ramp` pixels.
fn axis_weight(p: usize, len: usize, (margin, ramp): (usize, usize), fade_start: bool, fade_end: bool) -> f32 {
    const FLOOR: f32 = 1e-6;
    if ramp == 0 {
        return 1.0;
    }
    let (margin, ramp) = (margin as f32, ramp as f32);
    let rise = |d: f32| ((d + 0.5 - margin) / ramp).clamp(FLOOR, 1.0);
    let mut w = 1.0f32;
    if fade_start {
        w = w.min(rise(p as f32));
    }
    if fade_end {
        w = w.min(rise((len - 1 - p) as f32));
    }
    w
}

impl TileBlender {
    pub fn new(plan: &TilePlan, scale: usize, channels: usize) -> Self {
        let (width, height) = (plan.width * scale, plan.height * scale);
        Self {
            width,
            height,
            scale,
            blend: blend_of(plan.overlap, scale),
            sums: vec![vec![0.0; width * height]; channels],
            weights: vec![0.0; width * height],
        }
    }

    /// Add one tile's output planes (each `tile.width*scale` x `tile.height*scale`).
    pub fn add(&mut self, tile: &Tile, planes: &[Plane]) {
        let (tw, th) = (tile.width * self.scale, tile.height * self.scale);
        let (ox, oy) = (tile.x * self.scale, tile.y * self.scale);
        assert_eq!(planes.len(), self.sums.len(), "tile has the wrong number of planes");
        assert!(planes.iter().all(|p| p.width == tw && p.height == th), "tile output has the wrong size");
        let fade = (ox > 0, ox + tw < self.width, oy > 0, oy + th < self.height);
        let wx: Vec<f32> = (0..tw).map(|p| axis_weight(p, tw, self.blend, fade.0, fade.1)).collect();
        for y in 0..th {
            let wy = axis_weight(y, th, self.blend, fade.2, fade.3);
            let row = (oy + y) * self.width + ox;
            for x in 0..tw {
                let w = wx[x] * wy;
                self.weights[row + x] += w;
                for (sum, plane) in self.sums.iter_mut().zip(planes) {
                    sum[row + x] += w * plane.data[y * tw + x];
                }
            }
        }
    }

    pub fn finish(self) -> Vec<Plane> {
        let weights = self.weights;
        self.sums.into_iter().map(|sum| Plane::new(self.width, self.height, sum.iter().zip(&weights).map(|(s, w)| s / w).collect())).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_cover_the_image_and_stay_inside() {
        for (w, h, t, o) in [(100, 37, 32, 8), (5, 5, 32, 8), (64, 64, 32, 0), (2000, 2000, 256, 16)] {
            let plan = TilePlan::new(w, h, t, o).unwrap();
            let mut covered = vec![false; w * h];
            for tile in &plan.tiles {
                assert!(tile.x + tile.width <= w && tile.y + tile.height <= h);
                for y in tile.y..tile.y + tile.height {
                    for x in tile.x..tile.x + tile.width {
                        covered[y * w + x] = true;
                    }
                }
            }
            assert!(covered.iter().all(|&c| c), "{w}x{h} tile {t} overlap {o}");
        }
    }

    #[test]
    fn tiles_are_equal_the_fewest_and_overlap_enough() {
        for len in 1..700 {
            for (tile, overlap) in [(192, 32), (24, 6), (33, 32), (16, 0), (144, 12)] {
                let (size, starts) = axis_tiles(len, tile, overlap);
                let n = starts.len();
                assert!(size <= tile && size <= len, "{len} {tile} {overlap}: length {size}");
                assert_eq!((starts[0], starts[n - 1] + size), (0, len), "{len} {tile} {overlap}: {starts:?}");
                // The fewest: one tile fewer of the largest length cannot cover the axis.
                assert!(n == 1 || (n - 1) * tile - (n - 2) * overlap < len, "{len} {tile} {overlap}: {n} tiles");
                for pair in starts.windows(2) {
                    let shared = pair[0] + size - pair[1];
                    assert!(shared >= overlap && shared <= overlap + 1, "{len} {tile} {overlap}: {starts:?} of {size}");
                }
            }
        }
    }

    #[test]
    fn a_256_pixel_image_in_192_pixel_tiles_computes_27_percent_more_not_125() {
        // What made the shipped SESR-M5 take 2.25x its pixels in the browser.
        let plan = TilePlan::new(256, 256, 192, 32).unwrap();
        let computed: usize = plan.tiles.iter().map(|t| t.width * t.height).sum();
        assert_eq!((plan.tiles.len(), plan.tiles[0].width), (4, 144));
        assert_eq!(computed, 288 * 288);
    }

    #[test]
    fn blending_identical_tiles_reproduces_the_image() {
        // A pointwise "network" (x2 nearest) must come back unchanged through tiles.
        let (w, h) = (70, 45);
        let img = Plane::new(w, h, (0..w * h).map(|i| (i % 251) as f32).collect());
        let plan = TilePlan::new(w, h, 24, 6).unwrap();
        let mut blender = TileBlender::new(&plan, 2, 1);
        for tile in &plan.tiles {
            let crop = img.crop(tile.x, tile.y, tile.width, tile.height);
            let up = Plane::new(
                tile.width * 2,
                tile.height * 2,
                (0..tile.width * tile.height * 4).map(|i| crop.get((i % (tile.width * 2)) / 2, i / (tile.width * 2) / 2)).collect(),
            );
            blender.add(tile, &[up]);
        }
        let out = blender.finish().remove(0);
        for y in 0..h * 2 {
            for x in 0..w * 2 {
                assert!((out.get(x, y) - img.get(x / 2, y / 2)).abs() < 1e-3);
            }
        }
    }

    #[test]
    fn overlap_not_smaller_than_tile_is_an_error() {
        assert!(TilePlan::new(10, 10, 8, 8).is_err());
        assert!(TilePlan::new(0, 10, 8, 2).is_err());
    }
}
