//! The image side of upscaling with a network, independent of any tensor
//! library: colour handling, bicubic pre-/post-resizing, tiling, alpha.
//!
//! An [`UpscaleJob`] turns an image into network inputs tile by tile and
//! assembles the network's outputs; whoever owns the network (the trainer
//! natively, the wasm library in a browser, on a GPU or not) runs each tile
//! in between, through the one tile loop, [`UpscaleJob::run`]:
//!
//! ```text
//! let job = UpscaleJob::new(&image, &spec, &request)?;
//! let result = job.run(
//!     async |input, scale| run_network(input, scale),   // CHW f32 in [0, 1] -> CHW, `scale` x larger
//!     async |done, total| report(done, total),          // an Err stops the job
//! ).await?;
//! ```
//!
//! * Y networks get the Y channel of MATLAB's rgb2ycbcr (in [0, 1]); Cb and
//!   Cr are upscaled with bicubic; a gray image is its own Y. RGB networks
//!   get RGB in [0, 1].
//! * Networks that take a bicubic-upscaled input run at the exact output
//!   size; the others run at their own scale nearest to the request (the
//!   smallest one at least as large, else the largest), then MATLAB bicubic
//!   makes the exact output size.
//! * Alpha is upscaled with bicubic, never through the network; gray stays
//!   gray; the output keeps the input's bit depth.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::color::{rgb_to_ycbcr, ycbcr_to_rgb};
use crate::error::ImageError;
use crate::planar::BitDepth;
use crate::planar::{Layout, PlanarImage, Plane};
use crate::resize::{Quantize, ResizeTarget, imresize_plane, output_len};
use crate::tiling::{TileBlender, TilePlan};

/// What a network takes as input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InputKind {
    /// The image already upscaled to the output size with bicubic (SRCNN,
    /// VDSR): such a network works at any scale, integer or not.
    Bicubic,
    /// The low-resolution image; the network upsamples by a fixed factor.
    LowRes,
}

/// Which planes the network sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColorSpace {
    /// Y of MATLAB's rgb2ycbcr divided by 255; Cb and Cr go through bicubic.
    Y,
    /// RGB in [0, 1].
    Rgb,
}

impl ColorSpace {
    /// The planes a network of this colour space reads and writes.
    pub fn channels(self) -> usize {
        match self {
            ColorSpace::Y => 1,
            ColorSpace::Rgb => 3,
        }
    }
}

/// The facts about a network that the image side needs.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkSpec {
    pub input: InputKind,
    pub color: ColorSpace,
    /// The scales a [`InputKind::LowRes`] network produces.
    pub scales: Vec<usize>,
}

/// The output size asked for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OutputSize {
    /// Both sides times this factor (`ceil`, as MATLAB's imresize).
    Scale(f64),
    /// Exactly this size.
    Exact { width: usize, height: usize },
}

