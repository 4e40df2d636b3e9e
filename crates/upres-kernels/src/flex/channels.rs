//! Per-channel operations on NCHW batches, one pass each, planes in
//! parallel: the scale-and-shift and the moments batch norm is made of.
//!
//! Flex recognises a `[1, C, 1, 1]` operand as a broadcast with a fast loop
//! only for a batch of one; at batch 16 every one of batch norm's four
//! broadcast operations (and their gradients) walks both tensors with a
//! strided iterator, which made an SRResNet training step 1.35x slower than
//! with a patched Flex (docs/upstream-flex.md). Here each plane `(n, c)` is
//! one contiguous run with one scale, shift or sum.

use burn_backend::DType;
use burn_flex::{FlexTensor, Layout};
use burn_std::{Bytes, Shape};

/// `[N, C, H, W]` as (planes, channels, plane length), or `None` for other ranks.
fn planes_of(x: &FlexTensor) -> Option<(usize, usize, usize)> {
    let shape = x.layout().shape();
    (shape.len() == 4).then(|| (shape[0] * shape[1], shape[1], shape[2] * shape[3]))
}

/// Whether the one-pass kernels take these tensors: f32, NCHW, `[C]` vectors.
pub(crate) fn takes(x: &FlexTensor, vectors: &[&FlexTensor]) -> bool {
    let Some((_, channels, _)) = planes_of(x) else { return false };
    x.dtype() == DType::F32 && vectors.iter().all(|v| v.dtype() == DType::F32 && v.layout().shape()[..] == [channels])
}

/// `f(plane index, plane)` for every plane, in parallel where rayon is on.
fn map_planes<R: Send>(values: &[f32], plane: usize, f: impl Fn(usize, &[f32]) -> R + Send + Sync) -> Vec<R> {
    #[cfg(feature = "rayon")]
    {
        use rayon::prelude::*;
        values.par_chunks(plane).enumerate().map(|(i, x)| f(i, x)).collect()
    }
    #[cfg(not(feature = "rayon"))]
    {
        values.chunks(plane).enumerate().map(|(i, x)| f(i, x)).collect()
    }
}

/// `f(plane index, plane, out plane)` for every plane, in parallel where rayon is on.
fn each_plane<R: Send>(values: &[f32], out: &mut [f32], plane: usize, f: impl Fn(usize, &[f32], &mut [f32]) -> R + Send + Sync) -> Vec<R> {
    #[cfg(feature = "rayon")]
    {
        use rayon::prelude::*;
        values.par_chunks(plane).zip(out.par_chunks_mut(plane)).enumerate().map(|(i, (x, o))| f(i, x, o)).collect()
    }
    #[cfg(not(feature = "rayon"))]
    {
        values.chunks(plane).zip(out.chunks_mut(plane)).enumerate().map(|(i, (x, o))| f(i, x, o)).collect()
    }
}

/// Per-plane values (batch-major) summed per channel, images in order.
fn per_channel(values: &[f64], channels: usize) -> Vec<f64> {
    let mut sums = vec![0.0; channels];
    for (i, v) in values.iter().enumerate() {
        sums[i % channels] += v;
    }
    sums
}

fn tensor(values: Vec<f32>, shape: Vec<usize>) -> FlexTensor {
    FlexTensor::new(Bytes::from_elems(values), Layout::contiguous(Shape::from(shape)), DType::F32)
}

/// `x * scale[c] + shift[c]`.
pub(crate) fn affine(x: &FlexTensor, scale: &FlexTensor, shift: &FlexTensor) -> FlexTensor {
    let (x, scale, shift) = (x.to_contiguous(), scale.to_contiguous(), shift.to_contiguous());
    let (_, channels, plane) = planes_of(&x).expect("checked by `takes`");
    let (s, t): (&[f32], &[f32]) = (scale.storage(), shift.storage());
    let mut out = vec![0.0f32; x.storage::<f32>().len()];
    if plane > 0 {
        each_plane(x.storage(), &mut out, plane, |i, x, o| {
            let (a, b) = (s[i % channels], t[i % channels]);
            o.iter_mut().zip(x).for_each(|(o, &v)| *o = v * a + b);
        });
    }
    tensor(out, x.layout().shape().to_vec())
}

/// The gradients of [`affine`] given its output gradient: `(grad * scale[c],
/// sum of grad * x per channel, sum of grad per channel)`.
pub(crate) fn affine_backward(x: &FlexTensor, scale: &FlexTensor, grad: &FlexTensor) -> (FlexTensor, FlexTensor, FlexTensor) {
    let (x, scale, grad) = (x.to_contiguous(), scale.to_contiguous(), grad.to_contiguous());
    let (_, channels, plane) = planes_of(&x).expect("checked by `takes`");
    let (xs, s): (&[f32], &[f32]) = (x.storage(), scale.storage());
    let mut dx = vec![0.0f32; xs.len()];
    let sums = match plane {
        0 => Vec::new(),
        _ => each_plane(grad.storage(), &mut dx, plane, |i, g, d| {
            let a = s[i % channels];
            let x = &xs[i * plane..][..plane];
            let (mut gx, mut gs) = (0.0f64, 0.0f64);
            for ((d, &g), &x) in d.iter_mut().zip(g).zip(x) {
                *d = g * a;
                gx += (g * x) as f64;
                gs += g as f64;
            }
            (gx, gs)
        }),
    };
    let dscale = per_channel(&sums.iter().map(|p| p.0).collect::<Vec<_>>(), channels);
    let dshift = per_channel(&sums.iter().map(|p| p.1).collect::<Vec<_>>(), channels);
    let as_f32 = |v: Vec<f64>| v.into_iter().map(|v| v as f32).collect();
    (tensor(dx, x.layout().shape().to_vec()), tensor(as_f32(dscale), vec![channels]), tensor(as_f32(dshift), vec![channels]))
}

/// `[2, C]`: the mean and the (biased) variance of each channel over the
/// batch and the pixels, summed in f64, the variance around the mean (two passes).
pub(crate) fn moments(x: &FlexTensor) -> FlexTensor {
    let x = x.to_contiguous();
    let (planes, channels, plane) = planes_of(&x).expect("checked by `takes`");
    let count = (planes / channels.max(1) * plane) as f64;
    let xs: &[f32] = x.storage();
    let sum_of = |f: &(dyn Fn(usize, f32) -> f64 + Sync)| match plane {
        0 => vec![0.0; channels],
        _ => per_channel(&map_planes(xs, plane, |i, x| x.iter().map(|&v| f(i, v)).sum::<f64>()), channels),
    };
    let mean: Vec<f64> = sum_of(&|_, v| v as f64).into_iter().map(|s| s / count).collect();
    let var: Vec<f64> = sum_of(&|i, v| (v as f64 - mean[i % channels]).powi(2)).into_iter().map(|s| s / count).collect();
    tensor(mean.iter().chain(&var).map(|&v| v as f32).collect(), vec![2, channels])
}
