//! One training step, the only one: `trainer train` on one device or
//! several and `trainer bench` all call [`Trainer::step`]. A step is the
//! batch's gradients ([`Trainer::gradients`]: data-parallel over the
//! devices, one share on one device, the discriminator's own step inside
//! when the recipe is adversarial) and then the optimiser's update.

use anyhow::{Context, Result};
use burn::optim::{GradientsAccumulator, GradientsParams};
use burn::prelude::*;
use burn::tensor::DType;
use burn::tensor::activation::softplus;
use upres_kernels::{SrAutodiffBackend, SrBackend};
use upres_models::SrModel;
use upres_models::blocks::in_dtype;
use upres_models::discriminator::{Discriminator, DiscriminatorConfig};
use upres_models::vgg::Vgg;

use super::config::{GanConfig, LossKind, OptimizerConfig, TrainConfig};
use super::data::Batch;
use super::optim::Optim;
use super::perceptual::as_rgb;
use super::precision::{LossScale, Precision, forward_in_model_dtype, master_gradients, working_copy};

/// What a step optimises: a recipe's loss terms and optimisers.
#[derive(Debug, Clone)]
pub struct Objective {
    pub optimizer: OptimizerConfig,
    pub loss: LossKind,
    /// The weight of the VGG feature term, if the recipe has one.
    pub perceptual_weight: Option<f64>,
    pub gan: Option<GanConfig>,
}

impl From<&TrainConfig> for Objective {
    fn from(config: &TrainConfig) -> Self {
        Self {
            optimizer: config.optimizer.clone(),
            loss: config.loss,
            perceptual_weight: config.perceptual.as_ref().map(|p| p.weight),
            gan: config.gan.clone(),
        }
    }
}

/// SRGAN's discriminator with its optimiser; its learning rate follows the
/// generator's schedule.
pub struct Gan<AB: SrAutodiffBackend> {
    pub discriminator: Discriminator<AB>,
    pub optimizer: Optim<AB, Discriminator<AB>>,
    optimizer_config: OptimizerConfig,
    adversarial_weight: f64,
}

impl<AB: SrAutodiffBackend> Gan<AB> {
    pub fn new(config: &GanConfig, channels: usize, device: &AB::Device) -> Result<Self> {
        let optimizer_config = config.optimizer()?;
        Ok(Self {
            discriminator: DiscriminatorConfig::new()
                .with_features(config.discriminator_features)
                .with_dense(config.discriminator_dense)
                .with_channels(channels)
                .init(device),
            optimizer: Optim::new(&optimizer_config, optimizer_config.lr()),
            optimizer_config,
            adversarial_weight: config.adversarial_weight,
        })
    }

    /// One discriminator step on the real HR and the detached SR, its
    /// learning rate decayed as the generator's (`generator_lr` of
    /// `generator_base_lr`); then the generator's weighted adversarial term
    /// `-log D(G(z))` against the updated discriminator.
    pub fn step(&mut self, real: Tensor<AB, 4>, fake: Tensor<AB, 4>, generator_lr: f64, generator_base_lr: f64) -> Tensor<AB, 1> {
        let lr = self.optimizer_config.lr() * generator_lr / generator_base_lr;
        self.optimizer.adjust_for_lr(&self.optimizer_config, lr);
        let (d_real, d_fake) = (self.discriminator.forward(real), self.discriminator.forward(fake.clone().detach()));
        let d_loss = softplus(d_real.neg(), 1.0).mean() + softplus(d_fake, 1.0).mean();
        let grads = GradientsParams::from_grads(d_loss.backward(), &self.discriminator);
        // The clone shares the parameters' buffers; the old handles go with the assignment.
        self.discriminator = self.optimizer.step(lr, self.discriminator.clone(), grads);
        softplus(self.discriminator.forward(fake).neg(), 1.0).mean().mul_scalar(self.adversarial_weight)
    }
}

fn pixel_loss<B: SrBackend>(kind: LossKind, output: Tensor<B, 4>, target: Tensor<B, 4>) -> Tensor<B, 1> {
    let diff = output - target;
    match kind {
        LossKind::L1 => diff.abs().mean(),
        LossKind::Mse => diff.powi_scalar(2).mean(),
        LossKind::None => diff.sum().mul_scalar(0.0),
    }
}

