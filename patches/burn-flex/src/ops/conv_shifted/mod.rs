//! Stride-1 2D convolution as one GEMM per kernel position over a
//! zero-padded copy of the input ("shifted GEMM"), without im2col.
//!
//! Lay one channel of the padded input out flat, `padded_w = in_w + 2 * pad_w`
//! elements a row. Output pixel `(r, c)` reads padded pixel
//! `(r + i * dil_h, c + j * dil_w)` for kernel position `(i, j)`, which is
//! flat index `r * padded_w + c` plus the constant `i * dil_h * padded_w + j * dil_w`.
//! So with the output computed on the padded-width grid (its columns
//! `out_w..padded_w` are junk and are dropped when copying out), kernel
//! position `(i, j)` contributes `W_ij [c_out, c_in] @ X [c_in, n]` with `X`
//! read in place at that offset: `k_h * k_w` accumulated GEMMs with
//! `K = c_in`, and no `[pixels, c_in * k_h * k_w]` im2col matrix.
//!
//! At 16 to 64 channels, building the im2col matrix (after an NHWC copy) and
//! scattering the GEMM's result back cost more than the GEMM itself; here
//! the only copies are the padded input band and the cropped output band.
//!
//! The weight gradient is the same sum read the other way round: for each
//! kernel position, `dW_ij [c_out, c_in] += G [c_out, n] @ X_shifted [n, c_in]`,
//! with the output gradient laid on the same padded-width grid (zeros in
//! the junk columns, so they add nothing).
//!
//! Work is split into bands of output rows sized to keep a band's input and
//! output in L2; bands of all images run in parallel, which also gives a
//! single inference image work for every core. Results do not depend on the
//! number of threads: each output element is computed by one fixed sequence
//! of GEMMs, and weight-gradient partial sums are reduced in a fixed order.

use alloc::vec;
use alloc::vec::Vec;
use burn_backend::DType;
use burn_backend::ops::{ConvOptions, ConvTransposeOptions};
use burn_std::{Bytes, Shape, f16};

use crate::{Flex, FlexTensor, Layout};

/// The float types this path runs on (the ones gemm multiplies natively).
pub(crate) trait ShiftedElement: Copy + Send + Sync + 'static + core::ops::Add<Output = Self> {
    const ZERO: Self;
    const ONE: Self;
}
impl ShiftedElement for f32 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
}
impl ShiftedElement for f64 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
}
impl ShiftedElement for f16 {
    const ZERO: Self = f16::ZERO;
    const ONE: Self = f16::ONE;
}

/// Elements (input and output planes together) a band aims at: 256 KiB of f32.
const BAND_ELEMENTS: usize = 64 * 1024;

/// Partial sums the weight gradient is split into, whatever the thread count,
/// so that its rounding does not depend on the machine.
const WEIGHT_GRAD_CHUNKS: usize = 16;

/// A stride-1, ungrouped 2D convolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Shifted2d {
    pub batch: usize,
    pub c_in: usize,
    pub c_out: usize,
    pub in_h: usize,
    pub in_w: usize,
    pub k_h: usize,
    pub k_w: usize,
    pub pad_h: usize,
    pub pad_w: usize,
    pub dil_h: usize,
    pub dil_w: usize,
}

impl Shifted2d {
    /// The geometry of a conv3d call that is a 2D convolution this path
    /// computes well, or `None` (the caller then takes the im2col path).
    ///
    /// `x_shape` is `[batch, c_in, 1, h, w]` and `w_shape`
    /// `[c_out, c_in, 1, k_h, k_w]`, as conv1d/conv2d expand to 3D.
    pub fn of(x_shape: &[usize], w_shape: &[usize], options: &ConvOptions<3>) -> Option<Self> {
        if options.groups != 1 || options.stride != [1, 1, 1] || options.padding[0] != 0 {
            return None;
        }
        if x_shape[2] != 1 || w_shape[2] != 1 || x_shape[1] != w_shape[1] {
            return None;
        }
        let geometry = Shifted2d {
            batch: x_shape[0],
            c_in: x_shape[1],
            c_out: w_shape[0],
            in_h: x_shape[3],
            in_w: x_shape[4],
            k_h: w_shape[3],
            k_w: w_shape[4],
            pad_h: options.padding[1],
            pad_w: options.padding[2],
            dil_h: options.dilation[1],
            dil_w: options.dilation[2],
        };
        let g = &geometry;
        let sizes_ok = g.batch > 0 && g.c_in > 0 && g.c_out > 0 && g.k_h > 0 && g.k_w > 0 && g.dil_h > 0 && g.dil_w > 0;
        if !sizes_ok || g.k_h * g.k_w == 1 {
            return None; // 1x1 has its own path
        }
        if g.in_h + 2 * g.pad_h <= g.reach_h() || g.padded_w() <= g.reach_w() {
            return None; // empty output
        }
        // One GEMM per kernel position pays off when each GEMM has a long
        // run of pixels; a kernel as large as its output (the weight
        // gradient written as a convolution) is im2col's case.
        if g.k_h * g.k_w > g.out_h() * g.out_w() || g.k_h * g.k_w > 121 {
            return None;
        }
        Some(geometry)
    }

