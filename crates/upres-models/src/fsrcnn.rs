//! FSRCNN (Dong, Loy, Tang, ECCV 2016, "Accelerating the Super-Resolution
//! Convolutional Neural Network"): SRCNN moved to the low resolution.
//!
//! Feature extraction (5x5, 1 -> d), shrinking (1x1, d -> s), `m` mapping
//! layers (3x3, s -> s), expanding (1x1, s -> d), each followed by a PReLU,
//! and a 9x9 transposed convolution with stride `scale` (d -> 1) as the
//! upsampling tail, as in the paper: its cost per LR pixel is `d * 81`
//! multiply-adds whatever the scale, where a pixel-shuffle tail of the same
//! receptive field would cost `scale^2` times more at x3/x4. Padding 4 and
//! output padding `scale - 1` make the output exactly `scale` times the input.

use burn::nn::conv::{Conv2d, ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::{PRelu, PReluConfig};
use burn::prelude::*;
use upres_kernels::{SrBackend, conv2d, prelu};

use crate::ColorSpace;
use crate::ModelError;
use crate::architecture::{Architecture, Network};
use crate::blocks::{See, conv, features_of};
use crate::reach::Reach;

#[derive(Config, Debug, PartialEq)]
pub struct FsrcnnConfig {
    #[config(default = 2)]
    pub scale: usize,
    /// LR feature dimension `d` (56 in FSRCNN, 32 in FSRCNN-s).
    #[config(default = 56)]
    pub features: usize,
    /// Shrunk dimension `s` (12, or 5).
    #[config(default = 12)]
    pub shrink: usize,
    /// Mapping layers `m` (4, or 1).
    #[config(default = 4)]
    pub mapping: usize,
}

impl FsrcnnConfig {
    /// Multiply-adds per LR pixel (the paper's Table 1 counts these).
    pub fn macs_per_lr_pixel(&self) -> u64 {
        let (d, s, m) = (self.features as u64, self.shrink as u64, self.mapping as u64);
        25 * d + d * s + m * 9 * s * s + s * d + 81 * d
    }

    pub fn init<B: SrBackend>(&self, device: &B::Device) -> Fsrcnn<B> {
        let (d, s, r) = (self.features, self.shrink, self.scale);
        let prelu = |c: usize| PReluConfig::new().with_num_parameters(c).init(device);
        Fsrcnn {
            extract: conv(1, d, 5, true, device),
            extract_act: prelu(d),
            shrink: conv(d, s, 1, true, device),
            shrink_act: prelu(s),
            mapping: (0..self.mapping).map(|_| conv(s, s, 3, true, device)).collect(),
            mapping_acts: (0..self.mapping).map(|_| prelu(s)).collect(),
            expand: conv(s, d, 1, true, device),
            expand_act: prelu(d),
            deconv: ConvTranspose2dConfig::new([d, 1], [9, 9]).with_stride([r, r]).with_padding([4, 4]).with_padding_out([r - 1, r - 1]).init(device),
        }
    }
}

#[derive(Module, Debug)]
pub struct Fsrcnn<B: SrBackend> {
    pub extract: Conv2d<B>,
    pub extract_act: PRelu<B>,
    pub shrink: Conv2d<B>,
    pub shrink_act: PRelu<B>,
    pub mapping: Vec<Conv2d<B>>,
    pub mapping_acts: Vec<PRelu<B>>,
    pub expand: Conv2d<B>,
    pub expand_act: PRelu<B>,
    pub deconv: ConvTranspose2d<B>,
}

impl<B: SrBackend> Fsrcnn<B> {
    /// `x`: the LR Y channel, `[N, 1, H, W]` in [0, 1].
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        self.forward_with(x, &mut |_, _| {})
    }

    /// Activations after each layer of the LR part, then the output.
    pub fn forward_features(&self, x: Tensor<B, 4>) -> Vec<(String, Tensor<B, 4>)> {
        features_of(|see| self.forward_with(x, see))
    }

    fn forward_with(&self, x: Tensor<B, 4>, see: See<'_, B>) -> Tensor<B, 4> {
        let mut h = prelu(&self.extract_act, conv2d(&self.extract, x));
        see("extract".into(), &h);
        h = prelu(&self.shrink_act, conv2d(&self.shrink, h));
        see("shrink".into(), &h);
        for (i, (conv, act)) in self.mapping.iter().zip(&self.mapping_acts).enumerate() {
            h = prelu(act, conv2d(conv, h));
            see(format!("map{:02}", i + 1), &h);
        }
        h = prelu(&self.expand_act, conv2d(&self.expand, h));
        see("expand".into(), &h);
        self.deconv.forward(h)
    }
}

impl Architecture for FsrcnnConfig {
    type Network<B: SrBackend> = Fsrcnn<B>;

    fn validate(&self) -> Result<(), ModelError> {
        if !(2..=8).contains(&self.scale) {
            return Err(ModelError::InvalidConfig(format!("FSRCNN supports x2 to x8; got x{}", self.scale)));
        }
        if self.features == 0 || self.shrink == 0 {
            return Err(ModelError::InvalidConfig("FSRCNN needs at least one feature and one shrunk channel".into()));
        }
        Ok(())
    }

    fn build<B: SrBackend>(&self, device: &B::Device) -> Fsrcnn<B> {
        self.init(device)
    }

    fn color_space(&self) -> ColorSpace {
        ColorSpace::Y
    }

    fn network_scales(&self) -> Option<Vec<usize>> {
        Some(vec![self.scale])
    }

    fn macs_per_lr_pixel_at(&self, _scale: usize) -> u64 {
        FsrcnnConfig::macs_per_lr_pixel(self)
    }

    fn receptive_radius_at(&self, _scale: usize) -> Option<usize> {
        // The 9x9 transposed convolution at the output size, then 3x3 mapping
        // layers and the 5x5 extraction (the 1x1 layers add nothing).
        Some(Reach::default().convs(1, 9).upscaled(self.scale).convs(self.mapping, 3).convs(1, 5).pixels())
    }
}

impl<B: SrBackend> Network<B> for Fsrcnn<B> {
    fn forward(&self, x: Tensor<B, 4>, _scale: usize) -> Tensor<B, 4> {
        Fsrcnn::forward(self, x)
    }

    fn forward_features(&self, x: Tensor<B, 4>, _scale: usize) -> Vec<(String, Tensor<B, 4>)> {
        Fsrcnn::forward_features(self, x)
    }
}
