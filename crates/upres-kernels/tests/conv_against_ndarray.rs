//! The extension's convolution on Flex (one GEMM per kernel position for
//! stride 1) against NdArray's independent im2col implementation, through
//! `Autodiff`: outputs and all three gradients (input, weight, bias), at the
//! shapes the models use and at the edges of the shifted path (dilation,
//! padding wider or narrower than the kernel, rectangular kernels, single
//! rows, few channels; strided and grouped convolutions, which take Flex's
//! own path). The same through burn's own `conv2d` on Flex, so that a
//! difference between the two paths cannot hide behind NdArray.

use burn::backend::{Autodiff, Flex, NdArray};
use burn::prelude::*;
use burn::tensor::ops::ConvOptions;
use upres_kernels::SrAutodiffBackend;

mod common;
use common::values;

fn tensor<B: Backend, const D: usize>(shape: [usize; D], seed: u64) -> Tensor<B, D> {
    let n = shape.iter().product();
    Tensor::from_data(TensorData::new(values(n, seed), shape), &Default::default())
}

/// Output, input gradient, weight gradient and bias gradient of
/// `sum(conv2d(x) * probe)`, as flat vectors, through the extension
/// (`extension`) or through burn's own `conv2d`.
fn run<B: SrAutodiffBackend>(x_shape: [usize; 4], w_shape: [usize; 4], options: &ConvOptions<2>, extension: bool) -> [Vec<f32>; 4] {
    let x = tensor::<B, 4>(x_shape, 1).require_grad();
    let w = tensor::<B, 4>(w_shape, 2).require_grad();
    let b = tensor::<B, 1>([w_shape[0]], 3).require_grad();
    let y = match extension {
        true => upres_kernels::ops::conv2d(x.clone(), w.clone(), Some(b.clone()), options.clone()),
        false => burn::tensor::module::conv2d(x.clone(), w.clone(), Some(b.clone()), options.clone()),
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
        (2, 1, 16, 12, 12, 5, 5, 2, 1, 1, 1),  // SESR's head (kernel columns stacked)
        (2, 3, 8, 12, 12, 3, 3, 1, 1, 1, 1),   // few channels: Flex's small-channel path
        (2, 16, 16, 12, 12, 1, 1, 0, 1, 1, 1), // 1x1: Flex's own path
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
        let what = format!("conv2d {x_shape:?} * {w_shape:?} {options:?}");
        let ndarray = run::<Autodiff<NdArray>>(x_shape, w_shape, &options, false);
        assert_close(&format!("{what}, the extension on Flex"), &run::<Autodiff<Flex>>(x_shape, w_shape, &options, true), &ndarray);
        assert_close(&format!("{what}, burn's own on Flex"), &run::<Autodiff<Flex>>(x_shape, w_shape, &options, false), &ndarray);
        assert_close(&format!("{what}, the extension's defaults on NdArray"), &run::<Autodiff<NdArray>>(x_shape, w_shape, &options, true), &ndarray);
    }
}
