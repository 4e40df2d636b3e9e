use std::io::{Cursor, Write};
use std::path::Path;

use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader};

use crate::error::ImageError;
use crate::interleaved::{InterleavedImage, RowSource, Samples};
use crate::planar::{BitDepth, Layout, PlanarImage};

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

/// Read and decode an image file (PNG, JPEG, WebP, BMP, GIF; TIFF where the
/// build turns on `image`'s `tiff` feature, as the trainer does).
pub fn read_image(path: &Path, limits: DecodeLimits) -> Result<PlanarImage, ImageError> {
    read_image_with_notes(path, limits).map(|decoded| decoded.image)
}

/// [`read_image`], with what decoding did to the file's pixels.
pub fn read_image_with_notes(path: &Path, limits: DecodeLimits) -> Result<Decoded, ImageError> {
    let bytes = std::fs::read(path).map_err(|source| ImageError::Read { path: path.to_owned(), source })?;
    decode_with_notes(&bytes, &path.display().to_string(), limits)
}

/// An image as decoded, and what was done to the file's pixels on the way
/// (what a viewer does too, so the user sees what they expect).
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded<I = PlanarImage> {
    pub image: I,
    pub notes: DecodeNotes,
}

/// What decoding did beyond reading the pixels.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct DecodeNotes {
    /// The EXIF orientation (2 to 8) that was applied, as browsers and photo
    /// viewers apply it: a phone's upright photo stays upright.
    pub orientation: Option<u8>,
    /// The file is animated (GIF, APNG, animated WebP): only its first frame is used.
    pub animated: bool,
}

impl DecodeNotes {
    /// One line per note, for a user: "name: rotated upright (EXIF orientation 6)".
    pub fn messages(&self, name: &str) -> Vec<String> {
        let mut lines = Vec::new();
        if let Some(o) = self.orientation {
            lines.push(format!("{name}: turned as its EXIF orientation {o} asks ({})", orientation_words(o)));
        }
        if self.animated {
            lines.push(format!("{name}: an animated image; only its first frame is used"));
        }
        lines
    }
}

fn orientation_words(exif: u8) -> &'static str {
    match exif {
        2 => "mirrored",
        3 => "rotated 180 degrees",
        4 => "flipped vertically",
        5 => "rotated 90 degrees and mirrored",
        6 => "rotated 90 degrees clockwise",
        7 => "rotated 270 degrees and mirrored",
        8 => "rotated 90 degrees counter-clockwise",
        _ => "unchanged",
    }
}

/// Decode image bytes; `name` only serves the error messages.
pub fn decode(bytes: &[u8], name: &str, limits: DecodeLimits) -> Result<PlanarImage, ImageError> {
    decode_with_notes(bytes, name, limits).map(|decoded| decoded.image)
}

/// The format of encoded bytes, from their first bytes, if this build decodes
/// it ("PNG", "JPEG", ...). Callers with a decoder of their own (a browser)
/// use theirs only where this says None, so that a broken file of a known
/// format gets the same error everywhere instead of a lenient guess.
pub fn decodable_format(bytes: &[u8]) -> Option<&'static str> {
    let format = image::guess_format(bytes).ok()?;
    format.reading_enabled().then(|| format.extensions_str().first().copied().unwrap_or("image"))
}

/// The stored width and height of encoded bytes, from the header alone (no
/// decoder is made): what a caller checks its memory against before decoding.
/// The EXIF orientation may still swap them.
pub fn header_size(bytes: &[u8]) -> Option<(usize, usize)> {
    imagesize::blob_size(bytes).ok().map(|size| (size.width, size.height))
}

/// Whether the file holds an animation; its first frame is what a decoder gives.
fn is_animated(bytes: &[u8], format: ImageFormat) -> bool {
    use image::AnimationDecoder;
    use image::codecs::{gif::GifDecoder, png::PngDecoder, webp::WebPDecoder};
    match format {
        ImageFormat::Png => PngDecoder::new(Cursor::new(bytes)).and_then(|d| d.is_apng()).unwrap_or(false),
        ImageFormat::WebP => WebPDecoder::new(Cursor::new(bytes)).map(|d| d.has_animation()).unwrap_or(false),
        // GIF says nothing up front: a second frame makes it an animation.
        // Frames are decoded one at a time, so this costs one more frame.
        ImageFormat::Gif => GifDecoder::new(Cursor::new(bytes)).map(|d| d.into_frames().take(2).count() > 1).unwrap_or(false),
        _ => false,
    }
}

fn check_pixel_limit(name: &str, width: u32, height: u32, limits: DecodeLimits) -> Result<(), ImageError> {
    if u64::from(width) * u64::from(height) > limits.max_pixels {
        return Err(ImageError::TooLarge { name: name.to_owned(), width, height, max_pixels: limits.max_pixels });
    }
    Ok(())
}

/// [`decode`], with what decoding did to the file's pixels.
pub fn decode_with_notes(bytes: &[u8], name: &str, limits: DecodeLimits) -> Result<Decoded, ImageError> {
    let Decoded { image, notes } = decode_samples_with_notes(bytes, name, limits)?;
    Ok(Decoded { image: image.to_planar().into_owned(), notes })
}

