//! `UpscalerCore`, the model and its backend behind the JS `Upscaler`, and
//! its runs: each clones the session (shared tensor handles), runs, and
//! stores it back, keeping a fall-back to the CPU that the run made.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Promise, Reflect, Uint8ClampedArray};
use upres_image::{BandPlan, BitDepth, DecodeLimits, Decoded, InterleavedImage, Layout, PlanarImage, RowSource, decode_samples_with_notes};
use upres_models::open_weights;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, future_to_promise};

use super::images::{bicubic_of, image_to_js, lines_to_js, quality_to_js};
use super::info::info_of;
use super::options::{UpscaleOptions, parse_options};
use super::webgpu::{Adapter, on_webgpu, probe_webgpu};
use super::{js_error, to_js};
use crate::WebError;
use crate::bands::BAND_OUTPUT_PIXELS;
use crate::engine::{FeatureMap, Session};
use crate::pixels::{image_from_rgba, planar_from_rgba};

/// Call `on_tile(done, total)`; it may return a promise; `false` stops the run.
async fn call_on_tile(on_tile: &Option<Function>, done: usize, total: usize) -> Result<bool, WebError> {
    let Some(f) = on_tile else { return Ok(true) };
    let thrown = |e: JsValue| WebError::Backend(js_sys::Error::from(e).message().into());
    let value = f.call2(&JsValue::NULL, &(done as f64).into(), &(total as f64).into()).map_err(thrown)?;
    let value = if value.has_type::<Promise>() { JsFuture::from(Promise::from(value)).await.map_err(thrown)? } else { value };
    Ok(value.as_bool() != Some(false))
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

#[wasm_bindgen]
impl UpscalerCore {
    /// Load `weights` (an upres safetensors file) on `backend` ("auto", "webgpu" or "cpu").
    pub async fn create(weights: Vec<u8>, backend: String) -> Result<UpscalerCore, JsValue> {
        // The header is read and checked once, here, before any GPU is probed.
        let weights = open_weights(Rc::<[u8]>::from(weights)).map_err(|e| js_error(e.into()))?;
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
        Ok(UpscalerCore { session: Rc::new(RefCell::new(session)) })
    }

    #[wasm_bindgen(getter)]
    pub fn info(&self) -> Result<JsValue, JsValue> {
        let s = self.session.borrow();
        info_of(s.meta(), s.engine.kind(), s.fallback_reason.as_deref())
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
    let request = options.request(width, height, session.meta().default_overlap())?;
    let plan = BandPlan::new(width, height, &session.meta().config.network_spec(), &request, BAND_OUTPUT_PIXELS);
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
        let request = options.request(image.width, image.height, session.meta().default_overlap()).map_err(js_error)?;
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
        let low_res_input = session.meta().input == upres_image::InputKind::LowRes;
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
