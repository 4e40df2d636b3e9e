//! The `wasm_bindgen` surface the npm package's JavaScript wraps. Errors
//! become JS `Error`s here and only here ([`js_error`]).

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Promise, Reflect, Uint8ClampedArray};
use serde::Serialize;
use upres_image::{
    BandPlan, BitDepth, DecodeLimits, Decoded, InterleavedImage, Layout, OutputSize, PlanarImage, RowSource, UpscaleRequest,
    decode_samples_with_notes, decode_with_notes, encode_png,
};
use upres_models::{WeightsMeta, read_meta};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, future_to_promise};

use crate::WebError;
use crate::bands::{BAND_OUTPUT_PIXELS, Part};
use crate::engine::{BackendKind, FeatureMap, Session};
use crate::pixels::{image_from_rgba, planar_from_rgba, rgba_from_planar};

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

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Info<'a> {
    arch: &'a str,
    scales: &'a [usize],
    color_space: upres_image::ColorSpace,
    input: upres_image::InputKind,
    params: usize,
    /// Multiply-adds per LR pixel at each scale (`{"x2": 13520}`).
    macs_per_lr_pixel: std::collections::BTreeMap<String, u64>,
    dtype: upres_models::WeightsDtype,
    backend: BackendKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    fallback_reason: Option<&'a str>,
    config: &'a upres_models::ModelConfig,
    provenance: &'a upres_models::Provenance,
    /// Which scales the network makes itself, in a sentence.
    scale_note: String,
    /// How far an output pixel reads around its input pixel, in
    /// network-input pixels (`null`: the whole image).
    receptive_radius: Option<usize>,
    /// The `overlap` used when none is given: the least that makes tiles exact, at most 32.
    default_overlap: usize,
}

fn scale_note(meta: &WeightsMeta) -> String {
    match meta.config.network_scales() {
        None => "the network refines a bicubic upscale, so it runs at any scale".to_string(),
        Some(scales) if scales.len() == 1 => {
            format!(
                "the network upscales x{} itself; any other scale resizes its x{} output with bicubic (see modelScale on each result)",
                scales[0], scales[0]
            )
        }
        Some(scales) => {
            let list: Vec<String> = scales.iter().map(|s| format!("x{s}")).collect();
            format!(
                "the network upscales {} itself; any other scale resizes the output of the next larger of them (or the largest) with bicubic (see modelScale on each result)",
                list.join(", ")
            )
        }
    }
}

fn info_of(meta: &WeightsMeta, backend: BackendKind, fallback_reason: Option<&str>) -> Result<JsValue, JsValue> {
    to_js(&Info {
        arch: meta.config.arch(),
        scales: &meta.scales,
        color_space: meta.color_space,
        input: meta.input,
        params: meta.parameters,
        macs_per_lr_pixel: meta.macs_per_lr_pixel(),
        dtype: meta.dtype,
        backend,
        fallback_reason,
        config: &meta.config,
        provenance: &meta.provenance,
        scale_note: scale_note(meta),
        receptive_radius: meta.receptive_radius(),
        default_overlap: meta.default_overlap(),
    })
}

