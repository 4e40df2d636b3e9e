//! The upres weights format: one safetensors file per model.
//!
//! Tensors are named by their path in the module (`body.3.conv1.weight`),
//! stored as F32 or F16 (batch-norm layers always F32). The safetensors
//! metadata (strings) holds:
//! `format` = "upres-weights", `format_version`, `arch`, `model_config` (the
//! [`ModelConfig`] as JSON), `scales` (JSON list of the scales the weights are
//! meant for), `color_space` ("y" | "rgb"), `input` ("bicubic" | "low_res"),
//! `value_range` ("[0,1]"), `dtype`, `parameters`, `macs_per_lr_pixel` (JSON,
//! per scale, derived from the config) and `provenance` (JSON).
//! Any safetensors reader (Python's included) can open the file.
//!
//! Loading is strict: every tensor of the architecture must be present with
//! its exact shape and nothing else may be in the file.
//!
//! Tensors go in and out through burn-store (`SafetensorsStore`, its
//! half-precision adapter, `ModuleSnapshot::apply` and its report); the
//! metadata is read with the `safetensors` crate, since the store writes
//! metadata but does not hand it back.

use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::{Arc, Mutex};

use burn::module::{Module, ParamId};
use burn::prelude::*;
use burn::tensor::{DType, TensorData};
use burn_store::{
    ApplyError, ApplyResult, HalfPrecisionAdapter, ModuleAdapter, ModuleSnapshot, ModuleStore, SafetensorsStore, SafetensorsStoreError,
    TensorSnapshot,
};
use safetensors::SafeTensors;
use serde::{Deserialize, Serialize};
use upres_kernels::SrBackend;

