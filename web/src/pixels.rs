//! RGBA pixels (what canvases, ImageData and Node buffers hold) to and from
//! upres-image's planar images, keeping gray as gray and alpha as alpha.

use upres_image::{BandPlan, BitDepth, InterleavedImage, Layout, PlanarImage, Plane, Samples};

use crate::WebError;

/// The most input pixels accepted (as the native decoder's limit).
pub const MAX_INPUT_PIXELS: usize = 100_000_000;

/// The most that decoding a file may hold per pixel, for the memory check
/// made from its header: the codec's samples (up to 8 bytes, 16-bit RGBA),
/// a turned copy of them while an EXIF orientation is applied, and the
/// codec's own working memory (taken as 4 more).
pub const DECODING_BYTES_PER_PIXEL: usize = 20;

/// What one upscale may allocate inside wasm's linear memory: 32-bit wasm
/// addresses 4 GiB at most and browsers often give less.
pub const MEMORY_BUDGET_BYTES: u64 = 2 << 30;

/// What RGBA samples hold: alpha is kept only if some pixel is not opaque,
/// and an image whose pixels all have R = G = B is gray (as the papers
/// evaluate gray images, and so the output stays gray). The layout and which
/// of each pixel's four samples are its channels.
fn rgba_layout(rgba: &[u8], width: usize, height: usize) -> Result<(Layout, Vec<usize>), WebError> {
    if width == 0 || height == 0 {
        return Err(WebError::Image(format!("the image is {width}x{height}: it has no pixels")));
    }
    if width.saturating_mul(height) > MAX_INPUT_PIXELS {
        return Err(WebError::Image(format!("the image is {width}x{height}, more than the {MAX_INPUT_PIXELS} pixels this library accepts")));
    }
    let expected = width * height * 4;
    if rgba.len() != expected {
        return Err(WebError::Image(format!("{width}x{height} RGBA needs {expected} bytes, but {} were given", rgba.len())));
    }
    let opaque = rgba.chunks_exact(4).all(|p| p[3] == 255);
    let gray = rgba.chunks_exact(4).all(|p| p[0] == p[1] && p[1] == p[2]);
    Ok(match (gray, opaque) {
        (true, true) => (Layout::Gray, vec![0]),
        (true, false) => (Layout::GrayAlpha, vec![0, 3]),
        (false, true) => (Layout::Rgb, vec![0, 1, 2]),
        (false, false) => (Layout::Rgba, vec![0, 1, 2, 3]),
    })
}

/// RGBA samples as an image ([`rgba_layout`]), kept as they are (4 bytes a
/// pixel): an upscale makes its bands planar from them one at a time.
pub fn image_from_rgba(rgba: Vec<u8>, width: usize, height: usize) -> Result<InterleavedImage, WebError> {
    let (layout, channels) = rgba_layout(&rgba, width, height)?;
    InterleavedImage::with_channels(width, height, layout, Samples::Eight(rgba), 4, channels)
        .ok_or_else(|| WebError::Image(format!("{width}x{height} RGBA does not fit its size")))
}

/// RGBA samples as planes ([`rgba_layout`]), for the calls that work on the
/// whole image at once; read from the caller's slice, not a copy of it.
pub fn planar_from_rgba(rgba: &[u8], width: usize, height: usize) -> Result<PlanarImage, WebError> {
    let (layout, channels) = rgba_layout(rgba, width, height)?;
    let planes = channels.iter().map(|&c| Plane::new(width, height, rgba.iter().skip(c).step_by(4).map(|&v| v as f32).collect())).collect();
    Ok(PlanarImage::new(layout, BitDepth::Eight, planes))
}

/// RGBA samples of any planar image (gray spread to R, G and B; opaque where
/// there is no alpha).
pub fn rgba_from_planar(image: &PlanarImage) -> Vec<u8> {
    let image = image.to_depth8();
    let n = image.width * image.height;
    let [r, g, b] = image.rgb_planes();
    let alpha = image.alpha();
    let to8 = |v: f32| v.round().clamp(0.0, 255.0) as u8;
    let mut out = Vec::with_capacity(n * 4);
    for i in 0..n {
        out.push(to8(r.data[i]));
        out.push(to8(g.data[i]));
        out.push(to8(b.data[i]));
        out.push(alpha.map_or(255, |a| to8(a.data[i])));
    }
    out
}

/// About what an upscale to `out_width` x `out_height` holds at its peak, in
/// bytes: the blended output planes with their weights, the bicubic chroma
/// and alpha, the output image and its RGBA copy.
pub fn upscale_memory_estimate(out_width: usize, out_height: usize, network_channels: usize) -> u64 {
    let pixels = (out_width as u64) * (out_height as u64);
    // One band of the whole image, and the RGBA copy handed to JS.
    pixels * (band_bytes_per_pixel(network_channels) + 4)
}

pub fn check_memory(out_width: usize, out_height: usize, network_channels: usize) -> Result<(), WebError> {
    let needed = upscale_memory_estimate(out_width, out_height, network_channels);
    if needed > MEMORY_BUDGET_BYTES {
        return Err(WebError::TooLarge { out_width, out_height, needed_mb: needed >> 20, limit_mb: MEMORY_BUDGET_BYTES >> 20 });
    }
    Ok(())
}

/// Working bytes per output pixel of one band's job: the blended output
/// planes with their weights, the bicubic chroma and alpha, the output
/// planes (4) and the band's RGBA8.
fn band_bytes_per_pixel(network_channels: usize) -> u64 {
    network_channels as u64 * 8 + 3 * 4 + 4 * 4 + 4
}

