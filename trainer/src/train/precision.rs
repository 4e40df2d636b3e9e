//! Mixed precision: the forward and backward passes run on a half-precision
//! copy of the model, while the master weights, the optimiser state, the
//! checkpoints and the exported weights stay f32 (so small updates are not
//! rounded away, and Adam's second moment does not underflow). f16 also
//! scales the loss, dynamically, as PyTorch's GradScaler does.

use burn::module::{AutodiffModule, ModuleMapper, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::prelude::*;
use burn::tensor::DType;
use serde::{Deserialize, Serialize};
use upres_kernels::{SrAutodiffBackend, SrBackend};

use upres_models::SrModel;
use upres_models::blocks::in_dtype;

/// The float type of the forward and backward passes. Half precision is
/// mixed precision: master weights and optimiser state stay f32.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    #[default]
    F32,
    /// IEEE half: 5 exponent bits, so the loss is scaled (dynamically, see `--loss-scale`).
    F16,
    /// bfloat16: f32's range with 8 bits of mantissa; no loss scaling needed.
    Bf16,
}

impl Precision {
    pub fn name(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::F16 => "f16",
            Precision::Bf16 => "bf16",
        }
    }

    /// The dtype of the working copy, or `None` for plain f32 training.
    pub fn half(self) -> Option<DType> {
        match self {
            Precision::F32 => None,
            Precision::F16 => Some(DType::F16),
            Precision::Bf16 => Some(DType::BF16),
        }
    }
}

/// Casts every float parameter to a dtype, keeping its id and whether it
/// needs a gradient (the cast copy is a leaf of its own graph).
struct CastParams(DType);

impl<B: SrAutodiffBackend> ModuleMapper<B> for CastParams {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        let dtype = self.0;
        param.map(|t| {
            let require_grad = t.is_require_grad();
            let cast = Tensor::<B, D>::from_inner(t.inner().cast(dtype));
            if require_grad { cast.require_grad() } else { cast }
        })
    }
}

/// The float type a model computes in (that of its parameters).
pub fn model_dtype<B: SrBackend>(model: &SrModel<B>) -> DType {
    struct First(Option<DType>);
    impl<B: SrBackend> ModuleVisitor<B> for First {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
            self.0.get_or_insert_with(|| param.val().dtype());
        }
    }
    let mut first = First(None);
    model.visit(&mut first);
    first.0.unwrap_or(DType::F32)
}

/// The model's output for an f32 input, given in the model's own float type.
pub fn forward_in_model_dtype<B: SrBackend>(model: &SrModel<B>, x: Tensor<B, 4>, scale: usize) -> Tensor<B, 4> {
    model.forward(in_dtype(x, model_dtype(model)), scale)
}

/// The half-precision working copy of the f32 master model.
pub fn working_copy<B: SrAutodiffBackend, M: AutodiffModule<B>>(master: &M, dtype: DType) -> M {
    master.clone().map(&mut CastParams(dtype))
}

/// Turns the working copy's half gradients into f32 gradients of the master
/// weights, divided by the loss scale, and (when `check`) adds them all up: a
/// sum that is not finite means the step overflowed.
struct MasterGradients<'a, B: SrBackend> {
    grads: &'a mut GradientsParams,
    factor: f32,
    check: bool,
    sum: Option<Tensor<B, 1>>,
}

impl<AB: SrAutodiffBackend> ModuleVisitor<AB> for MasterGradients<'_, AB::InnerBackend> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<AB, D>>) {
        if let Some(g) = self.grads.remove::<AB::InnerBackend, D>(param.id) {
            let g = g.cast(DType::F32);
            let g = if self.factor == 1.0 { g } else { g.mul_scalar(self.factor) };
            if self.check {
                let s = g.clone().sum();
                self.sum = Some(match self.sum.take() {
                    Some(total) => total + s,
                    None => s,
                });
            }
            self.grads.register::<AB::InnerBackend, D>(param.id, g);
        }
    }
}

/// f32 gradients for the master model from the working copy's, and whether
/// they are all finite (checked only when `check` is set: it reads a value back).
pub fn master_gradients<AB: SrAutodiffBackend, M: AutodiffModule<AB>>(
    master: &M,
    mut grads: GradientsParams,
    loss_scale: f32,
    check: bool,
) -> (GradientsParams, bool) {
    let mut visitor = MasterGradients::<AB::InnerBackend> { grads: &mut grads, factor: 1.0 / loss_scale, check, sum: None };
    master.visit(&mut visitor);
    let finite = visitor.sum.is_none_or(|s| s.into_scalar().elem::<f64>().is_finite());
    (grads, finite)
}

/// The dynamic f16 loss scale (PyTorch GradScaler's defaults), saved in checkpoints.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LossScale {
    pub scale: f32,
    /// Clean steps since the scale last changed.
    pub clean_steps: u32,
    /// Steps skipped because their gradients overflowed, over the whole run.
    pub skipped_steps: u64,
}

impl LossScale {
    const GROWTH_INTERVAL: u32 = 2000;

    pub fn new(scale: f32) -> Self {
        Self { scale, clean_steps: 0, skipped_steps: 0 }
    }

    /// Record a step's outcome: an overflow halves the scale (and the step is
    /// skipped); a run of clean steps doubles it.
    pub fn update(&mut self, finite: bool) {
        if finite {
            self.clean_steps += 1;
            if self.clean_steps == Self::GROWTH_INTERVAL {
                self.scale *= 2.0;
                self.clean_steps = 0;
            }
        } else {
            self.scale = (self.scale * 0.5).max(1.0);
            self.clean_steps = 0;
            self.skipped_steps += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scale_halves_on_overflow_and_doubles_after_a_clean_run() {
        let mut s = LossScale::new(65536.0);
        s.update(false);
        assert_eq!((s.scale, s.skipped_steps), (32768.0, 1));
        for _ in 0..LossScale::GROWTH_INTERVAL - 1 {
            s.update(true);
        }
        assert_eq!(s.scale, 32768.0);
        s.update(true);
        assert_eq!((s.scale, s.clean_steps), (65536.0, 0));
    }

    #[test]
    fn the_scale_never_drops_below_one() {
        let mut s = LossScale::new(1.0);
        s.update(false);
        assert_eq!(s.scale, 1.0);
    }
}
