//! The backward passes of the shifted-GEMM convolution that are not a
//! forward convolution themselves: the weight gradient (the module's sum
//! read the other way round, see its docs) and the bias gradient. The input gradient is a forward convolution with the kernel
//! turned ([`super::input_grad_tensors`]).

use burn_backend::ops::ConvOptions;
use burn_flex::{FlexTensor, Layout};
use burn_std::{Bytes, Shape};

use super::{Shifted2d, ShiftedElement};

/// Partial sums the weight gradient is split into, whatever the thread count,
/// so that its rounding does not depend on the machine.
const WEIGHT_GRAD_CHUNKS: usize = 16;

/// Largest `c_out x depth` block of one weight-gradient GEMM where the
/// kernel columns are stacked (one to a few input channels; the others take
/// [`conv2d_weight_grad_pixel_major`]). gemm takes products of at most
/// 16 x 16 outputs (with a contraction as long as these are) as dot products
/// read in place; larger ones pack both operands first, once per step. Up to
/// 32 x 32, in-place 16 x 16 blocks beat one packed product (3x3 at 32
/// channels, one thread: 16.1-18.3 ms against 14.5-15.2).
const WEIGHT_GRAD_BLOCK: usize = 16;
const WEIGHT_GRAD_BLOCKED_UP_TO: usize = 32 * 32;

/// [`conv2d_weight_grad`] on 4D tensors, `None` where this path does not apply.
pub(crate) fn conv2d_weight_grad_tensors<T: ShiftedElement + burn_backend::Element + bytemuck::Pod>(
    x: &FlexTensor,
    weight_shape: &[usize],
    grad: &FlexTensor,
    options: &ConvOptions<2>,
) -> Option<FlexTensor> {
    let g = Shifted2d::of(x.layout().shape(), weight_shape, options)?;
    let grad_shape = grad.layout().shape();
    if grad_shape[..] != [g.batch, g.c_out, g.out_h(), g.out_w()] {
        return None;
    }
    let (x, grad) = (x.to_contiguous(), grad.to_contiguous());
    let out = conv2d_weight_grad::<T>(&g, x.storage(), grad.storage());
    let shape = Shape::from(vec![g.c_out, g.c_in, g.k_h, g.k_w]);
    Some(FlexTensor::new(Bytes::from_elems(out), Layout::contiguous(shape), x.dtype()))
}

/// Gradient of a convolution's bias from its output gradient `[batch, c, ...]`:
/// the sum over batch and pixels per channel, read where it lies (the
/// default swaps the first two dims and copies them contiguous first).
/// Channels run in parallel, each summed in a fixed order (images in turn,
/// each plane in [`plane_sum`]'s lanes), so the result does not depend on
/// the number of threads.
pub(crate) fn bias_grad<T: ShiftedElement + burn_backend::Element + bytemuck::Pod>(grad: &FlexTensor) -> FlexTensor {
    let grad = grad.to_contiguous();
    let shape = grad.layout().shape();
    let (batch, channels) = (shape[0], shape[1]);
    let pixels: usize = shape[2..].iter().product();
    let data: &[T] = grad.storage();
    let channel_sum = |c: usize| (0..batch).fold(T::ZERO, |sum, n| sum + plane_sum(&data[(n * channels + c) * pixels..][..pixels]));
    #[cfg(feature = "rayon")]
    let sums: Vec<T> = {
        use rayon::prelude::*;
        (0..channels).into_par_iter().map(channel_sum).collect()
    };
    #[cfg(not(feature = "rayon"))]
    let sums: Vec<T> = (0..channels).map(channel_sum).collect();
    FlexTensor::new(Bytes::from_elems(sums), Layout::contiguous(Shape::from(vec![channels])), grad.dtype())
}

/// The sum of `values` in 16 independent lanes, added pairwise at the end:
/// the compiler keeps the lanes in vector registers, where one running sum
/// waits for each add before the next (a latency chain 16 times longer).
pub(super) fn plane_sum<T: ShiftedElement>(values: &[T]) -> T {
    const LANES: usize = 16;
    let mut lanes = [T::ZERO; LANES];
    let chunks = values.chunks_exact(LANES);
    let rest = chunks.remainder();
    for chunk in chunks {
        for (lane, &v) in lanes.iter_mut().zip(chunk) {
            *lane = *lane + v;
        }
    }
    let mut width = LANES;
    while width > 1 {
        width /= 2;
        for i in 0..width {
            lanes[i] = lanes[i] + lanes[i + width];
        }
    }
    rest.iter().fold(lanes[0], |sum, &v| sum + v)
}

