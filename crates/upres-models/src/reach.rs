//! How far a network reads: its receptive radius in network-input pixels,
//! counted from its config by each architecture's
//! `Architecture::receptive_radius_at` with [`Reach`]. An output pixel
//! depends only on the input pixels within that many pixels (along each
//! axis) of the input pixel it lies over, so a tile's output is exactly the
//! whole image's wherever it lies at least that far inside the tile; the
//! tiles' default overlap is made from it (`upres_image::UpscaleRequest::overlap_for_radius`).

/// A receptive radius, walked from the network's output back to its input:
/// each convolution widens it at the resolution it runs at, and each
/// upscaling step divides it by its factor on the way down.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Reach(usize);

impl Reach {
    /// `count` stride-1 `k x k` convolutions with same padding, at the
    /// resolution the walk is at.
    pub(crate) fn convs(self, count: usize, k: usize) -> Self {
        Self(self.0 + count * (k / 2))
    }

    /// Back through an upscaling by `factor` (a pixel shuffle, or the stride
    /// of a transposed convolution, whose kernel is counted as a convolution
    /// at the larger size): `d` pixels above are within `ceil(d / factor)`
    /// pixels below, wherever in its `factor x factor` block a pixel lies.
    pub(crate) fn upscaled(self, factor: usize) -> Self {
        Self(self.0.div_ceil(factor))
    }

    /// Back through EDSR's sub-pixel upsampler (one 3x3 convolution before
    /// each shuffle: x3 in one step, powers of two in x2 steps).
    pub(crate) fn subpixel_upsampler(self, scale: usize) -> Self {
        if scale == 3 {
            return self.upscaled(3).convs(1, 3);
        }
        (0..scale.trailing_zeros()).fold(self, |reach, _| reach.upscaled(2).convs(1, 3))
    }

    pub(crate) fn pixels(self) -> usize {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_upscaled_reach_rounds_up() {
        // A 3x3 convolution after a x2 shuffle reads the LR pixel below and
        // one neighbour; after x3 still one; 9x9 after x2 (FSRCNN's tail) two.
        assert_eq!(Reach::default().convs(1, 3).upscaled(2).pixels(), 1);
        assert_eq!(Reach::default().convs(1, 3).upscaled(3).pixels(), 1);
        assert_eq!(Reach::default().convs(1, 9).upscaled(2).pixels(), 2);
        assert_eq!(Reach::default().convs(1, 1).upscaled(4).pixels(), 0);
        // x4 upsampler: tail (1 at x4) -> 1 at x2, its conv -> 2 -> 1 at x1, its conv -> 2.
        assert_eq!(Reach::default().convs(1, 3).subpixel_upsampler(4).pixels(), 2);
    }

    #[test]
    fn the_papers_networks_read_as_far_as_their_papers_say() {
        let radius = |name: &str, scale: usize| crate::ModelConfig::preset(name, scale).unwrap().receptive_radius(scale);
        // SRCNN 9-1-5: a 13x13 receptive field (Dong et al. 2014); 9-5-5: 17x17.
        assert_eq!(radius("srcnn-915", 3), Some(6));
        assert_eq!(radius("srcnn", 3), Some(8));
        // VDSR: 20 layers, 41x41 (Kim et al. 2016).
        assert_eq!(radius("vdsr", 2), Some(20));
        // SESR: 5x5, m 3x3, 5x5 at the LR size.
        assert_eq!(radius("sesr-m5", 2), Some(9));
        assert_eq!(radius("sesr-m11", 4), Some(15));
        assert_eq!(radius("sesr-xl", 2), Some(15));
        // FSRCNN: 5x5, four 3x3, and the 9x9 deconvolution's 4 output pixels
        // are 2 LR pixels at x2 and x3, 1 at x4.
        assert_eq!(radius("fsrcnn", 2), Some(8));
        assert_eq!(radius("fsrcnn", 3), Some(8));
        assert_eq!(radius("fsrcnn", 4), Some(7));
        // EDSR-baseline: head, 16 blocks of two, body tail (34), the
        // upsampler's conv and the tail's (2 at x2 and at x4).
        assert_eq!(radius("edsr-baseline", 2), Some(36));
        assert_eq!(radius("edsr-baseline", 4), Some(36));
        // MDSR adds two 5x5 residual blocks per scale (8).
        assert_eq!(radius("mdsr", 3), Some(44));
        // SRResNet: 9x9 head and tail, 16 blocks of two 3x3 and one more; the
        // tail's 4 output pixels are 2 at x2, its conv makes 3, which are 2
        // LR pixels, and the upsampler's first conv 3.
        assert_eq!(radius("srresnet", 4), Some(4 + 33 + 3));
    }

    #[test]
    fn channel_attention_reads_the_whole_image() {
        let mut config = crate::srcnn::SrcnnConfig::srcnn_955();
        config.channel_attention = true;
        assert_eq!(crate::ModelConfig::Srcnn(config).receptive_radius(2), None);
    }
}
