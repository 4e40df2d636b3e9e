//! SRCNN (Dong et al., ECCV 2014 / TPAMI 2016) and the variants its study and
//! its successors explore: 9-1-5 and 9-5-5 kernels, more middle layers, a
//! global residual, an upsampling tail instead of bicubic input, batch-norm,
//! residual blocks, LeakyReLU/PReLU, channel attention.
//!
//! Convolutions are zero-padded to keep the size (the original used 'valid'
//! convolutions and compared only the centre), so any image size works.

use burn::nn::conv::Conv2d;
use burn::nn::{BatchNorm, BatchNormConfig};
use burn::prelude::*;
use upres_kernels::{SrBackend, conv2d};

use crate::ModelError;
use crate::architecture::{Architecture, Network, color_of};
use crate::blocks::{
    Activation, ActivationKind, ChannelAttention, ResBlock, ResBlockSpec, See, Upsampler, conv, features_of, supports_subpixel_scale,
};
use crate::cost::{conv_macs, upsampler_macs};
use crate::reach::Reach;
use crate::{ColorSpace, InputKind};

#[derive(Config, Debug, PartialEq)]
pub struct SrcnnConfig {
    /// 1 for the Y channel (the paper), 3 for RGB.
    #[config(default = 1)]
    pub channels: usize,
    /// Kernel sizes of the first, middle and last layers (9-5-5, or 9-1-5).
    #[config(default = "[9, 5, 5]")]
    pub kernels: [usize; 3],
    /// Features after the first layer (n1) and after the middle layers (n2).
    #[config(default = "[64, 32]")]
    pub features: [usize; 2],
    /// Number of middle layers (1 in the 3-layer SRCNN).
    #[config(default = 1)]
    pub depth: usize,
    /// Predict the residual over the bicubic input (as VDSR does).
    #[config(default = false)]
    pub global_residual: bool,
    /// Take the LR image and upsample at the end by pixel shuffle with this
    /// scale (FSRCNN/ESPCN style) instead of taking a bicubic-upscaled input.
    #[config(default = "None")]
    pub upsample: Option<usize>,
    #[config(default = false)]
    pub batch_norm: bool,
    /// Middle layers after the first one become residual blocks.
    #[config(default = false)]
    pub residual_blocks: bool,
    #[config(default = "ActivationKind::Relu")]
    pub activation: ActivationKind,
    #[config(default = false)]
    pub channel_attention: bool,
}

impl SrcnnConfig {
    /// The 3-layer SRCNN 9-5-5 on Y (Dong et al. 2016, the best of their 3-layer nets).
    pub fn srcnn_955() -> Self {
        Self::new()
    }
    /// The original 9-1-5.
    pub fn srcnn_915() -> Self {
        Self::new().with_kernels([9, 1, 5])
    }

    pub fn init<B: SrBackend>(&self, device: &B::Device) -> Srcnn<B> {
        let [n1, n2] = self.features;
        let [k1, k2, k3] = self.kernels;
        let bn = |c: usize| self.batch_norm.then(|| BatchNormConfig::new(c).init(device));
        let first = MiddleLayer {
            conv: conv(n1, n2, k2, true, device),
            bn: bn(n2),
            act: self.activation.init(n2, device),
            attention: self.channel_attention.then(|| ChannelAttention::new(n2, 16.min(n2), device)),
        };
        let rest = (1..self.depth).map(|_| {
            if self.residual_blocks {
                SrcnnBlock::Residual(
                    ResBlockSpec {
                        channels: n2,
                        kernel: k2,
                        batch_norm: self.batch_norm,
                        activation: self.activation.clone(),
                        channel_attention: self.channel_attention,
                        res_scale: 1.0,
                    }
                    .init(device),
                )
            } else {
                SrcnnBlock::Plain(MiddleLayer {
                    conv: conv(n2, n2, k2, true, device),
                    bn: bn(n2),
                    act: self.activation.init(n2, device),
                    attention: self.channel_attention.then(|| ChannelAttention::new(n2, 16.min(n2), device)),
                })
            }
        });
        Srcnn {
            head: conv(self.channels, n1, k1, true, device),
            head_act: self.activation.init(n1, device),
            body: std::iter::once(SrcnnBlock::Plain(first)).chain(rest).collect(),
            upsampler: self.upsample.map(|s| Upsampler::new(s, n2, None, device)),
            tail: conv(n2, self.channels, k3, true, device),
            global_residual: self.global_residual,
        }
    }
}

#[derive(Module, Debug)]
pub struct MiddleLayer<B: SrBackend> {
    pub conv: Conv2d<B>,
    pub bn: Option<BatchNorm<B>>,
    pub act: Activation<B>,
    pub attention: Option<ChannelAttention<B>>,
}

impl<B: SrBackend> MiddleLayer<B> {
    fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let mut y = conv2d(&self.conv, x);
        if let Some(bn) = &self.bn {
            y = upres_kernels::batch_norm(bn, y);
        }
        let y = self.act.forward(y);
        match &self.attention {
            Some(ca) => ca.forward(y),
            None => y,
        }
    }
}