/// What WebGPU adapter the browser offers.
enum Adapter {
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
async fn probe_webgpu() -> Result<Adapter, String> {
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

/// Call `on_tile(done, total)`; it may return a promise; `false` stops the run.
async fn call_on_tile(on_tile: &Option<Function>, done: usize, total: usize) -> Result<bool, WebError> {
    let Some(f) = on_tile else { return Ok(true) };
    let thrown = |e: JsValue| WebError::Backend(js_sys::Error::from(e).message().into());
    let value = f.call2(&JsValue::NULL, &(done as f64).into(), &(total as f64).into()).map_err(thrown)?;
    let value = if value.has_type::<Promise>() { JsFuture::from(Promise::from(value)).await.map_err(thrown)? } else { value };
    Ok(value.as_bool() != Some(false))
}

#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct UpscaleOptions {
    scale: Option<f64>,
    width: Option<usize>,
    height: Option<usize>,
    tile_size: Option<usize>,
    overlap: Option<usize>,
    /// `{ index, of }`: run only that part of the bands (a worker pool's share).
    part: Option<PartOption>,
    /// Also return MATLAB's bicubic of the same decoded pixels at the output
    /// size (`bicubic`), for a before/after comparison without decoding twice.
    bicubic: Option<bool>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PartOption {
    index: usize,
    of: usize,
}

/// The upscale options from JS, read once: unknown keys are refused here.
fn parse_options(options: &JsValue) -> Result<UpscaleOptions, WebError> {
    if options.is_undefined() || options.is_null() {
        return Ok(UpscaleOptions::default());
    }
    // serde-wasm-bindgen reads only the fields it knows: catch typos here.
    const KNOWN: [&str; 7] = ["scale", "width", "height", "tileSize", "overlap", "part", "bicubic"];
    for key in js_sys::Object::keys(&js_sys::Object::from(options.clone())).iter() {
        let key = key.as_string().unwrap_or_default();
        if !KNOWN.contains(&key.as_str()) {
            return Err(WebError::Options(format!("unknown option `{key}` (known: {}, onProgress, signal)", KNOWN.join(", "))));
        }
    }
    serde_wasm_bindgen::from_value(options.clone()).map_err(|e| WebError::Options(e.to_string()))
}

impl UpscaleOptions {
    /// The `part` option, checked: the whole upscale without it.
    fn part(&self, streamed: bool) -> Result<Part, WebError> {
        let Some(PartOption { index, of }) = self.part else { return Ok(Part::WHOLE) };
        if of == 0 || of > Part::MAX_PARTS || index >= of {
            return Err(WebError::Options(format!(
                "part must be {{ index, of }} with 0 <= index < of <= {}, got {{ index: {index}, of: {of} }}",
                Part::MAX_PARTS
            )));
        }
        if of > 1 && !streamed {
            return Err(WebError::Options("part needs onRows: a part's rows are not the whole image".into()));
        }
        Ok(Part { index, of })
    }

    /// The output size and tiling for an input `in_w` x `in_h`, checked;
    /// `default_overlap` is the model's (see `WeightsMeta::default_overlap`).
    fn request(&self, in_w: usize, in_h: usize, default_overlap: usize) -> Result<UpscaleRequest, WebError> {
        let size = match (self.scale, self.width, self.height) {
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) => return Err(WebError::Options("give either scale or width/height, not both".into())),
            (_, Some(w), Some(h)) => OutputSize::Exact { width: w, height: h },
            // One side given: keep the aspect ratio.
            (_, Some(w), None) => OutputSize::Exact { width: w, height: (w as f64 * in_h as f64 / in_w as f64).round() as usize },
            (_, None, Some(h)) => OutputSize::Exact { width: (h as f64 * in_w as f64 / in_h as f64).round() as usize, height: h },
            (s, None, None) => OutputSize::Scale(s.unwrap_or(2.0)),
        };
        let tile = self.tile_size.unwrap_or(UpscaleRequest::DEFAULT_TILE);
        let overlap = self.overlap.unwrap_or(default_overlap);
        if !(16..=4096).contains(&tile) {
            return Err(WebError::Options(format!("tileSize must be between 16 and 4096 pixels, got {tile}")));
        }
        if overlap * 2 >= tile {
            return Err(WebError::Options(format!("overlap ({overlap}) must be less than half of tileSize ({tile})")));
        }
        Ok(UpscaleRequest { size, tile, overlap })
    }
}

fn image_to_js(image: &PlanarImage) -> Result<JsValue, JsValue> {
    let obj = js_sys::Object::new();
    let data = Uint8ClampedArray::from(&rgba_from_planar(image)[..]);
    Reflect::set(&obj, &"data".into(), &data)?;
    Reflect::set(&obj, &"width".into(), &(image.width as f64).into())?;
    Reflect::set(&obj, &"height".into(), &(image.height as f64).into())?;
    Ok(obj.into())
}

fn quality_to_js(q: &upres_image::Quality) -> Result<JsValue, JsValue> {
    let obj = js_sys::Object::new();
    Reflect::set(&obj, &"psnr".into(), &q.psnr.into())?;
    Reflect::set(&obj, &"ssim".into(), &q.ssim.into())?;
    Ok(obj.into())
}

/// The model and its backend behind the JS `Upscaler`.
#[wasm_bindgen]
pub struct UpscalerCore {
    session: Rc<RefCell<Session>>,
}

impl UpscalerCore {
    /// A copy of the session to run on: the model's tensors are shared
    /// handles, not copied, and calls awaiting at the same time each hold
    /// one. The caller stores it back afterwards, since a run may have moved
    /// it to the CPU.
    fn session_copy(&self) -> Session {
        self.session.borrow().clone()
    }
}

/// The model on a usable GPU adapter.
#[cfg(feature = "webgpu")]
async fn on_webgpu(weights: Vec<u8>, _backend: &str) -> Result<Session, WebError> {
    let (engine, meta) = crate::engine::Engine::webgpu(&weights).await?;
    Ok(Session { engine, meta, weights: Rc::new(weights), fallback_reason: None, fail_next_gpu_tile: false })
}

/// The CPU-only build has no WebGPU backend, even where the adapter would do.
#[cfg(not(feature = "webgpu"))]
async fn on_webgpu(weights: Vec<u8>, backend: &str) -> Result<Session, WebError> {
    const WHY: &str = "this is upres's CPU-only build (upres_cpu_bg.wasm), which has no WebGPU backend";
    if backend == "auto" {
        Session::on_cpu(weights, Some(WHY.into()))
    } else {
        Err(WebError::Backend(format!("backend \"webgpu\" was asked for, but {WHY}")))
    }
}

#[wasm_bindgen]
impl UpscalerCore {
    /// Load `weights` (an upres safetensors file) on `backend` ("auto", "webgpu" or "cpu").
    pub async fn create(weights: Vec<u8>, backend: String) -> Result<UpscalerCore, JsValue> {
        let meta = read_meta(&weights).map_err(|e| js_error(e.into()))?;
        let session = match backend.as_str() {
            "cpu" => Session::on_cpu(weights, None),
            "auto" | "webgpu" => match probe_webgpu().await {
                // `auto` treats a software adapter as no GPU; asking for "webgpu" still gets it.
                Ok(Adapter::Software(reason)) if backend == "auto" => Session::on_cpu(weights, Some(reason)),
                Ok(_) => on_webgpu(weights, &backend).await,
                Err(reason) if backend == "auto" => Session::on_cpu(weights, Some(reason)),
                Err(reason) => Err(WebError::Backend(format!("backend \"webgpu\" was asked for, but {reason}"))),
            },
            other => Err(WebError::Options(format!("backend must be \"auto\", \"webgpu\" or \"cpu\", got \"{other}\""))),
        }
        .map_err(js_error)?;
        debug_assert_eq!(session.meta, meta);
        Ok(UpscalerCore { session: Rc::new(RefCell::new(session)) })
    }

