//! The kernels upres's networks run on, as a burn backend extension.
//!
//! Super-resolution networks are stacks of small stride-1 convolutions
//! (16 to 64 channels, 3x3 or 5x5) and PReLUs. burn's CPU backend (Flex)
//! computes every convolution by im2col, whose copies cost more than the
//! multiply-adds at these sizes, and burn differentiates PReLU as a
//! composition of three operations with about ten walks over the activation.
//! This crate gives those operations a backend trait of their own,
//! [`SrBackend`], in the pattern of burn's `examples/custom-wgpu-kernel`:
//!
//! - on Flex ([`flex`]): the convolution as one GEMM per kernel position over
//!   a padded band of the input ("shifted GEMM": forward, input gradient,
//!   weight gradient, bias gradient), PReLU in one parallel pass each way,
//!   and batch norm as per-channel moments and one scale-and-shift pass;
//! - on `Autodiff<B>` ([`autodiff`]): one tracked operation for each of
//!   them, whose backward pass calls the inner backend's operations of this
//!   trait;
//! - on every other backend (NdArray, wgpu, CUDA): burn's own operations,
//!   the trait's defaults.
//!
//! The networks call [`conv2d`], [`prelu`] and [`batch_norm`] on burn's own
//! `Conv2d`, `PRelu` and `BatchNorm` modules, so their module structure and
//! their weights do not change; a model is generic over `B: SrBackend`
//! instead of `B: Backend`. Results equal burn's up to the last bits that
//! another order of additions changes (tested against NdArray and against
//! burn's own modules in `tests/`).
//!
//! What only a change to burn itself could give (Flex's elementwise passes
//! on every core, its per-channel broadcasts at batch > 1 for other users'
//! layers) is written up in `docs/upstream-flex.md`.

use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2d;
use burn::nn::{BatchNorm, PRelu};
use burn::prelude::*;
use burn::tensor::TensorPrimitive;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::ops::{ConvOptions, FloatTensor};

#[cfg(feature = "autodiff")]
pub mod autodiff;
mod composed;
pub mod flex;

/// A burn backend with the operations upres's networks need, each with a
/// default that is burn's own (what NdArray, wgpu and CUDA use) and a
/// faster implementation where this crate has one (Flex, and `Autodiff` of
/// a backend with one).
///
/// The operations are named `sr_*` so that they never shadow burn's.
pub trait SrBackend: Backend {
    /// A 2D convolution, as `ModuleOps::conv2d`.
    fn sr_conv2d(x: FloatTensor<Self>, weight: FloatTensor<Self>, bias: Option<FloatTensor<Self>>, options: ConvOptions<2>) -> FloatTensor<Self> {
        Self::conv2d(x, weight, bias, options)
    }
    /// The input gradient of [`Self::sr_conv2d`], as `ModuleOps::conv2d_x_backward`.
    fn sr_conv2d_x_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        Self::conv2d_x_backward(x, weight, output_grad, options)
    }
    /// The weight gradient of [`Self::sr_conv2d`], as `ModuleOps::conv2d_weight_backward`.
    fn sr_conv2d_weight_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        Self::conv2d_weight_backward(x, weight, output_grad, options)
    }
    /// The bias gradient of [`Self::sr_conv2d`], as `ModuleOps::conv2d_bias_backward`.
    fn sr_conv2d_bias_backward(x: FloatTensor<Self>, bias: FloatTensor<Self>, output_grad: FloatTensor<Self>) -> FloatTensor<Self> {
        Self::conv2d_bias_backward(x, bias, output_grad)
    }
    /// PReLU, as `ActivationOps::prelu`: `alpha` has `x`'s rank, broadcast
    /// along the dimensions where it has size 1.
    fn sr_prelu(x: FloatTensor<Self>, alpha: FloatTensor<Self>) -> FloatTensor<Self> {
        Self::prelu(x, alpha)
    }
    /// The gradients of [`Self::sr_prelu`] given its output gradient: of `x`
    /// (`grad` where `x >= 0`, `alpha * grad` elsewhere) and of `alpha`
    /// (`grad * min(x, 0)` summed over the dimensions `alpha` is broadcast
    /// along, in `alpha`'s shape). The default is that composition of burn
    /// operations, which is what burn-autodiff computes for `prelu`.
    fn sr_prelu_backward(x: FloatTensor<Self>, alpha: FloatTensor<Self>, grad: FloatTensor<Self>) -> (FloatTensor<Self>, FloatTensor<Self>) {
        composed::prelu_backward::<Self>(x, alpha, grad)
    }
    /// `x * scale[c] + shift[c]` on an NCHW batch, `scale` and `shift` `[C]`
    /// (batch norm's normalisation and affine in one).
    fn sr_channel_affine(x: FloatTensor<Self>, scale: FloatTensor<Self>, shift: FloatTensor<Self>) -> FloatTensor<Self> {
        composed::channel_affine::<Self>(x, scale, shift)
    }
    /// The gradients of [`Self::sr_channel_affine`] given its output
    /// gradient: of `x` (`grad * scale[c]`), `scale` (the sum of `grad * x`
    /// per channel) and `shift` (the sum of `grad` per channel).
    fn sr_channel_affine_backward(
        x: FloatTensor<Self>,
        scale: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        composed::channel_affine_backward::<Self>(x, scale, grad)
    }
    /// `[2, C]`: the mean and the biased variance of each channel of an NCHW
    /// batch over the batch and the pixels (batch norm's statistics).
    fn sr_channel_moments(x: FloatTensor<Self>) -> FloatTensor<Self> {
        composed::channel_moments::<Self>(x)
    }
}