impl OutputSize {
    /// The output's width and height for a `width` x `height` input.
    pub fn resolve(self, width: usize, height: usize) -> (usize, usize) {
        match self {
            OutputSize::Scale(s) => (output_len(width, s), output_len(height, s)),
            OutputSize::Exact { width, height } => (width, height),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UpscaleRequest {
    pub size: OutputSize,
    /// Largest tile side in network-input pixels; memory is bounded by it.
    /// Each side is cut into the fewest equal tiles of at most this size.
    pub tile: usize,
    /// Overlap between neighbouring tiles, blended away.
    pub overlap: usize,
}

impl UpscaleRequest {
    /// The default tile side, in network-input pixels: small enough that a
    /// tile's activations stay in a CPU's cache (64 channels of a 192 tile
    /// are 9 MB), large enough that the overlap costs little. The one source
    /// of this default for the CLI, the wasm bindings and the JS wrapper.
    pub const DEFAULT_TILE: usize = 192;
    /// The overlap for a network whose receptive radius is not known, and
    /// the most that [`overlap_for_radius`](Self::overlap_for_radius) gives.
    pub const DEFAULT_OVERLAP: usize = 32;

    /// The least overlap that makes tiles exact for a network reading
    /// `radius` input pixels around each pixel: the blend trusts a tile up
    /// to one pixel short of the overlap's middle (see `tiling.rs`), so
    /// `2 * radius + 2`. Deeper networks (radius over 15: EDSR-baseline,
    /// VDSR) and those that read the whole image (`None`) get
    /// [`DEFAULT_OVERLAP`](Self::DEFAULT_OVERLAP), whose last pixels' error
    /// has faded below what 8-bit output shows (BENCHMARKS.md, "Tiles:
    /// exactness and speed").
    pub fn overlap_for_radius(radius: Option<usize>) -> usize {
        radius.map_or(Self::DEFAULT_OVERLAP, |r| (2 * r + 2).min(Self::DEFAULT_OVERLAP))
    }

    /// A request for `size` with the default tiles.
    pub fn with_default_tiles(size: OutputSize) -> Self {
        Self { size, tile: Self::DEFAULT_TILE, overlap: Self::DEFAULT_OVERLAP }
    }
}

/// One tile's network input, channels-first.
#[derive(Debug, Clone)]
pub struct TileInput {
    pub channels: usize,
    pub width: usize,
    pub height: usize,
    pub data: Vec<f32>,
}

/// The upscaled image, and for Y networks the network's own Y output
/// (0..=255, unrounded), which is what the papers' PSNR is computed on.
#[derive(Debug, Clone)]
pub struct UpscaleOutput {
    pub image: PlanarImage,
    pub network_y: Option<Plane>,
    /// The scale the network itself produced: a low-resolution-input
    /// network's own scale (x2 for an x3 request on an x2-only model, the rest
    /// by bicubic), 1 for a network that refines a bicubic upscale.
    pub network_scale: usize,
}

pub struct UpscaleJob {
    layout: Layout,
    depth: BitDepth,
    /// The input's alpha plane, upscaled with bicubic at the end.
    alpha: Option<Plane>,
    target: (usize, usize),
    spec: NetworkSpec,
    network_scale: usize,
    /// Network input planes in [0, 1].
    input: Vec<Plane>,
    /// Cb and Cr at the output size, for Y networks.
    chroma: Option<[Plane; 2]>,
    plan: TilePlan,
    blender: TileBlender,
    done: Vec<bool>,
}

/// Pick the network scale for a requested factor.
pub fn choose_network_scale(scales: &[usize], requested: f64) -> Option<usize> {
    let mut sorted = scales.to_vec();
    sorted.sort_unstable();
    sorted.iter().copied().find(|&s| s as f64 >= requested - 1e-9).or(sorted.last().copied())
}

fn bicubic(plane: &Plane, w: usize, h: usize, q: Quantize) -> Result<Plane, ImageError> {
    if plane.width == w && plane.height == h {
        return Ok(plane.clone());
    }
    imresize_plane(plane, ResizeTarget::Size { width: w, height: h }, q)
}

/// Resize the colour planes of an image to `w` x `h` with MATLAB's bicubic,
/// rounding as the image's integer type would. With a scale factor whose
/// `ceil` gives exactly that size, the factor itself sets the weights, as in
/// `imresize(img, s)`.
fn resize_image(image: &PlanarImage, w: usize, h: usize, factor: Option<f64>) -> Result<Vec<Plane>, ImageError> {
    let q = Quantize::Integer(image.depth.max_value());
    image
        .color_planes()
        .iter()
        .map(|p| match factor {
            Some(s) if output_len(p.width, s) == w && output_len(p.height, s) == h => imresize_plane(p, ResizeTarget::Scale(s), q),
            _ => bicubic(p, w, h, q),
        })
        .collect()
}

/// The planes a network with colour space `color` sees, in [0, 1], from an
/// image's `planes` (samples up to `max`, alpha ignored); for Y networks on
/// colour images also the Cb and Cr planes (0..=255) it does not see. Gray
/// images are their own Y, as in the papers' evaluation code.
pub fn network_planes(planes: &[Plane], layout: Layout, max: f32, color: ColorSpace) -> (Vec<Plane>, Option<[Plane; 2]>) {
    let to8 = 255.0 / max;
    let rgb = || -> [Plane; 3] {
        let pick = |i: usize| planes[if layout.is_gray() { 0 } else { i }].map(|v| v * to8);
        [pick(0), pick(1), pick(2)]
    };
    match color {
        ColorSpace::Y if layout.is_gray() => (vec![planes[0].map(|v| v / max)], None),
        ColorSpace::Y => {
            let [r, g, b] = rgb();
            let [y, cb, cr] = rgb_to_ycbcr(&r, &g, &b);
            (vec![y.map(|v| v / 255.0)], Some([cb, cr]))
        }
        ColorSpace::Rgb => (rgb().into_iter().map(|p| p.map(|v| v / 255.0)).collect(), None),
    }
}

impl UpscaleJob {
    pub fn new(image: &PlanarImage, spec: &NetworkSpec, request: &UpscaleRequest) -> Result<Self, ImageError> {
        let (w, h) = (image.width, image.height);
        // One pixel is enough: MATLAB's imresize (symmetric padding) and a
        // zero-padded convolution both handle a 300x1 strip.
        if w < 1 || h < 1 {
            return Err(ImageError::TooSmall { name: "input image".into(), width: w, height: h, min: 1 });
        }
        let (factor, target) = match request.size {
            OutputSize::Scale(s) => {
                if !(s.is_finite() && s >= 1.0) {
                    return Err(ImageError::InvalidResize(format!("scale must be at least 1, got {s}")));
                }
                (Some(s), (output_len(w, s), output_len(h, s)))
            }
            OutputSize::Exact { width, height } => {
                if width < w || height < h {
                    return Err(ImageError::InvalidResize(format!("output {width}x{height} is smaller than the input {w}x{h}; upscaling only")));
                }
                (None, (width, height))
            }
        };
        let requested = (target.0 as f64 / w as f64).max(target.1 as f64 / h as f64);
        let max = image.depth.max_value();

        // The planes the network sees, before colour conversion, at its input size.
        let (network_scale, source_planes) = match spec.input {
            InputKind::Bicubic => (1, Cow::Owned(resize_image(image, target.0, target.1, factor)?)),
            InputKind::LowRes => {
                let s =
                    choose_network_scale(&spec.scales, requested).ok_or_else(|| ImageError::InvalidResize("the network declares no scale".into()))?;
                (s, Cow::Borrowed(image.color_planes()))
            }
        };
        let (input, chroma) = network_planes(&source_planes, image.layout, max, spec.color);
        // Chroma of the LR image goes straight to the output size.
        let chroma = match (chroma, spec.input) {
            (Some([cb, cr]), InputKind::LowRes) => {
                Some([bicubic(&cb, target.0, target.1, Quantize::None)?, bicubic(&cr, target.0, target.1, Quantize::None)?])
            }
            (chroma, _) => chroma,
        };
        let (iw, ih) = (input[0].width, input[0].height);
        let plan = TilePlan::new(iw, ih, request.tile.max(request.overlap + 1), request.overlap)?;
        let blender = TileBlender::new(&plan, network_scale, input.len());
        Ok(Self {
            layout: image.layout,
            depth: image.depth,
            alpha: image.alpha().cloned(),
            target,
            spec: spec.clone(),
            network_scale,
            done: vec![false; plan.tiles.len()],
            input,
            chroma,
            plan,
            blender,
        })
    }

    pub fn tile_count(&self) -> usize {
        self.plan.tiles.len()
    }
    /// How much larger than its input the network's output is (1 for bicubic-input networks).
    pub fn network_scale(&self) -> usize {
        self.network_scale
    }
    pub fn output_size(&self) -> (usize, usize) {
        self.target
    }
    /// The size of the network input, the whole image.
    pub fn network_input_size(&self) -> (usize, usize) {
        (self.input[0].width, self.input[0].height)
    }

    pub fn tile_input(&self, index: usize) -> TileInput {
        let t = self.plan.tiles[index];
        let mut data = Vec::with_capacity(self.input.len() * t.width * t.height);
        for plane in &self.input {
            data.extend(plane.crop(t.x, t.y, t.width, t.height).data);
        }
        TileInput { channels: self.input.len(), width: t.width, height: t.height, data }
    }

    /// Give the network's output for tile `index` (channels-first).
    pub fn add_tile_output(&mut self, index: usize, data: &[f32]) -> Result<(), ImageError> {
        let t = self.plan.tiles[index];
        let (ow, oh) = (t.width * self.network_scale, t.height * self.network_scale);
        let c = self.input.len();
        if data.len() != c * ow * oh {
            return Err(ImageError::InvalidTiling(format!("tile {index}: the network gave {} values, expected {c}x{oh}x{ow}", data.len())));
        }
        let planes: Vec<Plane> = data.chunks_exact(ow * oh).map(|d| Plane::new(ow, oh, d.to_vec())).collect();
        self.blender.add(&t, &planes);
        self.done[index] = true;
        Ok(())
    }

    /// The one tile loop: each tile's input through `network` (with the
    /// scale it runs at, [`network_scale`](Self::network_scale)), its output
    /// blended in, then `after_tile(done, total)`, whose error stops the job
    /// (a cancel, an abort, a lost page); then [`finish`](Self::finish).
    /// Async so that a browser can await its GPU and let the page run
    /// between tiles; native callers, whose closures never wait, block on it.
    pub async fn run<E: From<ImageError>>(
        mut self,
        mut network: impl AsyncFnMut(TileInput, usize) -> Result<Vec<f32>, E>,
        mut after_tile: impl AsyncFnMut(usize, usize) -> Result<(), E>,
    ) -> Result<UpscaleOutput, E> {
        let (total, scale) = (self.tile_count(), self.network_scale());
        for i in 0..total {
            let output = network(self.tile_input(i), scale).await?;
            self.add_tile_output(i, &output)?;
            after_tile(i + 1, total).await?;
        }
        Ok(self.finish()?)
    }

    /// Assemble the output image (same layout and bit depth as the input).
    pub fn finish(self) -> Result<UpscaleOutput, ImageError> {
        if let Some(missing) = self.done.iter().position(|d| !d) {
            return Err(ImageError::InvalidTiling(format!("tile {missing} was never run")));
        }
        let (tw, th) = self.target;
        let max = self.depth.max_value();
        let from8 = max / 255.0;
        let network = self.blender.finish();
        // Network output at the exact size, in 0..=255.
        let exact: Vec<Plane> = network.iter().map(|p| bicubic(&p.map(|v| v * 255.0), tw, th, Quantize::None)).collect::<Result<_, _>>()?;
        let (rgb, network_y) = match (&self.chroma, self.spec.color) {
            (Some([cb, cr]), ColorSpace::Y) => (ycbcr_to_rgb(&exact[0], cb, cr), Some(exact[0].clone())),
            (None, ColorSpace::Y) => ([exact[0].clone(), exact[0].clone(), exact[0].clone()], Some(exact[0].clone())),
            _ => ([exact[0].clone(), exact[1].clone(), exact[2].clone()], None),
        };
        let quantize = |p: &Plane| p.map(|v| (v * from8).round().clamp(0.0, max));
        let mut planes: Vec<Plane> = if self.layout.is_gray() {
            vec![match &network_y {
                // Gray through a Y network: the network's Y is the gray level.
                Some(_) => quantize(&rgb[0]),
                None => quantize(&Plane::new(
                    tw,
                    th,
                    rgb[0].data.iter().zip(&rgb[1].data).zip(&rgb[2].data).map(|((r, g), b)| (r + g + b) / 3.0).collect(),
                )),
            }]
        } else {
            rgb.iter().map(quantize).collect()
        };
        if let Some(alpha) = &self.alpha {
            planes.push(bicubic(alpha, tw, th, Quantize::Integer(max))?);
        }
        Ok(UpscaleOutput { image: PlanarImage::new(self.layout, self.depth, planes), network_y, network_scale: self.network_scale })
    }
}
