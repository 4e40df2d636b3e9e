//! upres in the browser: a thin facade over `upres-image` (pixels, tiling,
//! colour, metrics) and `upres-models` (networks, weights), running on
//! WebGPU or on the CPU (burn's Flex with wasm SIMD).
//!
//! * `pixels`: RGBA from canvases and Node buffers to planar images and back.
//! * `engine`: a model on a backend and the async tile drivers; no JS here,
//!   so it is tested natively too.
//! * `bands`: the upscale band by band, so memory is bounded by the input's
//!   samples, a band and the RGBA output, never the whole input or output
//!   in f32 planes.
//! * `bindings` (wasm only): the `wasm_bindgen` classes the npm package's
//!   JavaScript wraps (`web/js/`), and the one place errors become JS `Error`s.

pub mod bands;
pub mod engine;
pub mod error;
pub mod pixels;

#[cfg(target_family = "wasm")]
pub mod bindings;

pub use engine::{BackendKind, Engine, Session};
pub use error::WebError;

/// Tests: on the CPU every future of the drivers is ready at once; poll it once.
#[cfg(test)]
pub(crate) fn ready<T>(f: impl std::future::Future<Output = T>) -> T {
    let mut f = std::pin::pin!(f);
    match f.as_mut().poll(&mut std::task::Context::from_waker(std::task::Waker::noop())) {
        std::task::Poll::Ready(v) => v,
        std::task::Poll::Pending => panic!("a CPU future was not ready"),
    }
}