/// An autodiff backend whose forward and inner backends both have the
/// extension: what training needs (the model trains on `Self`, validates
/// on `Self::InnerBackend`).
pub trait SrAutodiffBackend: SrBackend + AutodiffBackend<InnerBackend: SrBackend> {}
impl<B> SrAutodiffBackend for B where B: SrBackend + AutodiffBackend<InnerBackend: SrBackend> {}

#[cfg(feature = "ndarray")]
impl SrBackend for burn::backend::NdArray {}
#[cfg(feature = "wgpu")]
impl SrBackend for burn::backend::Wgpu {}
#[cfg(feature = "cuda")]
impl SrBackend for burn::backend::Cuda {}

/// `conv.forward(x)`, through [`SrBackend::sr_conv2d`].
///
/// Padding that is not the same on both sides (`Same` with an even kernel,
/// an asymmetric `Explicit`) takes burn's own `Conv2d::forward`, which pads
/// the input first; the networks here never use it.
pub fn conv2d<B: SrBackend>(conv: &Conv2d<B>, x: Tensor<B, 4>) -> Tensor<B, 4> {
    let [_, channels, height, width] = x.dims();
    let [_, channels_per_group, _, _] = conv.weight.dims();
    assert_eq!(
        channels,
        channels_per_group * conv.groups,
        "conv2d: the input has {channels} channels, the layer takes {} ({} groups of {channels_per_group})",
        channels_per_group * conv.groups,
        conv.groups
    );
    let Some(padding) = symmetric_padding(&conv.padding, [height, width], conv.kernel_size, conv.stride) else {
        return conv.forward(x);
    };
    let options = ConvOptions::new(conv.stride, padding, conv.dilation, conv.groups);
    ops::conv2d(x, conv.weight.val(), conv.bias.as_ref().map(|b| b.val()), options)
}

/// `prelu.forward(x)` on a batch of images `[N, C, H, W]`, through [`SrBackend::sr_prelu`].
pub fn prelu<B: SrBackend>(prelu: &PRelu<B>, x: Tensor<B, 4>) -> Tensor<B, 4> {
    let alpha = prelu.alpha.val();
    let slopes = alpha.dims()[0];
    let channels = x.dims()[1];
    assert!(slopes == 1 || slopes == channels, "prelu: {slopes} slopes for {channels} channels (one, or one per channel)");
    let alpha = match slopes {
        1 => alpha.reshape([1, 1, 1, 1]),
        _ => alpha.reshape([1, slopes, 1, 1]),
    };
    ops::prelu(x, alpha)
}

/// The extension's operations on tensors, as `burn::tensor::module` has burn's.
pub mod ops {
    use super::*;

    /// A 2D convolution through [`SrBackend::sr_conv2d`] (gradients through
    /// its `sr_conv2d_*_backward` on `Autodiff`).
    pub fn conv2d<B: SrBackend>(x: Tensor<B, 4>, weight: Tensor<B, 4>, bias: Option<Tensor<B, 1>>, options: ConvOptions<2>) -> Tensor<B, 4> {
        let out = B::sr_conv2d(x.into_primitive().tensor(), weight.into_primitive().tensor(), bias.map(|b| b.into_primitive().tensor()), options);
        Tensor::from_primitive(TensorPrimitive::Float(out))
    }

    /// `x * scale[c] + shift[c]` through [`SrBackend::sr_channel_affine`].
    pub fn channel_affine<B: SrBackend>(x: Tensor<B, 4>, scale: Tensor<B, 1>, shift: Tensor<B, 1>) -> Tensor<B, 4> {
        let out = B::sr_channel_affine(x.into_primitive().tensor(), scale.into_primitive().tensor(), shift.into_primitive().tensor());
        Tensor::from_primitive(TensorPrimitive::Float(out))
    }