#[derive(Module, Debug)]
pub enum SrcnnBlock<B: SrBackend> {
    Plain(MiddleLayer<B>),
    Residual(ResBlock<B>),
}

#[derive(Module, Debug)]
pub struct Srcnn<B: SrBackend> {
    pub head: Conv2d<B>,
    pub head_act: Activation<B>,
    pub body: Vec<SrcnnBlock<B>>,
    pub upsampler: Option<Upsampler<B>>,
    pub tail: Conv2d<B>,
    #[module(skip)]
    pub global_residual: bool,
}

impl<B: SrBackend> Srcnn<B> {
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        self.forward_with(x, &mut |_, _| {})
    }

    /// Activations after the first layer and each middle layer (and the
    /// residual a global skip adds), then the output.
    pub fn forward_features(&self, x: Tensor<B, 4>) -> Vec<(String, Tensor<B, 4>)> {
        features_of(|see| self.forward_with(x, see))
    }

    /// The forward pass, showing each activation to `see`; only the current
    /// layer's stays alive.
    fn forward_with(&self, x: Tensor<B, 4>, see: See<'_, B>) -> Tensor<B, 4> {
        let mut h = self.head_act.forward(conv2d(&self.head, x.clone()));
        see("layer01".to_string(), &h);
        for (i, block) in self.body.iter().enumerate() {
            h = match block {
                SrcnnBlock::Plain(l) => l.forward(h),
                SrcnnBlock::Residual(r) => r.forward(h),
            };
            see(format!("layer{:02}", i + 2), &h);
        }
        if let Some(up) = &self.upsampler {
            h = up.forward(h);
        }
        let y = conv2d(&self.tail, h);
        if self.global_residual {
            see("residual".to_string(), &y);
            y + x
        } else {
            y
        }
    }
}

impl Architecture for SrcnnConfig {
    type Network<B: SrBackend> = Srcnn<B>;

    fn validate(&self) -> Result<(), ModelError> {
        if self.kernels.iter().any(|k| k % 2 == 0) {
            return Err(ModelError::InvalidConfig(format!("SRCNN kernels must be odd, got {:?}", self.kernels)));
        }
        if let Some(s) = self.upsample {
            if !supports_subpixel_scale(s) {
                return Err(ModelError::InvalidConfig(format!("SRCNN upsampling tail supports x2, x3, x4, x8; got x{s}")));
            }
            if self.global_residual {
                return Err(ModelError::InvalidConfig(
                    "a global residual needs a bicubic input; it cannot be combined with an upsampling tail".into(),
                ));
            }
        }
        if self.depth == 0 {
            return Err(ModelError::InvalidConfig("SRCNN needs at least one middle layer".into()));
        }
        Ok(())
    }

    fn build<B: SrBackend>(&self, device: &B::Device) -> Srcnn<B> {
        self.init(device)
    }

    fn input_kind(&self) -> InputKind {
        if self.upsample.is_none() { InputKind::Bicubic } else { InputKind::LowRes }
    }

    fn color_space(&self) -> ColorSpace {
        color_of(self.channels)
    }

    fn network_scales(&self) -> Option<Vec<usize>> {
        self.upsample.map(|s| vec![s])
    }

    fn macs_per_lr_pixel_at(&self, scale: usize) -> u64 {
        let [n1, n2] = self.features;
        let [k1, k2, k3] = self.kernels;
        let block = if self.residual_blocks { 2 } else { 1 };
        let middle = conv_macs(n1, n2, k2) + (self.depth as u64 - 1) * block * conv_macs(n2, n2, k2);
        let lr = conv_macs(self.channels, n1, k1) + middle;
        match self.upsample {
            Some(r) => lr + upsampler_macs(n2, r) + (r * r) as u64 * conv_macs(n2, self.channels, k3),
            None => (scale * scale) as u64 * (lr + conv_macs(n2, self.channels, k3)),
        }
    }

    fn receptive_radius_at(&self, _scale: usize) -> Option<usize> {
        if self.channel_attention {
            // Squeeze-and-excitation pools over the whole image.
            return None;
        }
        let [k1, k2, k3] = self.kernels;
        let tail = Reach::default().convs(1, k3);
        let tail = self.upsample.map_or(tail, |s| tail.subpixel_upsampler(s));
        let per_block = if self.residual_blocks { 2 } else { 1 };
        Some(tail.convs(1 + (self.depth - 1) * per_block, k2).convs(1, k1).pixels())
    }
}

impl<B: SrBackend> Network<B> for Srcnn<B> {
    fn forward(&self, x: Tensor<B, 4>, _scale: usize) -> Tensor<B, 4> {
        Srcnn::forward(self, x)
    }

    fn forward_features(&self, x: Tensor<B, 4>, _scale: usize) -> Vec<(String, Tensor<B, 4>)> {
        Srcnn::forward_features(self, x)
    }
}
