//! The upres weights format: one safetensors file per model.
//!
//! Tensors are named by their path in the module (`body.3.conv1.weight`),
//! stored as F32 or F16 (batch-norm running statistics always F32). The safetensors metadata (strings) holds:
//! `format` = "upres-weights", `format_version`, `arch`, `model_config` (the
//! [`ModelConfig`] as JSON), `scales` (JSON list of the scales the weights are
//! meant for), `color_space` ("y" | "rgb"), `input` ("bicubic" | "low_res"),
//! `value_range` ("[0,1]"), `dtype`, `parameters`, `macs_per_lr_pixel` (JSON,
//! per scale, derived from the config) and `provenance` (JSON).
//! Any safetensors reader (Python's included) can open the file.
//!
//! Loading is strict: every tensor of the architecture must be present with
//! its exact shape and nothing else may be in the file.

use std::collections::{BTreeMap, HashMap};

use burn::module::{Module, ParamId};
use burn::prelude::*;
use burn::tensor::TensorData;
use burn_store::{ModuleSnapshot, TensorSnapshot};
use safetensors::tensor::{Dtype as StDtype, TensorView};
use safetensors::SafeTensors;
use serde::{Deserialize, Serialize};

use crate::model::{ColorSpace, InputKind, ModelConfig, SrModel};
use crate::ModelError;

pub const FORMAT_NAME: &str = "upres-weights";
pub const FORMAT_VERSION: u32 = 1;

/// How tensors are stored. F16 halves the download for the web.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WeightsDtype {
    F32,
    F16,
}

/// Where the weights came from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// Who or what made them ("upres trainer", "imported from twtygqyy/pytorch-vdsr").
    pub author: String,
    /// Training data ("291: T91 + BSD200").
    #[serde(default)]
    pub training_data: String,
    #[serde(default)]
    pub iterations: Option<u64>,
    /// Set5 PSNR (dB, published protocol) per scale, e.g. {"x2": 37.56}.
    #[serde(default)]
    pub set5_psnr: BTreeMap<String, f64>,
    #[serde(default)]
    pub notes: String,
    /// The resolved training config, when the trainer made them.
    #[serde(default)]
    pub training_config: Option<serde_json::Value>,
}

/// Everything a weights file says about itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeightsMeta {
    pub format_version: u32,
    pub config: ModelConfig,
    /// The scales the weights were trained for (VDSR: 2, 3, 4).
    pub scales: Vec<usize>,
    pub color_space: ColorSpace,
    pub input: InputKind,
    pub dtype: WeightsDtype,
    pub parameters: usize,
    pub provenance: Provenance,
}

impl WeightsMeta {
    pub fn new(config: ModelConfig, scales: Vec<usize>, provenance: Provenance) -> Self {
        Self {
            format_version: FORMAT_VERSION,
            color_space: config.color_space(),
            input: config.input_kind(),
            config,
            scales,
            dtype: WeightsDtype::F32,
            parameters: 0,
            provenance,
        }
    }

    /// Multiply-adds per LR pixel at each scale the weights are for
    /// (`{"x2": 13520}`): the cost to compare models by.
    pub fn macs_per_lr_pixel(&self) -> BTreeMap<String, u64> {
        self.scales.iter().map(|&s| (format!("x{s}"), self.config.macs_per_lr_pixel(s))).collect()
    }

    /// "VDSR (x2, x3, x4)", for messages.
    pub fn describe(&self) -> String {
        let scales: Vec<String> = self.scales.iter().map(|s| format!("x{s}")).collect();
        format!("{} ({})", self.config.arch(), scales.join(", "))
    }
}

/// What the caller requires of a weights file; mismatches are refused.
#[derive(Debug, Clone, Default)]
pub struct Expectation {
    pub arch: Option<String>,
    pub scale: Option<f64>,
}

/// A loaded model with its metadata.
pub struct WeightsFile<B: Backend> {
    pub model: SrModel<B>,
    pub meta: WeightsMeta,
}