/// Gradient of a stride-1 2D convolution's weights, `[c_out, c_in, k_h, k_w]`,
/// from its input `x` and the gradient `grad` of its output: pixel-major
/// ([`conv2d_weight_grad_pixel_major`]) unless the kernel columns are
/// stacked, where `k_w * c_in` is too short a run for gemm's register
/// blocks (1 -> 56 5x5: 1.9-2.0 ms in 16 x 16 blocks of dot products, 4.9-5.1
/// pixel-major) and the dot products below take it.
pub(crate) fn conv2d_weight_grad<T: ShiftedElement>(g: &Shifted2d, x: &[T], grad: &[T]) -> Vec<T> {
    if !g.stacks_columns() {
        return conv2d_weight_grad_pixel_major(g, x, grad);
    }
    let (zero, one) = (T::ZERO, T::ONE);
    let (ow, wp) = (g.out_w(), g.padded_w());
    let (depth, steps) = (g.depth(), g.steps());
    let cc = g.c_out * depth;
    let items = g.items();
    let chunks = WEIGHT_GRAD_CHUNKS.min(items);
    let chunk_sum = |chunk: usize| -> Vec<T> {
        // [step][c_out][depth], as `weights_by_step` lays the weights out.
        let mut acc = vec![zero; steps * cc];
        let (mut input, mut spare, mut grad_band) = (Vec::new(), Vec::new(), Vec::new());
        for item in (chunk * items / chunks)..((chunk + 1) * items / chunks) {
            let band = g.band(item);
            let row_stride = g.fill_gemm_band(x, band, zero, &mut input, &mut spare);
            fill_grad_band(g, grad, band, zero, &mut grad_band);
            let (rows, ld) = (band.2, band.2 * wp);
            let n = (rows - 1) * wp + ow;
            let block = match g.c_out * depth <= WEIGHT_GRAD_BLOCKED_UP_TO {
                true => WEIGHT_GRAD_BLOCK,
                false => g.c_out.max(depth),
            };
            let blocks = |c: usize| (0..c).step_by(block).map(move |c0| (c0, block.min(c - c0)));
            for s in 0..steps {
                for (co0, co_n) in blocks(g.c_out) {
                    for (kk0, kk_n) in blocks(depth) {
                        // SAFETY: as in `conv2d`; `acc` holds c_out x depth at
                        // s * cc, of which this writes rows co0.., columns kk0..;
                        // the output gradient band holds c_out rows of `ld`.
                        unsafe {
                            gemm::gemm(
                                co_n,
                                kk_n,
                                n,
                                acc.as_mut_ptr().add(s * cc + co0 * depth + kk0),
                                1,
                                depth as isize,
                                true,
                                grad_band.as_ptr().add(co0 * ld),
                                1,
                                ld as isize,
                                input.as_ptr().add(g.step_offset(s) + kk0 * row_stride),
                                row_stride as isize,
                                1,
                                one,
                                one,
                                false,
                                false,
                                false,
                                gemm::Parallelism::None,
                            );
                        }
                    }
                }
            }
        }
        acc
    };
    let by_step = sum_chunks_in_order(chunks, chunk_sum);
    weights_from_steps(g, &by_step, depth, |s, kk| g.channel_and_tap(s, kk))
}

/// The sum of the `chunks` partial sums `chunk_sum(0..chunks)` (computed in
/// parallel where rayon is on), added in chunk order so that the result
/// does not depend on the number of threads.
fn sum_chunks_in_order<T: ShiftedElement>(chunks: usize, chunk_sum: impl Fn(usize) -> Vec<T> + Send + Sync) -> Vec<T> {
    #[cfg(feature = "rayon")]
    let partials: Vec<Vec<T>> = {
        use rayon::prelude::*;
        (0..chunks).into_par_iter().map(chunk_sum).collect()
    };
    #[cfg(not(feature = "rayon"))]
    let partials: Vec<Vec<T>> = (0..chunks).map(chunk_sum).collect();

    let mut sum = partials[0].clone();
    for partial in &partials[1..] {
        sum.iter_mut().zip(partial).for_each(|(a, &b)| *a = *a + b);
    }
    sum
}