/// A batch's (or one device's share's) planes as a tensor on `device`.
pub fn batch_tensor<B: SrBackend>(values: Vec<f32>, dims: [usize; 4], device: &B::Device) -> Tensor<B, 4> {
    Tensor::<B, 1>::from_data(TensorData::new(values, [dims.iter().product::<usize>()]), device).reshape(dims)
}

/// Cut a batch into `n` shares along the batch axis, as even as they come.
fn split_batch(batch: Batch, n: usize) -> Vec<Batch> {
    let total = batch.input_dims[0];
    let (in_len, out_len) = (batch.input.len() / total, batch.target.len() / total);
    let mut shares = Vec::with_capacity(n);
    let mut start = 0;
    for k in 0..n {
        let end = total * (k + 1) / n;
        if end > start {
            let mut input_dims = batch.input_dims;
            let mut target_dims = batch.target_dims;
            input_dims[0] = end - start;
            target_dims[0] = end - start;
            shares.push(Batch {
                scale: batch.scale,
                input: batch.input[start * in_len..end * in_len].to_vec(),
                input_dims,
                target: batch.target[start * out_len..end * out_len].to_vec(),
                target_dims,
            });
        }
        start = end;
    }
    shares
}

/// The loss terms of one share of a batch, borrowed for its thread.
struct Terms<'a, AB: SrAutodiffBackend> {
    loss: LossKind,
    perceptual: Option<(&'a Vgg<AB>, f64)>,
}

impl<AB: SrAutodiffBackend> Terms<'_, AB> {
    /// The generator's loss on a share, and the network's output. A half
    /// network gets a half input; its output is compared with the f32 target
    /// in f32 (sums over a batch overflow f16).
    fn generator_loss(&self, network: &SrModel<AB>, x: Tensor<AB, 4>, y: Tensor<AB, 4>, scale: usize) -> (Tensor<AB, 1>, Tensor<AB, 4>) {
        let sr = forward_in_model_dtype(network, x, scale);
        let mut l = pixel_loss(self.loss, in_dtype(sr.clone(), DType::F32), y.clone());
        if let Some((vgg, weight)) = self.perceptual {
            let target = in_dtype(y, sr.dtype());
            let features = vgg.forward(as_rgb(sr.clone())) - vgg.forward(as_rgb(target)).detach();
            l = l + in_dtype(features, DType::F32).powi_scalar(2).mean().mul_scalar(weight);
        }
        (l, sr)
    }

    /// One share's gradients and its loss, weighted by its part of the
    /// batch (so that the shares' sum is the whole batch's mean loss).
    fn share_gradients(
        &self,
        network: &SrModel<AB>,
        share: Batch,
        weight: f32,
        loss_scale: f32,
        gan: Option<(&mut Gan<AB>, f64, f64)>,
        device: &AB::Device,
    ) -> (GradientsParams, Tensor<AB, 1>) {
        let x = batch_tensor::<AB>(share.input, share.input_dims, device);
        let y = batch_tensor::<AB>(share.target, share.target_dims, device);
        let (mut l, sr) = self.generator_loss(network, x, y.clone(), share.scale);
        if let Some((gan, lr, base_lr)) = gan {
            l = l + gan.step(y, sr, lr, base_lr);
        }
        if weight != 1.0 {
            l = l.mul_scalar(weight);
        }
        let scaled = if loss_scale == 1.0 { l.clone() } else { l.clone().mul_scalar(loss_scale) };
        (GradientsParams::from_grads(scaled.backward(), network), l)
    }
}

/// The model's optimiser, its loss terms and the devices a batch is shared
/// over, built once at set-up.
pub struct Trainer<AB: SrAutodiffBackend> {
    pub optimizer: Optim<AB, SrModel<AB>>,
    pub gan: Option<Gan<AB>>,
    objective: Objective,
    vgg: Option<Vgg<AB>>,
    devices: Vec<AB::Device>,
    half: Option<DType>,
    lr: f64,
}

impl<AB: SrAutodiffBackend> Trainer<AB> {
    /// `vgg`: the frozen VGG19 of the perceptual term (f32; cast here for
    /// half-precision runs). `channels`: the model's output channels, for
    /// the discriminator.
    pub fn new(objective: Objective, vgg: Option<Vgg<AB>>, channels: usize, devices: Vec<AB::Device>, precision: Precision) -> Result<Self> {
        let main = devices.first().context("no device to train on")?;
        anyhow::ensure!(objective.perceptual_weight.is_none() || vgg.is_some(), "the perceptual term needs its VGG19");
        anyhow::ensure!(
            objective.gan.is_none() || devices.len() == 1,
            "adversarial training (the discriminator's own step) runs on one device; drop --devices"
        );
        let half = precision.half();
        let gan = objective.gan.as_ref().map(|g| Gan::new(g, channels, main)).transpose()?;
        let lr = objective.optimizer.lr();
        Ok(Self {
            optimizer: Optim::new(&objective.optimizer, lr),
            gan,
            // Frozen: in mixed precision one half copy serves every step.
            vgg: vgg.map(|v| match half {
                Some(dtype) => working_copy(&v, dtype),
                None => v,
            }),
            objective,
            devices,
            half,
            lr,
        })
    }

