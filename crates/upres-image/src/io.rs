use std::io::{Cursor, Write};
use std::path::Path;

use image::{DynamicImage, ImageDecoder, ImageReader};

use crate::error::ImageError;
use crate::planar::{BitDepth, Layout, PlanarImage, Plane};

/// Bounds on what a decoder may allocate, so a hostile or huge file is refused
/// with a clear error instead of exhausting memory.
#[derive(Debug, Clone, Copy)]
pub struct DecodeLimits {
    pub max_pixels: u64,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        // 100 megapixels: larger than any camera image a user is likely to upscale,
        // small enough that planes in f32 still fit comfortably in memory.
        Self { max_pixels: 100_000_000 }
    }
}

/// Read and decode an image file (PNG, JPEG, WebP, BMP; TIFF where the
/// build turns on `image`'s `tiff` feature, as the trainer does).
pub fn read_image(path: &Path, limits: DecodeLimits) -> Result<PlanarImage, ImageError> {
    let bytes = std::fs::read(path).map_err(|source| ImageError::Read { path: path.to_owned(), source })?;
    decode(&bytes, &path.display().to_string(), limits)
}

/// Decode image bytes; `name` only serves the error messages.
pub fn decode(bytes: &[u8], name: &str, limits: DecodeLimits) -> Result<PlanarImage, ImageError> {
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| ImageError::Decode(name.to_owned(), e.to_string()))?;
    if reader.format().is_none() {
        return Err(ImageError::Decode(name.to_owned(), "unknown or unsupported format".into()));
    }
    let decoder = reader.into_decoder().map_err(|e| ImageError::Decode(name.to_owned(), e.to_string()))?;
    let (width, height) = decoder.dimensions();
    if u64::from(width) * u64::from(height) > limits.max_pixels {
        return Err(ImageError::TooLarge { name: name.to_owned(), width, height, max_pixels: limits.max_pixels });
    }
    let dynamic = DynamicImage::from_decoder(decoder).map_err(|e| ImageError::Decode(name.to_owned(), e.to_string()))?;
    Ok(from_dynamic(dynamic))
}

fn planes_from<T: Copy + Into<f32>>(samples: &[T], width: usize, height: usize, channels: usize) -> Vec<Plane> {
    (0..channels)
        .map(|ch| Plane::new(width, height, samples.iter().skip(ch).step_by(channels).map(|&v| v.into()).collect()))
        .collect()
}

fn from_dynamic(image: DynamicImage) -> PlanarImage {
    let (w, h) = (image.width() as usize, image.height() as usize);
    let eight = |layout: Layout, samples: &[u8]| PlanarImage::new(layout, BitDepth::Eight, planes_from(samples, w, h, layout.channels()));
    let sixteen = |layout: Layout, samples: &[u16]| PlanarImage::new(layout, BitDepth::Sixteen, planes_from(samples, w, h, layout.channels()));
    match image {
        DynamicImage::ImageLuma8(b) => eight(Layout::Gray, b.as_raw()),
        DynamicImage::ImageLumaA8(b) => eight(Layout::GrayAlpha, b.as_raw()),
        DynamicImage::ImageRgb8(b) => eight(Layout::Rgb, b.as_raw()),
        DynamicImage::ImageRgba8(b) => eight(Layout::Rgba, b.as_raw()),
        DynamicImage::ImageLuma16(b) => sixteen(Layout::Gray, b.as_raw()),
        DynamicImage::ImageLumaA16(b) => sixteen(Layout::GrayAlpha, b.as_raw()),
        DynamicImage::ImageRgb16(b) => sixteen(Layout::Rgb, b.as_raw()),
        DynamicImage::ImageRgba16(b) => sixteen(Layout::Rgba, b.as_raw()),
        // Float images (e.g. from exotic codecs) are brought to 16-bit.
        other if other.color().has_alpha() => sixteen(Layout::Rgba, other.to_rgba16().as_raw()),
        other => sixteen(Layout::Rgb, other.to_rgb16().as_raw()),
    }
}

