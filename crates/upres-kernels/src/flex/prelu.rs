//! PReLU in one pass each way over the activation, on every core.
//!
//! Flex's own `prelu` is one pass but runs on the calling thread, and with
//! a batch of more than one image it does not see the per-channel slopes
//! `[1, C, 1, 1]` as a broadcast it has a fast loop for, so it walks both
//! tensors with a strided iterator. burn-backend's PReLU backward is a
//! composition: a comparison, a multiply and a `mask_where` for the input
//! gradient, a clamp and a multiply for the slope gradient, then one
//! `sum_dim` per broadcast dimension. That is six walks over tensors the
//! size of the activation and four of them allocated. Here the forward pass
//! and the backward pass are each one walk, cut into runs of elements that
//! share a slope, and the backward pass sums the slope gradient per run.

use core::mem::MaybeUninit;
use core::ops::Range;

use burn_backend::DType;
use burn_backend::ops::{ActivationOps, FloatTensorOps};
use burn_flex::{Flex, FlexTensor, Layout};
use burn_std::{Bytes, FloatDType};
use num_traits::Float;

/// Elements per work item: a run of one slope is cut into pieces of at most
/// this many, so a single-slope PReLU still gives every core work.
const PIECE: usize = 64 * 1024;

/// How `alpha` broadcasts over `x`: `outer x channels x inner` elements,
/// `alpha` holding one slope per channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Runs {
    outer: usize,
    channels: usize,
    inner: usize,
}

impl Runs {
    /// The two layouts `burn::tensor::activation::prelu` passes: one slope
    /// (`alpha` all ones, of `x`'s rank) or one per channel (`[1, C, 1, ...]`
    /// with `C = x`'s dim 1). `None` for anything else.
    fn of(x: &[usize], alpha: &[usize]) -> Option<Self> {
        if x.len() != alpha.len() || x.is_empty() {
            return None;
        }
        let elements: usize = x.iter().product();
        if alpha.iter().all(|&d| d == 1) {
            return Some(Runs { outer: 1, channels: 1, inner: elements });
        }
        let per_channel = x.len() >= 2 && alpha[1] == x[1] && alpha.iter().enumerate().all(|(d, &n)| d == 1 || n == 1);
        per_channel.then(|| Runs { outer: x[0], channels: x[1], inner: x[2..].iter().product() })
    }
}

/// `prelu(x, alpha)`: `x` where `x >= 0`, `alpha * x` elsewhere.
pub(crate) fn prelu(x: FlexTensor, alpha: FlexTensor) -> FlexTensor {
    let runs = Runs::of(x.layout().shape(), alpha.layout().shape());
    match (runs, x.dtype()) {
        (Some(runs), DType::F32) if alpha.dtype() == DType::F32 => forward::<f32>(&x, &alpha, runs),
        (Some(runs), DType::F64) if alpha.dtype() == DType::F64 => forward::<f64>(&x, &alpha, runs),
        _ => Flex::prelu(x, alpha),
    }
}

/// `(d/dx, d/dalpha)` of `prelu(x, alpha)` given the output gradient `grad`.
pub(crate) fn prelu_backward(x: FlexTensor, alpha: FlexTensor, grad: FlexTensor) -> (FlexTensor, FlexTensor) {
    let runs = Runs::of(x.layout().shape(), alpha.layout().shape());
    let same_dtype = x.dtype() == alpha.dtype() && x.dtype() == grad.dtype();
    match (runs, x.dtype()) {
        (Some(runs), DType::F32) if same_dtype && grad.layout().shape() == x.layout().shape() => one_pass::<f32>(&x, &alpha, &grad, runs),
        (Some(runs), DType::F64) if same_dtype && grad.layout().shape() == x.layout().shape() => one_pass::<f64>(&x, &alpha, &grad, runs),
        _ => composed(x, alpha, grad),
    }
}

/// The element types the one-pass kernel runs on (f32, f64).
trait Real: Float + Send + Sync + bytemuck::Pod + burn_backend::Element {}
impl<T: Float + Send + Sync + bytemuck::Pod + burn_backend::Element> Real for T {}

