//! The extension on `Autodiff<B>`: each operation is one tracked node whose
//! backward pass calls the inner backend's operations of [`SrBackend`], so
//! training on `Autodiff<Flex>` takes the shifted-GEMM gradients and the
//! one-pass PReLU backward.
//!
//! burn-autodiff differentiates `conv2d` the same way with `ModuleOps`'
//! gradients; its `prelu` is burn-backend's default composition (lower,
//! multiply, `mask_where`), three nodes whose backward passes walk the
//! activation about ten times. Here PReLU is one node.
//!
//! The nodes keep their inputs as state (what burn-autodiff keeps under its
//! default `NoCheckpointing`); they are not recomputed under
//! `BalancedCheckpointing`.

use burn::tensor::ops::{ConvOptions, FloatTensor};
use burn_autodiff::checkpoint::base::Checkpointer;
use burn_autodiff::checkpoint::strategy::CheckpointStrategy;
use burn_autodiff::grads::Gradients;
use burn_autodiff::ops::{Backward, Ops, OpsKind};
use burn_autodiff::{Autodiff, NodeId};
use burn_backend::{Slice, TensorMetadata};

use crate::SrBackend;

/// A convolution with a bias: its input, weight and bias, and options.
#[derive(Debug)]
struct Conv2dWithBias;

impl<B: SrBackend> Backward<B, 3> for Conv2dWithBias {
    type State = (FloatTensor<B>, FloatTensor<B>, FloatTensor<B>, ConvOptions<2>);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let [x_node, weight_node, bias_node] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let (x, weight, bias, options) = ops.state;
        if let Some(node) = bias_node {
            grads.register::<B>(node.id, B::sr_conv2d_bias_backward(x.clone(), bias, grad.clone()));
        }
        conv2d_input_and_weight_grads::<B>([x_node, weight_node].map(|n| n.map(|n| n.id)), grads, (x, weight, options), grad);
    }
}

/// A convolution without a bias: its input and weight, and options.
#[derive(Debug)]
struct Conv2dNoBias;

impl<B: SrBackend> Backward<B, 2> for Conv2dNoBias {
    type State = (FloatTensor<B>, FloatTensor<B>, ConvOptions<2>);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let grad = grads.consume::<B>(&ops.node);
        conv2d_input_and_weight_grads::<B>(ops.parents.map(|n| n.map(|n| n.id)), grads, ops.state, grad);
    }
}

fn conv2d_input_and_weight_grads<B: SrBackend>(
    [x_node, weight_node]: [Option<NodeId>; 2],
    grads: &mut Gradients,
    (x, weight, options): (FloatTensor<B>, FloatTensor<B>, ConvOptions<2>),
    grad: FloatTensor<B>,
) {
    if let Some(node) = weight_node {
        grads.register::<B>(node, B::sr_conv2d_weight_backward(x.clone(), weight.clone(), grad.clone(), options.clone()));
    }
    if let Some(node) = x_node {
        grads.register::<B>(node, B::sr_conv2d_x_backward(x, weight, grad, options));
    }
}

/// A PReLU node: its input and slopes.
#[derive(Debug)]
struct PreluNode;

impl<B: SrBackend> Backward<B, 2> for PreluNode {
    type State = (FloatTensor<B>, FloatTensor<B>);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let (x, alpha) = ops.state;
        let grad = grads.consume::<B>(&ops.node);
        let [x_node, alpha_node] = ops.parents;
        let (x_grad, alpha_grad) = B::sr_prelu_backward(x, alpha, grad);
        if let Some(node) = x_node {
            grads.register::<B>(node.id, x_grad);
        }
        if let Some(node) = alpha_node {
            grads.register::<B>(node.id, alpha_grad);
        }
    }
}

/// A per-channel scale and shift: its input and scales.
#[derive(Debug)]
struct ChannelAffineNode;

impl<B: SrBackend> Backward<B, 3> for ChannelAffineNode {
    type State = (FloatTensor<B>, FloatTensor<B>);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let (x, scale) = ops.state;
        let grad = grads.consume::<B>(&ops.node);
        let (dx, dscale, dshift) = B::sr_channel_affine_backward(x, scale, grad);
        for (node, g) in ops.parents.into_iter().zip([dx, dscale, dshift]) {
            if let Some(node) = node {
                grads.register::<B>(node.id, g);
            }
        }
    }
}

