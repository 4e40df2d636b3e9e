//! The wasm library in a real Chromium (`wasm-pack test --release --headless
//! --chrome`, Debian's chromedriver; web/webdriver.json turns WebGPU on):
//! WebGPU and CPU, the fallback without an adapter, a lost device, progress,
//! abort, alpha, gray, a 2000x2000 input through tiles, and bad inputs.
#![cfg(target_family = "wasm")]

use js_sys::{Function, Reflect, Uint8ClampedArray};
use upres_models::{ModelConfig, Provenance, WeightsDtype, WeightsMeta, save_weights};
use upres_web::bindings::{UpscalerCore, decode_image};
use upres_web::engine::Cpu;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

// In a dedicated worker, as the package runs: long synchronous work there does not
// stall the page the test runner polls.
wasm_bindgen_test_configure!(run_in_dedicated_worker);

fn weights(config: &str, scales: Vec<usize>) -> Vec<u8> {
    let config: ModelConfig = serde_json::from_str(config).unwrap();
    let model = config.init::<Cpu>(&Default::default()).unwrap();
    save_weights(&model, &WeightsMeta::new(config, scales, Provenance::default()), WeightsDtype::F32).unwrap()
}

fn small_vdsr() -> Vec<u8> {
    console_error_panic_hook::set_once();
    weights(r#"{"arch":"vdsr","layers":4,"features":8}"#, vec![2, 3, 4])
}

fn pattern(width: usize, height: usize, alpha: impl Fn(usize, usize) -> u8, gray: bool) -> Vec<u8> {
    let mut v = Vec::with_capacity(width * height * 4);
    for y in 0..height {
        for x in 0..width {
            let r = ((x * 7 + y * 3) % 256) as u8;
            let (g, b) = if gray { (r, r) } else { (((x * y) % 256) as u8, ((x + 5 * y) % 256) as u8) };
            v.extend_from_slice(&[r, g, b, alpha(x, y)]);
        }
    }
    v
}

fn get(obj: &JsValue, key: &str) -> JsValue {
    Reflect::get(obj, &key.into()).unwrap()
}

fn pixels(image: &JsValue) -> (Vec<u8>, usize, usize) {
    let data: Uint8ClampedArray = get(image, "data").dyn_into().unwrap();
    (data.to_vec(), get(image, "width").as_f64().unwrap() as usize, get(image, "height").as_f64().unwrap() as usize)
}

fn options(pairs: &[(&str, f64)]) -> JsValue {
    let o = js_sys::Object::new();
    for (k, v) in pairs {
        Reflect::set(&o, &(*k).into(), &(*v).into()).unwrap();
    }
    o.into()
}

async fn upscale(core: &UpscalerCore, rgba: Vec<u8>, w: usize, h: usize, opts: JsValue, on_tile: Option<Function>) -> Result<JsValue, JsValue> {
    JsFuture::from(core.upscale(rgba, w, h, opts, on_tile, None)).await
}

fn error_name(e: &JsValue) -> String {
    get(e, "name").as_string().unwrap_or_default()
}

fn max_difference(a: &[u8], b: &[u8]) -> u8 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| x.abs_diff(*y)).max().unwrap_or(0)
}

/// Replace `navigator.gpu.requestAdapter` so that it finds no adapter; returns the original.
fn hide_adapter() -> JsValue {
    let gpu = get(&get(&js_sys::global(), "navigator"), "gpu");
    let original = get(&gpu, "requestAdapter");
    let none = Function::new_no_args("return Promise.resolve(null)");
    Reflect::set(&gpu, &"requestAdapter".into(), &none).unwrap();
    original
}

fn restore_adapter(original: JsValue) {
    let gpu = get(&get(&js_sys::global(), "navigator"), "gpu");
    Reflect::set(&gpu, &"requestAdapter".into(), &original).unwrap();
}

#[wasm_bindgen_test]
async fn webgpu_and_cpu_agree_within_one_level() {
    let rgba = pattern(40, 30, |_, _| 255, false);
    let bytes = small_vdsr();
    let gpu = UpscalerCore::create(bytes.clone(), "webgpu".into()).await.expect("Chromium with --enable-unsafe-webgpu has an adapter");
    assert_eq!(get(&gpu.info().unwrap(), "backend").as_string().unwrap(), "webgpu");
    let cpu2 = UpscalerCore::create(bytes, "cpu".into()).await.unwrap();
    let a = pixels(&upscale(&gpu, rgba.clone(), 40, 30, options(&[("scale", 2.0)]), None).await.unwrap());
    let b = pixels(&upscale(&cpu2, rgba, 40, 30, options(&[("scale", 2.0)]), None).await.unwrap());
    assert_eq!((a.1, a.2), (80, 60));
    assert!(max_difference(&a.0, &b.0) <= 1);
}

#[wasm_bindgen_test]
async fn auto_without_an_adapter_falls_back_to_the_cpu_and_says_why() {
    let original = hide_adapter();
    let auto = UpscalerCore::create(small_vdsr(), "auto".into()).await;
    let forced = UpscalerCore::create(small_vdsr(), "webgpu".into()).await;
    restore_adapter(original);
    let info = auto.unwrap().info().unwrap();
    assert_eq!(get(&info, "backend").as_string().unwrap(), "cpu");
    assert!(get(&info, "fallbackReason").as_string().unwrap().contains("no WebGPU adapter"));
    let e = forced.err().expect("webgpu without an adapter is an error");
    assert_eq!(error_name(&e), "BackendError");
}

