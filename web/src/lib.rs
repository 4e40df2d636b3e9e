//! upres in the browser: a thin facade over `upres-image` (pixels, tiling,
//! colour, metrics) and `upres-models` (networks, weights), running on
//! WebGPU or on the CPU (burn's Flex with wasm SIMD).
//!
//! * `pixels`: RGBA from canvases and Node buffers to planar images and back.
//! * `engine`: a model on a backend and the async tile drivers; no JS here,
//!   so it is tested natively too.
//! * `bindings` (wasm only): the `wasm_bindgen` classes the npm package's
//!   JavaScript wraps (`web/js/`), and the one place errors become JS `Error`s.

pub mod engine;
pub mod error;
pub mod pixels;

#[cfg(target_family = "wasm")]
pub mod bindings;

pub use engine::{BackendKind, Engine, Session};
pub use error::WebError;
