//! Images as users have them, made here (nothing is downloaded): the layouts,
//! bit depths and codec features that the `image` crate decodes and that
//! phones, cameras, editors and the web produce, and the broken files users
//! also have. `make-image-corpus DIR` writes them (with `corpus.json`, what
//! each must give) for the Node and Chromium tests; the Rust tests call
//! [`write_corpus`].

use std::io::Cursor;
use std::path::Path;

use image::{DynamicImage, ImageEncoder};
use serde_json::json;
use upres_image::{BitDepth, Layout, PlanarImage, Plane, encode_png};

/// What a corpus file must give when upscaled x2.
#[derive(Debug, Clone)]
pub enum Expect {
    /// An output of this size and layout ("gray", "gray-alpha", "rgb",
    /// "rgba"), with a note containing `note` where decoding did something.
    Upscales { width: usize, height: usize, layout: &'static str, note: Option<&'static str> },
    /// One error that names the file and contains this text.
    Refused(&'static str),
}

#[derive(Debug, Clone)]
pub struct CorpusFile {
    pub name: &'static str,
    pub what: &'static str,
    pub expect: Expect,
}

/// The stored size of most files: small, so that three runtimes and a
/// browser go through all of them in seconds.
const W: usize = 40;
const H: usize = 28;

/// A smooth picture with edges (a ramp, a ring, a bar), sample `c` of `channels`, in 0..=max.
fn picture(w: usize, h: usize, channel: usize, max: f32) -> Plane {
    Plane::new(
        w,
        h,
        (0..w * h)
            .map(|i| {
                let (x, y) = ((i % w) as f32, (i / w) as f32);
                let ring = (((x - w as f32 * 0.6).powi(2) + (y - h as f32 * 0.4).powi(2)).sqrt() < h as f32 * 0.3) as u8 as f32;
                let bar = ((x as usize / 5 + channel) % 4 == 0) as u8 as f32;
                let v = 0.15 + 0.5 * x / w as f32 + 0.2 * ring - 0.1 * bar + 0.05 * channel as f32 * y / h as f32;
                (v.clamp(0.0, 1.0) * max).round()
            })
            .collect(),
    )
}

fn planar(layout: Layout, depth: BitDepth, w: usize, h: usize) -> PlanarImage {
    let max = depth.max_value();
    let mut planes: Vec<Plane> = (0..layout.channels()).map(|c| picture(w, h, c, max)).collect();
    if layout.has_alpha() {
        // Alpha: opaque left half, a ramp to transparent on the right.
        let a = planes.last_mut().expect("alpha plane");
        for (i, v) in a.data.iter_mut().enumerate() {
            let x = (i % w) as f32 / w as f32;
            *v = ((1.0 - (x - 0.5).max(0.0) * 2.0) * max).round();
        }
    }
    PlanarImage::new(layout, depth, planes)
}

fn rgb8(w: usize, h: usize) -> image::RgbImage {
    let p = planar(Layout::Rgb, BitDepth::Eight, w, h);
    image::RgbImage::from_fn(w as u32, h as u32, |x, y| {
        let i = y as usize * w + x as usize;
        image::Rgb([p.planes[0].data[i] as u8, p.planes[1].data[i] as u8, p.planes[2].data[i] as u8])
    })
}

fn encoded(image: DynamicImage, format: image::ImageFormat) -> Vec<u8> {
    let mut bytes = Vec::new();
    image.write_to(&mut Cursor::new(&mut bytes), format).expect("in-memory encode");
    bytes
}

/// The CRC-32 of PNG chunks (and of anything else).
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// A PNG from its IHDR fields and the (already filtered) scanline bytes.
fn png_from_chunks(width: u32, height: u32, color_type: u8, interlace: u8, filtered: &[u8]) -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut chunk = |kind: &[u8], data: &[u8]| {
        png.extend((data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend(data);
        png.extend(&body);
        png.extend(crc32(&body).to_be_bytes());
    };
    let mut ihdr = width.to_be_bytes().to_vec();
    ihdr.extend(height.to_be_bytes());
    ihdr.extend([8, color_type, 0, 0, interlace]);
    chunk(b"IHDR", &ihdr);
    chunk(b"IDAT", &miniz_oxide::deflate::compress_to_vec_zlib(filtered, 6));
    chunk(b"IEND", &[]);
    png
}

/// A PNG whose header claims `width` x `height` pixels, with one tiny IDAT
/// chunk (decoders read up to the first IDAT before they report the size).
pub fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    png_from_chunks(width, height, 2, 0, &[])
}

/// An Adam7-interlaced RGB PNG (as some editors and old web tools save them):
/// seven passes of sub-images, each scanline with filter type 0.
fn interlaced_png(image: &image::RgbImage) -> Vec<u8> {
    const PASSES: [(usize, usize, usize, usize); 7] =
        [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)];
    let (w, h) = (image.width() as usize, image.height() as usize);
    let mut filtered = Vec::new();
    for (x0, y0, dx, dy) in PASSES {
        if x0 >= w || y0 >= h {
            continue;
        }
        for y in (y0..h).step_by(dy) {
            filtered.push(0);
            for x in (x0..w).step_by(dx) {
                filtered.extend(image.get_pixel(x as u32, y as u32).0);
            }
        }
    }
    png_from_chunks(w as u32, h as u32, 2, 1, &filtered)
}

