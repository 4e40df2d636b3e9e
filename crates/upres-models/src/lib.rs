//! The classic super-resolution networks, generic over any burn backend, and
//! the `upres` weights format that carries a model's config with its weights.
//!
//! One file per network: [`srcnn`] (and the SRCNN study variants), [`vdsr`],
//! [`edsr`] (EDSR and MDSR), [`srresnet`], [`discriminator`] (SRGAN's), and
//! the fast low-resolution networks [`fsrcnn`] and [`sesr`] (whose linear
//! blocks collapse into plain convolutions for inference).
//! [`ModelConfig`] names an architecture; [`SrModel`] is any of them. Each
//! architecture's facts (validation, input, colour, scales, cost) are its
//! config's [`Architecture`] impl, in its own file; `model.rs` lists them
//! once in a table that generates both enums and their dispatch.

pub mod architecture;
pub mod blocks;
mod cost;
pub mod discriminator;
pub mod edsr;
mod error;
pub mod eval;
pub mod fsrcnn;
pub mod lpips;
mod model;
pub mod presets;
mod reach;
pub mod run;
pub mod sesr;
pub mod srcnn;
pub mod srresnet;
pub mod vdsr;
pub mod vgg;
pub mod weights;

pub use architecture::{Architecture, Network};
pub use error::ModelError;
pub use model::{ARCHITECTURES, ColorSpace, InputKind, ModelConfig, SrModel};
pub use weights::{
    Expectation, FORMAT_NAME, FORMAT_VERSION, OpenWeights, Provenance, WeightsDtype, WeightsFile, WeightsMeta, apply_named_tensors, expected_tensors,
    load_weights, open_weights, read_meta, save_weights,
};
