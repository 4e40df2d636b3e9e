//! Elementwise passes split over rayon's threads when a tensor is large.
//!
//! Flex ran every elementwise operation (binary, unary, scalar, mask_where)
//! on the calling thread, so in a network of small convolutions, whose
//! GEMMs are parallel, the activations, residual adds and their gradients
//! held one core while the others waited. A pass is now cut into chunks of
//! [`CHUNK`] elements, each chunk run by one task; each element is computed
//! by the same code as before, so results are unchanged.

/// Elements per task (128 KB of f32). A tensor under two chunks stays on
/// the calling thread: rayon's dispatch would cost more than it saves. So
/// does every tensor when rayon has one thread (measured: a 16-channel
/// training step 2-7% slower through rayon's single-thread dispatch).
pub(crate) const CHUNK: usize = 1 << 15;

/// Run `f(offset, chunk)` over `dst` in chunks whose lengths are multiples
/// of `align` (rows, for a per-row operation), on rayon's threads when
/// `dst` is large; `offset` is the chunk's first index in `dst`.
pub(crate) fn chunks_mut<T: Send>(dst: &mut [T], align: usize, f: impl Fn(usize, &mut [T]) + Sync + Send) {
    let chunk = CHUNK.div_ceil(align.max(1)) * align.max(1);
    #[cfg(feature = "rayon")]
    if dst.len() >= 2 * chunk && rayon::current_num_threads() > 1 {
        use rayon::prelude::*;
        dst.par_chunks_mut(chunk).enumerate().for_each(|(i, part)| f(i * chunk, part));
        return;
    }
    let _ = chunk;
    f(0, dst);
}

/// `dst[i] = op(src[i])` for every `i`, by [`chunks_mut`].
pub(crate) fn map_into<T: Copy + Sync, U: Send>(src: &[T], dst: &mut [U], op: impl Fn(T) -> U + Sync + Send) {
    debug_assert_eq!(src.len(), dst.len());
    chunks_mut(dst, 1, |offset, part| {
        for (d, &s) in part.iter_mut().zip(&src[offset..]) {
            *d = op(s);
        }
    });
}

#[cfg(test)]
mod tests {
    //! Each parallel path against a loop on the host, at a size that takes
    //! it (more than two chunks, and not a whole number of chunks or rows),
    //! for an input the op may overwrite (unique) and one it may not.
    use alloc::vec::Vec;

    use burn_backend::ops::{ActivationOps, FloatTensorOps};
    use burn_backend::{DType, TensorData};

    use crate::ops::test_values as values;
    use crate::{Flex, FlexTensor};

    const SHAPE: [usize; 4] = [3, 5, 131, 141];

    fn tensor(v: &[f32], shape: &[usize]) -> FlexTensor {
        FlexTensor::from_data(TensorData::new(v.to_vec(), shape.to_vec()))
    }

    fn read(t: FlexTensor) -> Vec<f32> {
        assert_eq!(t.dtype(), DType::F32);
        t.into_data().to_vec::<f32>().unwrap()
    }

    fn numel() -> usize {
        SHAPE.iter().product()
    }

    /// `op` on a tensor nothing else holds and on one that is shared.
    fn both_ways(v: &[f32], op: impl Fn(FlexTensor) -> FlexTensor) -> [Vec<f32>; 2] {
        let unique = read(op(tensor(v, &SHAPE)));
        let held = tensor(v, &SHAPE);
        let shared = read(op(held.clone()));
        assert_eq!(read(held), v, "the shared input was overwritten");
        [unique, shared]
    }

    #[test]
    fn same_shape_binary_ops_match_the_host() {
        assert!(numel() > 2 * super::CHUNK && numel() % super::CHUNK != 0);
        let (a, b) = (values(numel(), 1), values(numel(), 2));
        for got in both_ways(&a, |t| Flex::float_add(t, tensor(&b, &SHAPE))) {
            assert!(got.iter().zip(&a).zip(&b).all(|((g, x), y)| *g == x + y));
        }
        for got in both_ways(&a, |t| Flex::float_powf(t, tensor(&b, &SHAPE).clone())) {
            assert!(got.iter().zip(&a).zip(&b).all(|((g, x), y)| g.to_bits() == x.powf(*y).to_bits()));
        }
    }

    #[test]
    fn per_channel_ops_match_the_host() {
        let a = values(numel(), 3);
        let slopes = values(SHAPE[1], 4);
        let plane = SHAPE[2] * SHAPE[3];
        let channel = |i: usize| (i / plane) % SHAPE[1];
        let per_channel = || tensor(&slopes, &[1, SHAPE[1], 1, 1]);
        for got in both_ways(&a, |t| Flex::float_mul(t, per_channel())) {
            assert!(got.iter().enumerate().all(|(i, g)| *g == a[i] * slopes[channel(i)]));
        }
        for got in both_ways(&a, |t| Flex::prelu(t, per_channel())) {
            let want = |i: usize| if a[i] >= 0.0 { a[i] } else { a[i] * slopes[channel(i)] };
            assert!(got.iter().enumerate().all(|(i, g)| *g == want(i)));
        }
        // A row shared by every outer position (the last dim broadcast).
        let row = values(SHAPE[3], 5);
        for got in both_ways(&a, |t| Flex::float_sub(t, tensor(&row, &[1, 1, 1, SHAPE[3]]))) {
            assert!(got.iter().enumerate().all(|(i, g)| *g == a[i] - row[i % SHAPE[3]]));
        }
    }

    #[test]
    fn unary_scalar_and_mask_ops_match_the_host() {
        let a = values(numel(), 6);
        for got in both_ways(&a, |t| Flex::float_clamp_max(t, 0.25f32.into())) {
            assert!(got.iter().zip(&a).all(|(g, x)| *g == x.min(0.25)));
        }
        for got in both_ways(&a, |t| Flex::float_mul_scalar(t, 3.0f32.into())) {
            assert!(got.iter().zip(&a).all(|(g, x)| *g == x * 3.0));
        }
        let b = values(numel(), 7);
        for got in both_ways(&a, |t| {
            let mask = Flex::float_lower_elem(tensor(&a, &SHAPE), 0f32.into(), burn_std::BoolDType::Native);
            Flex::float_mask_where(t, mask, tensor(&b, &SHAPE))
        }) {
            assert!(got.iter().enumerate().all(|(i, g)| *g == if a[i] < 0.0 { b[i] } else { a[i] }));
        }
    }
}
