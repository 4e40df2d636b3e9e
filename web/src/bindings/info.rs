//! What a model says about itself: the `info` of an `Upscaler` and
//! `readWeightsInfo` of a file not loaded.

use serde::Serialize;
use upres_models::{WeightsMeta, read_meta};
use wasm_bindgen::prelude::*;

use super::{js_error, to_js};
use crate::engine::BackendKind;

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

pub(super) fn info_of(meta: &WeightsMeta, backend: BackendKind, fallback_reason: Option<&str>) -> Result<JsValue, JsValue> {
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

/// What a weights file says about itself, without loading the model.
#[wasm_bindgen(js_name = readWeightsInfo)]
pub fn read_weights_info(weights: &[u8]) -> Result<JsValue, JsValue> {
    let meta = read_meta(weights).map_err(|e| js_error(e.into()))?;
    info_of(&meta, BackendKind::Cpu, None)
}
