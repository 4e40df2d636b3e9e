//! VGG's convolutional trunk up to a chosen ReLU, for perceptual losses:
//! VGG19 (SRGAN's "VGG54" is relu5_4) or VGG16 (relu5_3; the ImageNet
//! weights this project can install are VGG16's, from the LPIPS set-up).
//! Input RGB in [0, 1]; ImageNet normalisation is applied inside. Weights
//! come from a torchvision `vgg16`/`vgg19` state dict (`features.N.weight`),
//! imported by the trainer.

use burn::nn::conv::Conv2d;
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::prelude::*;
use burn::tensor::activation::relu;
use upres_kernels::{SrBackend, conv2d};

use crate::ModelError;
use crate::blocks::conv;

/// Output channels of each of VGG's five blocks.
const BLOCK_CHANNELS: [usize; 5] = [64, 128, 256, 512, 512];

/// Convolutions per block: VGG16's and VGG19's.
fn per_block(depth: usize) -> Result<[usize; 5], ModelError> {
    match depth {
        16 => Ok([2, 2, 3, 3, 3]),
        19 => Ok([2, 2, 4, 4, 4]),
        d => Err(ModelError::InvalidConfig(format!("VGG{d}: only VGG16 and VGG19 are built"))),
    }
}

/// torchvision's `features` index of each convolution of VGG`depth` (a
/// ReLU follows each convolution, a max-pool each block).
pub fn torchvision_index(depth: usize) -> Result<Vec<usize>, ModelError> {
    let mut out = Vec::new();
    let mut i = 0;
    for n in per_block(depth)? {
        for _ in 0..n {
            out.push(i);
            i += 2;
        }
        i += 1;
    }
    Ok(out)
}

#[derive(Config, Debug, PartialEq)]
pub struct VggConfig {
    /// The ReLU whose activations are compared, as `relu<block>_<conv>` (relu5_4, relu2_2, ...).
    #[config(default = "String::from(\"relu5_4\")")]
    pub layer: String,
    /// 19 or 16.
    #[config(default = 19)]
    pub depth: usize,
}

/// Which convolution `relu<b>_<c>` follows.
fn conv_index(layer: &str, depth: usize) -> Result<usize, ModelError> {
    let blocks = per_block(depth)?;
    let bad = || ModelError::InvalidConfig(format!("unknown VGG{depth} layer '{layer}' (relu1_1 .. relu5_{})", blocks[4]));
    let rest = layer.strip_prefix("relu").ok_or_else(bad)?;
    let (b, c) = rest.split_once('_').ok_or_else(bad)?;
    let (b, c): (usize, usize) = (b.parse().map_err(|_| bad())?, c.parse().map_err(|_| bad())?);
    if !(1..=5).contains(&b) || c == 0 || c > blocks[b - 1] {
        return Err(bad());
    }
    Ok(blocks[..b - 1].iter().sum::<usize>() + c - 1)
}

#[derive(Module, Debug)]
pub struct Vgg<B: SrBackend> {
    pub convs: Vec<Conv2d<B>>,
    pub pool: MaxPool2d,
    /// The convolutions that end a block (a max-pool follows).
    #[module(skip)]
    pub pool_after: Vec<usize>,
}

impl VggConfig {
    pub fn init<B: SrBackend>(&self, device: &B::Device) -> Result<Vgg<B>, ModelError> {
        let last = conv_index(&self.layer, self.depth)?;
        let blocks = per_block(self.depth)?;
        let mut channels = Vec::new();
        let mut pool_after = Vec::new();
        for (n, ch) in blocks.iter().zip(BLOCK_CHANNELS) {
            channels.extend(std::iter::repeat_n(ch, *n));
            pool_after.push(channels.len() - 1);
        }
        let mut in_ch = 3;
        let convs = channels[..=last]
            .iter()
            .map(|&out| {
                let c = conv(in_ch, out, 3, true, device);
                in_ch = out;
                c
            })
            .collect();
        Ok(Vgg { convs, pool: MaxPool2dConfig::new([2, 2]).with_strides([2, 2]).init(), pool_after })
    }
}

impl<B: SrBackend> Vgg<B> {
    /// Activations at the configured ReLU for RGB input in [0, 1].
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let device = x.device();
        let dtype = x.dtype();
        let constant = |v: [f32; 3]| crate::blocks::in_dtype(Tensor::<B, 1>::from_floats(v, &device), dtype).reshape([1, 3, 1, 1]);
        let (mean, std) = (constant([0.485, 0.456, 0.406]), constant([0.229, 0.224, 0.225]));
        let mut h = (x - mean) / std;
        let last = self.convs.len() - 1;
        for (i, c) in self.convs.iter().enumerate() {
            h = relu(conv2d(c, h));
            if i < last && self.pool_after.contains(&i) {
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
        assert_eq!(conv_index("relu1_1", 19).unwrap(), 0);
        assert_eq!(conv_index("relu2_2", 19).unwrap(), 3);
        assert_eq!(conv_index("relu5_4", 19).unwrap(), 15);
        assert!(conv_index("relu2_3", 19).is_err());
        assert!(conv_index("conv5_4", 19).is_err());
        assert_eq!(conv_index("relu5_3", 16).unwrap(), 12);
        assert!(conv_index("relu5_4", 16).is_err());
        // torchvision's vgg16 and vgg19 `features` indices.
        assert_eq!(torchvision_index(16).unwrap(), [0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28]);
        assert_eq!(torchvision_index(19).unwrap(), [0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34]);
    }

    #[test]
    fn relu5_4_sees_a_sixteenth_of_the_input() {
        type B = burn::backend::Flex;
        let device = Default::default();
        let vgg = VggConfig::new().init::<B>(&device).unwrap();
        assert_eq!(vgg.convs.len(), 16);
        let y = vgg.forward(Tensor::zeros([1, 3, 32, 48], &device));
        assert_eq!(y.dims(), [1, 512, 2, 3]);
        let vgg16 = VggConfig::new().with_depth(16).with_layer("relu5_3".into()).init::<B>(&device).unwrap();
        assert_eq!(vgg16.convs.len(), 13);
        assert_eq!(vgg16.forward(Tensor::zeros([1, 3, 32, 48], &device)).dims(), [1, 512, 2, 3]);
    }
}
