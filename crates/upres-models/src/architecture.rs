//! What each architecture says about itself, implemented once in its own
//! file. The table in `model.rs` lists the architectures once and generates
//! [`crate::ModelConfig`], [`crate::SrModel`] and their dispatch from it, so
//! adding a network is one file plus one line there.

use burn::prelude::*;
use upres_image::{ColorSpace, InputKind};
use upres_kernels::SrBackend;

use crate::ModelError;

/// The facts of an architecture that follow from its config alone.
pub trait Architecture {
    /// The network this config builds.
    type Network<B: SrBackend>: Network<B>;

    /// A clear error for hyper-parameters the network cannot have; checked
    /// before it is built and when a weights file is read.
    fn validate(&self) -> Result<(), ModelError>;

    /// Build the network with freshly initialised weights (already validated).
    fn build<B: SrBackend>(&self, device: &B::Device) -> Self::Network<B>;

    /// What the network reads: the LR image, unless it works at the output
    /// resolution on a bicubic-upscaled input.
    fn input_kind(&self) -> InputKind {
        InputKind::LowRes
    }

    fn color_space(&self) -> ColorSpace;

    /// The scales the network itself produces, or `None` when it takes a
    /// bicubic-upscaled input and so runs at any scale.
    fn network_scales(&self) -> Option<Vec<usize>>;

    /// Multiply-adds per LR pixel at `scale` (a network with one scale uses
    /// its own whatever `scale` says), convolutions only.
    fn macs_per_lr_pixel_at(&self, scale: usize) -> u64;

    /// How far an output pixel reads around the input pixel it lies over,
    /// in network-input pixels, at `scale` (see `reach.rs`); `None` when a
    /// layer reads the whole image (channel attention's global pooling), so
    /// that no overlap makes tiles exact.
    fn receptive_radius_at(&self, scale: usize) -> Option<usize>;
}

/// A built network, as the rest of upres runs it.
pub trait Network<B: SrBackend> {
    /// `x`: `[N, C, H, W]` in [0, 1]; `scale` selects a multi-scale
    /// network's branch (already checked), the others ignore it.
    fn forward(&self, x: Tensor<B, 4>, scale: usize) -> Tensor<B, 4>;

    /// Named intermediate activations, ending with the output; networks
    /// without a layer-by-layer view show only the output.
    fn forward_features(&self, x: Tensor<B, 4>, scale: usize) -> Vec<(String, Tensor<B, 4>)> {
        vec![("output".to_string(), self.forward(x, scale))]
    }
}

/// Colour space from a channel count (1: Y, otherwise RGB).
pub(crate) fn color_of(channels: usize) -> ColorSpace {
    if channels == 1 { ColorSpace::Y } else { ColorSpace::Rgb }
}
