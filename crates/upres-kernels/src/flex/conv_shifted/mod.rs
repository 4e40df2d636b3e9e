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
//! With one to a few input channels (a network's first layer, the input
//! gradient of a layer with few outputs) `K = c_in` is too short for a GEMM:
//! there the band is copied `k_w` times, copy `j` shifted by `j * dil_w`,
//! and one GEMM per kernel row takes the row's columns stacked,
//! `K = k_w * c_in` ([`Shifted2d::stacks_columns`]).
//!
//! The weight gradient is the same sum read the other way round: for each
//! kernel position, `dW_ij [c_out, c_in] += G [c_out, n] @ X_shifted [n, c_in]`,
//! with the output gradient laid on the same padded-width grid (zeros in
//! the junk columns, so they add nothing). There the pixels are the inner
//! dimension, so the input band is copied pixel-major (`[pixel][c_in]`),
//! which also makes a kernel row's `k_w` positions one operand
//! (`backward::conv2d_weight_grad_pixel_major`).
//!
//! Work is split into bands of output rows sized to keep a band's input and
//! output in L2; bands of all images run in parallel, which also gives a
//! single inference image work for every core. Results do not depend on the
//! number of threads: each output element is computed by one fixed sequence
//! of GEMMs, and weight-gradient partial sums are reduced in a fixed order.

use burn_backend::ops::ConvOptions;
use burn_flex::{FlexTensor, Layout};
use burn_std::{Bytes, Shape, f16};

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

/// A multiple of every vector width gemm uses for the element types here
/// (16 f32 lanes in AVX-512, 8 f64, 4 f32 in wasm's simd128).
const WHOLE_VECTORS: usize = 16;

