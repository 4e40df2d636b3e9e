//! The extension's PReLU: one tracked operation on `Autodiff`, whose
//! backward pass is `sr_prelu_backward` (one pass on Flex, the composition
//! of burn operations on NdArray). Its output and both gradients are checked
//! against the definition computed on the host in f64 (not through burn),
//! on both CPU backends, for per-channel and single slopes, at the SESR
//! activation shape and at shapes where a channel holds one value.

use burn::backend::{Autodiff, Flex, NdArray};
use burn::nn::PRelu;
use burn::prelude::*;
use upres_kernels::SrAutodiffBackend;

mod common;

/// PReLU of burn-nn's module with the given slopes, through the extension.
fn prelu<B: upres_kernels::SrBackend>(x: Tensor<B, 4>, alpha: Tensor<B, 1>) -> Tensor<B, 4> {
    let module = PRelu { alpha: burn::module::Param::from_tensor(alpha), alpha_value: 0.25 };
    upres_kernels::prelu(&module, x)
}

/// Deterministic values in [-1, 1], with exact zeros among them (the
/// boundary case of the slope's mask).
fn values(n: usize, seed: u64) -> Vec<f32> {
    common::values(n, seed).into_iter().enumerate().map(|(i, v)| if i % 37 == 0 { 0.0 } else { v }).collect()
}

struct Prelu {
    output: Vec<f32>,
    grad_input: Vec<f32>,
    grad_alpha: Vec<f32>,
}

/// `sum(prelu(x, alpha) * probe)` and its gradients, through burn.
fn through_burn<B: SrAutodiffBackend>(shape: [usize; 4], slopes: usize) -> Prelu {
    let device = Default::default();
    let n: usize = shape.iter().product();
    let x = Tensor::<B, 4>::from_data(TensorData::new(values(n, 1), shape), &device).require_grad();
    let alpha = Tensor::<B, 1>::from_data(TensorData::new(values(slopes, 2), [slopes]), &device).require_grad();
    let probe = Tensor::<B, 4>::from_data(TensorData::new(values(n, 3), shape), &device);
    let y = prelu(x.clone(), alpha.clone());
    let grads = (y.clone() * probe).sum().backward();
    Prelu {
        output: y.inner().into_data().to_vec().unwrap(),
        grad_input: x.grad(&grads).expect("x has a gradient").into_data().to_vec().unwrap(),
        grad_alpha: alpha.grad(&grads).expect("alpha has a gradient").into_data().to_vec().unwrap(),
    }
}

/// The same from the definition: y = x for x >= 0, alpha_c * x otherwise.
fn by_definition(shape: [usize; 4], slopes: usize) -> Prelu {
    let [_, c, h, w] = shape;
    let n: usize = shape.iter().product();
    let (x, alpha, probe) = (values(n, 1), values(slopes, 2), values(n, 3));
    let channel = |i: usize| if slopes == 1 { 0 } else { (i / (h * w)) % c };
    let mut grad_alpha = vec![0.0f64; slopes];
    let mut output = Vec::with_capacity(n);
    let mut grad_input = Vec::with_capacity(n);
    for i in 0..n {
        let (xi, a, g) = (x[i] as f64, alpha[channel(i)] as f64, probe[i] as f64);
        if xi >= 0.0 {
            output.push(xi as f32);
            grad_input.push(g as f32);
        } else {
            output.push((a * xi) as f32);
            grad_input.push((a * g) as f32);
            grad_alpha[channel(i)] += g * xi;
        }
    }
    Prelu { output, grad_input, grad_alpha: grad_alpha.into_iter().map(|v| v as f32).collect() }
}

fn assert_close(what: &str, got: &[f32], want: &[f32], tolerance: f32) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= tolerance * (1.0 + w.abs()), "{what}[{i}]: {g} against {w}");
    }
}

fn check<B: SrAutodiffBackend>(backend: &str) {
    for (shape, slopes) in [([16, 16, 64, 64], 16), ([2, 3, 5, 7], 3), ([2, 3, 5, 7], 1), ([3, 4, 1, 1], 4)] {
        let got = through_burn::<B>(shape, slopes);
        let want = by_definition(shape, slopes);
        let case = format!("{backend} {shape:?} with {slopes} slope(s)");
        assert_close(&format!("{case}: output"), &got.output, &want.output, 0.0);
        assert_close(&format!("{case}: input gradient"), &got.grad_input, &want.grad_input, 0.0);
        // A sum of up to 65,536 products in f32 against f64.
        assert_close(&format!("{case}: slope gradient"), &got.grad_alpha, &want.grad_alpha, 1e-4);
    }
}

#[test]
fn prelu_output_and_gradients_follow_the_definition_on_flex() {
    check::<Autodiff<Flex>>("flex");
}

#[test]
fn prelu_output_and_gradients_follow_the_definition_on_ndarray() {
    check::<Autodiff<NdArray>>("ndarray");
}

/// A PReLU whose input is not tracked still gives the slopes their
/// gradient (the first SESR activation's input is tracked, but a frozen
/// feature extractor's would not be), and the reverse.
#[test]
fn prelu_gradients_reach_whichever_side_is_tracked() {
    type B = Autodiff<Flex>;
    let device = Default::default();
    let x = Tensor::<B, 4>::from_data(TensorData::new(values(24, 1), [1, 2, 3, 4]), &device);
    let alpha = Tensor::<B, 1>::from_data(TensorData::new(values(2, 2), [2]), &device).require_grad();
    let grads = prelu(x.clone(), alpha.clone()).sum().backward();
    assert!(alpha.grad(&grads).is_some());
    assert!(x.grad(&grads).is_none());

    let x = x.require_grad();
    let alpha = alpha.detach();
    let grads = prelu(x.clone(), alpha.clone()).sum().backward();
    assert!(x.grad(&grads).is_some());
}