/// The work items of a pass over `len` elements cut into `runs`, in order:
/// each piece of a run (elements `start..end`), its slope channel, and its
/// share of the output, split off `out` (the items tile it in order).
/// Returns them with the number of pieces a run is cut into.
fn pieces<T>(runs: Runs, out: &mut [MaybeUninit<T>]) -> (Vec<(Range<usize>, usize, &mut [MaybeUninit<T>])>, usize) {
    let piece_len = runs.inner.div_ceil(runs.inner.div_ceil(PIECE).max(1)).max(1);
    let pieces_per_run = runs.inner.div_ceil(piece_len);
    let mut rest = out;
    let mut items = Vec::with_capacity(runs.outer * runs.channels * pieces_per_run);
    for run in 0..runs.outer * runs.channels {
        for piece in 0..pieces_per_run {
            let start = run * runs.inner + piece * piece_len;
            let end = (start + piece_len).min((run + 1) * runs.inner);
            let (dst, tail) = core::mem::take(&mut rest).split_at_mut(end - start);
            rest = tail;
            items.push((start..end, run % runs.channels, dst));
        }
    }
    (items, pieces_per_run)
}

/// `f(item)` for every item, in parallel where rayon is on, results in order.
fn map_items<I: Send, R: Send>(items: Vec<I>, f: impl Fn(I) -> R + Send + Sync) -> Vec<R> {
    #[cfg(feature = "rayon")]
    {
        use rayon::prelude::*;
        items.into_par_iter().map(f).collect()
    }
    #[cfg(not(feature = "rayon"))]
    {
        items.into_iter().map(f).collect()
    }
}

fn forward<T: Real>(x: &FlexTensor, alpha: &FlexTensor, runs: Runs) -> FlexTensor {
    let (x_c, alpha_c) = (x.to_contiguous(), alpha.to_contiguous());
    let (xs, slopes): (&[T], &[T]) = (x_c.storage(), alpha_c.storage());
    let len = xs.len();
    let mut out: Vec<T> = Vec::with_capacity(len);
    let (items, _) = pieces(runs, &mut out.spare_capacity_mut()[..len]);
    map_items(items, |(range, channel, dst)| {
        let a = slopes[channel];
        for (d, &v) in dst.iter_mut().zip(&xs[range]) {
            d.write(if v >= T::zero() { v } else { a * v });
        }
    });
    // SAFETY: the items' shares tile [0, len) and each wrote all of its elements.
    unsafe { out.set_len(len) };
    FlexTensor::new(Bytes::from_elems(out), Layout::contiguous(x.layout().shape().clone()), x.dtype())
}

fn one_pass<T: Real>(x: &FlexTensor, alpha: &FlexTensor, grad: &FlexTensor, runs: Runs) -> (FlexTensor, FlexTensor) {
    let (x_c, grad_c, alpha_c) = (x.to_contiguous(), grad.to_contiguous(), alpha.to_contiguous());
    let (xs, gs, slopes): (&[T], &[T], &[T]) = (x_c.storage(), grad_c.storage(), alpha_c.storage());
    let len = xs.len();
    let mut x_grad: Vec<T> = Vec::with_capacity(len);
    let (items, pieces_per_run) = pieces(runs, &mut x_grad.spare_capacity_mut()[..len]);
    let sums: Vec<T> = map_items(items, |(range, channel, dst)| slope_sum(&xs[range.clone()], &gs[range], slopes[channel], dst));
    // SAFETY: the items' shares tile [0, len) and `slope_sum` wrote each element.
    unsafe { x_grad.set_len(len) };

    // Per channel, the items' sums in a fixed order (batch, then pieces), so
    // the result does not depend on the number of threads.
    let mut alpha_grad = alpha_c.storage::<T>().to_vec();
    for (c, slot) in alpha_grad.iter_mut().enumerate() {
        let mut total = T::zero();
        for o in 0..runs.outer {
            let run = o * runs.channels + c;
            for piece in 0..pieces_per_run {
                total = total + sums[run * pieces_per_run + piece];
            }
        }
        *slot = total;
    }
    let dtype = x.dtype();
    let x_grad = FlexTensor::new(Bytes::from_elems(x_grad), Layout::contiguous(x.layout().shape().clone()), dtype);
    let alpha_grad = FlexTensor::new(Bytes::from_elems(alpha_grad), Layout::contiguous(alpha.layout().shape().clone()), dtype);
    (x_grad, alpha_grad)
}

