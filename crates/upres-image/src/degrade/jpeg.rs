//! A JPEG round trip through real codecs: a baseline encoder with the IJG
//! quality scale and 4:2:0 chroma (what cameras and browsers write), and the
//! decoder the product itself uses ([`crate::decode`]), so the blocks,
//! ringing and chroma bleeding are the real ones.

use jpeg_encoder::{Encoder, ImageBuffer, JpegColorType, SamplingFactor, rgb_to_ycbcr};

use crate::error::ImageError;
use crate::io::{DecodeLimits, decode};
use crate::planar::{BitDepth, Layout, PlanarImage, Plane};

/// Encode 1 (gray) or 3 (RGB) planes in [0, 1] at `quality` (1-100).
///
/// Through `encode_image` with one buffer type of our own rather than
/// `encode(bytes, ColorType)`, which compiles the whole encoder once for each
/// of its ten pixel layouts: that cost the WebGPU wasm 17 kB gzipped.
/// `#[inline]` here is for the same reason: the encoder's generic code is then
/// compiled in the crate that calls it (the WebGPU build's web crate, built for
/// size) rather than here, where the per-pixel image code is built for speed.
#[inline]
pub fn encode(planes: &[Plane], quality: u8) -> Result<Vec<u8>, ImageError> {
    let (w, h) = (planes[0].width, planes[0].height);
    let too_large = || ImageError::EncodeJpeg(format!("{w}x{h} is larger than 65535 pixels a side"));
    let (width, height) = (u16::try_from(w).map_err(|_| too_large())?, u16::try_from(h).map_err(|_| too_large())?);
    if planes.len() != 1 && planes.len() != 3 {
        return Err(ImageError::EncodeJpeg(format!("{} planes (1 or 3 expected)", planes.len())));
    }
    let mut bytes = Vec::new();
    let mut encoder = Encoder::new(&mut bytes, quality.clamp(1, 100));
    encoder.set_sampling_factor(SamplingFactor::R_4_2_0);
    encoder.encode_image(Planes { planes, width, height }).map_err(|e| ImageError::EncodeJpeg(format!("{e}")))?;
    Ok(bytes)
}

/// Gray or RGB planes in [0, 1] as the encoder reads them: rows of 8-bit
/// luma, or of YCbCr by the encoder's own conversion (as `ColorType::Rgb`).
struct Planes<'a> {
    planes: &'a [Plane],
    width: u16,
    height: u16,
}

impl ImageBuffer for Planes<'_> {
    fn get_jpeg_color_type(&self) -> JpegColorType {
        if self.planes.len() == 1 { JpegColorType::Luma } else { JpegColorType::Ycbcr }
    }

    fn width(&self) -> u16 {
        self.width
    }

    fn height(&self) -> u16 {
        self.height
    }

    fn fill_buffers(&self, y: u16, buffers: &mut [Vec<u8>; 4]) {
        let to8 = |v: f32| (v * 255.0).round().clamp(0.0, 255.0) as u8;
        let w = usize::from(self.width);
        let row = usize::from(y) * w..(usize::from(y) + 1) * w;
        if let [gray] = self.planes {
            buffers[0].extend(gray.data[row].iter().map(|&v| to8(v)));
            return;
        }
        let [r, g, b] = [&self.planes[0].data[row.clone()], &self.planes[1].data[row.clone()], &self.planes[2].data[row]];
        for x in 0..w {
            let (luma, cb, cr) = rgb_to_ycbcr(to8(r[x]), to8(g[x]), to8(b[x]));
            buffers[0].push(luma);
            buffers[1].push(cb);
            buffers[2].push(cr);
        }
    }
}

/// Encode at `quality` and decode again: the planes a viewer would show.
#[inline]
pub fn round_trip(planes: &mut [Plane], quality: u8) -> Result<(), ImageError> {
    let bytes = encode(planes, quality)?;
    let image = decode(&bytes, "JPEG round trip", DecodeLimits::default())?;
    for (i, p) in planes.iter_mut().enumerate() {
        // A gray JPEG decodes to one plane.
        let src = &image.planes[i.min(image.planes.len() - 1)];
        p.data.iter_mut().zip(&src.data).for_each(|(v, s)| *v = s / 255.0);
    }
    Ok(())
}

