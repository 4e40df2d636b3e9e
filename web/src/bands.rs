//! Upscaling band by band ([`upres_image::BandPlan`]): what the package's
//! `upscale` runs, so that wasm memory holds the input (as the decoder's or
//! the caller's interleaved samples, each band made planar in its turn) and
//! one band's work, never the whole input or output in f32. The output's RGBA rows go to a
//! callback as each band finishes: the bindings copy them into one JS array
//! (the whole result) or hand them on (`onRows`, for outputs too large to hold).

use std::future::Future;

use upres_image::{BandPlan, RowSource, UpscaleJob, UpscaleRequest};

use crate::WebError;
use crate::engine::Session;
use crate::pixels::{InputMemory, check_band_memory, rgba_from_planar};

/// About how many output pixels one band's job makes (a few hundred MB of
/// working planes); a band is never less than one row of tiles.
pub const BAND_OUTPUT_PIXELS: usize = 4_000_000;

/// Finished output rows, RGBA8, `width` wide, starting at output row `top`
/// of an output `height` high.
pub struct Rows {
    pub rgba: Vec<u8>,
    pub width: usize,
    pub height: usize,
    pub top: usize,
    pub rows: usize,
}

/// Which bands of an upscale one call runs: band `i` when `i % of == index`.
/// A pool of `of` workers, each with its own model, runs the parts of one
/// upscale side by side; each part makes the same plan (bands small enough
/// that every worker gets some), so together they give the serial output
/// row for row, and each band's rows go out as they are finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Part {
    pub index: usize,
    pub of: usize,
}

impl Part {
    /// The whole upscale, in one call.
    pub const WHOLE: Part = Part { index: 0, of: 1 };
    /// The most parts an upscale is split into.
    pub const MAX_PARTS: usize = 64;

    /// Output pixels per band: [`BAND_OUTPUT_PIXELS`] for one part; for
    /// several, the least a band holds (one row of tiles), so that the parts'
    /// shares differ by one row of tiles at most (two-band shares of a
    /// 1024-pixel-high VDSR input differed by two and 2 workers ran 1.59x
    /// faster than 1; one-row bands, 1.8x).
    pub fn band_output_pixels(&self) -> usize {
        if self.of <= 1 { BAND_OUTPUT_PIXELS } else { 1 }
    }

    fn runs(&self, band: usize) -> bool {
        band % self.of == self.index
    }
}

/// The size of the output and the scale the network ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BandedOutput {
    pub width: usize,
    pub height: usize,
    pub network_scale: usize,
}

impl Session {
    /// Upscale `image` band by band; `on_rows` gets each band's finished rows,
    /// top to bottom. `held_bytes_per_pixel`: what the caller keeps of the
    /// whole output per pixel (4 when it assembles the result, 0 when it
    /// streams it on), counted in the memory check made before any band runs.
    pub async fn upscale_in_bands<F, Fut, R>(
        &mut self,
        image: &impl RowSource,
        request: &UpscaleRequest,
        held_bytes_per_pixel: u64,
        part: Part,
        on_tile: F,
        on_rows: R,
    ) -> Result<BandedOutput, WebError>
    where
        F: FnMut(usize, usize) -> Fut,
        Fut: Future<Output = Result<bool, WebError>>,
        R: FnMut(Rows) -> Result<(), WebError>,
    {
        let band_output_pixels = part.band_output_pixels();
        self.upscale_in_bands_sized(image, request, held_bytes_per_pixel, band_output_pixels, part, on_tile, on_rows).await
    }

