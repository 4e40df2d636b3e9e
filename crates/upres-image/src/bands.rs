//! Large images upscaled band by band, so that memory is bounded by a band
//! and not by the whole output: a 24-megapixel photo at x2 makes 96
//! megapixels, whose f32 planes alone would not fit in a 32-bit wasm
//! address space, while one band of it needs a few hundred megabytes.
//!
//! Each band is a strip of whole input rows with a margin above and below;
//! it is upscaled as an image of its own (an [`UpscaleJob`](crate::UpscaleJob)
//! over the strip) and only the output rows of its middle are kept. With an
//! integer factor the output rows of a strip map onto the whole image's
//! exactly (output row `r` of a strip starting at input row `t` is row
//! `r + t * factor` of the whole output, for the network, the bicubic chroma
//! and alpha, and the bicubic input of VDSR-like networks alike), so the
//! kept rows are the whole image's wherever the margin covers what the
//! network and bicubic's 4-tap kernel read beyond a row. The margin is half
//! the tile overlap, where the tiles' own cross-fade is centred, plus
//! bicubic's reach; for networks that read the low-resolution image the
//! bands then line up with the rows of tiles, and no pixel is computed twice
//! more than the tiles already compute it.
//!
//! Other outputs (a non-integer factor, or an exact size that is not one)
//! do not line up row for row: [`BandPlan::new`] gives one band, the whole
//! image.

use crate::pipeline::{InputKind, NetworkSpec, OutputSize, UpscaleRequest};
use crate::tiling::TilePlan;

/// How far bicubic's kernel reaches, in input pixels (4 taps: 2 each side),
/// with one to spare.
const BICUBIC_REACH: usize = 3;

/// One strip of input rows: the rows its job reads (`top..top + rows`) and
/// those of them whose output it keeps (`keep_top..keep_top + keep_rows`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Band {
    pub top: usize,
    pub rows: usize,
    pub keep_top: usize,
    pub keep_rows: usize,
}

/// The bands covering an image, top to bottom.
#[derive(Debug, Clone, PartialEq)]
pub struct BandPlan {
    /// The whole output is `factor` times the input on each side; 0 when the
    /// plan is one band of an output that is not an integer multiple.
    pub factor: usize,
    pub output: (usize, usize),
    pub bands: Vec<Band>,
    /// Tiles run in all bands together (for progress).
    pub tiles: usize,
}

/// The integer factor of a request whose output is exactly `k` times the input.
fn integer_factor(width: usize, height: usize, size: OutputSize) -> Option<usize> {
    match size {
        OutputSize::Scale(s) if s >= 1.0 && s.fract() == 0.0 && s <= 64.0 => Some(s as usize),
        OutputSize::Exact {
            width: w,
            height: h,
        } if w % width == 0 && w / width == h / height && h % height == 0 => Some(w / width),
        _ => None,
    }
}

impl BandPlan {
    /// Bands whose jobs each produce at most about `max_band_output_pixels`
    /// (at least one row of tiles each, however wide the image).
    pub fn new(
        width: usize,
        height: usize,
        spec: &NetworkSpec,
        request: &UpscaleRequest,
        max_band_output_pixels: usize,
    ) -> BandPlan {
        let tile = request.tile.max(request.overlap + 1);
        let overlap = request.overlap;
        let whole = |factor: usize, output: (usize, usize)| {
            let band = Band {
                top: 0,
                rows: height,
                keep_top: 0,
                keep_rows: height,
            };
            let tiles = tiles_of(width, height, spec, request, output).unwrap_or(0);
            BandPlan {
                factor,
                output,
                bands: vec![band],
                tiles,
            }
        };
        let Some(k) = integer_factor(width, height, request.size) else {
            let output = match request.size {
                OutputSize::Scale(s) => (crate::output_len(width, s), crate::output_len(height, s)),
                OutputSize::Exact { width, height } => (width, height),
            };
            return whole(0, output);
        };
        let output = (width * k, height * k);
        // Input rows per band (kept) and the margin, in input rows.
        let (kept, margin) = match spec.input {
            InputKind::LowRes => {
                // The network reads input rows: keep whole rows of tiles (a
                // multiple of the tile stride) and a margin of half the overlap,
                // so a band's window is that many rows of tiles exactly.
                let stride = tile - overlap;
                let margin = overlap.div_ceil(2).max(BICUBIC_REACH);
                let rows_fitting = max_band_output_pixels / (width * k * k).max(1);
                let tile_rows = (rows_fitting.saturating_sub(2 * margin) / stride).max(1);
                (tile_rows * stride, margin)
            }
            InputKind::Bicubic => {
                // The network reads the bicubic upscale: its overlap is in output pixels.
                let margin = overlap.div_ceil(2).div_ceil(k) + BICUBIC_REACH;
                let rows_fitting = max_band_output_pixels / (width * k * k).max(1);
                (rows_fitting.saturating_sub(2 * margin).max(16), margin)
            }
        };
        if kept >= height {
            return whole(k, output);
        }
        let bands: Vec<Band> = (0..height.div_ceil(kept))
            .map(|i| {
                let keep_top = i * kept;
                let keep_rows = kept.min(height - keep_top);
                let top = keep_top.saturating_sub(margin);
                let bottom = (keep_top + keep_rows + margin).min(height);
                Band {
                    top,
                    rows: bottom - top,
                    keep_top,
                    keep_rows,
                }
            })
            .collect();
        let band_request = UpscaleRequest {
            size: OutputSize::Scale(k as f64),
            ..*request
        };
        let tiles = bands
            .iter()
            .map(|b| {
                tiles_of(width, b.rows, spec, &band_request, (width * k, b.rows * k)).unwrap_or(0)
            })
            .sum();
        BandPlan {
            factor: k,
            output,
            bands,
            tiles,
        }
    }

