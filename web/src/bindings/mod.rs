//! The `wasm_bindgen` surface the npm package's JavaScript wraps, one file
//! per concern:
//!
//! * [`upscaler`]: the `UpscalerCore` class (a model on a backend) and its
//!   runs; the session each run clones and stores back.
//! * [`options`]: the upscale options from JS, read and checked once.
//! * [`webgpu`]: probing `navigator.gpu` for an adapter, and whether it is a
//!   software renderer that `auto` should not take.
//! * [`info`]: what a model says about itself (`info`, `readWeightsInfo`).
//! * [`images`]: the free image functions (decode, encode, bicubic) and
//!   pixels to JS objects.
//!
//! Errors become JS `Error`s here and only here ([`js_error`]).

mod images;
mod info;
mod options;
mod upscaler;
mod webgpu;

use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::WebError;

pub use images::{decodable_format_js, decode_image, default_tile_size, encode_png_js, resize_bicubic};
pub use info::read_weights_info;
pub use upscaler::UpscalerCore;

#[wasm_bindgen(start)]
fn start() {
    console_error_panic_hook::set_once();
}

/// A JS `Error` with `name` set to the error's kind, so callers can branch
/// on `err.name` ("WeightsError", "AbortError", ...).
fn js_error(e: WebError) -> JsValue {
    let err = js_sys::Error::new(&e.to_string());
    err.set_name(e.js_name());
    err.into()
}

fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsValue> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| js_error(WebError::Backend(format!("cannot pass a result to JS: {e}"))))
}
