//! EDSR and MDSR (Lim et al., CVPRW 2017). Inputs are RGB in [0, 1]; the
//! DIV2K mean is subtracted at the start and added back at the end.

use burn::nn::conv::Conv2d;
use burn::prelude::*;
use upres_kernels::{SrBackend, conv2d};

use crate::ColorSpace;
use crate::ModelError;
use crate::architecture::{Architecture, Network};
use crate::blocks::{ActivationKind, ResBlock, ResBlockSpec, See, Upsampler, conv, features_of, supports_subpixel_scale};
use crate::cost::{conv_macs, upsampler_macs};
use crate::reach::Reach;

#[derive(Config, Debug, PartialEq)]
pub struct EdsrConfig {
    #[config(default = 16)]
    pub resblocks: usize,
    #[config(default = 64)]
    pub features: usize,
    /// Residual scaling: 1 for the baseline, 0.1 for the paper-size EDSR.
    #[config(default = 1.0)]
    pub res_scale: f64,
    #[config(default = 2)]
    pub scale: usize,
    /// RGB mean subtracted before the network and added after (DIV2K's).
    #[config(default = "[0.4488, 0.4371, 0.4040]")]
    pub rgb_mean: [f64; 3],
}

impl EdsrConfig {
    /// EDSR-baseline: 16 blocks of 64 features (1.37M / 1.55M / 1.52M parameters).
    pub fn baseline(scale: usize) -> Self {
        Self::new().with_scale(scale)
    }
    /// The paper's EDSR: 32 blocks of 256 features, residual scaling 0.1.
    pub fn paper(scale: usize) -> Self {
        Self::new().with_scale(scale).with_resblocks(32).with_features(256).with_res_scale(0.1)
    }

    pub fn init<B: SrBackend>(&self, device: &B::Device) -> Edsr<B> {
        let f = self.features;
        Edsr {
            head: conv(3, f, 3, true, device),
            body: body_blocks(self.resblocks, f, 3, self.res_scale, device),
            body_tail: conv(f, f, 3, true, device),
            upsampler: Upsampler::new(self.scale, f, None, device),
            tail: conv(f, 3, 3, true, device),
            rgb_mean: self.rgb_mean,
        }
    }
}

fn body_blocks<B: SrBackend>(n: usize, f: usize, kernel: usize, res_scale: f64, device: &B::Device) -> Vec<ResBlock<B>> {
    let spec = ResBlockSpec { channels: f, kernel, batch_norm: false, activation: ActivationKind::Relu, channel_attention: false, res_scale };
    (0..n).map(|_| spec.init(device)).collect()
}

fn shift_mean<B: SrBackend>(x: Tensor<B, 4>, mean: [f64; 3], sign: f32) -> Tensor<B, 4> {
    let m = Tensor::<B, 1>::from_floats([mean[0] as f32 * sign, mean[1] as f32 * sign, mean[2] as f32 * sign], &x.device());
    let m = crate::blocks::in_dtype(m, x.dtype());
    x + m.reshape([1, 3, 1, 1])
}

#[derive(Module, Debug)]
pub struct Edsr<B: SrBackend> {
    pub head: Conv2d<B>,
    pub body: Vec<ResBlock<B>>,
    pub body_tail: Conv2d<B>,
    pub upsampler: Upsampler<B>,
    pub tail: Conv2d<B>,
    #[module(skip)]
    pub rgb_mean: [f64; 3],
}

impl<B: SrBackend> Edsr<B> {
    /// `x`: LR RGB `[N, 3, H, W]` in [0, 1]; returns `[N, 3, sH, sW]`.
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        self.forward_with(x, &mut |_, _| {})
    }

    /// The head's and each residual block's activations, then the output.
    pub fn forward_features(&self, x: Tensor<B, 4>) -> Vec<(String, Tensor<B, 4>)> {
        features_of(|see| self.forward_with(x, see))
    }

    /// The forward pass, showing each activation to `see`: only the head's
    /// (for the long skip) and the current block's stay alive.
    fn forward_with(&self, x: Tensor<B, 4>, see: See<'_, B>) -> Tensor<B, 4> {
        let head = conv2d(&self.head, shift_mean(x, self.rgb_mean, -1.0));
        see("head".to_string(), &head);
        let mut h = head.clone();
        for (i, block) in self.body.iter().enumerate() {
            h = block.forward(h);
            see(format!("block{:02}", i + 1), &h);
        }
        let h = conv2d(&self.body_tail, h) + head;
        shift_mean(conv2d(&self.tail, self.upsampler.forward(h)), self.rgb_mean, 1.0)
    }
}

/// MDSR: one shared body, per-scale pre-processing (two 5x5 residual blocks)
/// and per-scale upsamplers.
#[derive(Config, Debug, PartialEq)]
pub struct MdsrConfig {
    /// 16 in the baseline MDSR, 80 in the paper's.
    #[config(default = 16)]
    pub resblocks: usize,
    #[config(default = 64)]
    pub features: usize,
    #[config(default = "vec![2, 3, 4]")]
    pub scales: Vec<usize>,
    #[config(default = "[0.4488, 0.4371, 0.4040]")]
    pub rgb_mean: [f64; 3],
}

