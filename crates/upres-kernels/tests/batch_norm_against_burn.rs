//! The extension's batch norm (per-channel moments and scale-and-shift,
//! one pass each on Flex) against burn's own `BatchNorm::forward`, which
//! composes broadcast operations: in training (the batch's statistics,
//! gradients of the input, gamma and beta, the running statistics after the
//! step) on `Autodiff<Flex>` and `Autodiff<NdArray>`, and in inference (the
//! running statistics) on Flex.

use burn::backend::{Autodiff, Flex, NdArray};
use burn::module::Param;
use burn::nn::{BatchNorm, BatchNormConfig};
use burn::prelude::*;
use upres_kernels::{SrAutodiffBackend, SrBackend};

mod common;

/// Deterministic values in [offset - 2, offset + 2].
fn values(n: usize, seed: u64, offset: f32) -> Vec<f32> {
    common::values(n, seed).into_iter().map(|v| offset + 2.0 * v).collect()
}

fn tensor<B: Backend, const D: usize>(shape: [usize; D], seed: u64, offset: f32) -> Tensor<B, D> {
    Tensor::from_data(TensorData::new(values(shape.iter().product(), seed, offset), shape), &Default::default())
}

/// A batch norm layer with gamma, beta and running statistics that are not the defaults.
fn layer<B: Backend>(channels: usize) -> BatchNorm<B> {
    let mut bn = BatchNormConfig::new(channels).init::<B>(&Default::default());
    bn.gamma = Param::from_tensor(tensor([channels], 11, 1.5));
    bn.beta = Param::from_tensor(tensor([channels], 12, 0.0));
    bn.running_mean.update(tensor([channels], 13, 0.0));
    bn.running_var.update(tensor([channels], 14, 3.0));
    bn
}

fn flat<B: Backend, const D: usize>(t: Tensor<B, D>) -> Vec<f32> {
    t.into_data().convert::<f32>().to_vec().unwrap()
}

/// Output, input, gamma and beta gradients, and the running mean and variance after the step.
fn train<B: SrAutodiffBackend>(shape: [usize; 4], extension: bool) -> [Vec<f32>; 6] {
    let bn = layer::<B>(shape[1]);
    // An offset mean, so that a variance computed as E[x²] - E[x]² would lose digits.
    let x = tensor::<B, 4>(shape, 1, 3.0).require_grad();
    let y = match extension {
        true => upres_kernels::batch_norm(&bn, x.clone()),
        false => bn.forward(x.clone()),
    };
    let probe = tensor::<B, 4>(shape, 2, 0.0);
    let grads = (y.clone() * probe).sum().backward();
    [
        flat(y.inner()),
        flat(x.grad(&grads).unwrap()),
        flat(bn.gamma.val().grad(&grads).unwrap()),
        flat(bn.beta.val().grad(&grads).unwrap()),
        flat(bn.running_mean.value()),
        flat(bn.running_var.value()),
    ]
}

fn assert_close(what: &str, got: &[Vec<f32>], want: &[Vec<f32>], tolerance: f32) {
    let parts = ["output", "input gradient", "gamma gradient", "beta gradient", "running mean", "running variance"];
    for ((part, a), b) in parts.iter().zip(got).zip(want) {
        assert_eq!(a.len(), b.len(), "{what}: {part} sizes");
        let scale = b.iter().fold(1.0f32, |m, v| m.max(v.abs()));
        let worst = a.iter().zip(b).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        assert!(worst <= tolerance * scale, "{what}: {part} differs from burn's BatchNorm by {worst} (values up to {scale})");
    }
}

fn check_training<B: SrAutodiffBackend>(backend: &str) {
    // SRResNet's body at batch 16, a discriminator layer, odd sizes, one image.
    for shape in [[16, 32, 24, 24], [4, 64, 6, 6], [3, 5, 7, 9], [1, 8, 5, 4]] {
        let ours = train::<B>(shape, true);
        let burns = train::<B>(shape, false);
        assert_close(&format!("{backend} {shape:?}"), &ours, &burns, 2e-4);
    }
}

#[test]
fn batch_norm_in_training_matches_burn_on_flex() {
    check_training::<Autodiff<Flex>>("flex");
}

#[test]
fn batch_norm_in_training_matches_burn_on_ndarray() {
    check_training::<Autodiff<NdArray>>("ndarray");
}

#[test]
fn batch_norm_in_inference_uses_the_running_statistics() {
    fn run<B: SrBackend>(extension: bool) -> Vec<f32> {
        let bn = layer::<B>(6);
        let x = tensor::<B, 4>([2, 6, 5, 7], 3, 1.0);
        flat(match extension {
            true => upres_kernels::batch_norm(&bn, x),
            false => bn.forward(x),
        })
    }
    for (ours, burns) in [(run::<Flex>(true), run::<Flex>(false)), (run::<NdArray>(true), run::<NdArray>(false))] {
        let worst = ours.iter().zip(&burns).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        assert!(worst <= 1e-5 * burns.iter().fold(1.0f32, |m, v| m.max(v.abs())), "inference differs by {worst}");
    }
}
