//! Upscaling band by band ([`upres_image::BandPlan`]): what the package's
//! `upscale` runs, so that wasm memory holds the input planes and one band's
//! work, never the whole output in f32. The output's RGBA rows go to a
//! callback as each band finishes: the bindings copy them into one JS array
//! (the whole result) or hand them on (`onRows`, for outputs too large to hold).

use std::borrow::Cow;
use std::future::Future;

use upres_image::{BandPlan, PlanarImage, UpscaleJob, UpscaleRequest};

use crate::engine::Session;
use crate::pixels::{check_band_memory, rgba_from_planar};
use crate::WebError;

/// About how many output pixels one band's job makes (a few hundred MB of
/// working planes); a band is never less than one row of tiles.
pub const BAND_OUTPUT_PIXELS: usize = 4_000_000;

/// Finished output rows, RGBA8, `width` wide, starting at output row `top`.
pub struct Rows {
    pub rgba: Vec<u8>,
    pub width: usize,
    pub top: usize,
    pub rows: usize,
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
        image: &PlanarImage,
        request: &UpscaleRequest,
        held_bytes_per_pixel: u64,
        on_tile: F,
        on_rows: R,
    ) -> Result<BandedOutput, WebError>
    where
        F: FnMut(usize, usize) -> Fut,
        Fut: Future<Output = Result<bool, WebError>>,
        R: FnMut(Rows) -> Result<(), WebError>,
    {
        self.upscale_in_bands_sized(
            image,
            request,
            held_bytes_per_pixel,
            BAND_OUTPUT_PIXELS,
            on_tile,
            on_rows,
        )
        .await
    }

    /// [`Session::upscale_in_bands`] with bands of about `band_output_pixels` (tests make them small).
    pub async fn upscale_in_bands_sized<F, Fut, R>(
        &mut self,
        image: &PlanarImage,
        request: &UpscaleRequest,
        held_bytes_per_pixel: u64,
        band_output_pixels: usize,
        mut on_tile: F,
        mut on_rows: R,
    ) -> Result<BandedOutput, WebError>
    where
        F: FnMut(usize, usize) -> Fut,
        Fut: Future<Output = Result<bool, WebError>>,
        R: FnMut(Rows) -> Result<(), WebError>,
    {
        crate::engine::check_requested_scale(&self.meta, image, request)?;
        let spec = self.meta.config.network_spec();
        let plan = BandPlan::new(
            image.width,
            image.height,
            &spec,
            request,
            band_output_pixels,
        );
        let (width, height) = plan.output;
        check_band_memory(
            image.width,
            image.height,
            image.planes.len(),
            &plan,
            image.layout.channels().max(3),
            held_bytes_per_pixel,
        )?;
        let total = plan.tiles;
        let mut done = 0;
        let mut network_scale = 1;
        for band in &plan.bands {
            let strip = if band.rows == image.height {
                Cow::Borrowed(image)
            } else {
                Cow::Owned(image.crop(0, band.top, image.width, band.rows))
            };
            let mut job = UpscaleJob::new(&strip, &spec, &plan.request)?;
            drop(strip);
            network_scale = job.network_scale();
            for tile in 0..job.tile_count() {
                let input = job.tile_input(tile);
                let output = self.run_tile(&input, network_scale).await?;
                job.add_tile_output(tile, &output)?;
                done += 1;
                if !on_tile(done, total.max(done)).await? {
                    return Err(WebError::Aborted);
                }
            }
            let out = job.finish()?.image;
            let kept = if band.output_skip == 0 && band.output_rows == out.height { out } else { out.crop(0, band.output_skip, out.width, band.output_rows) };
            on_rows(Rows { rgba: rgba_from_planar(&kept), width, top: band.output_top, rows: band.output_rows })?;
        }
        Ok(BandedOutput {
            width,
            height,
            network_scale,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Cpu;
    use upres_image::OutputSize;
    use upres_image::{BitDepth, Layout, Plane};
    use upres_models::{
        load_weights, save_weights, Expectation, ModelConfig, Provenance, WeightsDtype, WeightsMeta,
    };

    use crate::ready;

    fn weights(config: &str, scales: Vec<usize>) -> Vec<u8> {
        let config: ModelConfig = serde_json::from_str(config).unwrap();
        let model = config.init::<Cpu>(&Default::default()).unwrap();
        save_weights(
            &model,
            &WeightsMeta::new(config, scales, Provenance::default()),
            WeightsDtype::F32,
        )
        .unwrap()
    }

    /// A photo-like test image: smooth gradients, an edge and texture, with alpha.
    fn image(width: usize, height: usize, layout: Layout) -> PlanarImage {
        let plane = |k: f32| {
            Plane::new(
                width,
                height,
                (0..width * height)
                    .map(|i| {
                        let (x, y) = ((i % width) as f32, (i / width) as f32);
                        let edge = if x + 0.7 * y > width as f32 * 0.6 {
                            60.0
                        } else {
                            0.0
                        };
                        (100.0
                            + 60.0 * (x * 0.07 * k).sin() * (y * 0.05).cos()
                            + edge
                            + (x * y * k) % 23.0)
                            .clamp(0.0, 255.0)
                            .round()
                    })
                    .collect(),
            )
        };
        let planes = (0..layout.channels())
            .map(|c| plane(1.0 + c as f32 * 0.4))
            .collect();
        PlanarImage::new(layout, BitDepth::Eight, planes)
    }

    /// The banded RGBA of a `BAND_OUTPUT_PIXELS`-sized band plan made small,
    /// against the whole-image native run.
    fn largest_difference(weights: &[u8], image: &PlanarImage, scale: f64) -> (u8, usize) {
        let request = UpscaleRequest {
            size: OutputSize::Scale(scale),
            tile: 48,
            overlap: 16,
        };
        let mut session = Session::on_cpu(weights.to_vec(), None).unwrap();
        let mut rgba = Vec::new();
        let mut bands = 0;
        let out = ready(session.upscale_in_bands_sized(
            image,
            &request,
            4,
            8_000,
            |_, _| async { Ok(true) },
            |rows| {
                assert_eq!(
                    rows.top * rows.width * 4,
                    rgba.len(),
                    "rows come top to bottom, each once"
                );
                rgba.extend_from_slice(&rows.rgba);
                bands += 1;
                Ok(())
            },
        ))
        .unwrap();
        let device = Default::default();
        let file = load_weights::<Cpu>(weights, &device, &Expectation::default()).unwrap();
        let whole = upres_models::run::upscale(
            &file.model,
            &file.meta.config,
            image,
            &request,
            &device,
            |_, _| true,
        )
        .unwrap();
        assert_eq!(
            (out.width, out.height),
            (whole.image.width, whole.image.height)
        );
        let reference = rgba_from_planar(&whole.image);
        assert_eq!(rgba.len(), reference.len());
        (
            rgba.iter()
                .zip(&reference)
                .map(|(a, b)| a.abs_diff(*b))
                .max()
                .unwrap(),
            bands,
        )
    }

    #[test]
    fn bands_give_the_whole_images_pixels_for_a_low_resolution_network() {
        let sesr = weights(
            r#"{"arch":"sesr","scale":2,"features":8,"blocks":3,"expansion":16}"#,
            vec![2],
        );
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
        let vdsr = weights(r#"{"arch":"vdsr","layers":4,"features":8}"#, vec![2, 3, 4]);
        let (diff, bands) = largest_difference(&vdsr, &image(53, 71, Layout::Rgb), 2.0);
        assert!(bands >= 3 && diff <= 1, "{bands} bands, {diff}");
    }

    #[test]
    fn a_non_integer_scale_is_one_band_of_the_whole_image() {
        let sesr = weights(
            r#"{"arch":"sesr","scale":2,"features":8,"blocks":3,"expansion":16}"#,
            vec![2],
        );
        let (diff, bands) = largest_difference(&sesr, &image(30, 40, Layout::Rgb), 2.5);
        assert_eq!((diff, bands), (0, 1));
    }
}
