//! The upscale options from JS, read once: unknown keys are refused, and the
//! output size, tiling and a pool's part are checked before any work.

use upres_image::{OutputSize, UpscaleRequest};
use wasm_bindgen::prelude::*;

use crate::WebError;
use crate::bands::Part;

#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct UpscaleOptions {
    scale: Option<f64>,
    width: Option<usize>,
    height: Option<usize>,
    tile_size: Option<usize>,
    overlap: Option<usize>,
    /// `{ index, of }`: run only that part of the bands (a worker pool's share).
    part: Option<PartOption>,
    /// Also return MATLAB's bicubic of the same decoded pixels at the output
    /// size (`bicubic`), for a before/after comparison without decoding twice.
    pub(super) bicubic: Option<bool>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PartOption {
    index: usize,
    of: usize,
}

/// The upscale options from JS, read once: unknown keys are refused here.
pub(super) fn parse_options(options: &JsValue) -> Result<UpscaleOptions, WebError> {
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
    pub(super) fn part(&self, streamed: bool) -> Result<Part, WebError> {
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
    pub(super) fn request(&self, in_w: usize, in_h: usize, default_overlap: usize) -> Result<UpscaleRequest, WebError> {
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
