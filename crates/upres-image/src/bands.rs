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

/// One strip of input rows: the rows its job reads (`top..top + rows`), those
/// of them whose output it keeps (`keep_top..keep_top + keep_rows`), and where
/// that output is: rows `output_skip..output_skip + output_rows` of the job's
/// output (`job_output_rows` high) are rows `output_top..` of the whole output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Band {
    pub top: usize,
    pub rows: usize,
    pub keep_top: usize,
    pub keep_rows: usize,
    pub job_output_rows: usize,
    pub output_skip: usize,
    pub output_rows: usize,
    pub output_top: usize,
}

/// The bands covering an image, top to bottom.
#[derive(Debug, Clone, PartialEq)]
pub struct BandPlan {
    pub output: (usize, usize),
    pub bands: Vec<Band>,
    /// What each band's job runs: the request itself for one band of the
    /// whole image, else the integer factor on a strip.
    pub request: UpscaleRequest,
    /// Tiles run in all bands together (for progress).
    pub tiles: usize,
}

/// The integer factor of a request whose output is exactly `k` times the input.
fn integer_factor(width: usize, height: usize, size: OutputSize) -> Option<usize> {
    match size {
        OutputSize::Scale(s) if s >= 1.0 && s.fract() == 0.0 && s <= 64.0 => Some(s as usize),
        OutputSize::Exact { width: w, height: h } if w % width == 0 && h % height == 0 && w / width == h / height => Some(w / width),
        _ => None,
    }
}

impl BandPlan {
    /// Bands whose jobs each produce at most about `max_band_output_pixels`
    /// (at least one row of tiles each, however wide the image).
    pub fn new(width: usize, height: usize, spec: &NetworkSpec, request: &UpscaleRequest, max_band_output_pixels: usize) -> BandPlan {
        let output = request.size.resolve(width, height);
        let whole = || {
            let band = Band {
                top: 0,
                rows: height,
                keep_top: 0,
                keep_rows: height,
                job_output_rows: output.1,
                output_skip: 0,
                output_rows: output.1,
                output_top: 0,
            };
            let tiles = tiles_of(width, height, spec, request, output).unwrap_or(0);
            BandPlan { output, bands: vec![band], request: *request, tiles }
        };
        let Some(k) = integer_factor(width, height, request.size) else { return whole() };
        let (tile, overlap) = (request.tile.max(request.overlap + 1), request.overlap);
        let rows_fitting = max_band_output_pixels / (width * k * k).max(1);
        // Input rows per band (kept) and the margin, in input rows.
        let (kept, margin) = match spec.input {
            InputKind::LowRes => {
                // The network reads input rows: keep whole rows of tiles (a
                // multiple of the tile stride) and a margin of half the overlap,
                // so a band's window is that many rows of tiles exactly.
                let stride = tile - overlap;
                let margin = overlap.div_ceil(2).max(BICUBIC_REACH);
                let tile_rows = (rows_fitting.saturating_sub(2 * margin) / stride).max(1);
                (tile_rows * stride, margin)
            }
            InputKind::Bicubic => {
                // The network reads the bicubic upscale: its overlap is in
                // output pixels. A band's window is whole rows of tiles there
                // too (j strides and the overlap, in output rows), so that no
                // tile row is mostly past the band's edge.
                let margin = overlap.div_ceil(2).div_ceil(k) + BICUBIC_REACH;
                let stride = tile - overlap;
                let tile_rows = ((rows_fitting * k).saturating_sub(overlap) / stride).max(1);
                ((((tile_rows * stride + overlap) / k).saturating_sub(2 * margin)).max(16), margin)
            }
        };
        if kept >= height {
            return whole();
        }
        let band_request = UpscaleRequest { size: OutputSize::Scale(k as f64), ..*request };
        let bands: Vec<Band> = (0..height.div_ceil(kept))
            .map(|i| {
                let keep_top = i * kept;
                let keep_rows = kept.min(height - keep_top);
                let top = keep_top.saturating_sub(margin);
                let rows = (keep_top + keep_rows + margin).min(height) - top;
                Band {
                    top,
                    rows,
                    keep_top,
                    keep_rows,
                    job_output_rows: rows * k,
                    output_skip: (keep_top - top) * k,
                    output_rows: keep_rows * k,
                    output_top: keep_top * k,
                }
            })
            .collect();
        let tiles = bands.iter().map(|b| tiles_of(width, b.rows, spec, &band_request, (output.0, b.job_output_rows)).unwrap_or(0)).sum();
        BandPlan { output, bands, request: band_request, tiles }
    }

    /// The largest output a band's job makes, in pixels.
    pub fn largest_band_output(&self) -> usize {
        self.bands.iter().map(|b| b.job_output_rows * self.output.0).max().unwrap_or(0)
    }
}

/// Tiles of the job over a `width` x `height` input with this output size.
fn tiles_of(width: usize, height: usize, spec: &NetworkSpec, request: &UpscaleRequest, output: (usize, usize)) -> Option<usize> {
    let (nw, nh) = match spec.input {
        InputKind::Bicubic => output,
        InputKind::LowRes => (width, height),
    };
    let tile = request.tile.max(request.overlap + 1);
    TilePlan::new(nw, nh, tile, request.overlap).ok().map(|p| p.tiles.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::ColorSpace;

    fn request_of(size: OutputSize) -> UpscaleRequest {
        UpscaleRequest::with_default_tiles(size)
    }

    fn sesr() -> NetworkSpec {
        NetworkSpec { input: InputKind::LowRes, color: ColorSpace::Y, scales: vec![2] }
    }

    #[test]
    fn bands_cover_every_row_once_and_stay_inside() {
        for (w, h, k, max) in [(6000, 4000, 2.0, 4_000_000), (300, 1, 2.0, 10), (500, 997, 3.0, 100_000), (64, 64, 2.0, 1 << 30)] {
            let request = request_of(OutputSize::Scale(k));
            let plan = BandPlan::new(w, h, &sesr(), &request, max);
            let mut next = 0;
            for b in &plan.bands {
                assert_eq!(b.keep_top, next);
                assert!(b.top <= b.keep_top && b.keep_top + b.keep_rows <= b.top + b.rows && b.top + b.rows <= h);
                next += b.keep_rows;
            }
            assert_eq!(next, h, "{w}x{h}");
        }
    }

    #[test]
    fn a_24_megapixel_photo_at_x2_runs_in_rows_of_tiles_and_no_extra_tile() {
        let request = request_of(OutputSize::Scale(2.0));
        let plan = BandPlan::new(6000, 4000, &sesr(), &request, 4_000_000);
        assert_eq!(plan.bands[1].rows, 192, "{:?}", plan.bands[1]);
        let whole = TilePlan::new(6000, 4000, 192, 32).unwrap().tiles.len();
        assert!(plan.tiles <= whole + whole / 50, "{} tiles in bands, {whole} in one", plan.tiles);
        assert!(plan.largest_band_output() <= 192 * 2 * 12000);
    }

    #[test]
    fn outputs_that_are_not_a_multiple_are_one_band() {
        let request = request_of(OutputSize::Scale(2.5));
        let plan = BandPlan::new(6000, 4000, &sesr(), &request, 4_000_000);
        assert_eq!(plan.bands.len(), 1);
        assert_eq!(plan.output, (15000, 10000));
        let exact = request_of(OutputSize::Exact { width: 12000, height: 8000 });
        assert_eq!(BandPlan::new(6000, 4000, &sesr(), &exact, 4_000_000).request.size, OutputSize::Scale(2.0));
    }
}