    fn padded_w(&self) -> usize {
        self.in_w + 2 * self.pad_w
    }
    fn reach_h(&self) -> usize {
        self.dil_h * (self.k_h - 1)
    }
    fn reach_w(&self) -> usize {
        self.dil_w * (self.k_w - 1)
    }
    pub fn out_h(&self) -> usize {
        self.in_h + 2 * self.pad_h - self.reach_h()
    }
    pub fn out_w(&self) -> usize {
        self.padded_w() - self.reach_w()
    }
    fn positions(&self) -> usize {
        self.k_h * self.k_w
    }
    /// Flat offset of kernel position `p` in a padded band.
    fn offset(&self, p: usize) -> usize {
        (p / self.k_w) * self.dil_h * self.padded_w() + (p % self.k_w) * self.dil_w
    }
    fn band_rows(&self) -> usize {
        let per_row = (self.c_in + self.c_out) * self.padded_w();
        (BAND_ELEMENTS / per_row).clamp(1, self.out_h())
    }
    fn bands(&self) -> usize {
        self.out_h().div_ceil(self.band_rows())
    }
    /// `(image, first output row, rows)` of work item `item`.
    fn band(&self, item: usize) -> (usize, usize, usize) {
        let (b, band) = (item / self.bands(), item % self.bands());
        let r0 = band * self.band_rows();
        (b, r0, self.band_rows().min(self.out_h() - r0))
    }
    fn items(&self) -> usize {
        self.batch * self.bands()
    }

    /// Copy the padded input rows that output rows `r0..r0 + rows` of image
    /// `b` read into `band` (`c_in` planes of `(rows + reach_h) x padded_w`);
    /// returns the plane length.
    fn fill_input_band<T: Copy>(&self, x: &[T], b: usize, r0: usize, rows: usize, zero: T, band: &mut Vec<T>) -> usize {
        let (wp, band_h) = (self.padded_w(), rows + self.reach_h());
        let plane = band_h * wp;
        band.clear();
        band.resize(self.c_in * plane, zero);
        let image = &x[b * self.c_in * self.in_h * self.in_w..][..self.c_in * self.in_h * self.in_w];
        for (ci, src_plane) in image.chunks_exact(self.in_h * self.in_w).enumerate() {
            for lr in 0..band_h {
                let Some(ir) = (r0 + lr).checked_sub(self.pad_h).filter(|&ir| ir < self.in_h) else {
                    continue;
                };
                let dst = ci * plane + lr * wp + self.pad_w;
                band[dst..dst + self.in_w].copy_from_slice(&src_plane[ir * self.in_w..][..self.in_w]);
            }
        }
        plane
    }

    /// Weights `[c_out, c_in, k_h, k_w]` as `[k_h * k_w][c_out][c_in]`, one
    /// contiguous GEMM operand per kernel position.
    fn weights_by_position<T: Copy>(&self, w: &[T], zero: T) -> Vec<T> {
        let (p_n, cc) = (self.positions(), self.c_out * self.c_in);
        let mut out = vec![zero; p_n * cc];
        for (oc_ic, taps) in w.chunks_exact(p_n).enumerate() {
            for (p, &tap) in taps.iter().enumerate() {
                out[p * cc + oc_ic] = tap;
            }
        }
        out
    }
}

/// [`conv2d`] on tensors: `x` `[batch, c_in, 1, h, w]`, `weight`
/// `[c_out, c_in, 1, k_h, k_w]`, as the conv3d dispatch passes them.
pub(crate) fn conv3d_tensors<T: ShiftedElement + burn_backend::Element + bytemuck::Pod>(
    x: FlexTensor,
    weight: FlexTensor,
    bias: Option<FlexTensor>,
    g: &Shifted2d,
    dtype: DType,
) -> FlexTensor {
    let (x, weight) = (x.to_contiguous(), weight.to_contiguous());
    let bias = bias.map(|b| b.to_contiguous());
    let out = conv2d::<T>(g, x.storage(), weight.storage(), bias.as_ref().map(|b| b.storage()));
    let shape = Shape::from(vec![g.batch, g.c_out, 1, g.out_h(), g.out_w()]);
    FlexTensor::new(Bytes::from_elems(out), Layout::contiguous(shape), dtype)
}

