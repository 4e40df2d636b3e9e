//! Samples kept as a codec or a canvas interleaves them (3 or 4 bytes a pixel
//! for 8-bit RGB(A), where f32 planes take 12 or 16), made planar one band of
//! rows at a time. An upscale in bands then holds the input compactly and
//! one band's planes: for a 24-megapixel photo, 72 MB instead of 288 MB.

use std::borrow::Cow;

use crate::planar::{BitDepth, Layout, PlanarImage, Plane};

/// Where the input rows of an upscale's bands come from.
pub trait RowSource {
    fn width(&self) -> usize;
    fn height(&self) -> usize;
    fn layout(&self) -> Layout;
    /// What the source itself holds per pixel, in bytes.
    fn bytes_per_pixel(&self) -> usize;
    /// Rows `top..top + rows` as planes: borrowed where the source already
    /// holds them as planes and they are all of it.
    fn rows(&self, top: usize, rows: usize) -> Cow<'_, PlanarImage>;
    /// The whole image as planes.
    fn to_planar(&self) -> Cow<'_, PlanarImage> {
        self.rows(0, self.height())
    }
}

impl RowSource for PlanarImage {
    fn width(&self) -> usize {
        self.width
    }
    fn height(&self) -> usize {
        self.height
    }
    fn layout(&self) -> Layout {
        self.layout
    }
    fn bytes_per_pixel(&self) -> usize {
        self.planes.len() * std::mem::size_of::<f32>()
    }
    fn rows(&self, top: usize, rows: usize) -> Cow<'_, PlanarImage> {
        if top == 0 && rows == self.height { Cow::Borrowed(self) } else { Cow::Owned(self.crop(0, top, self.width, rows)) }
    }
}

/// The samples of an [`InterleavedImage`], at the depth they were decoded.
#[derive(Debug, Clone, PartialEq)]
pub enum Samples {
    Eight(Vec<u8>),
    Sixteen(Vec<u16>),
}

impl Samples {
    fn len(&self) -> usize {
        match self {
            Samples::Eight(s) => s.len(),
            Samples::Sixteen(s) => s.len(),
        }
    }
}

/// An image as interleaved samples: `stride` samples a pixel, of which those
/// at `channels` (in the layout's order) are the image's, so that RGBA from
/// a canvas can stand for an RGB or gray image without a copy.
#[derive(Debug, Clone, PartialEq)]
pub struct InterleavedImage {
    pub width: usize,
    pub height: usize,
    pub layout: Layout,
    samples: Samples,
    stride: usize,
    channels: Vec<usize>,
}

impl InterleavedImage {
    /// Samples holding exactly the layout's channels, in its order.
    pub fn new(width: usize, height: usize, layout: Layout, samples: Samples) -> Option<Self> {
        let stride = layout.channels();
        Self::with_channels(width, height, layout, samples, stride, (0..stride).collect())
    }

    /// Samples with `stride` values a pixel, of which `channels` are the
    /// layout's (RGBA samples read as RGB: stride 4, channels 0, 1, 2).
    /// `None` when the sample count or the channels do not fit.
    pub fn with_channels(width: usize, height: usize, layout: Layout, samples: Samples, stride: usize, channels: Vec<usize>) -> Option<Self> {
        let fits = width > 0
            && height > 0
            && channels.len() == layout.channels()
            && channels.iter().all(|&c| c < stride)
            && width.checked_mul(height).and_then(|n| n.checked_mul(stride)) == Some(samples.len());
        fits.then_some(Self { width, height, layout, samples, stride, channels })
    }

    pub fn depth(&self) -> BitDepth {
        match self.samples {
            Samples::Eight(_) => BitDepth::Eight,
            Samples::Sixteen(_) => BitDepth::Sixteen,
        }
    }
}

/// One channel of rows `top..top + rows`, `width` wide, as f32.
fn plane_of<T: Copy + Into<f32>>(samples: &[T], width: usize, stride: usize, channel: usize, top: usize, rows: usize) -> Plane {
    let start = top * width * stride;
    let end = (top + rows) * width * stride;
    Plane::new(width, rows, samples[start..end].iter().skip(channel).step_by(stride).map(|&v| v.into()).collect())
}