    /// [`Session::upscale_in_bands`] with bands of about `band_output_pixels`
    /// (tests make them small). Progress counts this part's tiles done out
    /// of all parts' tiles, so the parts' counts add up to the whole.
    #[allow(clippy::too_many_arguments)]
    pub async fn upscale_in_bands_sized<F, Fut, R>(
        &mut self,
        image: &impl RowSource,
        request: &UpscaleRequest,
        held_bytes_per_pixel: u64,
        band_output_pixels: usize,
        part: Part,
        mut on_tile: F,
        mut on_rows: R,
    ) -> Result<BandedOutput, WebError>
    where
        F: FnMut(usize, usize) -> Fut,
        Fut: Future<Output = Result<bool, WebError>>,
        R: FnMut(Rows) -> Result<(), WebError>,
    {
        let (in_width, in_height) = (image.width(), image.height());
        crate::engine::check_requested_scale(self.meta(), in_width, in_height, request)?;
        let spec = self.meta().config.network_spec();
        let plan = BandPlan::new(in_width, in_height, &spec, request, band_output_pixels);
        let (width, height) = plan.output;
        check_band_memory(
            in_width,
            in_height,
            InputMemory { source_bytes_per_pixel: image.bytes_per_pixel(), planes: image.layout().channels() },
            &plan,
            image.layout().channels().max(3),
            held_bytes_per_pixel,
        )?;
        let total = plan.tiles;
        let mut done = 0;
        let mut network_scale = 1;
        for band in plan.bands.iter().enumerate().filter(|(i, _)| part.runs(*i)).map(|(_, b)| b) {
            let strip = image.rows(band.top, band.rows);
            let job = UpscaleJob::new(&strip, &spec, &plan.request)?;
            drop(strip);
            network_scale = job.network_scale();
            let out = job
                .run(
                    async |input, scale| self.run_tile(&input, scale).await,
                    async |_, _| {
                        done += 1;
                        crate::engine::stop_unless(on_tile(done, total.max(done)).await?)
                    },
                )
                .await?
                .image;
            let kept = if band.output_skip == 0 && band.output_rows == out.height {
                out
            } else {
                out.crop(0, band.output_skip, out.width, band.output_rows)
            };
            on_rows(Rows { rgba: rgba_from_planar(&kept), width, height, top: band.output_top, rows: band.output_rows })?;
        }
        Ok(BandedOutput { width, height, network_scale })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Cpu;
    use upres_image::OutputSize;
    use upres_image::{BitDepth, InterleavedImage, Layout, PlanarImage, Plane, Samples};
    use upres_models::{Expectation, ModelConfig, Provenance, WeightsDtype, WeightsMeta, load_weights, save_weights};

    use crate::ready;

    fn weights(config: &str, scales: Vec<usize>) -> Vec<u8> {
        let config: ModelConfig = serde_json::from_str(config).unwrap();
        let model = config.init::<Cpu>(&Default::default()).unwrap();
        save_weights(&model, &WeightsMeta::new(config, scales, Provenance::default()), WeightsDtype::F32).unwrap()
    }

    // Trained weights, as shipped: random ones amplify the tiles' seams (each
    // tile's edge rows lack context, and bands and the whole image cross-fade
    // different seams) past 1/255 on some draws; trained ones do not.
    const SESR_X2: &[u8] = include_bytes!("../../weights/sesr-m5-x2.f16.safetensors");
    const VDSR_X2: &[u8] = include_bytes!("../../weights/vdsr-small-x2.f16.safetensors");

    /// A photo-like test image: smooth gradients, an edge and texture, with alpha.
    fn image(width: usize, height: usize, layout: Layout) -> PlanarImage {
        let plane = |k: f32| {
            Plane::new(
                width,
                height,
                (0..width * height)
                    .map(|i| {
                        let (x, y) = ((i % width) as f32, (i / width) as f32);
                        let edge = if x + 0.7 * y > width as f32 * 0.6 { 60.0 } else { 0.0 };
                        (100.0 + 60.0 * (x * 0.07 * k).sin() * (y * 0.05).cos() + edge + (x * y * k) % 23.0).clamp(0.0, 255.0).round()
                    })
                    .collect(),
            )
        };
        let planes = (0..layout.channels()).map(|c| plane(1.0 + c as f32 * 0.4)).collect();
        PlanarImage::new(layout, BitDepth::Eight, planes)
    }

    /// The image as 8-bit interleaved samples, as the decoder and `upscale`'s RGBA give them.
    fn samples_of(image: &PlanarImage) -> InterleavedImage {
        InterleavedImage::new(image.width, image.height, image.layout, Samples::Eight(image.to_interleaved_u8())).unwrap()
    }

    /// The banded RGBA of a `BAND_OUTPUT_PIXELS`-sized band plan made small,
    /// from the image's interleaved samples (bands made planar one at a
    /// time), against the whole-image native run on its planes.
    fn largest_difference(weights: &[u8], image: &PlanarImage, scale: f64) -> (u8, usize) {
        let request = UpscaleRequest { size: OutputSize::Scale(scale), tile: 48, overlap: 16 };
        let mut session = Session::on_cpu(upres_models::open_weights(std::rc::Rc::<[u8]>::from(weights.to_vec())).unwrap(), None).unwrap();
        let mut rgba = Vec::new();
        let mut bands = 0;
        let out = ready(session.upscale_in_bands_sized(
            &samples_of(image),
            &request,
            4,
            8_000,
            Part::WHOLE,
            |_, _| async { Ok(true) },
            |rows| {
                assert_eq!(rows.top * rows.width * 4, rgba.len(), "rows come top to bottom, each once");
                rgba.extend_from_slice(&rows.rgba);
                bands += 1;
                Ok(())
            },
        ))
        .unwrap();
        let device = Default::default();
        let file = load_weights::<Cpu>(weights, &device, &Expectation::default()).unwrap();
        let whole = upres_models::run::upscale(&file.model, &file.meta.config, image, &request, &device, |_, _| true).unwrap();
        assert_eq!((out.width, out.height), (whole.image.width, whole.image.height));
        let reference = rgba_from_planar(&whole.image);
        assert_eq!(rgba.len(), reference.len());
        (rgba.iter().zip(&reference).map(|(a, b)| a.abs_diff(*b)).max().unwrap(), bands)
    }

    #[test]
    fn bands_give_the_whole_images_pixels_for_a_low_resolution_network() {
        let sesr = SESR_X2.to_vec();
        for layout in [Layout::Rgb, Layout::GrayAlpha, Layout::Rgba] {
            let (diff, bands) = largest_difference(&sesr, &image(61, 97, layout), 2.0);
            assert!(bands >= 3, "{bands} bands");
            assert!(diff <= 1, "{layout:?}: {diff}");
        }
        // x3 on an x2 network: x2, then bicubic by 1.5, band by band.
        let (diff, bands) = largest_difference(&sesr, &image(41, 83, Layout::Rgb), 3.0);
        assert!(bands >= 3 && diff <= 1, "{bands} bands, {diff}");
    }

    #[test]
    fn bands_give_the_whole_images_pixels_for_a_bicubic_input_network() {
        let vdsr = VDSR_X2.to_vec();
        let (diff, bands) = largest_difference(&vdsr, &image(53, 71, Layout::Rgb), 2.0);
        assert!(bands >= 3 && diff <= 1, "{bands} bands, {diff}");
    }

    /// Rows of each part of `of`, as (top, rgba), and the tiles each part reported last.
    fn parts(weights: &[u8], image: &impl RowSource, of: usize) -> (Vec<(usize, Vec<u8>)>, Vec<(usize, usize)>) {
        let request = UpscaleRequest { size: OutputSize::Scale(2.0), tile: 48, overlap: 16 };
        let mut session = Session::on_cpu(upres_models::open_weights(std::rc::Rc::<[u8]>::from(weights.to_vec())).unwrap(), None).unwrap();
        let (mut rows, mut progress) = (Vec::new(), Vec::new());
        for index in 0..of {
            let mut last = (0, 0);
            ready(session.upscale_in_bands(
                image,
                &request,
                0,
                Part { index, of },
                |done, total| {
                    last = (done, total);
                    async { Ok(true) }
                },
                |r| {
                    rows.push((r.top, r.rgba));
                    Ok(())
                },
            ))
            .unwrap();
            progress.push(last);
        }
        rows.sort_by_key(|r| r.0);
        (rows, progress)
    }

    #[test]
    fn parts_of_an_upscale_together_give_the_serial_rows_and_tiles() {
        for (model, file) in [("sesr", SESR_X2), ("vdsr", VDSR_X2)] {
            let image = image(70, 150, Layout::Rgba);
            let (serial, _) = parts(file, &image, 1);
            let serial: Vec<u8> = serial.into_iter().flat_map(|r| r.1).collect();
            for of in [2, 3] {
                // The pool's workers read the decoder's samples; the serial run, the planes.
                let (rows, progress) = parts(file, &samples_of(&image), of);
                assert!(rows.len() >= of, "{model}: {} bands for {of} parts", rows.len());
                let total = progress[0].1;
                assert!(progress.iter().all(|p| p.1 == total && p.0 > 0), "{model}: {progress:?}");
                assert!(progress.iter().map(|p| p.0).sum::<usize>() == total, "{model}: the parts' tiles add up to the total: {progress:?}");
                let mut next = 0;
                for (top, rgba) in &rows {
                    assert_eq!(*top * 140 * 4, next, "{model}: every row once");
                    next += rgba.len();
                }
                let pooled: Vec<u8> = rows.into_iter().flat_map(|r| r.1).collect();
                let diff = pooled.iter().zip(&serial).map(|(a, b)| a.abs_diff(*b)).max().unwrap();
                assert_eq!(pooled.len(), serial.len());
                assert!(diff <= 1, "{model}, {of} parts: {diff}");
            }
        }
    }

    #[test]
    fn a_non_integer_scale_is_one_band_of_the_whole_image() {
        let sesr = weights(r#"{"arch":"sesr","scale":2,"features":8,"blocks":3,"expansion":16}"#, vec![2]);
        let (diff, bands) = largest_difference(&sesr, &image(30, 40, Layout::Rgb), 2.5);
        assert_eq!((diff, bands), (0, 1));
    }
}
