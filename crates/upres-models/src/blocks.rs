//! Building blocks shared by several networks.

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, LeakyRelu, LeakyReluConfig, PRelu, PReluConfig, PaddingConfig2d, Relu};
use burn::prelude::*;
use burn::tensor::activation::sigmoid;
use upres_kernels::{SrBackend, conv2d};

/// A `kernel x kernel` convolution with "same" zero padding (odd kernels).
pub fn conv<B: SrBackend>(in_ch: usize, out_ch: usize, kernel: usize, bias: bool, device: &B::Device) -> Conv2d<B> {
    let p = kernel / 2;
    Conv2dConfig::new([in_ch, out_ch], [kernel, kernel]).with_padding(PaddingConfig2d::Explicit(p, p, p, p)).with_bias(bias).init(device)
}

/// Rearrange `[N, C*r*r, H, W]` into `[N, C, H*r, W*r]` (PyTorch's `PixelShuffle`).
pub fn pixel_shuffle<B: Backend>(x: Tensor<B, 4>, r: usize) -> Tensor<B, 4> {
    let [n, c, h, w] = x.dims();
    let oc = c / (r * r);
    x.reshape([n, oc, r, r, h, w]).permute([0, 1, 4, 2, 5, 3]).reshape([n, oc, h * r, w * r])
}

/// Which nonlinearity a network uses.
#[derive(Config, Debug, PartialEq)]
pub enum ActivationKind {
    Relu,
    /// Leaky ReLU with this negative slope.
    LeakyRelu(f64),
    /// PReLU with one learnt slope per channel (`per_channel`) or one in all.
    PRelu {
        per_channel: bool,
    },
}

#[derive(Module, Debug)]
pub enum Activation<B: SrBackend> {
    Relu(Relu),
    LeakyRelu(LeakyRelu),
    PRelu(PRelu<B>),
}

impl ActivationKind {
    pub fn init<B: SrBackend>(&self, channels: usize, device: &B::Device) -> Activation<B> {
        match self {
            ActivationKind::Relu => Activation::Relu(Relu::new()),
            ActivationKind::LeakyRelu(slope) => Activation::LeakyRelu(LeakyReluConfig::new().with_negative_slope(*slope).init()),
            ActivationKind::PRelu { per_channel } => {
                Activation::PRelu(PReluConfig::new().with_num_parameters(if *per_channel { channels } else { 1 }).init(device))
            }
        }
    }
}

impl<B: SrBackend> Activation<B> {
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        match self {
            Activation::Relu(a) => a.forward(x),
            Activation::LeakyRelu(a) => a.forward(x),
            Activation::PRelu(a) => upres_kernels::prelu(a, x),
        }
    }
}

/// Squeeze-and-excitation channel attention (RCAN's CA layer).
#[derive(Module, Debug)]
pub struct ChannelAttention<B: SrBackend> {
    pub squeeze: Conv2d<B>,
    pub excite: Conv2d<B>,
}

impl<B: SrBackend> ChannelAttention<B> {
    pub fn new(channels: usize, reduction: usize, device: &B::Device) -> Self {
        let hidden = (channels / reduction).max(1);
        Self { squeeze: conv(channels, hidden, 1, true, device), excite: conv(hidden, channels, 1, true, device) }
    }
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let pooled = x.clone().mean_dim(2).mean_dim(3);
        let w = sigmoid(conv2d(&self.excite, burn::tensor::activation::relu(conv2d(&self.squeeze, pooled))));
        x * w
    }
}

/// conv - [BN] - act - conv - [BN], scaled and added to the input
/// (EDSR's block without BN, SRResNet's with it).
#[derive(Module, Debug)]
pub struct ResBlock<B: SrBackend> {
    pub conv1: Conv2d<B>,
    pub bn1: Option<BatchNorm<B>>,
    pub act: Activation<B>,
    pub conv2: Conv2d<B>,
    pub bn2: Option<BatchNorm<B>>,
    pub attention: Option<ChannelAttention<B>>,
    pub res_scale: f64,
}

/// How to build a [`ResBlock`].
#[derive(Debug, Clone)]
pub struct ResBlockSpec {
    pub channels: usize,
    pub kernel: usize,
    pub batch_norm: bool,
    pub activation: ActivationKind,
    pub channel_attention: bool,
    pub res_scale: f64,
}

impl ResBlockSpec {
    pub fn init<B: SrBackend>(&self, device: &B::Device) -> ResBlock<B> {
        let c = self.channels;
        let bn = || self.batch_norm.then(|| BatchNormConfig::new(c).init(device));
        ResBlock {
            conv1: conv(c, c, self.kernel, true, device),
            bn1: bn(),
            act: self.activation.init(c, device),
            conv2: conv(c, c, self.kernel, true, device),
            bn2: bn(),
            attention: self.channel_attention.then(|| ChannelAttention::new(c, 16, device)),
            res_scale: self.res_scale,
        }
    }
}