/// [`conv2d_weight_grad`] on 4D tensors, `None` where this path does not apply.
pub(crate) fn conv2d_weight_grad_tensors<T: ShiftedElement + burn_backend::Element + bytemuck::Pod>(
    x: &FlexTensor,
    weight_shape: &[usize],
    grad: &FlexTensor,
    options: &ConvOptions<2>,
) -> Option<FlexTensor> {
    let x_shape = x.layout().shape();
    let options_3d = ConvOptions::new(
        [1, options.stride[0], options.stride[1]],
        [0, options.padding[0], options.padding[1]],
        [1, options.dilation[0], options.dilation[1]],
        options.groups,
    );
    let g = Shifted2d::of(
        &[x_shape[0], x_shape[1], 1, x_shape[2], x_shape[3]],
        &[weight_shape[0], weight_shape[1], 1, weight_shape[2], weight_shape[3]],
        &options_3d,
    )?;
    let grad_shape = grad.layout().shape();
    if grad_shape[..] != [g.batch, g.c_out, g.out_h(), g.out_w()] {
        return None;
    }
    let (x, grad) = (x.to_contiguous(), grad.to_contiguous());
    let out = conv2d_weight_grad::<T>(&g, x.storage(), grad.storage());
    let shape = Shape::from(vec![g.c_out, g.c_in, g.k_h, g.k_w]);
    Some(FlexTensor::new(Bytes::from_elems(out), Layout::contiguous(shape), x.dtype()))
}

/// A stride-1 transposed convolution (`x` `[batch, c_in, 1, h, w]`, `weight`
/// `[c_in, c_out, 1, k_h, k_w]`) computed as the forward convolution with the
/// kernel turned and padding `dilation * (k - 1) - padding`; `None` where
/// that does not hold (strides, groups, output padding, padding beyond the kernel).
pub(crate) fn conv_transpose3d_tensors<T: ShiftedElement + burn_backend::Element + bytemuck::Pod>(
    x: &FlexTensor,
    weight: &FlexTensor,
    bias: Option<&FlexTensor>,
    options: &ConvTransposeOptions<3>,
    dtype: DType,
) -> Option<FlexTensor> {
    let (x_shape, w_shape) = (x.layout().shape(), weight.layout().shape());
    if options.groups != 1 || options.stride != [1, 1, 1] || options.padding_out != [0, 0, 0] {
        return None;
    }
    if options.padding[0] != 0 || w_shape[2] != 1 || x_shape[2] != 1 || w_shape[0] != x_shape[1] {
        return None;
    }
    let (c_in, c_out, k_h, k_w) = (w_shape[0], w_shape[1], w_shape[3], w_shape[4]);
    let reach = [options.dilation[1] * (k_h.max(1) - 1), options.dilation[2] * (k_w.max(1) - 1)];
    if options.padding[1] > reach[0] || options.padding[2] > reach[1] {
        return None;
    }
    let forward = ConvOptions::new(
        [1, 1, 1],
        [0, reach[0] - options.padding[1], reach[1] - options.padding[2]],
        options.dilation,
        1,
    );
    let forward_shape = [c_out, c_in, 1, k_h, k_w];
    let g = Shifted2d::of(x_shape, &forward_shape, &forward)?;
    let weight = weight.to_contiguous();
    let turned = transposed_as_forward::<T>(weight.storage(), c_in, c_out, k_h, k_w);
    let turned = FlexTensor::new(Bytes::from_elems(turned), Layout::contiguous(Shape::from(forward_shape.to_vec())), dtype);
    Some(conv3d_tensors::<T>(x.clone(), turned, bias.cloned(), &g, dtype))
}