    /// The request each band's job runs (its output is `factor` times the strip).
    pub fn band_request(&self, request: &UpscaleRequest) -> UpscaleRequest {
        if self.bands.len() == 1 {
            return *request;
        }
        UpscaleRequest {
            size: OutputSize::Scale(self.factor as f64),
            ..*request
        }
    }

    /// Which output rows of band `index`'s job to keep: the first and how many.
    /// Their place in the whole output starts at `keep_top * factor`.
    pub fn kept_output_rows(&self, index: usize) -> (usize, usize) {
        if self.bands.len() == 1 {
            return (0, self.output.1);
        }
        let b = self.bands[index];
        (
            (b.keep_top - b.top) * self.factor,
            b.keep_rows * self.factor,
        )
    }

    /// The row of the whole output where band `index`'s kept rows go.
    pub fn output_top(&self, index: usize) -> usize {
        if self.bands.len() == 1 {
            0
        } else {
            self.bands[index].keep_top * self.factor
        }
    }

    /// The largest output a band's job makes, in pixels.
    pub fn largest_band_output(&self) -> usize {
        let (ow, oh) = self.output;
        if self.bands.len() == 1 {
            return ow * oh;
        }
        self.bands
            .iter()
            .map(|b| b.rows * self.factor * ow)
            .max()
            .unwrap_or(0)
    }
}

/// Tiles of the job over a `width` x `height` input with this output size.
fn tiles_of(
    width: usize,
    height: usize,
    spec: &NetworkSpec,
    request: &UpscaleRequest,
    output: (usize, usize),
) -> Option<usize> {
    let (nw, nh) = match spec.input {
        InputKind::Bicubic => output,
        InputKind::LowRes => (width, height),
    };
    let tile = request.tile.max(request.overlap + 1);
    TilePlan::new(nw, nh, tile, request.overlap)
        .ok()
        .map(|p| p.tiles.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::ColorSpace;

    fn sesr() -> NetworkSpec {
        NetworkSpec {
            input: InputKind::LowRes,
            color: ColorSpace::Y,
            scales: vec![2],
        }
    }

    #[test]
    fn bands_cover_every_row_once_and_stay_inside() {
        for (w, h, k, max) in [
            (6000, 4000, 2.0, 4_000_000),
            (300, 1, 2.0, 10),
            (500, 997, 3.0, 100_000),
            (64, 64, 2.0, 1 << 30),
        ] {
            let request = UpscaleRequest {
                size: OutputSize::Scale(k),
                tile: 192,
                overlap: 32,
            };
            let plan = BandPlan::new(w, h, &sesr(), &request, max);
            let mut next = 0;
            for b in &plan.bands {
                assert_eq!(b.keep_top, next);
                assert!(
                    b.top <= b.keep_top
                        && b.keep_top + b.keep_rows <= b.top + b.rows
                        && b.top + b.rows <= h
                );
                next += b.keep_rows;
            }
            assert_eq!(next, h, "{w}x{h}");
        }
    }

    #[test]
    fn a_24_megapixel_photo_at_x2_runs_in_rows_of_tiles_and_no_extra_tile() {
        let request = UpscaleRequest {
            size: OutputSize::Scale(2.0),
            tile: 192,
            overlap: 32,
        };
        let plan = BandPlan::new(6000, 4000, &sesr(), &request, 4_000_000);
        assert_eq!(plan.bands[1].rows, 192, "{:?}", plan.bands[1]);
        let whole = TilePlan::new(6000, 4000, 192, 32).unwrap().tiles.len();
        assert!(
            plan.tiles <= whole + whole / 50,
            "{} tiles in bands, {whole} in one",
            plan.tiles
        );
        assert!(plan.largest_band_output() <= 192 * 2 * 12000);
    }

    #[test]
    fn outputs_that_are_not_a_multiple_are_one_band() {
        let request = UpscaleRequest {
            size: OutputSize::Scale(2.5),
            tile: 192,
            overlap: 32,
        };
        let plan = BandPlan::new(6000, 4000, &sesr(), &request, 4_000_000);
        assert_eq!(plan.bands.len(), 1);
        assert_eq!(plan.output, (15000, 10000));
        let exact = UpscaleRequest {
            size: OutputSize::Exact {
                width: 12000,
                height: 8000,
            },
            tile: 192,
            overlap: 32,
        };
        assert_eq!(
            BandPlan::new(6000, 4000, &sesr(), &exact, 4_000_000).factor,
            2
        );
    }
}
