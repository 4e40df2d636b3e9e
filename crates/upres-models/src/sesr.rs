//! SESR (Bhardwaj et al., MLSys 2022, "Collapsible Linear Blocks for
//! Super-Efficient Super Resolution"): a network of linear blocks that works
//! at the low resolution and collapses, after training, into a plain stack of
//! small convolutions.
//!
//! A linear block is a `k x k` convolution expanding `in` channels to `p`
//! (256 in the paper) followed by a 1x1 convolution back to `out`, with no
//! nonlinearity between: `W = project · expand` is one `k x k` convolution.
//! The expanded weights are the parameters, but every forward pass first
//! computes the collapsed kernel and runs that one convolution (the paper's
//! "collapsed training"), so a training step costs about what inference
//! costs. Blocks whose input and output widths match carry a short residual,
//! folded into the kernel as an identity tap at its centre.
//!
//! The network: a 5x5 block from the Y input (minus 0.5) to `f` features,
//! `m` 3x3 blocks each followed by a per-channel PReLU, a long residual from
//! the first block's output, a 5x5 block to `scale^2` channels, the input
//! added to each of them (nearest-neighbour upsampling of the LR image, the
//! global skip), pixel shuffle, and a clip to [0, 1].
//!
//! One departure from the official TensorFlow code, which drops biases in
//! its collapsed blocks: each block here has one bias on its collapsed
//! output. The expanded form with biases (`project · (expand * x + b1) + b2`)
//! collapses exactly to that, since zero padding never reaches a 1x1 layer.
//!
//! `trainer export` writes the collapsed form (`collapsed: true`): the
//! browser then runs only the `m + 2` small convolutions.

use burn::module::{Initializer, Param};
use burn::nn::{PRelu, PReluConfig};
use burn::prelude::*;
use burn::tensor::ops::ConvOptions;
use upres_kernels::ops::conv2d;
use upres_kernels::{SrBackend, prelu};

use crate::ColorSpace;
use crate::ModelError;
use crate::architecture::{Architecture, Network};
use crate::blocks::{See, features_of, in_dtype, pixel_shuffle, supports_subpixel_scale};
use crate::reach::Reach;

#[derive(Config, Debug, PartialEq)]
pub struct SesrConfig {
    #[config(default = 2)]
    pub scale: usize,
    /// Features between the blocks (the paper's `f`: 16 for M3..M11, 32 for XL).
    #[config(default = 16)]
    pub features: usize,
    /// Number of 3x3 linear blocks (the paper's `m`).
    #[config(default = 5)]
    pub blocks: usize,
    /// Channels inside each linear block before it is collapsed (`p`).
    #[config(default = 256)]
    pub expansion: usize,
    /// Whether the file holds the collapsed kernels (inference) or the
    /// expanded weights (training).
    #[config(default = false)]
    pub collapsed: bool,
}

impl SesrConfig {
    /// Multiply-adds per LR pixel of the collapsed network (what inference
    /// and a collapsed training step's forward pass cost).
    pub fn macs_per_lr_pixel(&self) -> u64 {
        let f = self.features as u64;
        let s2 = (self.scale * self.scale) as u64;
        25 * f + self.blocks as u64 * 9 * f * f + 25 * f * s2
    }

    /// The same network in the collapsed form.
    pub fn as_collapsed(&self) -> Self {
        self.clone().with_collapsed(true)
    }

    pub fn init<B: SrBackend>(&self, device: &B::Device) -> Sesr<B> {
        let f = self.features;
        let block = |cin, cout, k| LinearBlock::new(cin, cout, k, self.expansion, self.collapsed, device);
        Sesr {
            input_block: block(1, f, 5),
            blocks: (0..self.blocks).map(|_| block(f, f, 3)).collect(),
            activations: (0..self.blocks).map(|_| PReluConfig::new().with_num_parameters(f).init(device)).collect(),
            output_block: block(f, self.scale * self.scale, 5),
            scale: self.scale,
        }
    }
}

/// A collapsible linear block: either its expanded weights (training) or the
/// one convolution they collapse to (inference).
#[derive(Module, Debug)]
pub enum LinearBlock<B: SrBackend> {
    Expanded(ExpandedBlock<B>),
    Collapsed(CollapsedBlock<B>),
}

