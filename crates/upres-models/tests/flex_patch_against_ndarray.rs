//! What `patches/burn-flex` changes in the Flex backend, against NdArray.
//!
//! The convolutions, which the patch computes
//! as one GEMM per kernel position for stride 1, against NdArray's
//! independent im2col implementation: outputs and all three gradients
//! (input, weight, bias), at the shapes the models use and at the edges of
//! the patched path (dilation, padding wider or narrower than the kernel,
//! rectangular kernels, single rows, strided and grouped convolutions,
//! which keep the upstream path).

use burn::backend::{Autodiff, Flex, NdArray};
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::module::{conv_transpose2d, conv2d};
use burn::tensor::ops::{ConvOptions, ConvTransposeOptions};

/// Deterministic values in [-1, 1].
fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % 20_001) as f32 / 10_000.0 - 1.0
        })
        .collect()
}

fn tensor<B: Backend, const D: usize>(shape: [usize; D], seed: u64) -> Tensor<B, D> {
    let n = shape.iter().product();
    Tensor::from_data(TensorData::new(values(n, seed), shape), &Default::default())
}

#[derive(Clone, Debug)]
enum Layer {
    Conv(ConvOptions<2>),
    Transposed(ConvTransposeOptions<2>),
}

/// Output, input gradient, weight gradient and bias gradient of
/// `sum(layer(x) * probe)`, as flat vectors.
fn run<B: AutodiffBackend>(x_shape: [usize; 4], w_shape: [usize; 4], layer: &Layer, bias_len: usize) -> [Vec<f32>; 4] {
    let x = tensor::<B, 4>(x_shape, 1).require_grad();
    let w = tensor::<B, 4>(w_shape, 2).require_grad();
    let b = tensor::<B, 1>([bias_len], 3).require_grad();
    let y = match layer {
        Layer::Conv(options) => conv2d(x.clone(), w.clone(), Some(b.clone()), options.clone()),
        Layer::Transposed(options) => conv_transpose2d(x.clone(), w.clone(), Some(b.clone()), options.clone()),
    };
    let probe = tensor::<B, 4>(y.dims(), 4);
    let grads = (y.clone() * probe).sum().backward();
    let flat = |t: Tensor<B::InnerBackend, 4>| t.into_data().to_vec::<f32>().unwrap();
    [
        flat(y.inner()),
        flat(x.grad(&grads).expect("x has a gradient")),
        flat(w.grad(&grads).expect("weight has a gradient")),
        b.grad(&grads).expect("bias has a gradient").into_data().to_vec::<f32>().unwrap(),
    ]
}

fn assert_close(what: &str, flex: &[Vec<f32>; 4], ndarray: &[Vec<f32>; 4]) {
    for (part, (a, b)) in ["output", "input gradient", "weight gradient", "bias gradient"].iter().zip(flex.iter().zip(ndarray)) {
        assert_eq!(a.len(), b.len(), "{what}: {part} sizes differ");
        let scale = b.iter().fold(1.0f32, |m, v| m.max(v.abs()));
        let worst = a.iter().zip(b).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        assert!(worst <= 2e-5 * scale, "{what}: {part} differs from NdArray by {worst} (values up to {scale})");
    }
}

#[test]
fn conv2d_and_its_gradients_match_ndarray() {
    // (batch, c_in, c_out, h, w, k_h, k_w, padding, dilation, stride, groups)
    let cases = [
        (2, 16, 16, 20, 17, 3, 3, 1, 1, 1, 1), // SESR's linear blocks
        (2, 1, 16, 12, 12, 5, 5, 2, 1, 1, 1),  // SESR's head (the small-channel path upstream)
        (2, 16, 4, 12, 12, 5, 5, 2, 1, 1, 1),  // SESR's tail to scale^2 channels
        (1, 32, 32, 9, 40, 3, 3, 1, 1, 1, 1),
        (2, 64, 64, 30, 8, 3, 3, 1, 1, 1, 1),  // several row bands a image
        (1, 12, 56, 7, 9, 3, 5, 1, 1, 1, 1),   // rectangular kernel
        (1, 8, 8, 11, 11, 3, 3, 2, 2, 1, 1),   // dilation
        (1, 8, 6, 10, 10, 3, 3, 0, 1, 1, 1),   // no padding
        (1, 8, 6, 6, 6, 3, 3, 3, 1, 1, 1),     // padding wider than the kernel reaches
        (3, 6, 5, 1, 25, 1, 3, 0, 1, 1, 1),    // single rows (conv1d-like)
        (2, 16, 16, 15, 15, 3, 3, 1, 1, 2, 1), // strided: upstream path
        (2, 16, 16, 10, 10, 3, 3, 1, 1, 1, 4), // grouped: upstream path
    ];
    for (batch, c_in, c_out, h, w, k_h, k_w, pad, dil, stride, groups) in cases {
        let options = ConvOptions::new([stride, stride], [pad, pad], [dil, dil], groups);
        let x_shape = [batch, c_in, h, w];
        let w_shape = [c_out, c_in / groups, k_h, k_w];
        let layer = Layer::Conv(options.clone());
        let flex = run::<Autodiff<Flex>>(x_shape, w_shape, &layer, c_out);
        let ndarray = run::<Autodiff<NdArray>>(x_shape, w_shape, &layer, c_out);
        assert_close(&format!("conv2d {x_shape:?} * {w_shape:?} {options:?}"), &flex, &ndarray);
    }
}