/// Writes `dst[i] = g[i]` where `x[i] >= 0` and `a * g[i]` elsewhere, and
/// returns the sum of `g[i] * min(x[i], 0)` in 16 lanes (added pairwise at
/// the end), which the compiler keeps in vector registers.
fn slope_sum<T: Real>(x: &[T], g: &[T], a: T, dst: &mut [MaybeUninit<T>]) -> T {
    const LANES: usize = 16;
    let zero = T::zero();
    let mut lanes = [zero; LANES];
    let (xc, gc, dc) = (x.chunks_exact(LANES), g.chunks_exact(LANES), dst.chunks_exact_mut(LANES));
    let (x_rest, g_rest) = (xc.remainder(), gc.remainder());
    for ((x, g), d) in xc.zip(gc).zip(dc) {
        for i in 0..LANES {
            let negative = x[i] < zero;
            d[i].write(if negative { a * g[i] } else { g[i] });
            lanes[i] = lanes[i] + g[i] * if negative { x[i] } else { zero };
        }
    }
    let done = x.len() - x_rest.len();
    let mut rest = zero;
    for (i, (&x, &g)) in x_rest.iter().zip(g_rest).enumerate() {
        let negative = x < zero;
        dst[done + i].write(if negative { a * g } else { g });
        rest = rest + g * if negative { x } else { zero };
    }
    let mut width = LANES;
    while width > 1 {
        width /= 2;
        for i in 0..width {
            lanes[i] = lanes[i] + lanes[i + width];
        }
    }
    lanes[0] + rest
}

