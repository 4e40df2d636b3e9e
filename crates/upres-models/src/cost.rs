//! Multiply-adds per low-resolution input pixel: what a network costs to
//! run, counted from its config (convolutions only; activations, adds and
//! pixel shuffles are a rounding error next to them). Networks that take a
//! bicubic-upscaled input run at the output resolution, so they cost
//! `scale^2` times their per-pixel count per LR pixel.

use crate::model::ModelConfig;

/// A `k x k` convolution from `cin` to `cout` channels, per pixel it produces.
fn conv(cin: usize, cout: usize, k: usize) -> u64 {
    (cin * cout * k * k) as u64
}

/// EDSR's sub-pixel upsampler: x3 is one conv at the LR size; powers of two
/// are x2 steps, each at four times the pixels of the one before.
fn upsampler(features: usize, scale: usize) -> u64 {
    if scale == 3 {
        return conv(features, 9 * features, 3);
    }
    (0..scale.trailing_zeros()).map(|step| 4u64.pow(step) * conv(features, 4 * features, 3)).sum()
}

impl ModelConfig {
    /// Multiply-adds per LR pixel at `scale` (for a network with one scale,
    /// its own scale is used whatever `scale` says).
    pub fn macs_per_lr_pixel(&self, scale: usize) -> u64 {
        let s2 = |s: usize| (s * s) as u64;
        match self {
            ModelConfig::Srcnn(c) => {
                let [n1, n2] = c.features;
                let [k1, k2, k3] = c.kernels;
                let block = if c.residual_blocks { 2 } else { 1 };
                let middle = conv(n1, n2, k2) + (c.depth as u64 - 1) * block * conv(n2, n2, k2);
                let lr = conv(c.channels, n1, k1) + middle;
                match c.upsample {
                    Some(r) => lr + upsampler(n2, r) + s2(r) * conv(n2, c.channels, k3),
                    None => s2(scale) * (lr + conv(n2, c.channels, k3)),
                }
            }
            ModelConfig::Vdsr(c) => {
                let (f, ch) = (c.features, c.channels);
                s2(scale) * (conv(ch, f, 3) + (c.layers as u64 - 2) * conv(f, f, 3) + conv(f, ch, 3))
            }
            ModelConfig::Edsr(c) => {
                let f = c.features;
                conv(3, f, 3) + (2 * c.resblocks as u64 + 1) * conv(f, f, 3) + upsampler(f, c.scale) + s2(c.scale) * conv(f, 3, 3)
            }
            ModelConfig::Mdsr(c) => {
                let f = c.features;
                let scale = if c.scales.contains(&scale) { scale } else { c.scales[0] };
                conv(3, f, 3) + 4 * conv(f, f, 5) + (2 * c.resblocks as u64 + 1) * conv(f, f, 3) + upsampler(f, scale) + s2(scale) * conv(f, 3, 3)
            }
            ModelConfig::Srresnet(c) => {
                let f = c.features;
                conv(3, f, 9) + (2 * c.blocks as u64 + 1) * conv(f, f, 3) + upsampler(f, c.scale) + s2(c.scale) * conv(f, 3, 9)
            }
            ModelConfig::Fsrcnn(c) => c.macs_per_lr_pixel(),
            ModelConfig::Sesr(c) => c.macs_per_lr_pixel(),
        }
    }
}