    /// `[2, C]`: each channel's mean and biased variance, through [`SrBackend::sr_channel_moments`].
    pub fn channel_moments<B: SrBackend>(x: Tensor<B, 4>) -> Tensor<B, 2> {
        Tensor::from_primitive(TensorPrimitive::Float(B::sr_channel_moments(x.into_primitive().tensor())))
    }

    /// PReLU through [`SrBackend::sr_prelu`]; `alpha` is `[1, 1, 1, 1]` or `[1, C, 1, 1]`.
    pub fn prelu<B: SrBackend>(x: Tensor<B, 4>, alpha: Tensor<B, 4>) -> Tensor<B, 4> {
        let out = B::sr_prelu(x.into_primitive().tensor(), alpha.into_primitive().tensor());
        Tensor::from_primitive(TensorPrimitive::Float(out))
    }
}

/// `bn.forward(x)` on a batch of images, through [`SrBackend::sr_channel_moments`]
/// and [`SrBackend::sr_channel_affine`]: with autodiff on, the batch's
/// statistics (and the running ones updated as burn's `BatchNorm` updates
/// them); without, the running statistics. `(x - mean) / sqrt(var + eps) *
/// gamma + beta` is computed as `x * scale + shift` with `scale` and `shift`
/// per channel, so the result equals burn's up to rounding.
pub fn batch_norm<B: SrBackend>(bn: &BatchNorm<B>, x: Tensor<B, 4>) -> Tensor<B, 4> {
    let channels = x.dims()[1];
    let device = x.device();
    let (mean, var) = match B::ad_enabled(&device) {
        true => {
            let moments = ops::channel_moments(x.clone());
            let mean = moments.clone().slice([0..1, 0..channels]).reshape([channels]);
            let var = moments.slice([1..2, 0..channels]).reshape([channels]);
            let m = bn.momentum;
            let running =
                |state: Tensor<B, 1>, batch: &Tensor<B, 1>| state.to_device(&device).mul_scalar(1.0 - m).add(batch.clone().detach().mul_scalar(m));
            bn.running_mean.update(running(bn.running_mean.value_sync(), &mean).detach());
            bn.running_var.update(running(bn.running_var.value_sync(), &var).detach());
            (mean, var)
        }
        false => (bn.running_mean.value().to_device(&device), bn.running_var.value().to_device(&device)),
    };
    let scale = bn.gamma.val().div(var.add_scalar(bn.epsilon).sqrt());
    let shift = bn.beta.val().sub(mean.mul(scale.clone()));
    ops::channel_affine(x, scale, shift)
}

/// The padding `[height, width]` of a layer whose padding is the same on
/// both sides, as burn's `Conv2d` computes it; `None` when it is not.
fn symmetric_padding(padding: &PaddingConfig2d, [height, width]: [usize; 2], kernel: [usize; 2], stride: [usize; 2]) -> Option<[usize; 2]> {
    let ((top, bottom), (left, right)) = match padding {
        PaddingConfig2d::Valid => ((0, 0), (0, 0)),
        PaddingConfig2d::Explicit(top, left, bottom, right) => ((*top, *bottom), (*left, *right)),
        PaddingConfig2d::Same => (same_padding(kernel[0], stride[0], height), same_padding(kernel[1], stride[1], width)),
    };
    (top == bottom && left == right).then_some([top, left])
}

/// burn-nn's `Same` padding (start, end) of one dimension.
fn same_padding(kernel: usize, stride: usize, size: usize) -> (usize, usize) {
    let out = size.div_ceil(stride);
    let total = if out > 0 { ((out - 1) * stride + kernel).saturating_sub(size) } else { 0 };
    (total / 2, total - total / 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_padding_is_symmetric_for_odd_kernels_only() {
        assert_eq!(symmetric_padding(&PaddingConfig2d::Same, [9, 10], [3, 5], [1, 1]), Some([1, 2]));
        assert_eq!(symmetric_padding(&PaddingConfig2d::Same, [9, 10], [2, 2], [1, 1]), None);
        assert_eq!(symmetric_padding(&PaddingConfig2d::Explicit(1, 2, 1, 2), [9, 10], [3, 5], [1, 1]), Some([1, 2]));
        assert_eq!(symmetric_padding(&PaddingConfig2d::Explicit(1, 2, 0, 2), [9, 10], [3, 5], [1, 1]), None);
        assert_eq!(symmetric_padding(&PaddingConfig2d::Valid, [9, 10], [3, 5], [2, 2]), Some([0, 0]));
    }
}