/// An 8-bit palette PNG with a tRNS chunk: index 0 transparent, 1 half, the rest opaque.
fn palette_png(w: usize, h: usize) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, w as u32, h as u32);
    encoder.set_color(png::ColorType::Indexed);
    encoder.set_depth(png::BitDepth::Eight);
    let palette: Vec<u8> = (0..16u8).flat_map(|i| [i * 16, 255 - i * 12, 60 + i * 8]).collect();
    encoder.set_palette(palette);
    encoder.set_trns(vec![0u8, 128]);
    let mut writer = encoder.write_header().expect("in-memory PNG");
    let indices: Vec<u8> = (0..w * h).map(|i| (((i % w) * 16 / w + (i / w) % 3) % 16) as u8).collect();
    writer.write_image_data(&indices).expect("in-memory PNG");
    writer.finish().expect("in-memory PNG");
    bytes
}

/// A JPEG with an APP1 EXIF block holding only an Orientation tag, as a phone writes it.
pub fn jpeg_with_orientation(rgb: &image::RgbImage, orientation: u8) -> Vec<u8> {
    let jpeg = encoded(DynamicImage::ImageRgb8(rgb.clone()), image::ImageFormat::Jpeg);
    let mut exif = b"Exif\0\0MM\0\x2a\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0".to_vec();
    exif.extend_from_slice(&[orientation, 0, 0, 0, 0, 0, 0]);
    let mut out = jpeg[..2].to_vec(); // SOI
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((exif.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&exif);
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// A CMYK JPEG (Adobe, as print workflows and some stock photos are).
fn cmyk_jpeg(rgb: &image::RgbImage) -> Vec<u8> {
    let cmyk: Vec<u8> = rgb
        .pixels()
        .flat_map(|p| {
            let [r, g, b] = p.0.map(|v| v as f32 / 255.0);
            let k = 1.0 - r.max(g).max(b);
            let ink = |v: f32| if k >= 1.0 { 0.0 } else { (1.0 - v - k) / (1.0 - k) };
            // Ink amounts (0: none); the encoder stores them inverted, as Adobe does.
            [ink(r), ink(g), ink(b), k].map(|v| (v * 255.0).round() as u8)
        })
        .collect();
    let mut bytes = Vec::new();
    jpeg_encoder::Encoder::new(&mut bytes, 92)
        .encode(&cmyk, rgb.width() as u16, rgb.height() as u16, jpeg_encoder::ColorType::Cmyk)
        .expect("in-memory JPEG");
    bytes
}

fn gif(frames: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut encoder = image::codecs::gif::GifEncoder::new(&mut bytes);
    let source = rgb8(W, H);
    let frames = frames.iter().map(|&shift| {
        image::Frame::new(image::RgbaImage::from_fn(W as u32, H as u32, |x, y| {
            let [r, g, b] = source.get_pixel(x, y).0;
            image::Rgba([r.wrapping_add(shift), g, b, 255])
        }))
    });
    encoder.encode_frames(frames).expect("in-memory GIF");
    drop(encoder);
    bytes
}

/// Write every corpus file into `dir`, with `corpus.json` listing what each must give.
pub fn write_corpus(dir: &Path) -> Vec<CorpusFile> {
    use Expect::{Refused, Upscales};
    std::fs::create_dir_all(dir).expect("corpus folder");
    let up = |layout: &'static str| Upscales { width: 2 * W, height: 2 * H, layout, note: None };
    let png = |layout: Layout, depth: BitDepth| encode_png(&planar(layout, depth, W, H), "corpus").expect("in-memory PNG");
    let rgb = rgb8(W, H);
    let mut gray_jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new(&mut gray_jpeg)
        .write_image(DynamicImage::ImageRgb8(rgb.clone()).to_luma8().as_raw(), W as u32, H as u32, image::ExtendedColorType::L8)
        .expect("in-memory JPEG");
    let rgb8_png = png(Layout::Rgb, BitDepth::Eight);
    let files: Vec<(&'static str, &'static str, Vec<u8>, Expect)> = vec![
        ("gray8.png", "8-bit gray PNG", png(Layout::Gray, BitDepth::Eight), up("gray")),
        ("gray16.png", "16-bit gray PNG (scanners, medical)", png(Layout::Gray, BitDepth::Sixteen), up("gray")),
        ("gray-alpha8.png", "8-bit gray + alpha PNG", png(Layout::GrayAlpha, BitDepth::Eight), up("gray-alpha")),
        ("gray-alpha16.png", "16-bit gray + alpha PNG", png(Layout::GrayAlpha, BitDepth::Sixteen), up("gray-alpha")),
        ("rgb8.png", "8-bit RGB PNG", rgb8_png.clone(), up("rgb")),
        ("rgb16.png", "16-bit RGB PNG (camera raw exports)", png(Layout::Rgb, BitDepth::Sixteen), up("rgb")),
        ("rgba8.png", "8-bit RGBA PNG", png(Layout::Rgba, BitDepth::Eight), up("rgba")),
        ("rgba16.png", "16-bit RGBA PNG", png(Layout::Rgba, BitDepth::Sixteen), up("rgba")),
        ("palette-transparent.png", "palette PNG with tRNS transparency", palette_png(W, H), up("rgba")),
        ("interlaced.png", "Adam7-interlaced RGB PNG", interlaced_png(&rgb), up("rgb")),
        ("photo.jpg", "baseline RGB JPEG", encoded(DynamicImage::ImageRgb8(rgb.clone()), image::ImageFormat::Jpeg), up("rgb")),
        ("gray.jpg", "grayscale JPEG", gray_jpeg, up("gray")),
        ("cmyk.jpg", "Adobe CMYK JPEG", cmyk_jpeg(&rgb), up("rgb")),
        (
            "phone-upright.jpg",
            "phone photo held upright: stored 40x28, EXIF orientation 6",
            jpeg_with_orientation(&rgb, 6),
            Upscales { width: 2 * H, height: 2 * W, layout: "rgb", note: Some("EXIF orientation 6") },
        ),
        ("lossless.webp", "lossless WebP", encoded(DynamicImage::ImageRgb8(rgb.clone()), image::ImageFormat::WebP), up("rgb")),
        ("image.bmp", "24-bit BMP", encoded(DynamicImage::ImageRgb8(rgb.clone()), image::ImageFormat::Bmp), up("rgb")),
        // GIF decodes to RGBA (it has a transparent colour), so the output keeps alpha.
        ("still.gif", "one-frame GIF", gif(&[0]), up("rgba")),
        (
            "animated.gif",
            "animated GIF, three frames",
            gif(&[0, 60, 120]),
            Upscales { width: 2 * W, height: 2 * H, layout: "rgba", note: Some("only its first frame is used") },
        ),
        (
            "strip-300x1.png",
            "a 300x1 strip",
            encode_png(&planar(Layout::Rgb, BitDepth::Eight, 300, 1), "c").expect("PNG"),
            Upscales { width: 600, height: 2, layout: "rgb", note: None },
        ),
        (
            "dot-1x1.png",
            "one pixel",
            encode_png(&planar(Layout::Gray, BitDepth::Eight, 1, 1), "c").expect("PNG"),
            Upscales { width: 2, height: 2, layout: "gray", note: None },
        ),
        ("truncated.png", "a PNG cut in half (an interrupted download)", rgb8_png[..rgb8_png.len() / 2].to_vec(), Refused("not a decodable image")),
        ("notes.png", "a text file named .png", b"these are my notes, not a picture\n".to_vec(), Refused("not a decodable image")),
        ("huge-header.png", "a PNG header claiming 200000x200000 pixels", png_claiming(200_000, 200_000), Refused("larger than the limit")),
    ];
    let mut listed = Vec::new();
    let mut cases = Vec::new();
    for (name, what, bytes, expect) in files {
        std::fs::write(dir.join(name), bytes).expect("corpus file");
        listed.push(match &expect {
            Upscales { width, height, layout, note } => {
                json!({ "name": name, "what": what, "width": width, "height": height, "layout": layout, "note": note })
            }
            Refused(problem) => json!({ "name": name, "what": what, "refused": problem }),
        });
        cases.push(CorpusFile { name, what, expect });
    }
    std::fs::write(dir.join("corpus.json"), serde_json::to_string_pretty(&listed).expect("JSON")).expect("corpus.json");
    cases
}
