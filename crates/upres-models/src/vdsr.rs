//! VDSR (Kim, Lee & Lee, CVPR 2016): 20 conv3x3 layers, ReLU, on the
//! bicubic-upscaled Y channel in [0, 1]; the network predicts the residual.

use burn::nn::conv::Conv2d;
use burn::prelude::*;
use burn::tensor::activation::relu;

use crate::blocks::conv;

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
pub struct Vdsr<B: Backend> {
    pub input: Conv2d<B>,
    pub body: Vec<Conv2d<B>>,
    pub output: Conv2d<B>,
}

impl VdsrConfig {
    pub fn init<B: Backend>(&self, device: &B::Device) -> Vdsr<B> {
        let f = self.features;
        Vdsr {
            input: conv(self.channels, f, 3, self.bias, device),
            body: (0..self.layers.saturating_sub(2)).map(|_| conv(f, f, 3, self.bias, device)).collect(),
            output: conv(f, self.channels, 3, self.bias, device),
        }
    }
}

impl<B: Backend> Vdsr<B> {
    /// `x`: bicubic-upscaled image `[N, C, H, W]` in [0, 1]; returns the same size.
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let mut h = relu(self.input.forward(x.clone()));
        for layer in &self.body {
            h = relu(layer.forward(h));
        }
        self.output.forward(h) + x
    }

    /// Every layer's activations, then the predicted residual, then the output.
    pub fn forward_features(&self, x: Tensor<B, 4>) -> Vec<(String, Tensor<B, 4>)> {
        let mut out = Vec::new();
        let mut h = relu(self.input.forward(x.clone()));
        out.push(("layer01".to_string(), h.clone()));
        for (i, layer) in self.body.iter().enumerate() {
            h = relu(layer.forward(h));
            out.push((format!("layer{:02}", i + 2), h.clone()));
        }
        let residual = self.output.forward(h);
        out.push(("residual".to_string(), residual.clone()));
        out.push(("output".to_string(), residual + x));
        out
    }
}