    #[wasm_bindgen(getter)]
    pub fn info(&self) -> Result<JsValue, JsValue> {
        let s = self.session.borrow();
        info_of(&s.meta, s.engine.kind(), s.fallback_reason.as_deref())
    }

    /// Upscale RGBA pixels; resolves to `{ data, width, height }`, or with
    /// `on_rows` to `{ width, height }` (see [`upscale_planar`]).
    pub fn upscale(
        &self,
        rgba: Vec<u8>,
        width: usize,
        height: usize,
        options: JsValue,
        on_tile: Option<Function>,
        on_rows: Option<Function>,
    ) -> Promise {
        // The samples are kept as they came (4 bytes a pixel); each band is made planar in its turn.
        let input =
            image_from_rgba(rgba, width, height).and_then(|image| Ok(UpscaleInput { image, notes: Vec::new(), options: parse_options(&options)? }));
        upscale_planar(self, input, on_tile, on_rows)
    }

    /// Upscale an encoded image file (the bytes of a PNG, JPEG, WebP, BMP or
    /// GIF), decoded here once at its own bit depth: a 16-bit PNG is upscaled
    /// from its 16-bit samples, as `trainer upscale` does, not from 8-bit
    /// RGBA. Resolves to `{ data, width, height, notes }` (RGBA8), or with
    /// `on_rows` to `{ width, height, notes }`. A file whose upscale would not
    /// fit in memory is refused from its header, before it is decoded.
    #[wasm_bindgen(js_name = upscaleEncoded)]
    pub fn upscale_encoded(&self, bytes: Vec<u8>, name: String, options: JsValue, on_tile: Option<Function>, on_rows: Option<Function>) -> Promise {
        let input = parse_options(&options).and_then(|options| {
            check_before_decoding(&self.session.borrow(), &bytes, &options, on_rows.is_some())?;
            // The decoder's samples are kept (3 bytes a pixel for an 8-bit RGB photo, not 12 in f32).
            let Decoded { image, notes } = decode_samples_with_notes(&bytes, &name, DecodeLimits::default())?;
            Ok(UpscaleInput { image, notes: notes.messages(&name), options })
        });
        drop(bytes);
        upscale_planar(self, input, on_tile, on_rows)
    }