use crate::ModelError;
use crate::model::{ColorSpace, InputKind, ModelConfig, SrModel};

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
    /// The paper's configuration the network is (`sesr-m5`), as
    /// [`save_weights`] recognised it from the one list of presets
    /// ([`crate::presets`]) and wrote it; `None` for sizes of our own, and in
    /// files written before the field (see [`WeightsMeta::recognise_preset`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<String>,
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
            preset: None,
        }
    }

    /// Multiply-adds per LR pixel at each scale the weights are for
    /// (`{"x2": 13520}`): the cost to compare models by.
    pub fn macs_per_lr_pixel(&self) -> BTreeMap<String, u64> {
        self.scales.iter().map(|&s| (format!("x{s}"), self.config.macs_per_lr_pixel(s))).collect()
    }

    /// The preset the file says the network is (a name lookup: the browser
    /// reads it without the code that recognises configs).
    pub fn preset(&self) -> Option<&'static crate::presets::Preset> {
        crate::presets::named(self.preset.as_deref()?)
    }

    /// Fill in `preset` from the config where the file does not say it
    /// (files written before the field).
    pub fn recognise_preset(&mut self) {
        if self.preset.is_none() {
            self.preset = crate::presets::preset_of(&self.config).map(|p| p.name.to_string());
        }
    }

    /// The paper's Set5 PSNR at each scale the weights are for, where its
    /// preset's paper gives one (`{"x2": 37.39}`).
    pub fn published_set5(&self) -> BTreeMap<String, f64> {
        let Some(preset) = self.preset() else { return BTreeMap::new() };
        self.scales.iter().filter_map(|&s| Some((format!("x{s}"), preset.published_set5_at(s)?))).collect()
    }

    /// The largest receptive radius over the scales the weights are for, in
    /// network-input pixels; `None` when a layer reads the whole image.
    /// (A network of any scale reads its bicubic input alike at all of them.)
    pub fn receptive_radius(&self) -> Option<usize> {
        let scales = if self.scales.is_empty() { &[1][..] } else { &self.scales };
        scales.iter().map(|&s| self.config.receptive_radius(s)).collect::<Option<Vec<_>>>()?.into_iter().max()
    }

    /// The tile overlap for these weights when the caller gives none: the
    /// least that makes tiles exact, at most the former default of 32 (see
    /// [`UpscaleRequest::overlap_for_radius`](upres_image::UpscaleRequest::overlap_for_radius)).
    pub fn default_overlap(&self) -> usize {
        upres_image::UpscaleRequest::overlap_for_radius(self.receptive_radius())
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
pub struct WeightsFile<B: SrBackend> {
    pub model: SrModel<B>,
    pub meta: WeightsMeta,
}

/// Batch-norm layers stay f32 in an f16 file: burn-store's half-precision
/// adapter leaves them out, because running variances of trained networks go
/// below f16's smallest normal (6e-5) and would lose their precision, or
/// underflow to zero and divide by epsilon alone. SESR's linear blocks hold
/// their parameters directly (no burn layer around them), so they are named.
fn half_precision() -> HalfPrecisionAdapter {
    HalfPrecisionAdapter::new().with_module("Struct:ExpandedBlock").with_module("Struct:CollapsedBlock")
}

/// Serialise a model and its metadata to safetensors bytes. `dtype` is the
/// dtype of the weights (F16 halves the download); batch-norm layers are f32
/// in both.
pub fn save_weights<B: SrBackend>(model: &SrModel<B>, meta: &WeightsMeta, dtype: WeightsDtype) -> Result<Vec<u8>, ModelError> {
    let mut meta = meta.clone();
    meta.dtype = dtype;
    meta.parameters = model.num_params();
    meta.format_version = FORMAT_VERSION;
    let json = |v: &dyn erased::Json| v.to_json();
    let fields = [
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
    // The paper's configuration, from the one list (crate::presets).
    .chain(crate::presets::preset_of(&meta.config).map(|p| ("preset", p.name.to_string())));
    // Burn's own metadata (`format` = "safetensors", producer, version) is
    // cleared: `format` names the upres format, which readers check.
    let mut store =
        fields.fold(SafetensorsStore::from_bytes(None).clear_metadata().skip_enum_variants(true), |store, (key, value)| store.metadata(key, value));
    if dtype == WeightsDtype::F16 {
        store = store.with_to_adapter(half_precision());
    }
    model.save_into(&mut store).map_err(|e| ModelError::Serialise(e.to_string()))?;
    store.get_bytes().map_err(|e| ModelError::Serialise(e.to_string()))
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
    let (_, header) = SafeTensors::read_metadata(bytes).map_err(|e| ModelError::NotWeights(format!("not a safetensors file ({e})")))?;
    let md = header.metadata().clone().unwrap_or_default();
    let get = |k: &str| md.get(k).cloned();
    if get("format").as_deref() != Some(FORMAT_NAME) {
        return Err(ModelError::NotWeights("a safetensors file without upres metadata; bring outside weights in with `trainer import`".into()));
    }
    let field = |k: &str| get(k).ok_or_else(|| ModelError::NotWeights(format!("metadata field '{k}' is missing")));
    let parse = |k: &str, v: String| -> Result<serde_json::Value, ModelError> {
        serde_json::from_str(&v).map_err(|e| ModelError::NotWeights(format!("metadata field '{k}' is not valid JSON ({e})")))
    };
    let version: u32 =
        field("format_version")?.parse().map_err(|_| ModelError::NotWeights("metadata field 'format_version' is not a number".into()))?;
    if version > FORMAT_VERSION {
        return Err(ModelError::NewerFormat { found: version, supported: FORMAT_VERSION });
    }
    let config_json = parse("model_config", field("model_config")?)?;
    check_config_sizes(&config_json, "model_config")?;
    let config: ModelConfig =
        serde_json::from_value(config_json).map_err(|e| ModelError::NotWeights(format!("model_config does not describe a known model ({e})")))?;
    let scales: Vec<usize> =
        serde_json::from_value(parse("scales", field("scales")?)?).map_err(|e| ModelError::NotWeights(format!("scales: {e}")))?;
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
        preset: get("preset"),
    })
}

/// The largest count (layers, blocks, channels) and list a model config may
/// hold. Parameters are made lazily, so a huge channel count costs nothing
/// until the strict shape check refuses it; but every layer is a module made
/// at once, and a header claiming a billion of them would abort the process
/// on allocation before any check could speak.
const MAX_CONFIG_COUNT: u64 = 65_536;
const MAX_CONFIG_LIST: usize = 1_024;