/// An 8-bit image saved as a JPEG at `quality` and decoded again (alpha is
/// dropped, gray stays gray): the LR of `trainer eval --degrade jpeg:Q`, and
/// of the package's ground-truth mode with `jpegQuality`, without a random
/// source (a JPEG is deterministic).
#[inline]
pub fn jpeg_image(image: &PlanarImage, quality: u8) -> Result<PlanarImage, ImageError> {
    let max = image.depth.max_value();
    let mut planes: Vec<Plane> = image.color_planes().iter().map(|p| p.map(|v| v / max)).collect();
    round_trip(&mut planes, quality)?;
    let layout = if planes.len() == 1 { Layout::Gray } else { Layout::Rgb };
    Ok(PlanarImage::new(layout, BitDepth::Eight, planes.into_iter().map(|p| p.map(|v| (v * 255.0).round())).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::psnr;

    /// A smooth photo-like test card with edges and colour.
    fn card(w: usize, h: usize) -> Vec<Plane> {
        (0..3)
            .map(|c| {
                let data = (0..w * h)
                    .map(|i| {
                        let (x, y) = ((i % w) as f32, (i / w) as f32);
                        let wave = 0.5 + 0.3 * ((x * (0.11 + 0.05 * c as f32)).sin() * (y * 0.07).cos());
                        let edge = if (x - 2.0 * y + 30.0).abs() < 12.0 { 0.2 } else { 0.0 };
                        (wave + edge * (c as f32 - 1.0)).clamp(0.0, 1.0)
                    })
                    .collect();
                Plane::new(w, h, data)
            })
            .collect()
    }

    #[test]
    fn our_buffer_gives_the_bytes_of_the_encoders_own_rgb_and_luma_layouts() {
        // What `encode` wrote before it had a buffer type of its own (and the
        // committed photo runs trained on): the same file, byte for byte.
        let planes = card(45, 31);
        let to8 = |v: f32| (v * 255.0).round().clamp(0.0, 255.0) as u8;
        let rgb: Vec<u8> = (0..45 * 31).flat_map(|i| planes.iter().map(move |p| to8(p.data[i]))).collect();
        let gray: Vec<u8> = planes[0].data.iter().map(|&v| to8(v)).collect();
        for (quality, ours, theirs, color) in
            [(75, encode(&planes, 75), rgb, jpeg_encoder::ColorType::Rgb), (40, encode(&planes[..1], 40), gray, jpeg_encoder::ColorType::Luma)]
        {
            let mut bytes = Vec::new();
            let mut encoder = Encoder::new(&mut bytes, quality);
            encoder.set_sampling_factor(SamplingFactor::R_4_2_0);
            encoder.encode(&theirs, 45, 31, color).unwrap();
            assert_eq!(ours.unwrap(), bytes, "{color:?}");
        }
    }

    #[test]
    fn the_encoder_writes_four_two_zero_chroma() {
        let bytes = encode(&card(32, 24), 75).unwrap();
        // SOF0: FF C0, length, precision, height, width, 3 components of
        // (id, sampling HV, table): luma 2x2, both chroma planes 1x1.
        let sof = bytes.windows(2).position(|w| w == [0xFF, 0xC0]).expect("a baseline SOF0 marker");
        let c = &bytes[sof + 10..sof + 19];
        assert_eq!((c[1], c[4], c[7]), (0x22, 0x11, 0x11));
        assert_eq!(u16::from_be_bytes([bytes[sof + 5], bytes[sof + 6]]), 24);
    }

    #[test]
    fn round_trip_quality_falls_with_the_quality_setting() {
        let clean = card(96, 64);
        let y = |p: &[Plane]| {
            let to255 = |i: usize| p[i].map(|v| (v * 255.0).round());
            crate::color::y_channel(&to255(0), &to255(1), &to255(2))
        };
        let mut last = f64::INFINITY;
        // Luma PSNR bands around what this encoder gave the card (51.2,
        // 47.5, 45.0, 42.6 dB): a change of tables, rounding or sampling
        // moves them. The Set14 check against another encoder's figures is
        // tests/degradations.rs.
        for (q, lo, hi) in [(95u8, 49.5, 53.0), (75, 45.5, 49.5), (50, 43.0, 47.0), (30, 40.5, 44.5)] {
            let mut planes = clean.clone();
            round_trip(&mut planes, q).unwrap();
            let db = psnr(&y(&planes), &y(&clean)).unwrap();
            assert!(db > lo && db < hi, "q{q}: {db:.2} dB outside {lo}..{hi}");
            assert!(db < last, "q{q}: {db:.2} dB is not below the higher quality's {last:.2}");
            last = db;
        }
    }

    #[test]
    fn gray_planes_stay_gray() {
        let mut gray = vec![card(40, 40).remove(0)];
        let before = gray[0].clone();
        round_trip(&mut gray, 90).unwrap();
        assert_eq!(gray.len(), 1);
        let err: f32 = gray[0].data.iter().zip(&before.data).map(|(a, b)| (a - b).abs()).sum::<f32>() / 1600.0;
        assert!(err > 0.0 && err < 0.02, "{err}");
    }
}
