//! SRResNet, the generator of SRGAN (Ledig et al., CVPR 2017): 9x9 head with
//! PReLU, 16 residual blocks with batch-norm and PReLU, a long skip, two
//! pixel-shuffle x2 steps with PReLU, 9x9 tail. RGB in [0, 1].

use burn::nn::conv::Conv2d;
use burn::nn::{BatchNorm, BatchNormConfig};
use burn::prelude::*;
use upres_kernels::{SrBackend, conv2d};

use crate::ColorSpace;
use crate::ModelError;
use crate::architecture::{Architecture, Network};
use crate::blocks::{Activation, ActivationKind, ResBlock, ResBlockSpec, Upsampler, conv, supports_subpixel_scale};
use crate::cost::{conv_macs, upsampler_macs};
use crate::reach::Reach;

#[derive(Config, Debug, PartialEq)]
pub struct SrresnetConfig {
    #[config(default = 16)]
    pub blocks: usize,
    #[config(default = 64)]
    pub features: usize,
    #[config(default = 4)]
    pub scale: usize,
}

impl SrresnetConfig {
    pub fn init<B: SrBackend>(&self, device: &B::Device) -> Srresnet<B> {
        let f = self.features;
        let prelu = ActivationKind::PRelu { per_channel: false };
        let spec = ResBlockSpec { channels: f, kernel: 3, batch_norm: true, activation: prelu.clone(), channel_attention: false, res_scale: 1.0 };
        Srresnet {
            head: conv(3, f, 9, true, device),
            head_act: prelu.init(f, device),
            body: (0..self.blocks).map(|_| spec.init(device)).collect(),
            body_tail: conv(f, f, 3, true, device),
            body_bn: BatchNormConfig::new(f).init(device),
            upsampler: Upsampler::new(self.scale, f, Some(&prelu), device),
            tail: conv(f, 3, 9, true, device),
        }
    }
}

#[derive(Module, Debug)]
pub struct Srresnet<B: SrBackend> {
    pub head: Conv2d<B>,
    pub head_act: Activation<B>,
    pub body: Vec<ResBlock<B>>,
    pub body_tail: Conv2d<B>,
    pub body_bn: BatchNorm<B>,
    pub upsampler: Upsampler<B>,
    pub tail: Conv2d<B>,
}

impl<B: SrBackend> Srresnet<B> {
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let head = self.head_act.forward(conv2d(&self.head, x));
        let mut h = head.clone();
        for block in &self.body {
            h = block.forward(h);
        }
        let h = upres_kernels::batch_norm(&self.body_bn, conv2d(&self.body_tail, h)) + head;
        conv2d(&self.tail, self.upsampler.forward(h))
    }
}

impl Architecture for SrresnetConfig {
    type Network<B: SrBackend> = Srresnet<B>;

    fn validate(&self) -> Result<(), ModelError> {
        if !supports_subpixel_scale(self.scale) {
            return Err(ModelError::InvalidConfig(format!("SRResNet supports x2, x3, x4 and x8, not x{}", self.scale)));
        }
        Ok(())
    }

    fn build<B: SrBackend>(&self, device: &B::Device) -> Srresnet<B> {
        self.init(device)
    }

    fn color_space(&self) -> ColorSpace {
        ColorSpace::Rgb
    }

    fn network_scales(&self) -> Option<Vec<usize>> {
        Some(vec![self.scale])
    }

    fn macs_per_lr_pixel_at(&self, _scale: usize) -> u64 {
        let f = self.features;
        conv_macs(3, f, 9)
            + (2 * self.blocks as u64 + 1) * conv_macs(f, f, 3)
            + upsampler_macs(f, self.scale)
            + (self.scale * self.scale) as u64 * conv_macs(f, 3, 9)
    }

    fn receptive_radius_at(&self, _scale: usize) -> Option<usize> {
        // 9x9 tail at the output size, the upsampler, the body's 3x3s and the 9x9 head.
        let tail = Reach::default().convs(1, 9).subpixel_upsampler(self.scale);
        Some(tail.convs(2 * self.blocks + 1, 3).convs(1, 9).pixels())
    }
}

impl<B: SrBackend> Network<B> for Srresnet<B> {
    fn forward(&self, x: Tensor<B, 4>, _scale: usize) -> Tensor<B, 4> {
        Srresnet::forward(self, x)
    }
}