fn check_config_sizes(value: &serde_json::Value, path: &str) -> Result<(), ModelError> {
    let refuse =
        |what: String| ModelError::NotWeights(format!("{path} is {what}, more than any network this build makes; a damaged or hostile file"));
    match value {
        serde_json::Value::Number(n) if n.as_u64().is_some_and(|v| v > MAX_CONFIG_COUNT) => Err(refuse(n.to_string())),
        serde_json::Value::Array(items) if items.len() > MAX_CONFIG_LIST => Err(refuse(format!("a list of {} items", items.len()))),
        serde_json::Value::Array(items) => items.iter().enumerate().try_for_each(|(i, v)| check_config_sizes(v, &format!("{path}[{i}]"))),
        serde_json::Value::Object(fields) => fields.iter().try_for_each(|(k, v)| check_config_sizes(v, &format!("{path}.{k}"))),
        _ => Ok(()),
    }
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

/// Reads what a file stores as the f32 that upres computes in (F16, BF16 and
/// F64 are converted). Burn-store would otherwise make each parameter in the
/// file's dtype, and half-precision tensors on the CPU backends.
///
/// It also counts, as each tensor is read, its NaN and infinite values: one
/// NaN in a weight turns every output pixel it reaches into garbage with no
/// error, so [`ReadAsF32::refuse_non_finite`] refuses such a file by tensor.
#[derive(Debug, Clone, Default)]
struct ReadAsF32 {
    non_finite: Arc<Mutex<Vec<String>>>,
}

/// The dtypes weights are read from (as f32); anything else is refused.
pub fn is_float(dtype: DType) -> bool {
    matches!(dtype, DType::F32 | DType::F16 | DType::BF16 | DType::F64)
}

/// "576 NaN values", "2 infinite values", "3 NaN and 1 infinite values", or
/// None when every value is finite.
fn non_finite_values(values: &[f32]) -> Option<String> {
    let (nan, infinite) = values.iter().filter(|v| !v.is_finite()).fold((0, 0), |(n, i), v| if v.is_nan() { (n + 1, i) } else { (n, i + 1) });
    match (nan, infinite) {
        (0, 0) => None,
        (n, 0) => Some(format!("{n} NaN value{}", if n == 1 { "" } else { "s" })),
        (0, i) => Some(format!("{i} infinite value{}", if i == 1 { "" } else { "s" })),
        (n, i) => Some(format!("{n} NaN and {i} infinite values")),
    }
}

impl ReadAsF32 {
    fn refuse_non_finite(&self, arch: &str) -> Result<(), ModelError> {
        let mut found = self.non_finite.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone();
        found.sort();
        found.dedup();
        if found.is_empty() {
            return Ok(());
        }
        Err(ModelError::NonFinite { arch: arch.to_string(), detail: list(&found) })
    }
}

impl ModuleAdapter for ReadAsF32 {
    fn adapt(&self, snapshot: &TensorSnapshot) -> TensorSnapshot {
        if !is_float(snapshot.dtype) {
            return snapshot.clone(); // refused by name before anything is applied
        }
        let stored = snapshot.clone_data_fn();
        let path = snapshot.full_path();
        let non_finite = Arc::clone(&self.non_finite);
        TensorSnapshot::from_closure(
            Rc::new(move || {
                let data = stored()?;
                let data = if data.dtype == DType::F32 { data } else { data.convert_dtype(DType::F32) };
                let counted = data.as_slice::<f32>().ok().and_then(non_finite_values);
                if let Some(counted) = counted {
                    non_finite.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(format!("{path} holds {counted}"));
                }
                Ok(data)
            }),
            DType::F32,
            snapshot.shape.clone(),
            snapshot.path_stack.clone().unwrap_or_default(),
            snapshot.container_stack.clone().unwrap_or_default(),
            snapshot.tensor_id.unwrap_or_default(),
        )
    }

    fn clone_box(&self) -> Box<dyn ModuleAdapter> {
        Box::new(self.clone())
    }
}

/// Refuse a tensor that is not floating point before burn-store applies it
/// (it would become a float parameter holding integers).
fn refuse_non_float<'a>(arch: &str, mut snapshots: impl Iterator<Item = &'a TensorSnapshot>) -> Result<(), ModelError> {
    match snapshots.find(|s| !is_float(s.dtype)) {
        Some(s) => Err(ModelError::ShapeMismatch {
            arch: arch.to_string(),
            detail: format!("{} has dtype {:?}; only F32, F16, BF16 and F64 are read", s.full_path(), s.dtype),
        }),
        None => Ok(()),
    }
}