fn maybe_bn<B: SrBackend>(bn: &Option<BatchNorm<B>>, x: Tensor<B, 4>) -> Tensor<B, 4> {
    match bn {
        Some(bn) => upres_kernels::batch_norm(bn, x),
        None => x,
    }
}

impl<B: SrBackend> ResBlock<B> {
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let y = self.act.forward(maybe_bn(&self.bn1, conv2d(&self.conv1, x.clone())));
        let mut y = maybe_bn(&self.bn2, conv2d(&self.conv2, y));
        if let Some(ca) = &self.attention {
            y = ca.forward(y);
        }
        if self.res_scale != 1.0 {
            y = y.mul_scalar(self.res_scale);
        }
        x + y
    }
}

/// Sub-pixel upsampler: log2(scale) x (conv C->4C, shuffle x2) for powers of
/// two, or conv C->9C, shuffle x3 for x3; optionally an activation after each.
#[derive(Module, Debug)]
pub struct Upsampler<B: SrBackend> {
    pub convs: Vec<Conv2d<B>>,
    pub acts: Vec<Activation<B>>,
    pub factor: usize,
}

impl<B: SrBackend> Upsampler<B> {
    pub fn new(scale: usize, channels: usize, activation: Option<&ActivationKind>, device: &B::Device) -> Self {
        let (factor, steps) = if scale == 3 { (3, 1) } else { (2, scale.trailing_zeros() as usize) };
        debug_assert!(scale == 3 || scale.is_power_of_two(), "checked by the model config");
        Self {
            convs: (0..steps).map(|_| conv(channels, channels * factor * factor, 3, true, device)).collect(),
            acts: activation.map(|a| (0..steps).map(|_| a.init(channels, device)).collect()).unwrap_or_default(),
            factor,
        }
    }
    pub fn forward(&self, mut x: Tensor<B, 4>) -> Tensor<B, 4> {
        for (i, conv) in self.convs.iter().enumerate() {
            x = pixel_shuffle(conv2d(conv, x), self.factor);
            if let Some(act) = self.acts.get(i) {
                x = act.forward(x);
            }
        }
        x
    }
}

pub fn supports_subpixel_scale(scale: usize) -> bool {
    scale == 3 || (scale >= 2 && scale.is_power_of_two())
}

/// Where a network's forward pass shows each intermediate activation, named.
pub type See<'a, B> = &'a mut dyn FnMut(String, &Tensor<B, 4>);

/// `forward_features` of a network written as `forward_with(x, see)`: every
/// activation it shows, then the output. Its plain `forward` passes a `see`
/// that keeps nothing, so inference holds no activation longer than it needs.
pub fn features_of<B: SrBackend>(forward_with: impl FnOnce(See<'_, B>) -> Tensor<B, 4>) -> Vec<(String, Tensor<B, 4>)> {
    let mut out = Vec::new();
    let y = forward_with(&mut |name, t| out.push((name, t.clone())));
    out.push(("output".to_string(), y));
    out
}

/// `t` in `dtype` (a no-op when it already is): constants made inside a
/// forward pass follow the input's float type, so a half network stays half.
pub fn in_dtype<B: Backend, const D: usize>(t: Tensor<B, D>, dtype: burn::tensor::DType) -> Tensor<B, D> {
    if t.dtype() == dtype { t } else { t.cast(dtype) }
}

#[cfg(test)]
mod tests {
    use super::*;
    type B = burn::backend::Flex;

    #[test]
    fn pixel_shuffle_matches_pytorch_layout() {
        // PyTorch: out[n, c, h*r + i, w*r + j] = in[n, c*r*r + i*r + j, h, w].
        let device = Default::default();
        let (c, r, h, w) = (2, 2, 3, 2);
        let data: Vec<f32> = (0..c * r * r * h * w).map(|v| v as f32).collect();
        let x = Tensor::<B, 1>::from_floats(data.as_slice(), &device).reshape([1, c * r * r, h, w]);
        let y = pixel_shuffle(x, r).into_data().to_vec::<f32>().unwrap();
        for oc in 0..c {
            for oh in 0..h * r {
                for ow in 0..w * r {
                    let (i, j, hh, ww) = (oh % r, ow % r, oh / r, ow / r);
                    let src = ((oc * r * r + i * r + j) * h + hh) * w + ww;
                    assert_eq!(y[(oc * h * r + oh) * w * r + ow], data[src]);
                }
            }
        }
    }
}