/// How an upscale's input is held: the source's bytes per pixel (3 for
/// 8-bit RGB samples, 16 for RGBA planes in f32), and how many f32 planes a
/// band's strip of it is made into.
#[derive(Debug, Clone, Copy)]
pub struct InputMemory {
    pub source_bytes_per_pixel: usize,
    pub planes: usize,
}

/// What an upscale in bands holds at its peak, in bytes: the input as held,
/// the largest band's input strip as f32 planes, that band's job, and
/// `held_bytes_per_pixel` of the whole output (4 when the RGBA result is
/// assembled, 0 when its rows are streamed on).
pub fn band_memory_estimate(
    in_width: usize,
    in_height: usize,
    input: InputMemory,
    plan: &BandPlan,
    network_channels: usize,
    held_bytes_per_pixel: u64,
) -> u64 {
    let (ow, oh) = plan.output;
    let strip_rows = plan.bands.iter().map(|b| b.rows).max().unwrap_or(in_height);
    (in_width * in_height) as u64 * input.source_bytes_per_pixel as u64
        + (in_width * strip_rows) as u64 * input.planes as u64 * 4
        + plan.largest_band_output() as u64 * band_bytes_per_pixel(network_channels)
        + ow as u64 * oh as u64 * held_bytes_per_pixel
}

/// Refuse an upscale in bands whose peak would pass [`MEMORY_BUDGET_BYTES`].
pub fn check_band_memory(
    in_width: usize,
    in_height: usize,
    input: InputMemory,
    plan: &BandPlan,
    network_channels: usize,
    held_bytes_per_pixel: u64,
) -> Result<(), WebError> {
    let needed = band_memory_estimate(in_width, in_height, input, plan, network_channels, held_bytes_per_pixel);
    if needed > MEMORY_BUDGET_BYTES {
        let (out_width, out_height) = plan.output;
        return Err(WebError::TooLarge { out_width, out_height, needed_mb: needed >> 20, limit_mb: MEMORY_BUDGET_BYTES >> 20 });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opaque_colour_pixels_become_rgb_and_come_back_unchanged() {
        let rgba = [10, 20, 30, 255, 40, 50, 60, 255];
        let img = planar_from_rgba(&rgba, 2, 1).unwrap();
        assert_eq!(img.layout, Layout::Rgb);
        assert_eq!(rgba_from_planar(&img), rgba);
    }

    #[test]
    fn transparent_pixels_keep_their_alpha() {
        let rgba = [10, 20, 30, 0, 40, 50, 60, 128];
        let img = planar_from_rgba(&rgba, 2, 1).unwrap();
        assert_eq!(img.layout, Layout::Rgba);
        assert_eq!(rgba_from_planar(&img), rgba);
    }

    #[test]
    fn gray_pixels_become_one_plane() {
        let rgba = [7, 7, 7, 255, 9, 9, 9, 200];
        let img = planar_from_rgba(&rgba, 2, 1).unwrap();
        assert_eq!(img.layout, Layout::GrayAlpha);
        assert_eq!(rgba_from_planar(&img), rgba);
    }

    #[test]
    fn wrong_buffer_length_is_an_error_naming_both_sizes() {
        let err = planar_from_rgba(&[0; 10], 2, 2).unwrap_err().to_string();
        assert!(err.contains("needs 16 bytes") && err.contains("10 were given"), "{err}");
    }

    #[test]
    fn huge_output_is_refused_before_allocating() {
        assert!(check_memory(2000, 2000, 3).is_ok());
        let err = check_memory(20000, 20000, 3).unwrap_err();
        assert_eq!(err.js_name(), "ImageTooLargeError");
        assert!(err.to_string().contains("20000x20000"), "{err}");
    }

    fn sesr_plan(width: usize, height: usize, scale: f64) -> BandPlan {
        use upres_image::{ColorSpace, InputKind, NetworkSpec, OutputSize, UpscaleRequest};
        let spec = NetworkSpec { input: InputKind::LowRes, color: ColorSpace::Y, scales: vec![2, 3, 4] };
        let request = UpscaleRequest::with_default_tiles(OutputSize::Scale(scale));
        BandPlan::new(width, height, &spec, &request, crate::bands::BAND_OUTPUT_PIXELS)
    }

    #[test]
    fn a_24_megapixel_photo_fits_at_x2_and_is_refused_at_x4_unless_streamed() {
        // An RGB photo's three f32 planes, one band, and the 12000x8000 RGBA result.
        // From its header: what decoding may hold, one band, and the 12000x8000 RGBA result.
        let header = InputMemory { source_bytes_per_pixel: DECODING_BYTES_PER_PIXEL, planes: 4 };
        let x2 = sesr_plan(6000, 4000, 2.0);
        assert!(check_band_memory(6000, 4000, header, &x2, 3, 4).is_ok());
        let x4 = sesr_plan(6000, 4000, 4.0);
        let err = check_band_memory(6000, 4000, header, &x4, 3, 4).unwrap_err();
        assert_eq!(err.js_name(), "ImageTooLargeError");
        assert!(err.to_string().contains("24000x16000") && err.to_string().contains("use a smaller scale"), "{err}");
        // Streamed on, nothing of the whole output is held.
        assert!(check_band_memory(6000, 4000, header, &x4, 3, 0).is_ok());
        // Decoded, the photo's samples (3 bytes a pixel) and one band's strip in f32
        // are a quarter of its three f32 planes (288 MB).
        let samples = InputMemory { source_bytes_per_pixel: 3, planes: 3 };
        let held_input = band_memory_estimate(6000, 4000, samples, &x2, 3, 0)
            - band_memory_estimate(6000, 4000, InputMemory { source_bytes_per_pixel: 0, planes: 0 }, &x2, 3, 0);
        assert!(held_input < 100_000_000, "{} MB", held_input >> 20);
    }
}
