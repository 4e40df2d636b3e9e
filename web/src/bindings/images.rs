//! The package's free image functions (decode, encode, MATLAB's bicubic,
//! the default tile size) and pixels to JS objects.

use js_sys::{Reflect, Uint8ClampedArray};
use upres_image::{DecodeLimits, Decoded, OutputSize, PlanarImage, UpscaleRequest, decode_with_notes, encode_png};
use wasm_bindgen::prelude::*;

use super::js_error;
use super::options::parse_options;
use crate::WebError;
use crate::pixels::{planar_from_rgba, rgba_from_planar};

pub(super) fn image_to_js(image: &PlanarImage) -> Result<JsValue, JsValue> {
    let obj = js_sys::Object::new();
    let data = Uint8ClampedArray::from(&rgba_from_planar(image)[..]);
    Reflect::set(&obj, &"data".into(), &data)?;
    Reflect::set(&obj, &"width".into(), &(image.width as f64).into())?;
    Reflect::set(&obj, &"height".into(), &(image.height as f64).into())?;
    Ok(obj.into())
}

pub(super) fn quality_to_js(q: &upres_image::Quality) -> Result<JsValue, JsValue> {
    let obj = js_sys::Object::new();
    Reflect::set(&obj, &"psnr".into(), &q.psnr.into())?;
    Reflect::set(&obj, &"ssim".into(), &q.ssim.into())?;
    Ok(obj.into())
}

/// Decoding notes (or any lines) as a JS array of strings.
pub(super) fn lines_to_js(lines: Vec<String>) -> js_sys::Array {
    lines.into_iter().map(JsValue::from).collect()
}

/// The default tile side in network-input pixels (`tileSize`), from the one
/// place the CLI reads it too.
#[wasm_bindgen(js_name = defaultTileSize)]
pub fn default_tile_size() -> usize {
    UpscaleRequest::DEFAULT_TILE
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
pub(super) fn bicubic_of(image: &PlanarImage, request: &UpscaleRequest) -> Result<PlanarImage, WebError> {
    let (ow, oh) = request.size.resolve(image.width, image.height);
    crate::pixels::check_memory(ow, oh, 0)?;
    let target = match request.size {
        OutputSize::Scale(s) => upres_image::ResizeTarget::Scale(s),
        OutputSize::Exact { width, height } => upres_image::ResizeTarget::Size { width, height },
    };
    upres_image::imresize(image, target).map_err(WebError::from)
}
