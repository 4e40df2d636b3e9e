//! A photo-sized test image made by code: the big-photo tests need a
//! 24-megapixel JPEG, and none may be downloaded.

use upres_image::{DecodeLimits, decode, encode_png};

/// RGB samples at (x, y): slow colour gradients, a patch of fine texture in
/// every 512-pixel cell and the sharp edges of a grid of discs.
fn pixel(x: usize, y: usize) -> [u8; 3] {
    let (fx, fy) = (x as f32, y as f32);
    let mut rgb =
        [128.0 + 80.0 * (fx / 397.0 + fy / 531.0).sin(), 128.0 + 70.0 * (fx / 253.0 - fy / 371.0).cos(), 110.0 + 60.0 * ((fx + fy) / 637.0).sin()];
    let (cx, cy) = (x % 512, y % 512);
    if cx < 200 && cy < 200 {
        let t = 30.0 * (fx * 0.9).sin() * (fy * 0.7).sin();
        rgb.iter_mut().for_each(|v| *v += t);
    }
    let (dx, dy) = (cx as f32 - 350.0, cy as f32 - 350.0);
    if dx * dx + dy * dy < 90.0 * 90.0 {
        rgb = [rgb[1] * 0.4, rgb[2] * 0.5 + 90.0, 240.0 - rgb[0] * 0.3];
    }
    rgb.map(|v| v.round().clamp(0.0, 255.0) as u8)
}

/// A `width` x `height` baseline JPEG of the pattern (quality 90).
pub fn jpeg(width: usize, height: usize) -> Vec<u8> {
    let mut rgb = Vec::with_capacity(width * height * 3);
    for y in 0..height {
        for x in 0..width {
            rgb.extend_from_slice(&pixel(x, y));
        }
    }
    let mut bytes = Vec::new();
    jpeg_encoder::Encoder::new(&mut bytes, 90).encode(&rgb, width as u16, height as u16, jpeg_encoder::ColorType::Rgb).expect("in-memory JPEG");
    bytes
}

/// The `side` x `side` square at (x, y) of the decoded JPEG, as a PNG.
pub fn decoded_crop_png(jpeg: &[u8], x: usize, y: usize, side: usize) -> Vec<u8> {
    let image = decode(jpeg, "big photo", DecodeLimits::default()).expect("our own JPEG decodes");
    encode_png(&image.crop(x, y, side, side), "crop").expect("PNG of the crop")
}