impl RowSource for InterleavedImage {
    fn width(&self) -> usize {
        self.width
    }
    fn height(&self) -> usize {
        self.height
    }
    fn layout(&self) -> Layout {
        self.layout
    }
    fn bytes_per_pixel(&self) -> usize {
        let sample = match self.samples {
            Samples::Eight(_) => 1,
            Samples::Sixteen(_) => 2,
        };
        self.stride * sample
    }
    /// Panics when the rows are not inside the image (a caller's bug: band
    /// plans stay inside the image they were made for).
    fn rows(&self, top: usize, rows: usize) -> Cow<'_, PlanarImage> {
        assert!(top + rows <= self.height, "rows {top}..{} of an image {} high", top + rows, self.height);
        let planes = self
            .channels
            .iter()
            .map(|&c| match &self.samples {
                Samples::Eight(s) => plane_of(s, self.width, self.stride, c, top, rows),
                Samples::Sixteen(s) => plane_of(s, self.width, self.stride, c, top, rows),
            })
            .collect();
        Cow::Owned(PlanarImage::new(self.layout, self.depth(), planes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 5x4 RGBA image whose samples say where they are.
    fn rgba() -> Vec<u8> {
        (0..4).flat_map(|y| (0..5).flat_map(move |x| [x * 10 + y, 100 + x, 200 + y, 255])).collect()
    }

    #[test]
    fn rows_equal_the_crop_of_the_planes_made_at_once() {
        let samples = rgba();
        let whole = PlanarImage::from_interleaved_u8(5, 4, Layout::Rgba, &samples);
        let image = InterleavedImage::new(5, 4, Layout::Rgba, Samples::Eight(samples)).unwrap();
        assert_eq!(image.to_planar().as_ref(), &whole);
        assert_eq!(image.rows(1, 2).as_ref(), &whole.crop(0, 1, 5, 2));
        assert_eq!(image.rows(3, 1).as_ref(), &whole.crop(0, 3, 5, 1));
        assert_eq!(image.bytes_per_pixel(), 4);
        assert_eq!(whole.bytes_per_pixel(), 16);
    }

    #[test]
    fn rgba_samples_read_as_rgb_drop_alpha_without_a_copy() {
        let samples = rgba();
        let rgb: Vec<u8> = samples.chunks(4).flat_map(|p| p[..3].to_vec()).collect();
        let image = InterleavedImage::with_channels(5, 4, Layout::Rgb, Samples::Eight(samples), 4, vec![0, 1, 2]).unwrap();
        assert_eq!(image.rows(2, 2).as_ref(), &PlanarImage::from_interleaved_u8(5, 4, Layout::Rgb, &rgb).crop(0, 2, 5, 2));
    }

    #[test]
    fn sixteen_bit_samples_stay_sixteen_bit() {
        let samples: Vec<u16> = (0..6).map(|v| v * 10_000).collect();
        let image = InterleavedImage::new(3, 2, Layout::Gray, Samples::Sixteen(samples)).unwrap();
        let rows = image.rows(1, 1);
        assert_eq!(rows.depth, BitDepth::Sixteen);
        assert_eq!(rows.planes[0].data, vec![30_000.0, 40_000.0, 50_000.0]);
        assert_eq!(image.bytes_per_pixel(), 2);
    }

    #[test]
    fn samples_that_do_not_fit_the_size_or_the_channels_are_refused() {
        assert!(InterleavedImage::new(5, 4, Layout::Rgb, Samples::Eight(rgba())).is_none());
        assert!(InterleavedImage::with_channels(5, 4, Layout::Rgb, Samples::Eight(rgba()), 4, vec![0, 1, 4]).is_none());
        assert!(InterleavedImage::with_channels(5, 4, Layout::Gray, Samples::Eight(rgba()), 4, vec![0, 1]).is_none());
        assert!(InterleavedImage::new(0, 4, Layout::Rgba, Samples::Eight(vec![])).is_none());
    }

    #[test]
    fn planes_borrow_themselves_whole_and_crop_a_band() {
        let whole = PlanarImage::from_interleaved_u8(5, 4, Layout::Rgba, &rgba());
        assert!(matches!(whole.rows(0, 4), Cow::Borrowed(_)));
        assert_eq!(whole.rows(1, 2).into_owned(), whole.crop(0, 1, 5, 2));
    }
}
