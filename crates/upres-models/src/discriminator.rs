//! SRGAN's discriminator (Ledig et al. 2017): eight 3x3 conv layers with
//! LeakyReLU(0.2), batch-norm after the first, channels 64 -> 512 with
//! stride-2 halving, then dense 1024 -> LeakyReLU -> dense 1. The paper feeds
//! 96x96 crops (6x6x512 features); an adaptive average pool to 6x6 lets it
//! take any crop size. Returns logits (the sigmoid belongs to the loss).
//! `features` and `dense` scale it down with a smaller generator (the
//! paper's are 64 and 1024).

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{AdaptiveAvgPool2d, AdaptiveAvgPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig, PaddingConfig2d};
use burn::prelude::*;
use burn::tensor::activation::leaky_relu;
use upres_kernels::{SrBackend, conv2d};

#[derive(Config, Debug, PartialEq)]
pub struct DiscriminatorConfig {
    #[config(default = 64)]
    pub features: usize,
    /// Width of the hidden dense layer.
    #[config(default = 1024)]
    pub dense: usize,
    #[config(default = 3)]
    pub channels: usize,
}

#[derive(Module, Debug)]
pub struct DiscriminatorLayer<B: SrBackend> {
    pub conv: Conv2d<B>,
    pub bn: Option<BatchNorm<B>>,
}

#[derive(Module, Debug)]
pub struct Discriminator<B: SrBackend> {
    pub layers: Vec<DiscriminatorLayer<B>>,
    pub pool: AdaptiveAvgPool2d,
    pub dense: Linear<B>,
    pub classifier: Linear<B>,
}

impl DiscriminatorConfig {
    pub fn init<B: SrBackend>(&self, device: &B::Device) -> Discriminator<B> {
        let f = self.features;
        // (out channels, stride) of the eight layers, as in the paper's figure.
        let plan = [(f, 1), (f, 2), (2 * f, 1), (2 * f, 2), (4 * f, 1), (4 * f, 2), (8 * f, 1), (8 * f, 2)];
        let mut in_ch = self.channels;
        let layers = plan
            .iter()
            .enumerate()
            .map(|(i, &(out, stride))| {
                let layer = DiscriminatorLayer {
                    conv: Conv2dConfig::new([in_ch, out], [3, 3])
                        .with_stride([stride, stride])
                        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                        .init(device),
                    bn: (i > 0).then(|| BatchNormConfig::new(out).init(device)),
                };
                in_ch = out;
                layer
            })
            .collect();
        Discriminator {
            layers,
            pool: AdaptiveAvgPool2dConfig::new([6, 6]).init(),
            dense: LinearConfig::new(8 * f * 36, self.dense).init(device),
            classifier: LinearConfig::new(self.dense, 1).init(device),
        }
    }
}

impl<B: SrBackend> Discriminator<B> {
    /// `x`: RGB `[N, 3, H, W]` in [0, 1]; returns logits `[N, 1]`.
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 2> {
        let mut h = x;
        for layer in &self.layers {
            h = conv2d(&layer.conv, h);
            if let Some(bn) = &layer.bn {
                h = upres_kernels::batch_norm(bn, h);
            }
            h = leaky_relu(h, 0.2);
        }
        let h = self.pool.forward(h).flatten::<2>(1, 3);
        self.classifier.forward(leaky_relu(self.dense.forward(h), 0.2))
    }
}