/// Largest `c_in * k_w` whose kernel columns are stacked into the GEMMs'
/// inner dimension (see [`Shifted2d::stacks_columns`]). With one to four
/// input channels a GEMM per kernel position has `K = c_in`, one to four
/// multiply-adds between loading and storing each output element; stacking
/// the `k_w` shifted copies of the band gives `K = c_in * k_w` for a copy of
/// a few planes. At 16 channels (`K = 48` for 3x3) the copies cost what the
/// longer GEMMs save (measured, not kept).
const STACKED_K_UP_TO: usize = 24;

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
    /// The geometry of a 2D convolution this path computes well, or `None`
    /// (the caller then takes Flex's own convolution).
    ///
    /// `x_shape` is `[batch, c_in, h, w]` and `w_shape` `[c_out, c_in, k_h, k_w]`.
    pub fn of(x_shape: &[usize], w_shape: &[usize], options: &ConvOptions<2>) -> Option<Self> {
        if options.groups != 1 || options.stride != [1, 1] || x_shape.len() != 4 || w_shape.len() != 4 || x_shape[1] != w_shape[1] {
            return None;
        }
        let geometry = Shifted2d {
            batch: x_shape[0],
            c_in: x_shape[1],
            c_out: w_shape[0],
            in_h: x_shape[2],
            in_w: x_shape[3],
            k_h: w_shape[2],
            k_w: w_shape[3],
            pad_h: options.padding[0],
            pad_w: options.padding[1],
            dil_h: options.dilation[0],
            dil_w: options.dilation[1],
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
    /// Rows a band: as many as fit [`BAND_ELEMENTS`], spread evenly over
    /// the bands an image needs. 64 rows in bands of at most 31 are bands
    /// of 22, 22 and 20, not 31, 31 and a 2-row band that costs as many
    /// GEMM calls as the others for a fifteenth of their work.
    fn band_rows(&self) -> usize {
        let per_row = (self.c_in + self.c_out) * self.padded_w();
        let most = (BAND_ELEMENTS / per_row).clamp(1, self.out_h());
        self.out_h().div_ceil(self.out_h().div_ceil(most))
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
    /// returns the plane length. Every element is written once, padding
    /// included, so the band is not cleared first (at 16 channels clearing
    /// it cost as much as the copy).
    fn fill_input_band<T: Copy>(&self, x: &[T], b: usize, r0: usize, rows: usize, zero: T, band: &mut Vec<T>) -> usize {
        let (wp, band_h) = (self.padded_w(), rows + self.reach_h());
        let plane = band_h * wp;
        band.clear();
        // With room for the zeros `conv2d` appends, so that they do not move the band.
        band.reserve(self.c_in * plane + WHOLE_VECTORS);
        let image = &x[b * self.c_in * self.in_h * self.in_w..][..self.c_in * self.in_h * self.in_w];
        let zeros = |band: &mut Vec<T>, n: usize| band.extend(core::iter::repeat_n(zero, n));
        for src_plane in image.chunks_exact(self.in_h * self.in_w) {
            for lr in 0..band_h {
                match (r0 + lr).checked_sub(self.pad_h).filter(|&ir| ir < self.in_h) {
                    Some(ir) => {
                        zeros(band, self.pad_w);
                        band.extend_from_slice(&src_plane[ir * self.in_w..][..self.in_w]);
                        zeros(band, self.pad_w);
                    }
                    None => zeros(band, wp),
                }
            }
        }
        debug_assert_eq!(band.len(), self.c_in * plane);
        plane
    }

    /// The padded input rows of [`Self::fill_input_band`] laid out pixel-major:
    /// `(rows + reach_h) x padded_w` pixels of `c_in` values each.
    fn fill_input_band_pixel_major<T: Copy>(&self, x: &[T], (b, r0, rows): (usize, usize, usize), zero: T, band: &mut Vec<T>) {
        /// Channels interleaved per pass: eight input rows read side by side
        /// and each pixel's eight values written together (a third faster
        /// than a channel or a pixel at a time, measured at 32 channels).
        const GROUP: usize = 8;
        let (wp, c, in_w) = (self.padded_w(), self.c_in, self.in_w);
        let plane = self.in_h * in_w;
        let image = &x[b * c * plane..][..c * plane];
        band.clear();
        band.resize((rows + self.reach_h()) * wp * c, zero);
        for (lr, band_row) in band.chunks_exact_mut(wp * c).enumerate() {
            let Some(ir) = (r0 + lr).checked_sub(self.pad_h).filter(|&ir| ir < self.in_h) else {
                continue; // a padding row, zeros
            };
            let pixels = &mut band_row[self.pad_w * c..][..in_w * c];
            let row_of = |ci: usize| &image[ci * plane + ir * in_w..][..in_w];
            let mut c0 = 0;
            while c0 + GROUP <= c {
                let rows: [&[T]; GROUP] = core::array::from_fn(|k| row_of(c0 + k));
                for (col, pixel) in pixels.chunks_exact_mut(c).enumerate() {
                    for (k, row) in rows.iter().enumerate() {
                        pixel[c0 + k] = row[col];
                    }
                }
                c0 += GROUP;
            }
            for ci in c0..c {
                for (pixel, &value) in pixels.chunks_exact_mut(c).zip(row_of(ci)) {
                    pixel[ci] = value;
                }
            }
        }
    }

    /// Whether the GEMMs take a kernel row at a time, the `k_w` columns
    /// stacked into their inner dimension (`K = k_w * c_in`, the band copied
    /// `k_w` times, each copy shifted by one column), instead of one kernel
    /// position at a time (`K = c_in`, the band read in place).
    pub fn stacks_columns(&self) -> bool {
        self.k_w > 1 && self.c_in * self.k_w <= STACKED_K_UP_TO
    }
    /// The GEMMs' inner dimension.
    fn depth(&self) -> usize {
        match self.stacks_columns() {
            true => self.k_w * self.c_in,
            false => self.c_in,
        }
    }
    /// GEMMs per band: one per kernel row or one per kernel position.
    fn steps(&self) -> usize {
        match self.stacks_columns() {
            true => self.k_h,
            false => self.positions(),
        }
    }
    /// Where step `s` starts reading the GEMM band.
    fn step_offset(&self, s: usize) -> usize {
        match self.stacks_columns() {
            true => s * self.dil_h * self.padded_w(),
            false => self.offset(s),
        }
    }
    /// The input channel and kernel tap (`i * k_w + j`) that row `kk` of
    /// step `s`'s inner dimension stands for.
    fn channel_and_tap(&self, s: usize, kk: usize) -> (usize, usize) {
        self.channel_and_tap_when(self.stacks_columns(), s, kk)
    }
    /// The same for steps that take a kernel row each, the `k_w` columns
    /// stacked (`stacked`), or a kernel position each, whichever layout the
    /// caller's band has.
    fn channel_and_tap_when(&self, stacked: bool, s: usize, kk: usize) -> (usize, usize) {
        match stacked {
            true => (kk % self.c_in, s * self.k_w + kk / self.c_in),
            false => (kk, s),
        }
    }

    /// The band the GEMMs of `(image, first output row, rows)` read, in `band`: the padded input rows
    /// ([`Self::fill_input_band`]), and where columns are stacked, `k_w`
    /// copies of them each shifted by one more column (built in `spare`,
    /// then swapped in). Returns the distance between the band's rows of
    /// the inner dimension.
    fn fill_gemm_band<T: Copy>(&self, x: &[T], (b, r0, rows): (usize, usize, usize), zero: T, band: &mut Vec<T>, spare: &mut Vec<T>) -> usize {
        let plane = self.fill_input_band(x, b, r0, rows, zero, band);
        if !self.stacks_columns() {
            return plane;
        }
        // Row (j, ci) of a step reads up to `plane - reach_w` elements past
        // the step's offset (the last output pixel of the last kernel row).
        let stacked_plane = plane - self.reach_w();
        spare.clear();
        spare.reserve(self.k_w * self.c_in * stacked_plane + WHOLE_VECTORS);
        for j in 0..self.k_w {
            for ci in 0..self.c_in {
                spare.extend_from_slice(&band[ci * plane + j * self.dil_w..][..stacked_plane]);
            }
        }
        core::mem::swap(band, spare);
        stacked_plane
    }

    /// Weights `[c_out, c_in, k_h, k_w]` as `[step][c_out][depth]`, one
    /// contiguous GEMM operand per step.
    fn weights_by_step<T: Copy>(&self, w: &[T], zero: T) -> Vec<T> {
        let (depth, taps) = (self.depth(), self.positions());
        let mut out = vec![zero; self.steps() * self.c_out * depth];
        for (i, value) in out.iter_mut().enumerate() {
            let (s, co, kk) = (i / (self.c_out * depth), (i / depth) % self.c_out, i % depth);
            let (ci, tap) = self.channel_and_tap(s, kk);
            *value = w[(co * self.c_in + ci) * taps + tap];
        }
        out
    }
}

/// [`conv2d`] on tensors: `x` `[batch, c_in, h, w]`, `weight` `[c_out, c_in, k_h, k_w]`.
pub(crate) fn forward_tensors<T: ShiftedElement + burn_backend::Element + bytemuck::Pod>(
    x: &FlexTensor,
    weight: &FlexTensor,
    bias: Option<&FlexTensor>,
    g: &Shifted2d,
) -> FlexTensor {
    let (x, weight) = (x.to_contiguous(), weight.to_contiguous());
    let bias = bias.map(|b| b.to_contiguous());
    let out = conv2d::<T>(g, x.storage(), weight.storage(), bias.as_ref().map(|b| b.storage()));
    let shape = Shape::from(vec![g.batch, g.c_out, g.out_h(), g.out_w()]);
    FlexTensor::new(Bytes::from_elems(out), Layout::contiguous(shape), x.dtype())
}

/// The input gradient of a stride-1, ungrouped convolution of `x_shape` by
/// `weight` `[c_out, c_in, k_h, k_w]`, given the output gradient `grad`:
/// the transposed convolution of `grad`, computed as the forward
/// convolution with the kernel turned by 180 degrees, channels swapped and
/// padding `dilation * (k - 1) - padding`. `None` where that does not hold
/// (strides, groups, padding beyond the kernel) or the path does not pay.
pub(crate) fn input_grad_tensors<T: ShiftedElement + burn_backend::Element + bytemuck::Pod>(
    x_shape: &[usize],
    weight: &FlexTensor,
    grad: &FlexTensor,
    options: &ConvOptions<2>,
) -> Option<FlexTensor> {
    let w_shape = weight.layout().shape();
    if options.groups != 1 || options.stride != [1, 1] || w_shape.len() != 4 {
        return None;
    }
    let (c_out, c_in, k_h, k_w) = (w_shape[0], w_shape[1], w_shape[2], w_shape[3]);
    let reach = [options.dilation[0] * (k_h.max(1) - 1), options.dilation[1] * (k_w.max(1) - 1)];
    if options.padding[0] > reach[0] || options.padding[1] > reach[1] {
        return None;
    }
    let forward = ConvOptions::new([1, 1], [reach[0] - options.padding[0], reach[1] - options.padding[1]], options.dilation, 1);
    let forward_shape = [c_in, c_out, k_h, k_w];
    let g = Shifted2d::of(grad.layout().shape(), &forward_shape, &forward)?;
    if [g.batch, g.c_out, g.out_h(), g.out_w()][..] != x_shape[..] {
        return None;
    }
    let weight = weight.to_contiguous();
    let turned = transposed_as_forward::<T>(weight.storage(), c_out, c_in, k_h, k_w);
    let turned = FlexTensor::new(Bytes::from_elems(turned), Layout::contiguous(Shape::from(forward_shape.to_vec())), weight.dtype());
    Some(forward_tensors::<T>(grad, &turned, None, &g))
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
    let weights = g.weights_by_step(w, zero);
    let (depth, lhs_len) = (g.depth(), g.c_out * g.depth());
    // Every element of `out` is written once by exactly one item (below),
    // so it is not cleared first; its length is set after all are written.
    let out_len = g.batch * g.c_out * oh * ow;
    let mut out: Vec<T> = Vec::with_capacity(out_len);
    let out_ptr = SendPtr(out.as_mut_ptr());
    for_each_item(g.items(), |item, scratch: &mut [Vec<T>; 3]| {
        let [input, spare, result] = scratch;
        let (b, r0, rows) = g.band(item);
        let row_stride = g.fill_gemm_band(x, (b, r0, rows), zero, input, spare);
        // The pixel run rounded up to whole vectors: gemm copies ("packs")
        // an operand whose run is not a multiple of its vector width before
        // every call, here the whole band once per kernel position. The
        // extra pixels read past the band's end (zeros appended for them)
        // or into its next rows, and land in result columns that are junk.
        let n = ((rows - 1) * wp + ow).next_multiple_of(WHOLE_VECTORS);
        let ld = (rows * wp).next_multiple_of(WHOLE_VECTORS);
        input.extend(core::iter::repeat_n(zero, WHOLE_VECTORS));
        // Not cleared: the first GEMM (`s == 0`, not reading dst) overwrites
        // the `c_out x n` it covers, and only that is read back.
        if result.len() < g.c_out * ld {
            result.resize(g.c_out * ld, zero);
        }
        for s in 0..g.steps() {
            // SAFETY: `result` holds c_out rows of `ld >= n` elements; the
            // weights hold c_out x depth at s * lhs_len; the input read ends
            // at step_offset(s) + (depth - 1) * row_stride + n - 1, which for
            // the last step is at most WHOLE_VECTORS - 1 past the band's last
            // element (see the module docs and `fill_gemm_band`), inside the
            // zeros appended to it.
            unsafe {
                gemm::gemm(
                    g.c_out,
                    n,
                    depth,
                    result.as_mut_ptr(),
                    1,
                    ld as isize,
                    s > 0,
                    weights.as_ptr().add(s * lhs_len),
                    1,
                    depth as isize,
                    input.as_ptr().add(g.step_offset(s)),
                    1,
                    row_stride as isize,
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
                // SAFETY: items write disjoint rows (image b, rows r0..r0 + rows)
                // of `out`'s capacity, through raw pointers (no reference to
                // the not yet initialised memory is made).
                unsafe {
                    let dst = out_ptr.get().add(dst);
                    match add {
                        Some(add) => src.iter().enumerate().for_each(|(i, &s)| dst.add(i).write(s + add)),
                        None => core::ptr::copy_nonoverlapping(src.as_ptr(), dst, ow),
                    }
                }
            }
        }
    });
    // SAFETY: the items cover every (image, output row) once and write all
    // `c_out x ow` values of each, so all `out_len` elements are initialised.
    unsafe { out.set_len(out_len) };
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

mod backward;
pub(crate) use backward::{bias_grad, conv2d_weight_grad_tensors};
#[cfg(test)]
use backward::{conv2d_weight_grad, plane_sum};

#[cfg(test)]
mod tests;