fn tensor_to_f32(snapshot: &TensorSnapshot) -> Result<Vec<f32>, ModelError> {
    let data = snapshot.to_data().map_err(|e| ModelError::Serialise(format!("{}: {e:?}", snapshot.full_path())))?;
    data.convert::<f32>()
        .into_vec::<f32>()
        .map_err(|e| ModelError::Serialise(format!("{}: {e:?}", snapshot.full_path())))
}

/// Batch-norm running statistics stay f32 in an f16 file, as burn-store's
/// half-precision adapter keeps them: running variances of trained networks
/// go below f16's smallest normal (6e-5) and would lose their precision, or
/// underflow to zero and divide by epsilon alone.
fn is_batch_norm_statistic(name: &str) -> bool {
    name.ends_with(".running_var") || name.ends_with(".running_mean")
}

/// Serialise a model and its metadata to safetensors bytes. `dtype` is the
/// dtype of the weights (F16 halves the download); batch-norm statistics
/// are f32 in both.
pub fn save_weights<B: Backend>(model: &SrModel<B>, meta: &WeightsMeta, dtype: WeightsDtype) -> Result<Vec<u8>, ModelError> {
    let snapshots = model.collect(None, None, true);
    let mut tensors: Vec<(String, Vec<usize>, StDtype, Vec<u8>)> = Vec::with_capacity(snapshots.len());
    for snap in &snapshots {
        let values = tensor_to_f32(snap)?;
        let name = snap.full_path();
        let (st_dtype, bytes) = match dtype {
            WeightsDtype::F16 if !is_batch_norm_statistic(&name) => (StDtype::F16, values.iter().flat_map(|v| half::f16::from_f32(*v).to_le_bytes()).collect()),
            _ => (StDtype::F32, values.iter().flat_map(|v| v.to_le_bytes()).collect()),
        };
        tensors.push((name, snap.shape.to_vec(), st_dtype, bytes));
    }
    let views = tensors
        .iter()
        .map(|(name, shape, st_dtype, bytes)| {
            TensorView::new(*st_dtype, shape.clone(), bytes)
                .map(|v| (name.clone(), v))
                .map_err(|e| ModelError::Serialise(format!("{name}: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut meta = meta.clone();
    meta.dtype = dtype;
    meta.parameters = model.num_params();
    meta.format_version = FORMAT_VERSION;
    let json = |v: &dyn erased::Json| v.to_json();
    let metadata: HashMap<String, String> = [
        ("format", FORMAT_NAME.to_string()),
        ("format_version", FORMAT_VERSION.to_string()),
        ("arch", meta.config.arch().to_string()),
        ("model_config", json(&meta.config)),
        ("scales", json(&meta.scales)),
        ("color_space", json(&meta.color_space).trim_matches('"').to_string()),
        ("input", json(&meta.input).trim_matches('"').to_string()),
        ("value_range", "[0,1]".to_string()),
        ("dtype", json(&meta.dtype).trim_matches('"').to_string()),
        ("parameters", meta.parameters.to_string()),
        // Derived from the config (readers need not know the architectures).
        ("macs_per_lr_pixel", json(&meta.macs_per_lr_pixel())),
        ("provenance", json(&meta.provenance)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    safetensors::serialize(views, Some(metadata)).map_err(|e| ModelError::Serialise(e.to_string()))
}

mod erased {
    pub trait Json {
        fn to_json(&self) -> String;
    }
    impl<T: serde::Serialize> Json for T {
        fn to_json(&self) -> String {
            serde_json::to_string(self).expect("metadata types always serialise")
        }
    }
}

/// Read only the metadata (no tensors are decoded).
pub fn read_meta(bytes: &[u8]) -> Result<WeightsMeta, ModelError> {
    let (_, header) = SafeTensors::read_metadata(bytes)
        .map_err(|e| ModelError::NotWeights(format!("not a safetensors file ({e})")))?;
    let md = header.metadata().clone().unwrap_or_default();
    let get = |k: &str| md.get(k).cloned();
    if get("format").as_deref() != Some(FORMAT_NAME) {
        return Err(ModelError::NotWeights(
            "a safetensors file without upres metadata; bring outside weights in with `trainer import`".into(),
        ));
    }
    let field = |k: &str| get(k).ok_or_else(|| ModelError::NotWeights(format!("metadata field '{k}' is missing")));
    let parse = |k: &str, v: String| -> Result<serde_json::Value, ModelError> {
        serde_json::from_str(&v).map_err(|e| ModelError::NotWeights(format!("metadata field '{k}' is not valid JSON ({e})")))
    };
    let version: u32 = field("format_version")?
        .parse()
        .map_err(|_| ModelError::NotWeights("metadata field 'format_version' is not a number".into()))?;
    if version > FORMAT_VERSION {
        return Err(ModelError::NewerFormat { found: version, supported: FORMAT_VERSION });
    }
    let config: ModelConfig = serde_json::from_value(parse("model_config", field("model_config")?)?)
        .map_err(|e| ModelError::NotWeights(format!("model_config does not describe a known model ({e})")))?;
    let scales: Vec<usize> = serde_json::from_value(parse("scales", field("scales")?)?)
        .map_err(|e| ModelError::NotWeights(format!("scales: {e}")))?;
    let dtype = match field("dtype")?.as_str() {
        "f16" => WeightsDtype::F16,
        "f32" => WeightsDtype::F32,
        other => return Err(ModelError::NotWeights(format!("unknown dtype '{other}'"))),
    };
    let provenance: Provenance = match get("provenance") {
        Some(p) => serde_json::from_value(parse("provenance", p)?).map_err(|e| ModelError::NotWeights(format!("provenance: {e}")))?,
        None => Provenance::default(),
    };
    Ok(WeightsMeta {
        format_version: version,
        color_space: config.color_space(),
        input: config.input_kind(),
        parameters: get("parameters").and_then(|p| p.parse().ok()).unwrap_or(0),
        config,
        scales,
        dtype,
        provenance,
    })
}

fn check_expectation(meta: &WeightsMeta, expect: &Expectation) -> Result<(), ModelError> {
    if let Some(arch) = &expect.arch {
        if !arch.eq_ignore_ascii_case(meta.config.arch()) {
            return Err(ModelError::WrongModel { expected: arch.clone(), found: meta.describe() });
        }
    }
    if let Some(scale) = expect.scale {
        meta.config.check_scale(scale)?;
    }
    Ok(())
}

/// "missing 3 (a, b, c); unexpected 1 (d); x is [2], expected [3]", or None when all fit.
fn mismatch_report(expected: &BTreeMap<String, Vec<usize>>, found: &BTreeMap<String, Vec<usize>>) -> Option<String> {
    let missing: Vec<String> = expected.keys().filter(|k| !found.contains_key(*k)).cloned().collect();
    let unexpected: Vec<String> = found.keys().filter(|k| !expected.contains_key(*k)).cloned().collect();
    let wrong_shape: Vec<String> = expected
        .iter()
        .filter_map(|(k, shape)| found.get(k).filter(|f| *f != shape).map(|f| format!("{k} is {f:?}, expected {shape:?}")))
        .collect();
    let mut parts = Vec::new();
    if !missing.is_empty() {
        parts.push(format!("missing {} tensor(s) ({})", missing.len(), list(&missing)));
    }
    if !unexpected.is_empty() {
        parts.push(format!("unexpected {} tensor(s) ({})", unexpected.len(), list(&unexpected)));
    }
    if !wrong_shape.is_empty() {
        parts.push(list(&wrong_shape));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

fn list(items: &[String]) -> String {
    const SHOWN: usize = 4;
    let mut s = items.iter().take(SHOWN).cloned().collect::<Vec<_>>().join(", ");
    if items.len() > SHOWN {
        s.push_str(&format!(" and {} more", items.len() - SHOWN));
    }
    s
}

/// A safetensors tensor's values as f32, for the float dtypes (None otherwise).
pub fn float_values(view: &TensorView<'_>) -> Option<Vec<f32>> {
    let raw = view.data();
    Some(match view.dtype() {
        StDtype::F32 => raw.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect(),
        StDtype::F64 => raw.chunks_exact(8).map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")) as f32).collect(),
        StDtype::F16 => raw.chunks_exact(2).map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32()).collect(),
        StDtype::BF16 => raw.chunks_exact(2).map(|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f32()).collect(),
        _ => return None,
    })
}

/// Decode a weights file into a model on `device`, refusing anything that
/// does not match the architecture exactly or fails `expect`.
pub fn load_weights<B: Backend>(bytes: &[u8], device: &B::Device, expect: &Expectation) -> Result<WeightsFile<B>, ModelError> {
    let meta = read_meta(bytes)?;
    check_expectation(&meta, expect)?;
    let model = meta.config.init::<B>(device)?;
    let file = SafeTensors::deserialize(bytes).map_err(|e| ModelError::NotWeights(format!("corrupt safetensors data ({e})")))?;

    let expected: BTreeMap<String, Vec<usize>> = expected_tensors(&model).into_iter().collect();
    let found: BTreeMap<String, Vec<usize>> = file.tensors().into_iter().map(|(n, v)| (n, v.shape().to_vec())).collect();
    if let Some(detail) = mismatch_report(&expected, &found) {
        return Err(ModelError::ShapeMismatch { arch: meta.describe(), detail });
    }

    // Names and shapes are checked above: every tensor of the model is replaced.
    let mut tensors = Vec::with_capacity(expected.len());
    for (name, shape) in expected {
        let view = file.tensor(&name).map_err(|e| ModelError::NotWeights(format!("{name}: {e}")))?;
        let values = float_values(&view).ok_or_else(|| ModelError::ShapeMismatch {
            arch: meta.describe(),
            detail: format!("{name} has dtype {:?}; only F32, F16, BF16 and F64 are read", view.dtype()),
        })?;
        tensors.push((name, shape, values));
    }
    let model = apply_partial(model, &meta.describe(), tensors)?;
    Ok(WeightsFile { model, meta })
}

/// Tensor names and shapes the architecture expects, in file order; what
/// `trainer import` maps outside weights onto.
pub fn expected_tensors<B: Backend, M: Module<B>>(model: &M) -> Vec<(String, Vec<usize>)> {
    model.collect(None, None, true).iter().map(|s| (s.full_path(), s.shape.to_vec())).collect()
}

/// Replace a model's tensors by name (for importers), strictly.
pub fn apply_named_tensors<B: Backend, M: Module<B>>(
    model: M,
    arch: &str,
    tensors: Vec<(String, Vec<usize>, Vec<f32>)>,
) -> Result<M, ModelError> {
    let expected: BTreeMap<String, Vec<usize>> = expected_tensors(&model).into_iter().collect();
    let found: BTreeMap<String, Vec<usize>> = tensors.iter().map(|(n, s, _)| (n.clone(), s.clone())).collect();
    if let Some(detail) = mismatch_report(&expected, &found) {
        return Err(ModelError::ShapeMismatch { arch: arch.to_string(), detail });
    }
    apply_partial(model, arch, tensors)
}

/// Replace some of a model's tensors by name, leaving the others as they
/// are (fine-tuning from a related model); names and shapes must exist.
pub fn apply_partial<B: Backend, M: Module<B>>(model: M, arch: &str, tensors: Vec<(String, Vec<usize>, Vec<f32>)>) -> Result<M, ModelError> {
    let snapshots = tensors
        .into_iter()
        .map(|(name, shape, values)| {
            let path = name.split('.').map(str::to_owned).collect();
            TensorSnapshot::from_data(TensorData::new(values, shape), path, Vec::new(), ParamId::new())
        })
        .collect();
    let mut model = model;
    let result = model.apply(snapshots, None, None, true);
    if !result.errors.is_empty() {
        let problems: Vec<String> = result.errors.iter().map(|e| e.to_string()).collect();
        return Err(ModelError::ShapeMismatch { arch: arch.to_string(), detail: list(&problems) });
    }
    Ok(model)
}