/// `expand`: `[p, in, k, k]`; `project`: `[out, p]` (a 1x1 convolution);
/// `bias`: `[out]`, on the collapsed output.
#[derive(Module, Debug)]
pub struct ExpandedBlock<B: SrBackend> {
    pub expand: Param<Tensor<B, 4>>,
    pub project: Param<Tensor<B, 2>>,
    pub bias: Param<Tensor<B, 1>>,
    #[module(skip)]
    pub residual: bool,
}

/// `weight`: `[out, in, k, k]`, the short residual already folded in.
#[derive(Module, Debug)]
pub struct CollapsedBlock<B: SrBackend> {
    pub weight: Param<Tensor<B, 4>>,
    pub bias: Param<Tensor<B, 1>>,
}

impl<B: SrBackend> LinearBlock<B> {
    fn new(cin: usize, cout: usize, k: usize, p: usize, collapsed: bool, device: &B::Device) -> Self {
        // Glorot-uniform, as the paper's Keras layers; fans of each layer of the expanded block.
        let glorot = Initializer::XavierUniform { gain: 1.0 };
        let bias = Initializer::Zeros.init([cout], device);
        if collapsed {
            let weight = glorot.init_with([cout, cin, k, k], Some(cin * k * k), Some(cout * k * k), device);
            return LinearBlock::Collapsed(CollapsedBlock { weight, bias });
        }
        LinearBlock::Expanded(ExpandedBlock {
            expand: glorot.init_with([p, cin, k, k], Some(cin * k * k), Some(p * k * k), device),
            project: glorot.init_with([cout, p], Some(p), Some(cout), device),
            bias,
            residual: cin == cout,
        })
    }

    /// The single `[out, in, k, k]` kernel this block computes.
    pub fn kernel(&self) -> Tensor<B, 4> {
        match self {
            LinearBlock::Collapsed(c) => c.weight.val(),
            LinearBlock::Expanded(e) => e.collapsed_kernel(),
        }
    }

    pub fn bias(&self) -> Tensor<B, 1> {
        match self {
            LinearBlock::Collapsed(c) => c.bias.val(),
            LinearBlock::Expanded(e) => e.bias.val(),
        }
    }

    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let weight = in_dtype(self.kernel(), x.dtype());
        let bias = in_dtype(self.bias(), x.dtype());
        let pad = weight.dims()[2] / 2;
        conv2d(x, weight, Some(bias), ConvOptions::new([1, 1], [pad, pad], [1, 1], 1))
    }

    /// The same block in the collapsed form (a plain convolution).
    pub fn collapse(&self) -> Self {
        match self {
            LinearBlock::Collapsed(c) => LinearBlock::Collapsed(c.clone()),
            LinearBlock::Expanded(e) => LinearBlock::Collapsed(CollapsedBlock {
                weight: Param::from_tensor(e.collapsed_kernel().detach()),
                bias: Param::from_tensor(e.bias.val().detach()),
            }),
        }
    }
}

impl<B: SrBackend> ExpandedBlock<B> {
    /// `project · expand`, reshaped to a kernel, plus the identity tap.
    pub fn collapsed_kernel(&self) -> Tensor<B, 4> {
        let [p, cin, k, _] = self.expand.dims();
        let [cout, _] = self.project.dims();
        let w = self.project.val().matmul(self.expand.val().reshape([p, cin * k * k])).reshape([cout, cin, k, k]);
        if !self.residual {
            return w;
        }
        let mut identity = vec![0.0f32; cout * cin * k * k];
        for c in 0..cout {
            identity[((c * cin + c) * k + k / 2) * k + k / 2] = 1.0;
        }
        let identity = Tensor::<B, 1>::from_floats(identity.as_slice(), &w.device()).reshape([cout, cin, k, k]);
        w + in_dtype(identity, self.project.val().dtype())
    }