/// Per-channel moments: the input and the `[2, C]` moments. With `M`
/// values a channel, `d mean / dx = 1 / M` and `d var / dx = 2 (x - mean) / M`,
/// so the input gradient is itself a per-channel scale and shift of `x`.
#[derive(Debug)]
struct ChannelMomentsNode;

impl<B: SrBackend> Backward<B, 1> for ChannelMomentsNode {
    type State = (FloatTensor<B>, FloatTensor<B>);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let (x, moments) = ops.state;
        let grad = grads.consume::<B>(&ops.node);
        let [Some(node)] = ops.parents else { return };
        let [n, c, h, w] = x.shape().dims();
        let count = (n * h * w) as f32;
        let row = |t: FloatTensor<B>, r: usize| B::float_reshape(B::float_slice(t, &[Slice::from(r..r + 1), Slice::from(0..c)]), [c].into());
        let (grad_mean, grad_var, mean) = (row(grad.clone(), 0), row(grad, 1), row(moments, 0));
        let scale = B::float_mul_scalar(grad_var, (2.0 / count).into());
        let shift = B::float_sub(B::float_div_scalar(grad_mean, count.into()), B::float_mul(scale.clone(), mean));
        grads.register::<B>(node.id, B::sr_channel_affine(x, scale, shift));
    }
}

impl<B: SrBackend, C: CheckpointStrategy> SrBackend for Autodiff<B, C> {
    fn sr_channel_affine(x: FloatTensor<Self>, scale: FloatTensor<Self>, shift: FloatTensor<Self>) -> FloatTensor<Self> {
        match ChannelAffineNode.prepare::<C>([x.node.clone(), scale.node.clone(), shift.node.clone()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let state = (x.primitive.clone(), scale.primitive.clone());
                prep.finish(state, B::sr_channel_affine(x.primitive, scale.primitive, shift.primitive))
            }
            OpsKind::UnTracked(prep) => prep.finish(B::sr_channel_affine(x.primitive, scale.primitive, shift.primitive)),
        }
    }

    fn sr_channel_moments(x: FloatTensor<Self>) -> FloatTensor<Self> {
        match ChannelMomentsNode.prepare::<C>([x.node.clone()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let moments = B::sr_channel_moments(x.primitive.clone());
                prep.finish((x.primitive, moments.clone()), moments)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::sr_channel_moments(x.primitive)),
        }
    }

    fn sr_conv2d(x: FloatTensor<Self>, weight: FloatTensor<Self>, bias: Option<FloatTensor<Self>>, options: ConvOptions<2>) -> FloatTensor<Self> {
        match bias {
            Some(bias) => match Conv2dWithBias.prepare::<C>([x.node.clone(), weight.node.clone(), bias.node.clone()]).compute_bound().stateful() {
                OpsKind::Tracked(prep) => {
                    let state = (x.primitive.clone(), weight.primitive.clone(), bias.primitive.clone(), options.clone());
                    prep.finish(state, B::sr_conv2d(x.primitive, weight.primitive, Some(bias.primitive), options))
                }
                OpsKind::UnTracked(prep) => prep.finish(B::sr_conv2d(x.primitive, weight.primitive, Some(bias.primitive), options)),
            },
            None => match Conv2dNoBias.prepare::<C>([x.node.clone(), weight.node.clone()]).compute_bound().stateful() {
                OpsKind::Tracked(prep) => {
                    let state = (x.primitive.clone(), weight.primitive.clone(), options.clone());
                    prep.finish(state, B::sr_conv2d(x.primitive, weight.primitive, None, options))
                }
                OpsKind::UnTracked(prep) => prep.finish(B::sr_conv2d(x.primitive, weight.primitive, None, options)),
            },
        }
    }

    fn sr_prelu(x: FloatTensor<Self>, alpha: FloatTensor<Self>) -> FloatTensor<Self> {
        match PreluNode.prepare::<C>([x.node.clone(), alpha.node.clone()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let state = (x.primitive.clone(), alpha.primitive.clone());
                prep.finish(state, B::sr_prelu(x.primitive, alpha.primitive))
            }
            OpsKind::UnTracked(prep) => prep.finish(B::sr_prelu(x.primitive, alpha.primitive)),
        }
    }
}