/// [`decode_with_notes`], keeping the codec's interleaved samples (a
/// quarter of the memory of f32 planes for 8-bit images), for an upscale
/// that makes its bands' planes from them one at a time.
pub fn decode_samples_with_notes(bytes: &[u8], name: &str, limits: DecodeLimits) -> Result<Decoded<InterleavedImage>, ImageError> {
    let failed = |e: image::ImageError| ImageError::Decode(name.to_owned(), e.to_string());
    let mut reader = ImageReader::new(Cursor::new(bytes)).with_guessed_format().map_err(|e| ImageError::Decode(name.to_owned(), e.to_string()))?;
    let Some(format) = reader.format() else {
        return Err(ImageError::Decode(name.to_owned(), "unknown or unsupported format".into()));
    };
    // Refused from the header alone, before any decoder is made: on wasm32
    // the PNG codec's own set-up already fails on a huge header, with a
    // vaguer "Memory limit exceeded" than ours.
    if let Ok(size) = imagesize::blob_size(bytes) {
        let side = |v: usize| u32::try_from(v).unwrap_or(u32::MAX);
        check_pixel_limit(name, side(size.width), side(size.height), limits)?;
    }
    // Our limit is checked again below on what the codec reports; its own
    // limits follow from the size it may allocate.
    reader.no_limits();
    let mut decoder = reader.into_decoder().map_err(failed)?;
    let (width, height) = decoder.dimensions();
    check_pixel_limit(name, width, height, limits)?;
    // Then the codec may allocate what the accepted image needs, and its working memory.
    let mut codec_limits = image::Limits::default();
    codec_limits.max_alloc = Some(decoder.total_bytes().saturating_add(256 << 20));
    decoder.set_limits(codec_limits).map_err(failed)?;
    // A damaged EXIF block is no reason to refuse the pixels: they stay as stored.
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let mut dynamic = DynamicImage::from_decoder(decoder).map_err(failed)?;
    dynamic.apply_orientation(orientation);
    let notes =
        DecodeNotes { orientation: (orientation != Orientation::NoTransforms).then(|| orientation.to_exif()), animated: is_animated(bytes, format) };
    let image =
        interleaved_from_dynamic(dynamic).ok_or_else(|| ImageError::Decode(name.to_owned(), "the codec's samples do not fit its size".into()))?;
    Ok(Decoded { image, notes })
}

/// The codec's samples as they are (no copy for 8- and 16-bit images).
fn interleaved_from_dynamic(image: DynamicImage) -> Option<InterleavedImage> {
    let (w, h) = (image.width() as usize, image.height() as usize);
    let eight = |layout: Layout, samples: Vec<u8>| InterleavedImage::new(w, h, layout, Samples::Eight(samples));
    let sixteen = |layout: Layout, samples: Vec<u16>| InterleavedImage::new(w, h, layout, Samples::Sixteen(samples));
    match image {
        DynamicImage::ImageLuma8(b) => eight(Layout::Gray, b.into_raw()),
        DynamicImage::ImageLumaA8(b) => eight(Layout::GrayAlpha, b.into_raw()),
        DynamicImage::ImageRgb8(b) => eight(Layout::Rgb, b.into_raw()),
        DynamicImage::ImageRgba8(b) => eight(Layout::Rgba, b.into_raw()),
        DynamicImage::ImageLuma16(b) => sixteen(Layout::Gray, b.into_raw()),
        DynamicImage::ImageLumaA16(b) => sixteen(Layout::GrayAlpha, b.into_raw()),
        DynamicImage::ImageRgb16(b) => sixteen(Layout::Rgb, b.into_raw()),
        DynamicImage::ImageRgba16(b) => sixteen(Layout::Rgba, b.into_raw()),
        // Float images (e.g. from exotic codecs) are brought to 16-bit.
        other if other.color().has_alpha() => sixteen(Layout::Rgba, other.to_rgba16().into_raw()),
        other => sixteen(Layout::Rgb, other.to_rgb16().into_raw()),
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
    encoded.write_to(&mut Cursor::new(&mut bytes), image::ImageFormat::Png).map_err(|e| ImageError::Encode(name.to_owned(), e.to_string()))?;
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
    use crate::planar::Plane;

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

    #[test]
    fn an_animated_gif_gives_its_first_frame_and_says_so() {
        use image::codecs::gif::GifEncoder;
        let frame = |value: u8| image::Frame::new(image::RgbaImage::from_pixel(5, 3, image::Rgba([value, value, value, 255])));
        let mut animated = Vec::new();
        GifEncoder::new(&mut animated).encode_frames([frame(40), frame(200)]).unwrap();
        let decoded = decode_with_notes(&animated, "anim.gif", DecodeLimits::default()).unwrap();
        assert_eq!((decoded.image.width, decoded.image.height), (5, 3));
        assert!(decoded.image.planes[0].data.iter().all(|&v| (v - 40.0).abs() <= 2.0), "the first frame, not the second");
        assert_eq!(decoded.notes.messages("anim.gif"), ["anim.gif: an animated image; only its first frame is used"]);

        let mut still = Vec::new();
        GifEncoder::new(&mut still).encode_frames([frame(90)]).unwrap();
        assert_eq!(decode_with_notes(&still, "still.gif", DecodeLimits::default()).unwrap().notes, DecodeNotes::default());
    }
}