    /// The learning rate of the next steps (a schedule's decay).
    pub fn set_lr(&mut self, lr: f64) {
        self.optimizer.adjust_for_lr(&self.objective.optimizer, lr);
        self.lr = lr;
    }

    /// The gradients of the batch's mean loss for `network` (the model or
    /// its half working copy), scaled by `loss_scale`, and the unscaled loss.
    /// As burn-train's multi-device strategy: the network forked to each
    /// device, each device's share through forward and backward on a thread
    /// of its own, the gradients moved to the first device and summed there
    /// by burn's `GradientsAccumulator`. One device: one share, on this thread.
    pub fn gradients(&mut self, network: &SrModel<AB>, batch: Batch, loss_scale: f32) -> Result<(GradientsParams, Tensor<AB::InnerBackend, 1>)> {
        let terms = Terms { loss: self.objective.loss, perceptual: self.vgg.as_ref().zip(self.objective.perceptual_weight) };
        let main = &self.devices[0];
        if self.devices.len() == 1 {
            let (lr, base_lr) = (self.lr, self.objective.optimizer.lr());
            let (grads, l) = terms.share_gradients(network, batch, 1.0, loss_scale, self.gan.as_mut().map(|g| (g, lr, base_lr)), main);
            return Ok((grads, l.inner()));
        }
        let total = batch.input_dims[0] as f32;
        let shares = split_batch(batch, self.devices.len());
        let terms = &terms;
        let results = std::thread::scope(|s| {
            let workers: Vec<_> = shares
                .into_iter()
                .zip(&self.devices)
                .map(|(share, device)| {
                    let network = network.clone().fork(device);
                    let vgg = terms.perceptual.map(|(v, w)| (v.clone().fork(device), w));
                    let weight = share.input_dims[0] as f32 / total;
                    s.spawn(move || {
                        let terms = Terms { loss: terms.loss, perceptual: vgg.as_ref().map(|(v, w)| (v, *w)) };
                        let (grads, l) = terms.share_gradients(&network, share, weight, loss_scale, None, device);
                        (grads.to_device(main, &network), l.inner().to_device(main))
                    })
                })
                .collect();
            workers.into_iter().map(|w| w.join()).collect::<Vec<_>>()
        });
        let mut accumulator = GradientsAccumulator::new();
        let mut batch_loss: Option<Tensor<AB::InnerBackend, 1>> = None;
        for result in results {
            let (grads, l) = result.map_err(|_| anyhow::anyhow!("a device's training thread panicked"))?;
            accumulator.accumulate(network, grads);
            batch_loss = Some(match batch_loss {
                Some(sum) => sum + l,
                None => l,
            });
        }
        Ok((accumulator.grads(), batch_loss.context("an empty batch")?))
    }

    /// One optimiser step on `batch`: the model after it and the batch's
    /// loss (not yet read back). In mixed precision, forward and backward run
    /// on a half copy of the f32 master weights; an f16 step whose gradients
    /// overflowed is skipped (the dynamic loss scale is already halved).
    pub fn step(
        &mut self,
        model: SrModel<AB>,
        batch: Batch,
        loss_scale: &mut Option<LossScale>,
    ) -> Result<(SrModel<AB>, Tensor<AB::InnerBackend, 1>)> {
        let working = self.half.map(|dtype| working_copy(&model, dtype));
        let scale = loss_scale.map_or(1.0, |s| s.scale);
        let (grads, loss) = self.gradients(working.as_ref().unwrap_or(&model), batch, scale)?;
        let (grads, finite) = match self.half {
            Some(_) => master_gradients(&model, grads, scale, loss_scale.is_some()),
            None => (grads, true),
        };
        if let Some(s) = loss_scale.as_mut() {
            s.update(finite);
        }
        let model = if finite { self.optimizer.step(self.lr, model, grads) } else { model };
        Ok((model, loss))
    }
}
