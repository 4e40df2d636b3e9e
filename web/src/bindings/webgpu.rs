//! Probing `navigator.gpu` for an adapter without letting burn panic when
//! there is none, and telling a software renderer (which `auto` refuses)
//! from a GPU.

use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use std::rc::Rc;

use upres_models::OpenWeights;

use crate::WebError;
use crate::engine::Session;

/// What WebGPU adapter the browser offers.
pub(super) enum Adapter {
    /// A real GPU.
    Hardware,
    /// A software rasteriser (SwiftShader, llvmpipe, WARP) or an adapter the
    /// browser marks as a fallback: WebGPU works, but 15-35x slower than our
    /// CPU path, so `auto` does not take it. The string names it.
    Software(String),
}

/// Names of CPU-emulated GPUs, as browsers report them in `GPUAdapterInfo`.
const SOFTWARE_RENDERERS: [&str; 6] = ["swiftshader", "llvmpipe", "lavapipe", "softpipe", "warp", "microsoft basic render"];

/// Whether `info` (a `GPUAdapterInfo`'s vendor, architecture, device and
/// description, joined) names a software renderer; returns its name.
fn software_renderer(info: &str) -> Option<&'static str> {
    let info = info.to_ascii_lowercase();
    SOFTWARE_RENDERERS.into_iter().find(|name| info.contains(name))
}

fn bool_field(obj: &JsValue, name: &str) -> bool {
    obj.is_object() && Reflect::get(obj, &name.into()).ok().and_then(|v| v.as_bool()).unwrap_or(false)
}

/// What `navigator.gpu.requestAdapter()` says, without letting burn panic
/// when there is no adapter: `Err(reason)` when WebGPU cannot be used.
pub(super) async fn probe_webgpu() -> Result<Adapter, String> {
    let global = js_sys::global();
    let navigator = Reflect::get(&global, &"navigator".into()).unwrap_or(JsValue::UNDEFINED);
    let gpu = if navigator.is_object() { Reflect::get(&navigator, &"gpu".into()).unwrap_or(JsValue::UNDEFINED) } else { JsValue::UNDEFINED };
    if !gpu.is_object() {
        return Err("WebGPU is not available here (navigator.gpu is missing)".into());
    }
    let request = Reflect::get(&gpu, &"requestAdapter".into())
        .ok()
        .and_then(|f| f.dyn_into::<Function>().ok())
        .ok_or("navigator.gpu.requestAdapter is not a function")?;
    let promise = request.call0(&gpu).map_err(|e| format!("requestAdapter failed: {e:?}"))?;
    let adapter = JsFuture::from(Promise::resolve(&promise)).await.map_err(|e| format!("requestAdapter failed: {e:?}"))?;
    if adapter.is_null() || adapter.is_undefined() {
        return Err("no WebGPU adapter is available (the GPU may be blocklisted or WebGPU disabled)".into());
    }
    let info = Reflect::get(&adapter, &"info".into()).unwrap_or(JsValue::UNDEFINED);
    let described: Vec<String> = ["vendor", "architecture", "device", "description"]
        .iter()
        .filter_map(|k| if info.is_object() { Reflect::get(&info, &(*k).into()).ok()?.as_string() } else { None })
        .filter(|v| !v.is_empty())
        .collect();
    let described = described.join(" ");
    if let Some(name) = software_renderer(&described) {
        return Ok(Adapter::Software(format!(
            "the only WebGPU adapter is {name}, a software renderer (WebGPU emulated on the CPU is much slower than the CPU backend)"
        )));
    }
    // `isFallbackAdapter`: on GPUAdapterInfo in current browsers, on the adapter in older ones.
    if bool_field(&info, "isFallbackAdapter") || bool_field(&adapter, "isFallbackAdapter") {
        let what = if described.is_empty() { String::new() } else { format!(" ({described})") };
        return Ok(Adapter::Software(format!("the only WebGPU adapter{what} is a fallback adapter, which browsers use for software rendering")));
    }
    Ok(Adapter::Hardware)
}

/// The model on a usable GPU adapter.
#[cfg(feature = "webgpu")]
pub(super) async fn on_webgpu(weights: OpenWeights<Rc<[u8]>>, _backend: &str) -> Result<Session, WebError> {
    let engine = crate::engine::Engine::webgpu(&weights).await?;
    Ok(Session { engine, weights, fallback_reason: None, fail_next_gpu_tile: false })
}

/// The CPU-only build has no WebGPU backend, even where the adapter would do.
#[cfg(not(feature = "webgpu"))]
pub(super) async fn on_webgpu(weights: OpenWeights<Rc<[u8]>>, backend: &str) -> Result<Session, WebError> {
    const WHY: &str = "this is upres's CPU-only build (upres_cpu_bg.wasm), which has no WebGPU backend";
    if backend == "auto" {
        Session::on_cpu(weights, Some(WHY.into()))
    } else {
        Err(WebError::Backend(format!("backend \"webgpu\" was asked for, but {WHY}")))
    }
}
