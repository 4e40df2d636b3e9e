//! The quality a JPEG was saved at, read from its luminance quantisation
//! table: the IJG quality (libjpeg, browsers' canvas encoders, most cameras'
//! and editors' "quality" settings) whose scaled Annex K table is nearest.
//! A photo model can be chosen, or told, by it: a JPEG's own bytes say how
//! hard it was compressed.

/// Annex K's luminance table, in natural (row-major) order.
const ANNEX_K_LUMA: [u16; 64] = [
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56,
    68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
];

/// The natural-order index of each zigzag position.
const ZIGZAG: [usize; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43,
    36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

/// What the luminance table says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JpegQuality {
    /// The nearest IJG quality, 1-100.
    pub quality: u8,
    /// Whether the table is exactly IJG's at that quality (else the file
    /// used tables of its own, and `quality` is the nearest match).
    pub exact: bool,
}

/// IJG's table for `quality` (libjpeg's `jpeg_quality_scaling`, baseline clamp).
fn ijg_table(quality: u8) -> [u16; 64] {
    let q = quality.clamp(1, 100) as u32;
    let scale = if q < 50 { 5000 / q } else { 200 - 2 * q };
    ANNEX_K_LUMA.map(|base| ((base as u32 * scale + 50) / 100).clamp(1, 255) as u16)
}

/// The luminance table (id 0) of a JPEG, in natural order, from its DQT
/// segments before the first scan; None for anything else.
fn luma_table(bytes: &[u8]) -> Option<[u16; 64]> {
    if bytes.get(..2)? != [0xFF, 0xD8] {
        return None;
    }
    let mut at = 2;
    while at + 4 <= bytes.len() {
        if bytes[at] != 0xFF {
            return None;
        }
        let marker = bytes[at + 1];
        if marker == 0xFF {
            at += 1; // fill byte
            continue;
        }
        if marker == 0xDA || marker == 0xD9 {
            return None; // scan data or the end: no table came first
        }
        let len = u16::from_be_bytes([bytes[at + 2], bytes[at + 3]]) as usize;
        let segment = bytes.get(at + 4..at + 2 + len)?;
        if marker == 0xDB {
            let mut i = 0;
            while i < segment.len() {
                let (precision, id) = (segment[i] >> 4, segment[i] & 0x0F);
                let width = if precision == 0 { 1 } else { 2 };
                let entries = segment.get(i + 1..i + 1 + 64 * width)?;
                if id == 0 {
                    let mut table = [0u16; 64];
                    for (k, natural) in ZIGZAG.iter().enumerate() {
                        table[*natural] = if width == 1 { entries[k] as u16 } else { u16::from_be_bytes([entries[2 * k], entries[2 * k + 1]]) };
                    }
                    return Some(table);
                }
                i += 1 + 64 * width;
            }
        }
        at += 2 + len;
    }
    None
}

/// The IJG quality of a JPEG's luminance table; None for a file that is
/// not a JPEG, or has no table before its first scan.
pub fn jpeg_quality(bytes: &[u8]) -> Option<JpegQuality> {
    let table = luma_table(bytes)?;
    let distance = |q: u8| ijg_table(q).iter().zip(&table).map(|(a, b)| (*a as i64 - *b as i64).abs()).sum::<i64>();
    let quality = (1..=100u8).min_by_key(|&q| (distance(q), 100 - q))?;
    Some(JpegQuality { quality, exact: distance(quality) == 0 })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::planar::Plane;

    #[test]
    fn the_quality_a_jpeg_was_saved_at_is_read_back() {
        let planes: Vec<Plane> = (0..3).map(|c| Plane::new(24, 16, (0..384).map(|i| ((i * (7 + c)) % 97) as f32 / 96.0).collect())).collect();
        for q in [5u8, 30, 49, 50, 51, 75, 90, 95, 100] {
            let bytes = crate::degrade::encode_jpeg(&planes, q).unwrap();
            let read = jpeg_quality(&bytes).unwrap();
            // Qualities whose tables coincide (98-100 clamp to all ones) read as the highest.
            assert!(read.exact, "q{q}: {read:?}");
            assert_eq!(ijg_table(read.quality), ijg_table(q), "q{q}: read {read:?}");
        }
    }

    #[test]
    fn another_encoder_reads_as_the_quality_it_was_given() {
        let samples: Vec<u8> = (0..32 * 32 * 3).map(|i| ((i * 37) % 251) as u8).collect();
        for q in [40u8, 80] {
            let mut out = Vec::new();
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, q).encode(&samples, 32, 32, image::ExtendedColorType::Rgb8).unwrap();
            assert_eq!(jpeg_quality(&out).map(|r| r.quality), Some(q));
        }
    }

    #[test]
    fn anything_else_has_no_quality() {
        assert_eq!(jpeg_quality(b"\x89PNG\r\n\x1a\n"), None);
        assert_eq!(jpeg_quality(&[0xFF, 0xD8, 0xFF, 0xDB, 0x00]), None);
        assert_eq!(jpeg_quality(&[0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x02]), None);
        // A truncated table is no table.
        let mut cut = vec![0xFF, 0xD8, 0xFF, 0xDB, 0x00, 0x43, 0x00];
        cut.extend([1u8; 30]);
        assert_eq!(jpeg_quality(&cut), None);
    }
}