#[wasm_bindgen_test]
async fn a_device_lost_mid_run_finishes_on_the_cpu() {
    let bytes = small_vdsr();
    let rgba = pattern(48, 48, |_, _| 255, false);
    let gpu = UpscalerCore::create(bytes.clone(), "webgpu".into()).await.unwrap();
    gpu.simulate_device_loss();
    let a = pixels(&upscale(&gpu, rgba.clone(), 48, 48, options(&[("scale", 2.0), ("tileSize", 32.0), ("overlap", 8.0)]), None).await.unwrap());
    let info = gpu.info().unwrap();
    assert_eq!(get(&info, "backend").as_string().unwrap(), "cpu");
    assert!(get(&info, "fallbackReason").as_string().unwrap().contains("WebGPU failed during a run"));
    let cpu = UpscalerCore::create(bytes, "cpu".into()).await.unwrap();
    let b = pixels(&upscale(&cpu, rgba, 48, 48, options(&[("scale", 2.0), ("tileSize", 32.0), ("overlap", 8.0)]), None).await.unwrap());
    assert!(max_difference(&a.0, &b.0) <= 1);
}

#[wasm_bindgen_test]
async fn progress_reports_every_tile_and_false_aborts_with_an_abort_error() {
    let core = UpscalerCore::create(small_vdsr(), "cpu".into()).await.unwrap();
    let calls = js_sys::Array::new();
    let record =
        Function::new_with_args("calls, done, total", "calls.push([done, total]); return new Promise(r => setTimeout(() => r(done < 3), 0));")
            .bind1(&JsValue::NULL, &calls)
            .unchecked_into::<Function>();
    let result =
        upscale(&core, pattern(64, 64, |_, _| 255, false), 64, 64, options(&[("scale", 2.0), ("tileSize", 16.0), ("overlap", 4.0)]), Some(record))
            .await;
    assert_eq!(error_name(&result.unwrap_err()), "AbortError");
    assert_eq!(calls.length(), 3);
    // A promise from the callback is awaited.
    let later = Function::new_with_args("done, total", "return new Promise(r => setTimeout(() => r(true), 0));");
    let out = upscale(&core, pattern(20, 20, |_, _| 255, false), 20, 20, options(&[("scale", 2.0)]), Some(later)).await.unwrap();
    assert_eq!(pixels(&out).1, 40);
}

#[wasm_bindgen_test]
async fn alpha_is_kept_and_gray_stays_gray() {
    let core = UpscalerCore::create(small_vdsr(), "cpu".into()).await.unwrap();
    let rgba = pattern(30, 20, |x, _| if x < 15 { 0 } else { 255 }, false);
    let (out, w, _) = pixels(&upscale(&core, rgba, 30, 20, options(&[("scale", 2.0)]), None).await.unwrap());
    assert_eq!(out[(20 * w + 2) * 4 + 3], 0);
    assert_eq!(out[(20 * w + w - 3) * 4 + 3], 255);
    let gray = pattern(30, 20, |_, _| 255, true);
    let (out, _, _) = pixels(&upscale(&core, gray, 30, 20, options(&[("scale", 3.0)]), None).await.unwrap());
    assert!(out.chunks_exact(4).all(|p| p[0] == p[1] && p[1] == p[2]));
}

#[wasm_bindgen_test]
async fn a_2000x2000_input_goes_through_tiles() {
    let core = UpscalerCore::create(weights(r#"{"arch":"vdsr","layers":2,"features":4}"#, vec![2]), "cpu".into()).await.unwrap();
    let tiles = js_sys::Array::new();
    let record = Function::new_with_args("tiles, done, total", "tiles.push(total); return new Promise(r => setTimeout(() => r(true), 0));")
        .bind1(&JsValue::NULL, &tiles)
        .unchecked_into::<Function>();
    // The callback yields to the event loop, as the JS wrapper's does, so the page stays responsive.
    let out = upscale(&core, pattern(2000, 2000, |_, _| 255, false), 2000, 2000, options(&[("scale", 2.0), ("tileSize", 256.0)]), Some(record))
        .await
        .unwrap();
    let (_, w, h) = pixels(&out);
    assert_eq!((w, h), (4000, 4000));
    assert!(tiles.length() >= 64, "{} tiles", tiles.length());
}

#[wasm_bindgen_test]
async fn bad_inputs_are_named_errors_with_readable_messages() {
    let e = UpscalerCore::create(vec![1, 2, 3], "cpu".into()).await.err().unwrap();
    assert_eq!(error_name(&e), "WeightsError");
    assert!(get(&e, "message").as_string().unwrap().contains("not an upres weights file"));
    assert!(e.is_instance_of::<js_sys::Error>());

    let core = UpscalerCore::create(small_vdsr(), "cpu".into()).await.unwrap();
    let e = upscale(&core, vec![0; 10], 2, 2, JsValue::UNDEFINED, None).await.unwrap_err();
    assert_eq!(error_name(&e), "ImageError");
    // Band by band only the RGBA result grows with the output, so the refusal needs a 32000x24000 output (3 GB of RGBA).
    let e = upscale(&core, pattern(8000, 6000, |_, _| 255, false), 8000, 6000, options(&[("scale", 4.0)]), None).await.unwrap_err();
    assert_eq!(error_name(&e), "ImageTooLargeError");
    assert!(get(&e, "message").as_string().unwrap().contains("32000x24000"));
    let e = upscale(&core, pattern(8, 8, |_, _| 255, false), 8, 8, options(&[("sclae", 2.0)]), None).await.unwrap_err();
    assert_eq!(error_name(&e), "TypeError");
    assert!(get(&e, "message").as_string().unwrap().contains("unknown option `sclae`"));
    let e = decode_image(b"definitely not a PNG", "notes.txt").unwrap_err();
    assert_eq!(error_name(&e), "ImageError");
    assert!(get(&e, "message").as_string().unwrap().contains("notes.txt"));
}