    /// Ground-truth mode: treat the pixels as HR, make the LR with MATLAB's
    /// bicubic, upscale it back with bicubic and the model and score both on
    /// the papers' protocol. Resolves to `{ hr, lr, bicubic, model,
    /// bicubicQuality: { psnr, ssim }, modelQuality }`.
    pub fn evaluate(
        &self,
        rgba: Vec<u8>,
        width: usize,
        height: usize,
        scale: f64,
        jpeg_quality: Option<f64>,
        tile_size: usize,
        on_tile: Option<Function>,
    ) -> Promise {
        let mut session = self.session_copy();
        let shared = self.session.clone();
        future_to_promise(async move {
            let jpeg_quality = match jpeg_quality {
                None => None,
                Some(q) if q.fract() == 0.0 && (1.0..=100.0).contains(&q) => Some(q as u8),
                Some(q) => return Err(js_error(WebError::Options(format!("jpegQuality must be a whole number from 1 to 100, not {q}")))),
            };
            let image = planar_from_rgba(&rgba, width, height).map_err(js_error)?;
            let result = session.evaluate(&image, scale, jpeg_quality, tile_size.max(16), |d, t| call_on_tile(&on_tile, d, t)).await;
            store_back(&shared, session);
            let e = result.map_err(js_error)?;
            let obj = js_sys::Object::new();
            Reflect::set(&obj, &"hr".into(), &image_to_js(&e.hr)?)?;
            Reflect::set(&obj, &"lr".into(), &image_to_js(&e.lr)?)?;
            Reflect::set(&obj, &"bicubic".into(), &image_to_js(&e.bicubic)?)?;
            Reflect::set(&obj, &"model".into(), &image_to_js(&e.model)?)?;
            Reflect::set(&obj, &"bicubicQuality".into(), &quality_to_js(&e.bicubic_quality)?)?;
            Reflect::set(&obj, &"modelQuality".into(), &quality_to_js(&e.model_quality)?)?;
            Ok(obj.into())
        })
    }

    /// Every layer's activations as gray grids: resolves to
    /// `[{ name, channels, width, height, image: { data, width, height } }]`.
    pub fn features(&self, rgba: Vec<u8>, width: usize, height: usize, scale: f64, max_pixels: usize, max_channels: usize) -> Promise {
        let mut session = self.session_copy();
        let shared = self.session.clone();
        future_to_promise(async move {
            let image = planar_from_rgba(&rgba, width, height).map_err(js_error)?;
            let result = session.features(&image, scale, max_pixels, max_channels).await;
            store_back(&shared, session);
            let maps: Vec<FeatureMap> = result.map_err(js_error)?;
            let list = js_sys::Array::new();
            for m in maps {
                let obj = to_js(&m)?;
                let grid = PlanarImage::new(Layout::Gray, BitDepth::Eight, vec![m.grid]);
                Reflect::set(&obj, &"image".into(), &image_to_js(&grid)?)?;
                list.push(&obj);
            }
            Ok(list.into())
        })
    }