/// burn-backend's default composition, for dtypes and layouts the one pass
/// does not take (half precision: in f32 and back; other broadcasts).
fn composed(x: FlexTensor, alpha: FlexTensor, grad: FlexTensor) -> (FlexTensor, FlexTensor) {
    if matches!(x.dtype(), DType::F16 | DType::BF16) && Runs::of(x.layout().shape(), alpha.layout().shape()).is_some() {
        let dtype = FloatDType::from(x.dtype());
        let to_f32 = |t: FlexTensor| Flex::float_cast(t, FloatDType::F32);
        let (dx, da) = prelu_backward(to_f32(x), to_f32(alpha), to_f32(grad));
        return (Flex::float_cast(dx, dtype), Flex::float_cast(da, dtype));
    }
    crate::composed::prelu_backward::<Flex>(x, alpha, grad)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flex::test_values as values;
    use burn_backend::TensorData;
    use burn_backend::ops::ActivationOps;

    fn tensor(values: Vec<f32>, shape: &[usize]) -> FlexTensor {
        Flex::float_from_data(TensorData::new(values, shape.to_vec()), &Default::default())
    }

    /// The gradients by their definition, in f64.
    fn reference(x: &[f32], g: &[f32], alpha: &[f32], runs: Runs) -> (Vec<f64>, Vec<f64>) {
        let mut dx = Vec::new();
        let mut da = vec![0.0f64; alpha.len()];
        for (i, (&x, &g)) in x.iter().zip(g).enumerate() {
            let c = (i / runs.inner) % runs.channels;
            let a = alpha[c] as f64;
            dx.push(if x < 0.0 { a * g as f64 } else { g as f64 });
            da[c] += g as f64 * (x as f64).min(0.0);
        }
        (dx, da)
    }

    fn check(shape: &[usize], alpha_shape: &[usize]) {
        let n: usize = shape.iter().product();
        let (x, g, a) = (values(n, 1), values(n, 2), values(alpha_shape.iter().product(), 3));
        let runs = Runs::of(shape, alpha_shape).expect("a layout prelu passes");
        let (want_dx, want_da) = reference(&x, &g, &a, runs);
        let (dx, da) = prelu_backward(tensor(x, shape), tensor(a, alpha_shape), tensor(g, shape));
        assert_eq!(dx.layout().shape().to_vec(), shape.to_vec());
        assert_eq!(da.layout().shape().to_vec(), alpha_shape.to_vec());
        for (got, want) in dx.storage::<f32>().iter().zip(&want_dx) {
            assert_eq!(*got as f64, (*want as f32) as f64, "{shape:?}");
        }
        for (c, (got, want)) in da.storage::<f32>().iter().zip(&want_da).enumerate() {
            assert!((*got as f64 - want).abs() < 1e-4 * (1.0 + want.abs()), "{shape:?} channel {c}: {got} vs {want}");
        }
    }

    #[test]
    fn one_pass_equals_the_definition() {
        // Per channel: a batch of planes, runs shorter than the lanes, runs
        // cut into several pieces (not a whole number of them).
        check(&[3, 5, 7, 9], &[1, 5, 1, 1]);
        check(&[2, 3, 2], &[1, 3, 1]);
        check(&[2, 2, 300, 301], &[1, 2, 1, 1]);
        // One slope for everything.
        check(&[4, 6, 10, 10], &[1, 1, 1, 1]);
        check(&[1000], &[1]);
    }

    #[test]
    fn forward_equals_flex_own_prelu() {
        // Flex's own `prelu` is the reference: the same comparison and product per element.
        for (shape, alpha_shape) in
            [(vec![3, 5, 7, 9], vec![1, 5, 1, 1]), (vec![2, 2, 300, 301], vec![1, 2, 1, 1]), (vec![4, 6, 10, 10], vec![1, 1, 1, 1])]
        {
            let n: usize = shape.iter().product();
            let x = tensor(values(n, 1), &shape);
            let a = tensor(values(alpha_shape.iter().product(), 3), &alpha_shape);
            let got = prelu(x.clone(), a.clone());
            assert_eq!(got.layout().shape().to_vec(), shape);
            assert_eq!(got.storage::<f32>(), Flex::prelu(x, a).to_contiguous().storage::<f32>(), "{shape:?}");
        }
    }

    #[test]
    fn other_broadcasts_take_the_composition() {
        assert_eq!(Runs::of(&[2, 3, 4], &[1, 1, 4]), None);
        assert_eq!(Runs::of(&[2, 3, 4], &[1, 3]), None);
        // The composition gives the same gradients for a layout both take.
        let (shape, alpha_shape) = ([2, 3, 4, 5], [1, 3, 1, 1]);
        let n = 120;
        let make = || (tensor(values(n, 1), &shape), tensor(values(3, 3), &alpha_shape), tensor(values(n, 2), &shape));
        let (x, a, g) = make();
        let (dx1, da1) = one_pass::<f32>(&x, &a, &g, Runs::of(&shape, &alpha_shape).unwrap());
        let (x, a, g) = make();
        let (dx2, da2) = composed(x, a, g);
        assert_eq!(dx1.storage::<f32>(), dx2.storage::<f32>());
        for (p, q) in da1.storage::<f32>().iter().zip(da2.storage::<f32>()) {
            assert!((p - q).abs() < 1e-4 * (1.0 + q.abs()), "{p} vs {q}");
        }
    }

    #[test]
    fn forward_and_backward_agree_on_zero() {
        // prelu keeps x where x >= 0, so at exactly 0 the input gradient is grad.
        let (dx, da) = prelu_backward(tensor(vec![0.0, -0.0, -1.0], &[3]), tensor(vec![0.25], &[1]), tensor(vec![2.0, 2.0, 2.0], &[3]));
        assert_eq!(dx.storage::<f32>(), &[2.0, 2.0, 0.5]);
        assert_eq!(da.storage::<f32>(), &[-2.0]);
    }
}