/// Encode as PNG, keeping layout (gray stays gray, alpha stays) and bit depth.
pub fn encode_png(image: &PlanarImage, name: &str) -> Result<Vec<u8>, ImageError> {
    let (w, h) = (image.width as u32, image.height as u32);
    let c = image.planes.len();
    let max = image.depth.max_value();
    let interleave = |n: usize, idx: usize| -> f32 { image.planes[idx % c].data[n].round().clamp(0.0, max) };
    let count = image.width * image.height * c;
    let encoded = match image.depth {
        BitDepth::Eight => {
            let raw: Vec<u8> = (0..count).map(|i| interleave(i / c, i) as u8).collect();
            match image.layout {
                Layout::Gray => DynamicImage::ImageLuma8(image::GrayImage::from_raw(w, h, raw).expect("size checked")),
                Layout::GrayAlpha => DynamicImage::ImageLumaA8(image::GrayAlphaImage::from_raw(w, h, raw).expect("size checked")),
                Layout::Rgb => DynamicImage::ImageRgb8(image::RgbImage::from_raw(w, h, raw).expect("size checked")),
                Layout::Rgba => DynamicImage::ImageRgba8(image::RgbaImage::from_raw(w, h, raw).expect("size checked")),
            }
        }
        BitDepth::Sixteen => {
            let raw: Vec<u16> = (0..count).map(|i| interleave(i / c, i) as u16).collect();
            match image.layout {
                Layout::Gray => DynamicImage::ImageLuma16(image::ImageBuffer::from_raw(w, h, raw).expect("size checked")),
                Layout::GrayAlpha => DynamicImage::ImageLumaA16(image::ImageBuffer::from_raw(w, h, raw).expect("size checked")),
                Layout::Rgb => DynamicImage::ImageRgb16(image::ImageBuffer::from_raw(w, h, raw).expect("size checked")),
                Layout::Rgba => DynamicImage::ImageRgba16(image::ImageBuffer::from_raw(w, h, raw).expect("size checked")),
            }
        }
    };
    let mut bytes = Vec::new();
    encoded
        .write_to(&mut Cursor::new(&mut bytes), image::ImageFormat::Png)
        .map_err(|e| ImageError::Encode(name.to_owned(), e.to_string()))?;
    Ok(bytes)
}

/// Write a PNG next to its destination and rename it into place, so that a
/// failure never leaves a truncated output file behind.
pub fn write_png_atomic(image: &PlanarImage, path: &Path) -> Result<(), ImageError> {
    let bytes = encode_png(image, &path.display().to_string())?;
    write_atomic(path, &bytes)
}

/// Write `bytes` to a temporary file beside `path`, sync it, and rename it
/// into place: readers see the old file or the new one, never a torn one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ImageError> {
    let err = |source| ImageError::Write { path: path.to_owned(), source };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{file_name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(w: usize, h: usize, max: f32, offset: usize) -> Plane {
        Plane::new(w, h, (0..w * h).map(|i| ((i * 977 + offset) as f32) % (max + 1.0)).collect())
    }

    #[test]
    fn png_round_trip_keeps_layout_and_depth() {
        for depth in [BitDepth::Eight, BitDepth::Sixteen] {
            for layout in [Layout::Gray, Layout::GrayAlpha, Layout::Rgb, Layout::Rgba] {
                let planes = (0..layout.channels()).map(|c| ramp(7, 5, depth.max_value(), c * 13)).collect();
                let image = PlanarImage::new(layout, depth, planes);
                let bytes = encode_png(&image, "t").unwrap();
                let back = decode(&bytes, "t", DecodeLimits::default()).unwrap();
                assert_eq!(back, image, "{layout:?} {depth:?}");
            }
        }
    }

    #[test]
    fn images_over_the_pixel_limit_are_refused_before_decoding() {
        let image = PlanarImage::new(Layout::Gray, BitDepth::Eight, vec![ramp(40, 30, 255.0, 0)]);
        let bytes = encode_png(&image, "t").unwrap();
        let err = decode(&bytes, "big.png", DecodeLimits { max_pixels: 1000 }).unwrap_err();
        assert_eq!(err.to_string(), "big.png: image is 40x30, larger than the limit of 1000 pixels");
    }

    #[test]
    fn jpeg_bmp_and_webp_decode() {
        let rgb = image::RgbImage::from_fn(9, 6, |x, y| image::Rgb([x as u8 * 20, y as u8 * 30, 128]));
        for format in [image::ImageFormat::Jpeg, image::ImageFormat::Bmp, image::ImageFormat::WebP] {
            let mut bytes = Vec::new();
            DynamicImage::ImageRgb8(rgb.clone()).write_to(&mut Cursor::new(&mut bytes), format).unwrap();
            let back = decode(&bytes, "t", DecodeLimits::default()).unwrap();
            assert_eq!((back.width, back.height, back.layout), (9, 6, Layout::Rgb), "{format:?}");
        }
    }
}