/// The weight gradient as burn-backend's default computes it (a convolution
/// of the input by the output gradient, batch and channels swapped), for
/// the convolutions the shifted path leaves alone (strides, groups).
pub(crate) fn conv2d_weight_backward_as_conv2d(
    x: FlexTensor,
    weight: FlexTensor,
    output_grad: FlexTensor,
    options: ConvOptions<2>,
) -> FlexTensor {
    use burn_backend::ops::{FloatTensorOps, ModuleOps};
    use burn_backend::{Slice, TensorMetadata};
    let weight_shape = weight.shape();
    let [c_out, c_in_per_group, k_h, k_w] = weight_shape.dims();
    let by_conv = |x: FlexTensor, grad: FlexTensor| {
        let grad = Flex::conv2d(
            Flex::float_swap_dims(x, 0, 1),
            Flex::float_swap_dims(grad, 0, 1),
            None,
            ConvOptions::new(options.dilation, options.padding, options.stride, 1),
        );
        let grad = Flex::float_swap_dims(grad, 0, 1);
        // With strides the "output" can be a little larger than the kernel.
        let [o, i, h, w] = grad.shape().dims();
        let (o, i) = (o.min(c_out), i.min(c_in_per_group));
        match (h, w) == (k_h, k_w) {
            true => grad,
            false => Flex::float_slice(grad, &[Slice::from(0..o), Slice::from(0..i), Slice::from(0..k_h), Slice::from(0..k_w)]),
        }
    };
    if options.groups == 1 {
        return by_conv(x, output_grad);
    }
    let c_out_per_group = c_out / options.groups;
    let mut grad = Flex::float_zeros(weight_shape, &Default::default(), weight.dtype().into());
    for g in 0..options.groups {
        let channels = |per: usize| Slice::from(g * per..(g + 1) * per);
        let x_g = Flex::float_slice(x.clone(), &[Slice::full(), channels(c_in_per_group)]);
        let grad_g = Flex::float_slice(output_grad.clone(), &[Slice::full(), channels(c_out_per_group)]);
        let part = by_conv(x_g, grad_g);
        grad = Flex::float_slice_assign(grad, &[channels(c_out_per_group)], part);
    }
    grad
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
    let channel_sum = |c: usize| {
        (0..batch).fold(T::ZERO, |sum, n| sum + plane_sum(&data[(n * channels + c) * pixels..][..pixels]))
    };
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
fn plane_sum<T: ShiftedElement>(values: &[T]) -> T {
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

/// Run `work(item, scratch)` for every item, in parallel where rayon is on,
/// with one scratch value per worker.
fn for_each_item<S: Default + Send>(items: usize, work: impl Fn(usize, &mut S) + Send + Sync) {
    #[cfg(feature = "rayon")]
    {
        use rayon::prelude::*;
        (0..items).into_par_iter().for_each_init(S::default, |scratch, item| work(item, scratch));
    }
    #[cfg(not(feature = "rayon"))]
    {
        let mut scratch = S::default();
        for item in 0..items {
            work(item, &mut scratch);
        }
    }
}

/// Forward stride-1 2D convolution of NCHW `x` with `w` `[c_out, c_in, k_h, k_w]`,
/// plus `bias`; returns `[batch, c_out, out_h, out_w]`.
pub(crate) fn conv2d<T: ShiftedElement>(g: &Shifted2d, x: &[T], w: &[T], bias: Option<&[T]>) -> Vec<T> {
    let (zero, one) = (T::ZERO, T::ONE);
    let (oh, ow, wp) = (g.out_h(), g.out_w(), g.padded_w());
    let weights = g.weights_by_position(w, zero);
    let mut out = vec![zero; g.batch * g.c_out * oh * ow];
    let out_ptr = SendPtr(out.as_mut_ptr());
    let out_len = out.len();
    for_each_item(g.items(), |item, scratch: &mut (Vec<T>, Vec<T>)| {
        let (input, result) = scratch;
        let (b, r0, rows) = g.band(item);
        let plane = g.fill_input_band(x, b, r0, rows, zero, input);
        let n = (rows - 1) * wp + ow;
        let ld = rows * wp;
        result.clear();
        result.resize(g.c_out * ld, zero);
        for p in 0..g.positions() {
            // SAFETY: `result` holds c_out rows of `ld >= n` elements; the
            // weights hold c_out x c_in at p * c_out * c_in; the input read
            // ends at offset(p) + (c_in - 1) * plane + n - 1, which for the
            // largest offset is the band's last element (see the module docs).
            unsafe {
                gemm::gemm(
                    g.c_out,
                    n,
                    g.c_in,
                    result.as_mut_ptr(),
                    1,
                    ld as isize,
                    p > 0,
                    weights.as_ptr().add(p * g.c_out * g.c_in),
                    1,
                    g.c_in as isize,
                    input.as_ptr().add(g.offset(p)),
                    1,
                    plane as isize,
                    one,
                    one,
                    false,
                    false,
                    false,
                    gemm::Parallelism::None,
                );
            }
        }
        for co in 0..g.c_out {
            let add = bias.map(|bias| bias[co]);
            for r in 0..rows {
                let src = &result[co * ld + r * wp..][..ow];
                let dst = ((b * g.c_out + co) * oh + r0 + r) * ow;
                debug_assert!(dst + ow <= out_len);
                // SAFETY: items write disjoint rows (image b, rows r0..r0 + rows) of `out`.
                let dst = unsafe { core::slice::from_raw_parts_mut(out_ptr.get().add(dst), ow) };
                match add {
                    Some(add) => dst.iter_mut().zip(src).for_each(|(d, &s)| *d = s + add),
                    None => dst.copy_from_slice(src),
                }
            }
        }
    });
    out
}

/// Gradient of a stride-1 2D convolution's weights, `[c_out, c_in, k_h, k_w]`,
/// from its input `x` and the gradient `grad` of its output.
pub(crate) fn conv2d_weight_grad<T: ShiftedElement>(g: &Shifted2d, x: &[T], grad: &[T]) -> Vec<T> {
    let (zero, one) = (T::ZERO, T::ONE);
    let (oh, ow, wp) = (g.out_h(), g.out_w(), g.padded_w());
    let (p_n, cc) = (g.positions(), g.c_out * g.c_in);
    let items = g.items();
    let chunks = WEIGHT_GRAD_CHUNKS.min(items);
    let chunk_sum = |chunk: usize| -> Vec<T> {
        let mut acc = vec![zero; p_n * cc];
        let (mut input, mut grad_band) = (Vec::new(), Vec::new());
        for item in (chunk * items / chunks)..((chunk + 1) * items / chunks) {
            let (b, r0, rows) = g.band(item);
            let plane = g.fill_input_band(x, b, r0, rows, zero, &mut input);
            // The output gradient on the padded-width grid, zero in the junk columns.
            let ld = rows * wp;
            grad_band.clear();
            grad_band.resize(g.c_out * ld, zero);
            for co in 0..g.c_out {
                for r in 0..rows {
                    let src = &grad[((b * g.c_out + co) * oh + r0 + r) * ow..][..ow];
                    grad_band[co * ld + r * wp..][..ow].copy_from_slice(src);
                }
            }
            let n = (rows - 1) * wp + ow;
            for p in 0..p_n {
                // SAFETY: as in `conv2d`; `acc` holds c_out x c_in at p * cc.
                unsafe {
                    gemm::gemm(
                        g.c_out,
                        g.c_in,
                        n,
                        acc.as_mut_ptr().add(p * cc),
                        1,
                        g.c_in as isize,
                        true,
                        grad_band.as_ptr(),
                        1,
                        ld as isize,
                        input.as_ptr().add(g.offset(p)),
                        plane as isize,
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
    #[cfg(feature = "rayon")]
    let partials: Vec<Vec<T>> = {
        use rayon::prelude::*;
        (0..chunks).into_par_iter().map(chunk_sum).collect()
    };
    #[cfg(not(feature = "rayon"))]
    let partials: Vec<Vec<T>> = (0..chunks).map(chunk_sum).collect();

    let mut by_position = partials[0].clone();
    for partial in &partials[1..] {
        by_position.iter_mut().zip(partial).for_each(|(a, &b)| *a = *a + b);
    }
    let mut out = vec![zero; cc * p_n];
    for p in 0..p_n {
        for oc_ic in 0..cc {
            out[oc_ic * p_n + p] = by_position[p * cc + oc_ic];
        }
    }
    out
}

/// Weights of a stride-1 transposed convolution, `[c_in, c_out, k_h, k_w]`,
/// as the forward convolution that computes it: channels swapped and the
/// kernel turned by 180 degrees, `[c_out, c_in, k_h, k_w]`.
pub(crate) fn transposed_as_forward<T: Copy>(w: &[T], c_in: usize, c_out: usize, k_h: usize, k_w: usize) -> Vec<T> {
    let taps = k_h * k_w;
    let mut out = Vec::with_capacity(w.len());
    for co in 0..c_out {
        for ci in 0..c_in {
            let src = &w[(ci * c_out + co) * taps..][..taps];
            out.extend(src.iter().rev());
        }
    }
    out
}

/// A raw pointer the parallel items share; each writes its own rows.
#[derive(Clone, Copy)]
struct SendPtr<T>(*mut T);
// SAFETY: used only to write disjoint ranges from different threads.
unsafe impl<T> Send for SendPtr<T> {}
unsafe impl<T> Sync for SendPtr<T> {}
impl<T> SendPtr<T> {
    fn get(&self) -> *mut T {
        self.0
    }
}

#[cfg(test)]
mod tests;