#[test]
fn stride_one_transposed_convolutions_match_ndarray() {
    // (batch, c_in, c_out, h, w, k, padding, dilation, stride): stride 1 runs as a
    // forward convolution with the kernel turned; FSRCNN's x2-x4 tails keep upstream's path.
    let cases = [
        (2, 16, 16, 12, 13, 3, 1, 1, 1),
        (1, 8, 4, 9, 9, 5, 1, 1, 1),
        (1, 8, 4, 9, 9, 3, 0, 2, 1),
        (1, 12, 1, 8, 8, 9, 4, 1, 2), // FSRCNN x2's 9x9 deconvolution
    ];
    for (batch, c_in, c_out, h, w, k, pad, dil, stride) in cases {
        let out_pad = if stride > 1 { stride - 1 } else { 0 };
        let options = ConvTransposeOptions::new([stride, stride], [pad, pad], [out_pad, out_pad], [dil, dil], 1);
        let x_shape = [batch, c_in, h, w];
        let w_shape = [c_in, c_out, k, k];
        let layer = Layer::Transposed(options.clone());
        let flex = run::<Autodiff<Flex>>(x_shape, w_shape, &layer, c_out);
        let ndarray = run::<Autodiff<NdArray>>(x_shape, w_shape, &layer, c_out);
        assert_close(&format!("conv_transpose2d {x_shape:?} * {w_shape:?} {options:?}"), &flex, &ndarray);
    }
}

/// Output and gradients of `sum(op(x, per_channel) * probe)` for a
/// `[1, C, 1, 1]`-shaped operand broadcast against a batch: the patch's
/// per-row-scalar broadcast paths (PReLU's slopes, biases, scales).
fn broadcast_run<B: AutodiffBackend>(shape: [usize; 4], op: &str) -> Vec<Vec<f32>> {
    let x = tensor::<B, 4>(shape, 5).require_grad();
    let per_channel = tensor::<B, 1>([shape[1]], 6).require_grad();
    let y = match op {
        "prelu" => burn::tensor::activation::prelu(x.clone(), per_channel.clone()),
        "mul" => x.clone() * per_channel.clone().reshape([1, shape[1], 1, 1]),
        "add" => x.clone() + per_channel.clone().reshape([1, shape[1], 1, 1]),
        "sub-from" => per_channel.clone().reshape([1, shape[1], 1, 1]) - x.clone(),
        _ => unreachable!(),
    };
    let probe = tensor::<B, 4>(y.dims(), 7);
    let grads = (y.clone() * probe).sum().backward();
    vec![
        y.inner().into_data().to_vec::<f32>().unwrap(),
        x.grad(&grads).unwrap().into_data().to_vec::<f32>().unwrap(),
        per_channel.grad(&grads).unwrap().into_data().to_vec::<f32>().unwrap(),
    ]
}

#[test]
fn per_channel_broadcasts_match_ndarray() {
    for shape in [[3, 16, 9, 11], [1, 16, 12, 12], [2, 4, 1, 40], [2, 3, 2, 3]] {
        for op in ["prelu", "mul", "add", "sub-from"] {
            let flex = broadcast_run::<Autodiff<Flex>>(shape, op);
            let ndarray = broadcast_run::<Autodiff<NdArray>>(shape, op);
            for (part, (a, b)) in ["output", "input gradient", "per-channel gradient"].iter().zip(flex.iter().zip(&ndarray)) {
                let scale = b.iter().fold(1.0f32, |m, v| m.max(v.abs()));
                let worst = a.iter().zip(b).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
                assert!(worst <= 1e-5 * scale, "{op} on {shape:?}: {part} differs from NdArray by {worst}");
            }
        }
    }
}