impl MdsrConfig {
    pub fn init<B: SrBackend>(&self, device: &B::Device) -> Mdsr<B> {
        let f = self.features;
        Mdsr {
            head: conv(3, f, 3, true, device),
            pre_process: self.scales.iter().map(|_| body_blocks(2, f, 5, 1.0, device)).collect(),
            body: body_blocks(self.resblocks, f, 3, 1.0, device),
            body_tail: conv(f, f, 3, true, device),
            upsamplers: self.scales.iter().map(|&s| Upsampler::new(s, f, None, device)).collect(),
            tail: conv(f, 3, 3, true, device),
            scales: self.scales.clone(),
            rgb_mean: self.rgb_mean,
        }
    }
}

#[derive(Module, Debug)]
pub struct Mdsr<B: SrBackend> {
    pub head: Conv2d<B>,
    pub pre_process: Vec<Vec<ResBlock<B>>>,
    pub body: Vec<ResBlock<B>>,
    pub body_tail: Conv2d<B>,
    pub upsamplers: Vec<Upsampler<B>>,
    pub tail: Conv2d<B>,
    #[module(skip)]
    pub scales: Vec<usize>,
    #[module(skip)]
    pub rgb_mean: [f64; 3],
}

impl<B: SrBackend> Mdsr<B> {
    /// `scale` must be one of the configured scales (checked by [`crate::SrModel`]).
    pub fn forward(&self, x: Tensor<B, 4>, scale: usize) -> Tensor<B, 4> {
        let idx = self.scales.iter().position(|&s| s == scale).expect("scale checked by the caller");
        let mut h = conv2d(&self.head, shift_mean(x, self.rgb_mean, -1.0));
        for block in &self.pre_process[idx] {
            h = block.forward(h);
        }
        let skip = h.clone();
        for block in &self.body {
            h = block.forward(h);
        }
        let h = conv2d(&self.body_tail, h) + skip;
        shift_mean(conv2d(&self.tail, self.upsamplers[idx].forward(h)), self.rgb_mean, 1.0)
    }
}

impl Architecture for EdsrConfig {
    type Network<B: SrBackend> = Edsr<B>;

    fn validate(&self) -> Result<(), ModelError> {
        if !supports_subpixel_scale(self.scale) {
            return Err(ModelError::InvalidConfig(format!("EDSR supports x2, x3, x4 and x8, not x{}", self.scale)));
        }
        Ok(())
    }

    fn build<B: SrBackend>(&self, device: &B::Device) -> Edsr<B> {
        self.init(device)
    }

    fn color_space(&self) -> ColorSpace {
        ColorSpace::Rgb
    }

    fn network_scales(&self) -> Option<Vec<usize>> {
        Some(vec![self.scale])
    }

    fn macs_per_lr_pixel_at(&self, _scale: usize) -> u64 {
        let f = self.features;
        conv_macs(3, f, 3)
            + (2 * self.resblocks as u64 + 1) * conv_macs(f, f, 3)
            + upsampler_macs(f, self.scale)
            + (self.scale * self.scale) as u64 * conv_macs(f, 3, 3)
    }

    fn receptive_radius_at(&self, _scale: usize) -> Option<usize> {
        // 3x3 tail at the output size, the upsampler, body tail, 2 per block, head.
        let tail = Reach::default().convs(1, 3).subpixel_upsampler(self.scale);
        Some(tail.convs(2 * self.resblocks + 2, 3).pixels())
    }
}

impl<B: SrBackend> Network<B> for Edsr<B> {
    fn forward(&self, x: Tensor<B, 4>, _scale: usize) -> Tensor<B, 4> {
        Edsr::forward(self, x)
    }

    fn forward_features(&self, x: Tensor<B, 4>, _scale: usize) -> Vec<(String, Tensor<B, 4>)> {
        Edsr::forward_features(self, x)
    }
}

impl Architecture for MdsrConfig {
    type Network<B: SrBackend> = Mdsr<B>;

    fn validate(&self) -> Result<(), ModelError> {
        if self.scales.is_empty() {
            return Err(ModelError::InvalidConfig("MDSR needs at least one scale".into()));
        }
        if let Some(s) = self.scales.iter().find(|s| !supports_subpixel_scale(**s)) {
            return Err(ModelError::InvalidConfig(format!("MDSR supports x2, x3, x4 and x8, not x{s}")));
        }
        Ok(())
    }

    fn build<B: SrBackend>(&self, device: &B::Device) -> Mdsr<B> {
        self.init(device)
    }

    fn color_space(&self) -> ColorSpace {
        ColorSpace::Rgb
    }

    fn network_scales(&self) -> Option<Vec<usize>> {
        Some(self.scales.clone())
    }

    fn macs_per_lr_pixel_at(&self, scale: usize) -> u64 {
        let f = self.features;
        let scale = if self.scales.contains(&scale) { scale } else { self.scales[0] };
        conv_macs(3, f, 3)
            + 4 * conv_macs(f, f, 5)
            + (2 * self.resblocks as u64 + 1) * conv_macs(f, f, 3)
            + upsampler_macs(f, scale)
            + (scale * scale) as u64 * conv_macs(f, 3, 3)
    }

    fn receptive_radius_at(&self, scale: usize) -> Option<usize> {
        // As EDSR at this scale's upsampler, plus its two 5x5 pre-process blocks.
        let tail = Reach::default().convs(1, 3).subpixel_upsampler(scale);
        Some(tail.convs(2 * self.resblocks + 2, 3).convs(4, 5).pixels())
    }
}

impl<B: SrBackend> Network<B> for Mdsr<B> {
    fn forward(&self, x: Tensor<B, 4>, scale: usize) -> Tensor<B, 4> {
        Mdsr::forward(self, x, scale)
    }
}
