//! VDSR (Kim, Lee & Lee, CVPR 2016): 20 conv3x3 layers, ReLU, on the
//! bicubic-upscaled Y channel in [0, 1]; the network predicts the residual.

use burn::nn::conv::Conv2d;
use burn::prelude::*;
use burn::tensor::activation::relu;
use upres_kernels::{SrBackend, conv2d};

use crate::architecture::{Architecture, Network, color_of};
use crate::blocks::{See, conv, features_of};
use crate::cost::conv_macs;
use crate::reach::Reach;
use crate::{ColorSpace, InputKind, ModelError};

#[derive(Config, Debug, PartialEq)]
pub struct VdsrConfig {
    /// Convolution layers in all, input and output layers included.
    #[config(default = 20)]
    pub layers: usize,
    #[config(default = 64)]
    pub features: usize,
    /// 1 for the Y channel (the paper), 3 for RGB.
    #[config(default = 1)]
    pub channels: usize,
    /// The paper's network has biases; the public reference weights have none.
    #[config(default = true)]
    pub bias: bool,
}

#[derive(Module, Debug)]
pub struct Vdsr<B: SrBackend> {
    pub input: Conv2d<B>,
    pub body: Vec<Conv2d<B>>,
    pub output: Conv2d<B>,
}

impl VdsrConfig {
    pub fn init<B: SrBackend>(&self, device: &B::Device) -> Vdsr<B> {
        let f = self.features;
        Vdsr {
            input: conv(self.channels, f, 3, self.bias, device),
            body: (0..self.layers.saturating_sub(2)).map(|_| conv(f, f, 3, self.bias, device)).collect(),
            output: conv(f, self.channels, 3, self.bias, device),
        }
    }
}

impl<B: SrBackend> Vdsr<B> {
    /// `x`: bicubic-upscaled image `[N, C, H, W]` in [0, 1]; returns the same size.
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        self.forward_with(x, &mut |_, _| {})
    }

    /// Every layer's activations, then the predicted residual, then the output.
    pub fn forward_features(&self, x: Tensor<B, 4>) -> Vec<(String, Tensor<B, 4>)> {
        features_of(|see| self.forward_with(x, see))
    }

    fn forward_with(&self, x: Tensor<B, 4>, see: See<'_, B>) -> Tensor<B, 4> {
        let mut h = relu(conv2d(&self.input, x.clone()));
        see("layer01".to_string(), &h);
        for (i, layer) in self.body.iter().enumerate() {
            h = relu(conv2d(layer, h));
            see(format!("layer{:02}", i + 2), &h);
        }
        let residual = conv2d(&self.output, h);
        see("residual".to_string(), &residual);
        residual + x
    }
}

impl Architecture for VdsrConfig {
    type Network<B: SrBackend> = Vdsr<B>;

    fn validate(&self) -> Result<(), ModelError> {
        if self.layers < 2 || !matches!(self.channels, 1 | 3) {
            return Err(ModelError::InvalidConfig(format!(
                "VDSR needs at least 2 layers and 1 or 3 channels, got {} and {}",
                self.layers, self.channels
            )));
        }
        Ok(())
    }

    fn build<B: SrBackend>(&self, device: &B::Device) -> Vdsr<B> {
        self.init(device)
    }

    fn input_kind(&self) -> InputKind {
        InputKind::Bicubic
    }

    fn color_space(&self) -> ColorSpace {
        color_of(self.channels)
    }

    fn network_scales(&self) -> Option<Vec<usize>> {
        None
    }

    fn macs_per_lr_pixel_at(&self, scale: usize) -> u64 {
        let (f, ch) = (self.features, self.channels);
        (scale * scale) as u64 * (conv_macs(ch, f, 3) + (self.layers as u64 - 2) * conv_macs(f, f, 3) + conv_macs(f, ch, 3))
    }

    fn receptive_radius_at(&self, _scale: usize) -> Option<usize> {
        // `layers` 3x3 convolutions, all at the (bicubic-upscaled) input size.
        Some(Reach::default().convs(self.layers, 3).pixels())
    }
}

impl<B: SrBackend> Network<B> for Vdsr<B> {
    fn forward(&self, x: Tensor<B, 4>, _scale: usize) -> Tensor<B, 4> {
        Vdsr::forward(self, x)
    }

    fn forward_features(&self, x: Tensor<B, 4>, _scale: usize) -> Vec<(String, Tensor<B, 4>)> {
        Vdsr::forward_features(self, x)
    }
}