/// Weights `[c_out, c_in, k_h, k_w]` from sums laid out `[step][c_out][rows]`,
/// `channel_and_tap(step, row)` naming the weight each row stands for.
fn weights_from_steps<T: ShiftedElement>(
    g: &Shifted2d,
    by_step: &[T],
    rows: usize,
    channel_and_tap: impl Fn(usize, usize) -> (usize, usize),
) -> Vec<T> {
    let taps = g.positions();
    let mut out = vec![T::ZERO; g.c_out * g.c_in * taps];
    for (i, &value) in by_step.iter().enumerate() {
        let (s, co, row) = (i / (g.c_out * rows), (i / rows) % g.c_out, i % rows);
        let (ci, tap) = channel_and_tap(s, row);
        out[(co * g.c_in + ci) * taps + tap] = value;
    }
    out
}

/// The output gradient rows `r0..r0 + rows` of image `b` on the padded-width
/// grid (`c_out` planes of `rows x padded_w`), zero in the junk columns so
/// that they add nothing to the weight gradient.
fn fill_grad_band<T: Copy>(g: &Shifted2d, grad: &[T], (b, r0, rows): (usize, usize, usize), zero: T, band: &mut Vec<T>) {
    let (oh, ow, wp) = (g.out_h(), g.out_w(), g.padded_w());
    band.clear();
    band.reserve(g.c_out * rows * wp);
    for co in 0..g.c_out {
        for r in 0..rows {
            band.extend_from_slice(&grad[((b * g.c_out + co) * oh + r0 + r) * ow..][..ow]);
            band.extend(core::iter::repeat_n(zero, wp - ow));
        }
    }
}

/// The weight gradient with the input band laid out pixel-major.
///
/// With `X` pixel-major (`[pixel][c_in]`, one copy per band), kernel row `i`'s
/// `k_w` taps are one operand: row `j * c_in + ci` at pixel `p` is
/// `X[p + j][ci]`, a single stride of `c_in` elements. So each kernel row is
/// one GEMM `dW_i^T [k_w * c_in, c_out] += X_i [k_w * c_in, n] @ G^T [n, c_out]`
/// whose result runs along its first dimension, which gemm computes with its
/// register-blocked kernels (64 x 6 outputs in AVX-512 registers, the
/// operands read in place), instead of as 4 x 4 blocks of dot products
/// streaming both operands from L2 per block.
fn conv2d_weight_grad_pixel_major<T: ShiftedElement>(g: &Shifted2d, x: &[T], grad: &[T]) -> Vec<T> {
    let (zero, one) = (T::ZERO, T::ONE);
    let (ow, wp) = (g.out_w(), g.padded_w());
    // Kernel columns sit next to each other in the pixel-major band only
    // without dilation; with it, one GEMM per kernel position.
    let stacked = g.dil_w == 1;
    let (rows_per_step, steps) = match stacked {
        true => (g.k_w * g.c_in, g.k_h),
        false => (g.c_in, g.positions()),
    };
    let step_offset = |s: usize| match stacked {
        true => s * g.dil_h * wp * g.c_in,
        false => g.offset(s) * g.c_in,
    };
    let per_step = rows_per_step * g.c_out;
    let items = g.items();
    let chunks = WEIGHT_GRAD_CHUNKS.min(items);
    let chunk_sum = |chunk: usize| -> Vec<T> {
        // [step][c_out][rows_per_step]
        let mut acc = vec![zero; steps * per_step];
        let (mut input, mut grad_band) = (Vec::new(), Vec::new());
        for item in (chunk * items / chunks)..((chunk + 1) * items / chunks) {
            let band = g.band(item);
            let rows = band.2;
            g.fill_input_band_pixel_major(x, band, zero, &mut input);
            fill_grad_band(g, grad, band, zero, &mut grad_band);
            let (n, ld) = ((rows - 1) * wp + ow, rows * wp);
            for s in 0..steps {
                // SAFETY: `acc` holds rows_per_step x c_out at s * per_step;
                // the gradient band c_out rows of `ld >= n`; the input read
                // ends at step_offset(s) + (n - 1) * c_in + rows_per_step - 1,
                // for the last step the band's last element (its last
                // output pixel's last tap is the band's last pixel).
                unsafe {
                    gemm::gemm(
                        rows_per_step,
                        g.c_out,
                        n,
                        acc.as_mut_ptr().add(s * per_step),
                        rows_per_step as isize,
                        1,
                        true,
                        input.as_ptr().add(step_offset(s)),
                        g.c_in as isize,
                        1,
                        grad_band.as_ptr(),
                        ld as isize,
                        1,
                        one,
                        one,
                        false,
                        false,
                        false,
                        gemm::Parallelism::None,
                    );
                }
            }
        }
        acc
    };
    let by_step = sum_chunks_in_order(chunks, chunk_sum);
    weights_from_steps(g, &by_step, rows_per_step, |s, row| g.channel_and_tap_when(stacked, s, row))
}