    /// The block as the paper draws it, layer by layer: `k x k` conv to `p`
    /// channels, 1x1 conv back, bias, short residual. Slower than the
    /// collapsed forward; it exists to check that the collapse is exact.
    pub fn forward_expanded(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let [p, _, k, _] = self.expand.dims();
        let [cout, _] = self.project.dims();
        let wide = conv2d(x.clone(), self.expand.val(), None, ConvOptions::new([1, 1], [k / 2, k / 2], [1, 1], 1));
        let y = conv2d(wide, self.project.val().reshape([cout, p, 1, 1]), Some(self.bias.val()), ConvOptions::new([1, 1], [0, 0], [1, 1], 1));
        if self.residual { y + x } else { y }
    }
}

#[derive(Module, Debug)]
pub struct Sesr<B: SrBackend> {
    pub input_block: LinearBlock<B>,
    pub blocks: Vec<LinearBlock<B>>,
    pub activations: Vec<PRelu<B>>,
    pub output_block: LinearBlock<B>,
    #[module(skip)]
    pub scale: usize,
}

impl<B: SrBackend> Sesr<B> {
    /// `x`: the LR Y channel, `[N, 1, H, W]` in [0, 1].
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        self.forward_with(x, &mut |_, _| {})
    }

    /// Activations of the first block and of each 3x3 block, then the output.
    pub fn forward_features(&self, x: Tensor<B, 4>) -> Vec<(String, Tensor<B, 4>)> {
        features_of(|see| self.forward_with(x, see))
    }

    /// The forward pass, showing each intermediate activation to `see`
    /// (a no-op for inference, so nothing is kept alive).
    fn forward_with(&self, x: Tensor<B, 4>, see: See<'_, B>) -> Tensor<B, 4> {
        let first = self.input_block.forward(x.clone().sub_scalar(0.5));
        see("layer01".to_string(), &first);
        let mut h = first.clone();
        for (i, (block, act)) in self.blocks.iter().zip(&self.activations).enumerate() {
            h = prelu(act, block.forward(h));
            see(format!("layer{:02}", i + 2), &h);
        }
        let r2 = self.scale * self.scale;
        // The global skip: the LR input added to each sub-pixel channel is a
        // nearest-neighbour upsampling of it once shuffled.
        let y = self.output_block.forward(h + first) + x.repeat_dim(1, r2);
        pixel_shuffle(y, self.scale).clamp(0.0, 1.0)
    }

    /// The same network with every linear block collapsed.
    pub fn collapse(&self) -> Self {
        Sesr {
            input_block: self.input_block.collapse(),
            blocks: self.blocks.iter().map(LinearBlock::collapse).collect(),
            activations: self.activations.clone(),
            output_block: self.output_block.collapse(),
            scale: self.scale,
        }
    }
}

impl Architecture for SesrConfig {
    type Network<B: SrBackend> = Sesr<B>;

    fn validate(&self) -> Result<(), ModelError> {
        if !supports_subpixel_scale(self.scale) {
            return Err(ModelError::InvalidConfig(format!("SESR supports x2, x3, x4 and x8; got x{}", self.scale)));
        }
        if self.features == 0 || self.expansion == 0 {
            return Err(ModelError::InvalidConfig("SESR needs at least one feature and one expanded channel".into()));
        }
        Ok(())
    }

    fn build<B: SrBackend>(&self, device: &B::Device) -> Sesr<B> {
        self.init(device)
    }

    fn color_space(&self) -> ColorSpace {
        ColorSpace::Y
    }

    fn network_scales(&self) -> Option<Vec<usize>> {
        Some(vec![self.scale])
    }

    fn macs_per_lr_pixel_at(&self, _scale: usize) -> u64 {
        SesrConfig::macs_per_lr_pixel(self)
    }

    fn receptive_radius_at(&self, _scale: usize) -> Option<usize> {
        // 5x5 in, m 3x3 blocks, 5x5 out, all at the LR size (then the shuffle).
        Some(Reach::default().convs(2, 5).convs(self.blocks, 3).pixels())
    }
}

impl<B: SrBackend> Network<B> for Sesr<B> {
    fn forward(&self, x: Tensor<B, 4>, _scale: usize) -> Tensor<B, 4> {
        Sesr::forward(self, x)
    }

    fn forward_features(&self, x: Tensor<B, 4>, _scale: usize) -> Vec<(String, Tensor<B, 4>)> {
        Sesr::forward_features(self, x)
    }
}
