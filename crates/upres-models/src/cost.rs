//! Multiply-adds per low-resolution input pixel: what a network costs to
//! run, counted from its config by each architecture's
//! `Architecture::macs_per_lr_pixel_at` with these helpers (convolutions only; activations, adds and
//! pixel shuffles are a rounding error next to them). Networks that take a
//! bicubic-upscaled input run at the output resolution, so they cost
//! `scale^2` times their per-pixel count per LR pixel.

/// A `k x k` convolution from `cin` to `cout` channels, per pixel it produces.
pub(crate) fn conv_macs(cin: usize, cout: usize, k: usize) -> u64 {
    (cin * cout * k * k) as u64
}

/// EDSR's sub-pixel upsampler: x3 is one conv at the LR size; powers of two
/// are x2 steps, each at four times the pixels of the one before.
pub(crate) fn upsampler_macs(features: usize, scale: usize) -> u64 {
    if scale == 3 {
        return conv_macs(features, 9 * features, 3);
    }
    (0..scale.trailing_zeros()).map(|step| 4u64.pow(step) * conv_macs(features, 4 * features, 3)).sum()
}