/// How much of the model the tensors given must cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Coverage {
    /// Every tensor of the model, and nothing else (a weights file, an import).
    Whole,
    /// Some of its tensors, each of which must exist with its shape (fine-tuning).
    Part,
}

/// Burn-store's report as one upres message: "missing 3 tensor(s) (a, b, c);
/// unexpected 1 tensor(s) (d); x is [2], expected [3]", or None when all fit.
fn strict_report(result: &ApplyResult, coverage: Coverage) -> Option<String> {
    let missing: Vec<String> = match coverage {
        Coverage::Whole => result.missing.iter().map(|(path, _)| path.clone()).collect(),
        Coverage::Part => Vec::new(),
    };
    let problems: Vec<String> = result
        .errors
        .iter()
        .map(|e| match e {
            ApplyError::ShapeMismatch { path, expected, found } => format!("{path} is {:?}, expected {:?}", found.as_slice(), expected.as_slice()),
            other => other.to_string(),
        })
        .collect();
    let mut parts = Vec::new();
    if !missing.is_empty() {
        parts.push(format!("missing {} tensor(s) ({})", missing.len(), list(&missing)));
    }
    if !result.unused.is_empty() {
        parts.push(format!("unexpected {} tensor(s) ({})", result.unused.len(), list(&result.unused)));
    }
    if !problems.is_empty() {
        parts.push(list(&problems));
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

/// A store over the bytes of a safetensors file, reading floats as f32 and
/// leaving completeness to [`strict_report`].
fn reading_store(bytes: &[u8], reader: &ReadAsF32) -> SafetensorsStore {
    SafetensorsStore::from_bytes(Some(bytes.to_vec())).skip_enum_variants(true).validate(false).allow_partial(true).with_from_adapter(reader.clone())
}

fn corrupt(e: SafetensorsStoreError) -> ModelError {
    ModelError::NotWeights(format!("corrupt safetensors data ({e})"))
}

/// A weights file whose header has been read and checked once: its
/// metadata, and the bytes its tensors are loaded from when a caller wants
/// the model (on a backend it chooses then, maybe twice: the browser loads
/// the same file on the CPU after losing the GPU).
/// `T` holds the bytes: a slice, a `Vec`, or an `Rc` of one.
#[derive(Debug, Clone)]
pub struct OpenWeights<T: AsRef<[u8]>> {
    bytes: T,
    meta: WeightsMeta,
}

/// Read and check a weights file's header: `(metadata, loader)` in one.
/// No tensor is decoded until [`OpenWeights::load`].
pub fn open_weights<T: AsRef<[u8]>>(bytes: T) -> Result<OpenWeights<T>, ModelError> {
    Ok(OpenWeights { meta: read_meta(bytes.as_ref())?, bytes })
}

impl<T: AsRef<[u8]>> OpenWeights<T> {
    pub fn meta(&self) -> &WeightsMeta {
        &self.meta
    }

    pub fn bytes(&self) -> &[u8] {
        self.bytes.as_ref()
    }

    /// Decode the model on `device`, refusing anything that does not match
    /// the architecture exactly or fails `expect`.
    pub fn load<B: SrBackend>(&self, device: &B::Device, expect: &Expectation) -> Result<WeightsFile<B>, ModelError> {
        let meta = self.meta.clone();
        check_expectation(&meta, expect)?;
        let mut model = meta.config.init::<B>(device)?;
        let reader = ReadAsF32::default();
        let mut store = reading_store(self.bytes.as_ref(), &reader);
        refuse_non_float(&meta.describe(), store.get_all_snapshots().map_err(corrupt)?.values())?;
        let result = model.load_from(&mut store).map_err(corrupt)?;
        if let Some(detail) = strict_report(&result, Coverage::Whole) {
            return Err(ModelError::ShapeMismatch { arch: meta.describe(), detail });
        }
        reader.refuse_non_finite(&meta.describe())?;
        Ok(WeightsFile { model, meta })
    }
}

/// Decode a weights file into a model on `device`: [`open_weights`] then
/// [`OpenWeights::load`].
pub fn load_weights<B: SrBackend>(bytes: &[u8], device: &B::Device, expect: &Expectation) -> Result<WeightsFile<B>, ModelError> {
    open_weights(bytes)?.load(device, expect)
}

/// Start a model from another weights file where names and shapes agree
/// (EDSR x3 from x2: everything but the upsampler). Returns the model and
/// how many of its tensors were taken over; no shared tensor is an error.
pub fn load_shared_tensors<B: Backend, M: Module<B>>(model: M, arch: &str, bytes: &[u8]) -> Result<(M, usize), ModelError> {
    let reader = ReadAsF32::default();
    let mut store = reading_store(bytes, &reader);
    let stored = store.get_all_snapshots().map_err(corrupt)?;
    let shared: Vec<String> = expected_tensors(&model)
        .into_iter()
        .filter(|(name, shape)| stored.get(name).is_some_and(|s| is_float(s.dtype) && s.shape.as_slice() == shape.as_slice()))
        .map(|(name, _)| name)
        .collect();
    if shared.is_empty() {
        return Err(ModelError::ShapeMismatch { arch: arch.to_string(), detail: "no tensor of the file has a name and shape of this model".into() });
    }
    let mut store = store.with_full_paths(shared);
    let mut model = model;
    let result = model.load_from(&mut store).map_err(corrupt)?;
    let result = ApplyResult { unused: Vec::new(), ..result }; // the rest of the file is meant to be left
    if let Some(detail) = strict_report(&result, Coverage::Part) {
        return Err(ModelError::ShapeMismatch { arch: arch.to_string(), detail });
    }
    reader.refuse_non_finite(arch)?;
    Ok((model, result.applied.len()))
}

/// Tensor names and shapes the architecture expects, in file order; what
/// `trainer import` maps outside weights onto.
pub fn expected_tensors<B: Backend, M: Module<B>>(model: &M) -> Vec<(String, Vec<usize>)> {
    model.collect(None, None, true).iter().map(|s| (s.full_path(), s.shape.to_vec())).collect()
}

fn apply_snapshots<B: Backend, M: Module<B>>(model: M, arch: &str, snapshots: Vec<TensorSnapshot>, coverage: Coverage) -> Result<M, ModelError> {
    refuse_non_float(arch, snapshots.iter())?;
    let mut model = model;
    let reader = ReadAsF32::default();
    let result = model.apply(snapshots, None, Some(Box::new(reader.clone())), true);
    if let Some(detail) = strict_report(&result, coverage) {
        return Err(ModelError::ShapeMismatch { arch: arch.to_string(), detail });
    }
    reader.refuse_non_finite(arch)?;
    Ok(model)
}

/// Replace every tensor of a model by the snapshots given (outside weights
/// after their names are mapped), strictly: all present, nothing else.
pub fn apply_named_tensors<B: Backend, M: Module<B>>(model: M, arch: &str, snapshots: Vec<TensorSnapshot>) -> Result<M, ModelError> {
    apply_snapshots(model, arch, snapshots, Coverage::Whole)
}

/// Replace some of a model's tensors by name, leaving the others as they
/// are; names and shapes must exist.
pub fn apply_partial<B: Backend, M: Module<B>>(model: M, arch: &str, tensors: Vec<(String, Vec<usize>, Vec<f32>)>) -> Result<M, ModelError> {
    let snapshots = tensors.into_iter().map(|(name, shape, values)| snapshot_of(&name, TensorData::new(values, shape))).collect();
    apply_snapshots(model, arch, snapshots, Coverage::Part)
}

/// A tensor's data under a dotted module path (`body.0.conv.weight`).
fn snapshot_of(name: &str, data: TensorData) -> TensorSnapshot {
    TensorSnapshot::from_data(data, name.split('.').map(str::to_owned).collect(), Vec::new(), ParamId::new())
}

/// Move a snapshot to another dotted path (the data stays where it is).
pub fn renamed(mut snapshot: TensorSnapshot, name: &str) -> TensorSnapshot {
    snapshot.path_stack = Some(name.split('.').map(str::to_owned).collect());
    snapshot
}
