//! A JPEG round trip through real codecs: a baseline encoder with the IJG
//! quality scale and 4:2:0 chroma (what cameras and browsers write), and the
//! decoder the product itself uses ([`crate::decode`]), so the blocks,
//! ringing and chroma bleeding are the real ones.

use jpeg_encoder::{ColorType, Encoder, SamplingFactor};

use crate::error::ImageError;
use crate::io::{decode, DecodeLimits};
use crate::planar::Plane;

/// Encode 1 (gray) or 3 (RGB) planes in [0, 1] at `quality` (1-100).
pub fn encode(planes: &[Plane], quality: u8) -> Result<Vec<u8>, ImageError> {
    let (w, h) = (planes[0].width, planes[0].height);
    let too_large = || ImageError::EncodeJpeg(format!("{w}x{h} is larger than 65535 pixels a side"));
    let (w16, h16) = (u16::try_from(w).map_err(|_| too_large())?, u16::try_from(h).map_err(|_| too_large())?);
    let to8 = |v: f32| (v * 255.0).round().clamp(0.0, 255.0) as u8;
    let (samples, color) = match planes.len() {
        1 => (planes[0].data.iter().map(|&v| to8(v)).collect::<Vec<u8>>(), ColorType::Luma),
        3 => {
            let mut s = Vec::with_capacity(w * h * 3);
            for i in 0..w * h {
                s.extend([to8(planes[0].data[i]), to8(planes[1].data[i]), to8(planes[2].data[i])]);
            }
            (s, ColorType::Rgb)
        }
        n => return Err(ImageError::EncodeJpeg(format!("{n} planes (1 or 3 expected)"))),
    };
    let mut bytes = Vec::new();
    let mut encoder = Encoder::new(&mut bytes, quality.clamp(1, 100));
    encoder.set_sampling_factor(SamplingFactor::R_4_2_0);
    encoder.encode(&samples, w16, h16, color).map_err(|e| ImageError::EncodeJpeg(format!("{e}")))?;
    Ok(bytes)
}

/// Encode at `quality` and decode again: the planes a viewer would show.
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
