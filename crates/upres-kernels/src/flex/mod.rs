//! The extension on burn's CPU backend, Flex.
//!
//! - Convolutions: stride-1, ungrouped 2D convolutions with a kernel larger
//!   than 1x1 take the shifted GEMM ([`conv_shifted`]): the forward pass,
//!   the input gradient (the forward convolution with the kernel turned),
//!   the weight gradient and the bias gradient. Everything else (strides,
//!   groups, 1x1, and the few-channel shapes Flex's own small-channel path
//!   does better) takes Flex's own operations.
//! - PReLU: one parallel pass forward and one backward ([`prelu`]).
//! - Batch norm's per-channel scale and shift and its moments, planes in
//!   parallel ([`channels`]).
//!
//! These moved here from a vendored copy of burn-flex 0.21.0 (the history
//! of their measurements is in `docs/perf-notes.md`); Flex itself is
//! burn's release, unmodified.

use burn_backend::DType;
use burn_backend::ops::{ConvOptions, ModuleOps};
use burn_backend::tensor::FloatTensor;
use burn_flex::{Flex, FlexTensor};
use burn_std::f16;

use crate::SrBackend;

mod channels;
mod conv_shifted;
mod prelu;

use conv_shifted::Shifted2d;

/// Flex's small-channel convolution (up to 4 inputs, 16 outputs) beats the
/// shifted GEMM unless the kernel columns are stacked (burn-flex 0.21.0,
/// `ops/conv.rs`, `SMALL_CHANNEL_*_THRESHOLD`).
fn flex_small_channel_path(g: &Shifted2d) -> bool {
    g.c_in <= 4 && g.c_out <= 16
}

impl SrBackend for Flex {
    fn sr_conv2d(x: FloatTensor<Self>, weight: FloatTensor<Self>, bias: Option<FloatTensor<Self>>, options: ConvOptions<2>) -> FloatTensor<Self> {
        let geometry = Shifted2d::of(x.layout().shape(), weight.layout().shape(), &options)
            .filter(|g| g.stacks_columns() || !flex_small_channel_path(g))
            .filter(|_| same_dtype(&[&x, &weight]) && bias.as_ref().is_none_or(|b| b.dtype() == x.dtype()));
        let Some(g) = geometry else {
            return Flex::conv2d(x, weight, bias, options);
        };
        match x.dtype() {
            DType::F32 => conv_shifted::forward_tensors::<f32>(&x, &weight, bias.as_ref(), &g),
            // The browser runs its CPU path in f32 (weights are read as f32):
            // there f64 and f16 take Flex's own path, which keeps the
            // WebGPU build's wasm inside its size budget.
            #[cfg(not(target_family = "wasm"))]
            DType::F64 => conv_shifted::forward_tensors::<f64>(&x, &weight, bias.as_ref(), &g),
            #[cfg(not(target_family = "wasm"))]
            DType::F16 => conv_shifted::forward_tensors::<f16>(&x, &weight, bias.as_ref(), &g),
            _ => Flex::conv2d(x, weight, bias, options),
        }
    }

    fn sr_conv2d_x_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        let shifted = match (same_dtype(&[&x, &weight, &output_grad]), x.dtype()) {
            (true, DType::F32) => conv_shifted::input_grad_tensors::<f32>(x.layout().shape(), &weight, &output_grad, &options),
            (true, DType::F64) => conv_shifted::input_grad_tensors::<f64>(x.layout().shape(), &weight, &output_grad, &options),
            (true, DType::F16) => conv_shifted::input_grad_tensors::<f16>(x.layout().shape(), &weight, &output_grad, &options),
            _ => None,
        };
        shifted.unwrap_or_else(|| Flex::conv2d_x_backward(x, weight, output_grad, options))
    }

    fn sr_conv2d_weight_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        let weight_shape = weight.layout().shape().to_vec();
        let shifted = match (same_dtype(&[&x, &weight, &output_grad]), x.dtype()) {
            (true, DType::F32) => conv_shifted::conv2d_weight_grad_tensors::<f32>(&x, &weight_shape, &output_grad, &options),
            (true, DType::F64) => conv_shifted::conv2d_weight_grad_tensors::<f64>(&x, &weight_shape, &output_grad, &options),
            (true, DType::F16) => conv_shifted::conv2d_weight_grad_tensors::<f16>(&x, &weight_shape, &output_grad, &options),
            _ => None,
        };
        shifted.unwrap_or_else(|| Flex::conv2d_weight_backward(x, weight, output_grad, options))
    }

    fn sr_conv2d_bias_backward(x: FloatTensor<Self>, bias: FloatTensor<Self>, output_grad: FloatTensor<Self>) -> FloatTensor<Self> {
        match output_grad.dtype() {
            DType::F32 => conv_shifted::bias_grad::<f32>(&output_grad),
            DType::F64 => conv_shifted::bias_grad::<f64>(&output_grad),
            _ => Flex::conv2d_bias_backward(x, bias, output_grad),
        }
    }

    fn sr_prelu(x: FloatTensor<Self>, alpha: FloatTensor<Self>) -> FloatTensor<Self> {
        prelu::prelu(x, alpha)
    }

    fn sr_prelu_backward(x: FloatTensor<Self>, alpha: FloatTensor<Self>, grad: FloatTensor<Self>) -> (FloatTensor<Self>, FloatTensor<Self>) {
        prelu::prelu_backward(x, alpha, grad)
    }

    fn sr_channel_affine(x: FloatTensor<Self>, scale: FloatTensor<Self>, shift: FloatTensor<Self>) -> FloatTensor<Self> {
        match channels::takes(&x, &[&scale, &shift]) {
            true => channels::affine(&x, &scale, &shift),
            false => crate::composed::channel_affine::<Flex>(x, scale, shift),
        }
    }

    fn sr_channel_affine_backward(
        x: FloatTensor<Self>,
        scale: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        match channels::takes(&x, &[&scale]) && grad.dtype() == DType::F32 && grad.layout().shape() == x.layout().shape() {
            true => channels::affine_backward(&x, &scale, &grad),
            false => crate::composed::channel_affine_backward::<Flex>(x, scale, grad),
        }
    }

    fn sr_channel_moments(x: FloatTensor<Self>) -> FloatTensor<Self> {
        match channels::takes(&x, &[]) {
            true => channels::moments(&x),
            false => crate::composed::channel_moments::<Flex>(x),
        }
    }
}

fn same_dtype(tensors: &[&FlexTensor]) -> bool {
    tensors.windows(2).all(|pair| pair[0].dtype() == pair[1].dtype())
}

/// Deterministic values in [-1, 1] (a xorshift of `seed`) for the kernels' tests.
#[cfg(test)]
pub(crate) fn test_values(n: usize, seed: u32) -> Vec<f32> {
    let mut state = seed.wrapping_mul(2654435761).wrapping_add(1);
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state % 2001) as f32 / 1000.0 - 1.0
        })
        .collect()
}