    /// Test hook: the next tile on WebGPU fails as a lost device would.
    #[wasm_bindgen(js_name = simulateDeviceLoss)]
    pub fn simulate_device_loss(&self) {
        self.session.borrow_mut().fail_next_gpu_tile = true;
    }
}

fn store_back(shared: &Rc<RefCell<Session>>, session: Session) {
    let mut current = shared.borrow_mut();
    // Keep a move to the CPU; otherwise the stored session is already right.
    if session.engine.kind() != current.engine.kind() || session.fallback_reason != current.fallback_reason {
        *current = session;
    }
}

/// Decoding notes (or any lines) as a JS array of strings.
fn lines_to_js(lines: Vec<String>) -> js_sys::Array {
    lines.into_iter().map(JsValue::from).collect()
}

/// What the bands hold of the whole output per pixel: its RGBA8 when the
/// result is assembled (in a JS array, but counted all the same), nothing
/// when the rows are handed on.
fn held_bytes(streamed: bool) -> u64 {
    if streamed { 0 } else { 4 }
}

/// The memory check of [`upscale_in_bands`](Session::upscale_in_bands) made
/// from a file's header, before any decoder allocates its pixels, with the
/// most that decoding may hold ([`DECODING_BYTES_PER_PIXEL`](crate::pixels::DECODING_BYTES_PER_PIXEL)).
fn check_before_decoding(session: &Session, bytes: &[u8], options: &UpscaleOptions, streamed: bool) -> Result<(), WebError> {
    let Some((width, height)) = upres_image::header_size(bytes) else { return Ok(()) };
    if width == 0 || height == 0 || width.saturating_mul(height) > crate::pixels::MAX_INPUT_PIXELS {
        // The decoder refuses these with its own message.
        return Ok(());
    }
    let request = options.request(width, height, session.meta.default_overlap())?;
    let plan = BandPlan::new(width, height, &session.meta.config.network_spec(), &request, BAND_OUTPUT_PIXELS);
    let input = crate::pixels::InputMemory { source_bytes_per_pixel: crate::pixels::DECODING_BYTES_PER_PIXEL, planes: 4 };
    crate::pixels::check_band_memory(width, height, input, &plan, 3, held_bytes(streamed))
}

/// Decoded pixels, the notes of their decoding and the options they are upscaled with.
struct UpscaleInput {
    image: InterleavedImage,
    notes: Vec<String>,
    options: UpscaleOptions,
}

/// One upscale of decoded pixels, with the notes of their decoding, band by
/// band. Without `on_rows` the bands fill one JS array and the promise
/// resolves to `{ data, width, height, modelScale?, notes? }`; with it,
/// `on_rows(rgba, top, width, height)` gets each band's RGBA rows as they are
/// finished, top to bottom, and the promise resolves to `{ width, height,
/// modelScale?, notes? }`: wasm then never holds more than one band.
fn upscale_planar(core: &UpscalerCore, input: Result<UpscaleInput, WebError>, on_tile: Option<Function>, on_rows: Option<Function>) -> Promise {
    let mut session = core.session_copy();
    let shared = core.session.clone();
    future_to_promise(async move {
        let UpscaleInput { image, notes, options } = input.map_err(js_error)?;
        let part = options.part(on_rows.is_some()).map_err(js_error)?;
        let request = options.request(image.width, image.height, session.meta.default_overlap()).map_err(js_error)?;
        let (out_width, out_height) = request.size.resolve(image.width, image.height);
        let mut whole: Option<Uint8ClampedArray> = None;
        let result = session
            .upscale_in_bands(
                &image,
                &request,
                held_bytes(on_rows.is_some()),
                part,
                |done, total| call_on_tile(&on_tile, done, total),
                |rows| {
                    match &on_rows {
                        Some(f) => {
                            let data = Uint8ClampedArray::from(&rows.rgba[..]);
                            let args =
                                js_sys::Array::of4(&data, &(rows.top as f64).into(), &(rows.width as f64).into(), &(rows.height as f64).into());
                            f.apply(&JsValue::NULL, &args)
                                .map_err(|e| WebError::Backend(format!("onRows threw: {}", String::from(js_sys::Error::from(e).message()))))?;
                        }
                        None => {
                            // Allocated once the memory check has passed, in JS memory.
                            let all = whole.get_or_insert_with(|| Uint8ClampedArray::new_with_length((out_width * out_height * 4) as u32));
                            let start = (rows.top * rows.width * 4) as u32;
                            all.subarray(start, start + rows.rgba.len() as u32).copy_from(&rows.rgba);
                        }
                    }
                    Ok(())
                },
            )
            .await;
        // The comparison's "before", from the pixels decoded for the upscale (when it succeeded).
        let bicubic = match (&result, options.bicubic) {
            (Ok(_), Some(true)) => Some(bicubic_of(&image.to_planar(), &request).map_err(js_error)?),
            _ => None,
        };
        drop(image);
        let low_res_input = session.meta.input == upres_image::InputKind::LowRes;
        store_back(&shared, session);
        let result = result.map_err(js_error)?;
        let out = js_sys::Object::new();
        if let Some(data) = whole {
            Reflect::set(&out, &"data".into(), &data)?;
        }
        Reflect::set(&out, &"width".into(), &(result.width as f64).into())?;
        Reflect::set(&out, &"height".into(), &(result.height as f64).into())?;
        // Which scale the network ran (x2 then bicubic for x3 on an x2-only model).
        if low_res_input {
            Reflect::set(&out, &"modelScale".into(), &(result.network_scale as f64).into())?;
        }
        if !notes.is_empty() {
            Reflect::set(&out, &"notes".into(), &lines_to_js(notes))?;
        }
        if let Some(before) = bicubic {
            Reflect::set(&out, &"bicubic".into(), &image_to_js(&before)?)?;
        }
        Ok(out.into())
    })
}

/// The default tile side in network-input pixels (`tileSize`), from the one
/// place the CLI reads it too.
#[wasm_bindgen(js_name = defaultTileSize)]
pub fn default_tile_size() -> usize {
    UpscaleRequest::DEFAULT_TILE
}

/// What a weights file says about itself, without loading the model.
#[wasm_bindgen(js_name = readWeightsInfo)]
pub fn read_weights_info(weights: &[u8]) -> Result<JsValue, JsValue> {
    let meta = read_meta(weights).map_err(|e| js_error(e.into()))?;
    info_of(&meta, BackendKind::Cpu, None)
}

/// Decode PNG, JPEG, WebP, BMP or GIF bytes to `{ data, width, height,
/// notes }` (RGBA, turned upright as its EXIF orientation asks; `notes`: one
/// line for each thing done to the file's pixels, such as taking the first
/// frame of an animation).
#[wasm_bindgen(js_name = decodeImage)]
pub fn decode_image(bytes: &[u8], name: &str) -> Result<JsValue, JsValue> {
    let Decoded { image, notes } = decode_with_notes(bytes, name, DecodeLimits::default()).map_err(|e| js_error(e.into()))?;
    let obj = image_to_js(&image)?;
    Reflect::set(&obj, &"notes".into(), &lines_to_js(notes.messages(name)))?;
    Ok(obj)
}

/// The format of encoded image bytes if this library decodes it (a file
/// extension: "png", "jpg", ...), else undefined: where a browser should try
/// its own decoder (AVIF, HEIC, ...) after ours refused the bytes.
#[wasm_bindgen(js_name = decodableFormat)]
pub fn decodable_format_js(bytes: &[u8]) -> Option<String> {
    upres_image::decodable_format(bytes).map(str::to_owned)
}

/// Encode RGBA pixels as PNG (gray and opaque images get smaller PNG types).
#[wasm_bindgen(js_name = encodePng)]
pub fn encode_png_js(rgba: &[u8], width: usize, height: usize) -> Result<Vec<u8>, JsValue> {
    let image = planar_from_rgba(rgba, width, height).map_err(js_error)?;
    encode_png(&image, "image").map_err(|e| js_error(e.into()))
}

/// MATLAB's `imresize(image, scale)` (bicubic, antialiased when shrinking) or
/// to an exact size: the "before" of a comparison, and the papers' degradation.
#[wasm_bindgen(js_name = resizeBicubic)]
pub fn resize_bicubic(rgba: &[u8], width: usize, height: usize, options: JsValue) -> Result<JsValue, JsValue> {
    let image = planar_from_rgba(rgba, width, height).map_err(js_error)?;
    // Only the output size matters to bicubic; no model, so the plain default overlap.
    let request = parse_options(&options).and_then(|o| o.request(width, height, UpscaleRequest::DEFAULT_OVERLAP)).map_err(js_error)?;
    image_to_js(&bicubic_of(&image, &request).map_err(js_error)?)
}

/// MATLAB's bicubic of `image` at the request's output size, after the memory check.
fn bicubic_of(image: &PlanarImage, request: &UpscaleRequest) -> Result<PlanarImage, WebError> {
    let (ow, oh) = request.size.resolve(image.width, image.height);
    crate::pixels::check_memory(ow, oh, 0)?;
    let target = match request.size {
        OutputSize::Scale(s) => upres_image::ResizeTarget::Scale(s),
        OutputSize::Exact { width, height } => upres_image::ResizeTarget::Size { width, height },
    };
    upres_image::imresize(image, target).map_err(WebError::from)
}
