//! The trait's defaults that burn has no single operation for, composed of
//! burn operations: PReLU's backward pass (the values burn-autodiff's own
//! differentiation of `prelu`, a comparison, a multiply and a `mask_where`,
//! gives) and batch norm's per-channel moments and scale-and-shift (what
//! burn's `BatchNorm` computes with broadcasts).

use burn_backend::tensor::FloatTensor;
use burn_backend::{Backend, TensorMetadata, get_device_settings};

/// `(d/dx, d/dalpha)` of `prelu(x, alpha)` given the output gradient `grad`.
pub(crate) fn prelu_backward<B: Backend>(x: FloatTensor<B>, alpha: FloatTensor<B>, grad: FloatTensor<B>) -> (FloatTensor<B>, FloatTensor<B>) {
    let bool_dtype = get_device_settings::<B>(&B::float_device(&x)).bool_dtype;
    let alpha_shape = alpha.shape();
    let negative = B::float_lower_elem(x.clone(), 0f32.into(), bool_dtype);
    let scaled = B::float_mul(grad.clone(), alpha);
    let x_grad = B::float_mask_where(grad.clone(), negative, scaled);

    let negative_part = B::float_clamp_max(x, 0f32.into());
    let mut alpha_grad = B::float_mul(grad, negative_part);
    let shape = alpha_grad.shape();
    for (dim, (&size, &alpha_size)) in shape.as_slice().iter().zip(alpha_shape.as_slice()).enumerate() {
        if alpha_size == 1 && size != 1 {
            alpha_grad = B::float_sum_dim(alpha_grad, dim);
        }
    }
    (x_grad, B::float_reshape(alpha_grad, alpha_shape))
}

/// `[C]` as `[1, C, 1, 1]`, to broadcast over an NCHW batch.
fn per_channel<B: Backend>(v: FloatTensor<B>) -> FloatTensor<B> {
    let channels = v.shape()[0];
    B::float_reshape(v, [1, channels, 1, 1].into())
}

/// The sum over batch and pixels of each channel of an NCHW tensor, `[C]`.
fn channel_sums<B: Backend>(t: FloatTensor<B>) -> FloatTensor<B> {
    let [n, c, h, w] = t.shape().dims();
    let t = B::float_reshape(B::float_swap_dims(t, 0, 1), [c, n * h * w].into());
    B::float_reshape(B::float_sum_dim(t, 1), [c].into())
}

/// `x * scale[c] + shift[c]`.
pub(crate) fn channel_affine<B: Backend>(x: FloatTensor<B>, scale: FloatTensor<B>, shift: FloatTensor<B>) -> FloatTensor<B> {
    B::float_add(B::float_mul(x, per_channel::<B>(scale)), per_channel::<B>(shift))
}

/// The gradients of [`channel_affine`]: of `x`, `scale` and `shift`.
pub(crate) fn channel_affine_backward<B: Backend>(
    x: FloatTensor<B>,
    scale: FloatTensor<B>,
    grad: FloatTensor<B>,
) -> (FloatTensor<B>, FloatTensor<B>, FloatTensor<B>) {
    let dx = B::float_mul(grad.clone(), per_channel::<B>(scale));
    let dscale = channel_sums::<B>(B::float_mul(grad.clone(), x));
    (dx, dscale, channel_sums::<B>(grad))
}

/// `[2, C]`: each channel's mean and biased variance over batch and pixels.
pub(crate) fn channel_moments<B: Backend>(x: FloatTensor<B>) -> FloatTensor<B> {
    let [n, c, h, w] = x.shape().dims();
    let count = (n * h * w) as f32;
    let mean = B::float_div_scalar(channel_sums::<B>(x.clone()), count.into());
    let centered = B::float_sub(x, per_channel::<B>(mean.clone()));
    let var = B::float_div_scalar(channel_sums::<B>(B::float_mul(centered.clone(), centered)), count.into());
    B::float_cat(vec![B::float_reshape(mean, [1, c].into()), B::float_reshape(var, [1, c].into())], 0)
}
