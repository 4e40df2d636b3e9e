//! The optimiser a recipe names, for any module: the generator's and the
//! discriminator's are the same type with a different module.

use anyhow::Result;
use burn::module::AutodiffModule;
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{Adam, AdamConfig, GradientsParams, Optimizer, Sgd, SgdConfig};
use burn::record::{BinBytesRecorder, FullPrecisionSettings, Recorder};
use upres_kernels::SrAutodiffBackend;

use super::config::OptimizerConfig;

/// Checkpoint records: burn's binary recorder at full precision.
pub type Record = BinBytesRecorder<FullPrecisionSettings>;

pub enum Optim<AB: SrAutodiffBackend, M: AutodiffModule<AB>> {
    Adam(OptimizerAdaptor<Adam, M, AB>),
    /// SGD with the clip bound (theta / lr) it was built for.
    Sgd(OptimizerAdaptor<Sgd<AB::InnerBackend>, M, AB>, Option<f32>),
}

fn sgd<AB: SrAutodiffBackend, M: AutodiffModule<AB>>(
    momentum: f64,
    weight_decay: f32,
    clip: Option<f32>,
) -> OptimizerAdaptor<Sgd<AB::InnerBackend>, M, AB> {
    SgdConfig::new()
        // PyTorch's SGD: no dampening.
        .with_momentum((momentum > 0.0).then(|| MomentumConfig::new().with_momentum(momentum).with_dampening(0.0)))
        .with_weight_decay((weight_decay > 0.0).then(|| WeightDecayConfig::new(weight_decay)))
        .with_gradient_clipping(clip.map(burn::optim::grad_clipping::GradientClippingConfig::Value))
        .init()
}

impl<AB: SrAutodiffBackend, M: AutodiffModule<AB>> Optim<AB, M> {
    /// The optimiser of `config`, for a first step at `lr`.
    pub fn new(config: &OptimizerConfig, lr: f64) -> Self {
        match *config {
            OptimizerConfig::Adam { beta1, beta2, epsilon, weight_decay, .. } => Optim::Adam(
                AdamConfig::new()
                    .with_beta_1(beta1)
                    .with_beta_2(beta2)
                    .with_epsilon(epsilon)
                    .with_weight_decay((weight_decay > 0.0).then(|| WeightDecayConfig::new(weight_decay)))
                    .init(),
            ),
            OptimizerConfig::Sgd { momentum, weight_decay, clip_theta, .. } => {
                let clip = clip_theta.map(|t| t / lr as f32);
                Optim::Sgd(sgd(momentum, weight_decay, clip), clip)
            }
        }
    }

    /// VDSR's adjustable clipping follows the learning rate: rebuild the
    /// optimiser with the new bound, keeping its momentum state.
    pub fn adjust_for_lr(&mut self, config: &OptimizerConfig, lr: f64) {
        if let (Optim::Sgd(o, clip), OptimizerConfig::Sgd { momentum, weight_decay, clip_theta: Some(theta), .. }) = (&*self, config) {
            let wanted = Some(theta / lr as f32);
            if wanted != *clip {
                *self = Optim::Sgd(sgd(*momentum, *weight_decay, wanted).load_record(o.to_record()), wanted);
            }
        }
    }

    pub fn step(&mut self, lr: f64, module: M, grads: GradientsParams) -> M {
        match self {
            Optim::Adam(o) => o.step(lr, module, grads),
            Optim::Sgd(o, _) => o.step(lr, module, grads),
        }
    }

    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let rec = Record::default();
        Ok(match self {
            Optim::Adam(o) => Recorder::<AB>::record(&rec, o.to_record(), ())?,
            Optim::Sgd(o, _) => Recorder::<AB>::record(&rec, o.to_record(), ())?,
        })
    }

    /// Restore the state `to_bytes` wrote.
    pub fn load_bytes(&mut self, bytes: Vec<u8>, device: &AB::Device) -> Result<()> {
        let rec = Record::default();
        // burn's `load_record` takes the optimiser by value: a stateless Adam
        // holds its place meanwhile.
        *self = match std::mem::replace(self, Optim::Adam(AdamConfig::new().init())) {
            Optim::Adam(o) => Optim::Adam(o.load_record(Recorder::<AB>::load(&rec, bytes, device)?)),
            Optim::Sgd(o, c) => Optim::Sgd(o.load_record(Recorder::<AB>::load(&rec, bytes, device)?), c),
        };
        Ok(())
    }
}
