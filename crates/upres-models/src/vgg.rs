//! VGG19's convolutional trunk up to a chosen ReLU (SRGAN's perceptual loss
//! uses relu5_4, the "VGG54" of the paper). Input RGB in [0, 1]; ImageNet
//! normalisation is applied inside. Weights come from a torchvision
//! `vgg19` state dict (`features.N.weight`), imported by the trainer.

use burn::nn::conv::Conv2d;
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::prelude::*;
use burn::tensor::activation::relu;

use crate::blocks::conv;
use crate::ModelError;

/// Output channels of VGG19's 16 convolutions; a max-pool follows the 2nd, 4th, 8th, 12th and 16th.
const CHANNELS: [usize; 16] = [64, 64, 128, 128, 256, 256, 256, 256, 512, 512, 512, 512, 512, 512, 512, 512];
const POOL_AFTER: [usize; 5] = [1, 3, 7, 11, 15];
/// torchvision's `features` index of each convolution.
pub const TORCHVISION_INDEX: [usize; 16] = [0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34];

#[derive(Config, Debug, PartialEq)]
pub struct VggConfig {
    /// The ReLU whose activations are compared, as `relu<block>_<conv>` (relu5_4, relu2_2, ...).
    #[config(default = "String::from(\"relu5_4\")")]
    pub layer: String,
}

/// Which of the 16 convolutions `relu<b>_<c>` follows.
fn conv_index(layer: &str) -> Result<usize, ModelError> {
    let bad = || ModelError::InvalidConfig(format!("unknown VGG19 layer '{layer}' (relu1_1 .. relu5_4)"));
    let rest = layer.strip_prefix("relu").ok_or_else(bad)?;
    let (b, c) = rest.split_once('_').ok_or_else(bad)?;
    let (b, c): (usize, usize) = (b.parse().map_err(|_| bad())?, c.parse().map_err(|_| bad())?);
    let per_block = [2, 2, 4, 4, 4];
    if !(1..=5).contains(&b) || c == 0 || c > per_block[b - 1] {
        return Err(bad());
    }
    Ok(per_block[..b - 1].iter().sum::<usize>() + c - 1)
}

#[derive(Module, Debug)]
pub struct Vgg19<B: Backend> {
    pub convs: Vec<Conv2d<B>>,
    pub pool: MaxPool2d,
}

impl VggConfig {
    pub fn init<B: Backend>(&self, device: &B::Device) -> Result<Vgg19<B>, ModelError> {
        let last = conv_index(&self.layer)?;
        let mut in_ch = 3;
        let convs = CHANNELS[..=last]
            .iter()
            .map(|&out| {
                let c = conv(in_ch, out, 3, true, device);
                in_ch = out;
                c
            })
            .collect();
        Ok(Vgg19 { convs, pool: MaxPool2dConfig::new([2, 2]).with_strides([2, 2]).init() })
    }
}

impl<B: Backend> Vgg19<B> {
    /// Activations at the configured ReLU for RGB input in [0, 1].
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let device = x.device();
        let dtype = x.dtype();
        let constant = |v: [f32; 3]| crate::blocks::in_dtype(Tensor::<B, 1>::from_floats(v, &device), dtype).reshape([1, 3, 1, 1]);
        let (mean, std) = (constant([0.485, 0.456, 0.406]), constant([0.229, 0.224, 0.225]));
        let mut h = (x - mean) / std;
        let last = self.convs.len() - 1;
        for (i, c) in self.convs.iter().enumerate() {
            h = relu(c.forward(h));
            if i < last && POOL_AFTER.contains(&i) {
                h = self.pool.forward(h);
            }
        }
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relu_names_map_to_their_convolutions() {
        assert_eq!(conv_index("relu1_1").unwrap(), 0);
        assert_eq!(conv_index("relu2_2").unwrap(), 3);
        assert_eq!(conv_index("relu5_4").unwrap(), 15);
        assert!(conv_index("relu2_3").is_err());
        assert!(conv_index("conv5_4").is_err());
    }

    #[test]
    fn relu5_4_sees_a_sixteenth_of_the_input() {
        type B = burn::backend::Flex;
        let device = Default::default();
        let vgg = VggConfig::new().init::<B>(&device).unwrap();
        assert_eq!(vgg.convs.len(), 16);
        let y = vgg.forward(Tensor::zeros([1, 3, 32, 48], &device));
        assert_eq!(y.dims(), [1, 512, 2, 3]);
    }
}
