//! One typed config per experiment (`trainer/configs/*.json`). Unknown fields
//! are errors, so a typo never silently falls back to a default.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use upres_image::degrade::DegradationRecipe;
use upres_models::ModelConfig;

/// A length of training, in optimiser steps or in epochs (see [`DataConfig::epoch_patches`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Span {
    Iterations(u64),
    Epochs(f64),
}

impl Span {
    pub fn iterations(self, iterations_per_epoch: f64) -> u64 {
        match self {
            Span::Iterations(n) => n,
            Span::Epochs(e) => (e * iterations_per_epoch).round().max(1.0) as u64,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// Folders of training images, relative to the data root (`UPRES_DATA`,
    /// default `../shared/data`) unless absolute. Any folder of images works
    /// (DIV2K's `DIV2K_train_HR` included).
    pub dirs: Vec<PathBuf>,
    /// Training scales; every batch of a bicubic-input network mixes them,
    /// a low-resolution-input network takes one scale per batch.
    pub scales: Vec<usize>,
    /// Patch side: HR pixels for bicubic-input networks (VDSR: 41), LR pixels
    /// for the others (EDSR: 48).
    pub patch: usize,
    pub batch: usize,
    /// Random flips and 90-degree rotations.
    #[serde(default = "yes")]
    pub augment: bool,
    /// Threads that cut and augment batches ahead of the step.
    #[serde(default = "two")]
    pub workers: usize,
    /// How many patches make an epoch (the paper's dataset size), for
    /// schedules given in epochs; by default the patches a grid over the
    /// training images would give.
    #[serde(default)]
    pub epoch_patches: Option<u64>,
    /// How each LR patch is degraded on the fly, as photos are: a preset
    /// (`"jpeg"`, `"real"`) or a whole chain (upres_image::degrade); the
    /// papers' clean MATLAB bicubic LR when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub degradation: Option<DegradationRecipe>,
}

fn yes() -> bool {
    true
}
fn two() -> usize {
    2
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum OptimizerConfig {
    Adam {
        lr: f64,
        #[serde(default = "beta1")]
        beta1: f32,
        #[serde(default = "beta2")]
        beta2: f32,
        #[serde(default = "adam_eps")]
        epsilon: f32,
        #[serde(default)]
        weight_decay: f32,
    },
    Sgd {
        lr: f64,
        #[serde(default)]
        momentum: f64,
        #[serde(default)]
        weight_decay: f32,
        /// VDSR's adjustable gradient clipping: each gradient is clipped to
        /// [-theta/lr, theta/lr], so the step is bounded by theta whatever the lr.
        #[serde(default)]
        clip_theta: Option<f32>,
    },
}

fn beta1() -> f32 {
    0.9
}
fn beta2() -> f32 {
    0.999
}
fn adam_eps() -> f32 {
    1e-8
}

impl OptimizerConfig {
    pub fn lr(&self) -> f64 {
        match self {
            OptimizerConfig::Adam { lr, .. } | OptimizerConfig::Sgd { lr, .. } => *lr,
        }
    }
}

/// Step decay: `lr * gamma^floor(iteration / every)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleConfig {
    pub every: Span,
    pub gamma: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LossKind {
    L1,
    Mse,
    /// No pixel loss (SRGAN-VGG54: perceptual and adversarial terms only).
    None,
}

/// A VGG feature loss: `weight * MSE(VGG(sr), VGG(hr))` at `layer`
/// (SRGAN's VGG54 is VGG19's relu5_4 with weight 1/12.75^2 = 0.006).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerceptualConfig {
    #[serde(default = "relu5_4")]
    pub layer: String,
    pub weight: f64,
    /// VGG19 (the papers') or VGG16 (whose ImageNet weights `make tools`
    /// installs with LPIPS's, and which `--vgg-weights` then defaults to).
    #[serde(default)]
    pub network: VggNetwork,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VggNetwork {
    Vgg16,
    #[default]
    Vgg19,
}

impl VggNetwork {
    pub fn depth(self) -> usize {
        match self {
            VggNetwork::Vgg16 => 16,
            VggNetwork::Vgg19 => 19,
        }
    }
}

fn relu5_4() -> String {
    "relu5_4".into()
}

/// Adversarial training against SRGAN's discriminator; the generator's
/// adversarial term is `-log D(G(z))`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GanConfig {
    #[serde(default = "adversarial_weight")]
    pub adversarial_weight: f64,
    #[serde(default = "discriminator_features")]
    pub discriminator_features: usize,
    /// Width of the discriminator's hidden dense layer (the paper's 1024).
    /// Its weights and their two Adam moments dominate the checkpoint: 1024
    /// over 6x6x512 features is 19M weights, a 285 MB checkpoint.
    #[serde(default = "discriminator_dense")]
    pub discriminator_dense: usize,
    /// The discriminator's optimiser. Its learning rate follows the
    /// generator's schedule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optimizer: Option<OptimizerConfig>,
    /// The older spelling of `optimizer`: Adam (0.9, 0.999, 1e-8) at this
    /// learning rate (recipes and checkpoints written before still load).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lr: Option<f64>,
}

impl GanConfig {
    /// The discriminator's optimiser, whichever way the recipe spells it.
    pub fn optimizer(&self) -> Result<OptimizerConfig> {
        match (&self.optimizer, self.lr) {
            (Some(o), None) => Ok(o.clone()),
            (None, Some(lr)) => Ok(OptimizerConfig::Adam { lr, beta1: beta1(), beta2: beta2(), epsilon: adam_eps(), weight_decay: 0.0 }),
            (Some(_), Some(_)) => anyhow::bail!("gan: give the discriminator's optimizer or its lr, not both"),
            (None, None) => anyhow::bail!("gan: the discriminator needs an optimizer (gan.optimizer, e.g. {{\"kind\": \"adam\", \"lr\": 1e-4}})"),
        }
    }
}

fn adversarial_weight() -> f64 {
    1e-3
}
fn discriminator_dense() -> usize {
    1024
}

fn discriminator_features() -> usize {
    64
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidationConfig {
    /// HR folder, relative to the data root unless absolute.
    #[serde(default = "set5")]
    pub dir: PathBuf,
    pub scale: usize,
    pub every: u64,
    /// The paper's PSNR at this scale, drawn as a reference line.
    #[serde(default)]
    pub published_psnr: Option<f64>,
    /// Validate on LR degraded as `trainer eval --degrade` does (e.g.
    /// `jpeg:75`, seed 0), so that the best checkpoint is the best on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub degrade: Option<String>,
}

fn set5() -> PathBuf {
    PathBuf::from("benchmark/Set5/HR")
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    pub name: String,
    /// What the recipe reproduces, in a sentence.
    #[serde(default)]
    pub description: String,
    pub model: ModelConfig,
    pub data: DataConfig,
    pub optimizer: OptimizerConfig,
    #[serde(default)]
    pub schedule: Option<ScheduleConfig>,
    pub loss: LossKind,
    #[serde(default)]
    pub perceptual: Option<PerceptualConfig>,
    #[serde(default)]
    pub gan: Option<GanConfig>,
    pub duration: Span,
    pub validation: ValidationConfig,
    #[serde(default = "checkpoint_every")]
    pub checkpoint_every: u64,
    #[serde(default)]
    pub seed: u64,
}

fn checkpoint_every() -> u64 {
    500
}

/// Set `a.b.c = value` in a JSON tree; `value` is parsed as JSON, else taken as a string.
fn set_path(root: &mut serde_json::Value, path: &str, value: &str) -> Result<()> {
    let parsed: serde_json::Value = serde_json::from_str(value).unwrap_or_else(|_| serde_json::Value::String(value.to_string()));
    let mut node = root;
    let keys: Vec<&str> = path.split('.').collect();
    for (i, key) in keys.iter().enumerate() {
        let obj = node.as_object_mut().with_context(|| format!("--set {path}: '{}' is not an object", keys[..i].join(".")))?;
        if i == keys.len() - 1 {
            obj.insert(key.to_string(), parsed);
            return Ok(());
        }
        node = obj.entry(key.to_string()).or_insert_with(|| serde_json::json!({}));
    }
    Ok(())
}

/// Keys present in `given` but absent from `known` (dotted paths).
fn unknown_fields(given: &serde_json::Value, known: &serde_json::Value, prefix: &str) -> Vec<String> {
    let (Some(given), Some(known)) = (given.as_object(), known.as_object()) else { return Vec::new() };
    let mut out = Vec::new();
    for (key, value) in given {
        let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
        match known.get(key) {
            None => out.push(format!("`{path}`")),
            Some(k) => out.extend(unknown_fields(value, k, &path)),
        }
    }
    out
}

impl TrainConfig {
    /// Read a config file and apply `--set key.path=value` overrides.
    pub fn load(path: &Path, overrides: &[String]) -> Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("{}: cannot read config", path.display()))?;
        Self::from_json(&text, overrides).with_context(|| path.display().to_string())
    }

    pub fn from_json(text: &str, overrides: &[String]) -> Result<Self> {
        let mut value: serde_json::Value = serde_json::from_str(text).context("not valid JSON")?;
        for o in overrides {
            let (k, v) = o.split_once('=').with_context(|| format!("--set {o}: expected KEY=VALUE"))?;
            set_path(&mut value, k.trim(), v.trim())?;
        }
        if let Some(d) = value.pointer("/data/degradation").filter(|d| d.is_object()) {
            // The recipe type accepts a name or a chain: say what is wrong with the chain.
            serde_json::from_value::<upres_image::degrade::Degradation>(d.clone()).context("invalid config: data.degradation")?;
        }
        let config: TrainConfig = serde_json::from_value(value.clone()).context("invalid config")?;
        // The model configs are burn `Config`s, which ignore unknown keys:
        // compare against what the parsed config writes back instead.
        let unknown = unknown_fields(&value, &serde_json::to_value(&config)?, "");
        anyhow::ensure!(unknown.is_empty(), "invalid config: unknown field(s) {}", unknown.join(", "));
        config.validate()?;
        Ok(config)
    }

    pub fn validate(&self) -> Result<()> {
        self.model.validate()?;
        let d = &self.data;
        anyhow::ensure!(!d.dirs.is_empty(), "data.dirs is empty");
        anyhow::ensure!(!d.scales.is_empty(), "data.scales is empty");
        anyhow::ensure!(d.patch >= 4 && d.batch >= 1 && d.workers >= 1, "data.patch must be at least 4, batch and workers at least 1");
        if let Some(d) = &d.degradation {
            d.degradation().validate().context("data.degradation")?;
            anyhow::ensure!(
                self.model.network_spec().input == upres_image::InputKind::LowRes,
                "data.degradation: degraded patches are made for low-resolution-input networks; the {} model takes a bicubic-upscaled input",
                self.model.arch()
            );
        }
        if let Some(spec) = &self.validation.degrade {
            upres_image::degrade::Degradation::parse(spec).context("validation.degrade")?;
        }
        if let Some(scales) = self.model.network_scales() {
            for s in &d.scales {
                anyhow::ensure!(scales.contains(s), "data.scales has x{s}, but the {} model produces {:?}", self.model.arch(), scales);
            }
        }
        anyhow::ensure!(self.validation.every >= 1 && self.checkpoint_every >= 1, "validation.every and checkpoint_every must be at least 1");
        anyhow::ensure!(self.optimizer.lr() > 0.0, "optimizer.lr must be positive");
        if let Some(gan) = &self.gan {
            anyhow::ensure!(gan.optimizer()?.lr() > 0.0, "gan: the discriminator's lr must be positive");
        }
        anyhow::ensure!(
            self.loss != LossKind::None || self.perceptual.is_some() || self.gan.is_some(),
            "loss is \"none\" and there is no perceptual or adversarial term: nothing to train on"
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"{
        "name": "t", "model": {"arch": "vdsr", "layers": 4, "features": 8},
        "data": {"dirs": ["train/T91"], "scales": [2], "patch": 16, "batch": 2},
        "optimizer": {"kind": "adam", "lr": 0.001}, "loss": "l1",
        "duration": {"iterations": 10}, "validation": {"scale": 2, "every": 5}
    }"#;

    #[test]
    fn overrides_reach_nested_fields() {
        let c = TrainConfig::from_json(MINIMAL, &["optimizer.lr=1e-4".into(), "data.batch=4".into(), "model.layers=6".into()]).unwrap();
        assert_eq!(c.optimizer.lr(), 1e-4);
        assert_eq!(c.data.batch, 4);
        assert!(matches!(c.model, ModelConfig::Vdsr(ref v) if v.layers == 6));
    }

    #[test]
    fn unknown_fields_are_errors() {
        let err = TrainConfig::from_json(MINIMAL, &["data.pach=12".into()]).unwrap_err();
        assert!(format!("{err:#}").contains("unknown field `pach`"), "{err:#}");
    }

    #[test]
    fn unknown_model_fields_are_errors_too() {
        let err = TrainConfig::from_json(MINIMAL, &["model.layrs=6".into()]).unwrap_err();
        assert!(format!("{err:#}").contains("unknown field(s) `model.layrs`"), "{err:#}");
    }

    #[test]
    fn scales_the_model_cannot_make_are_errors() {
        let text = MINIMAL.replace(r#"{"arch": "vdsr", "layers": 4, "features": 8}"#, r#"{"arch": "edsr", "scale": 2}"#);
        let err = TrainConfig::from_json(&text, &["data.scales=[3]".into()]).unwrap_err();
        assert!(format!("{err:#}").contains("data.scales has x3"), "{err:#}");
    }

    #[test]
    fn degradations_are_named_presets_or_checked_chains() {
        let lowres = MINIMAL.replace(r#"{"arch": "vdsr", "layers": 4, "features": 8}"#, r#"{"arch": "edsr", "scale": 2}"#);
        let c = TrainConfig::from_json(&lowres, &[r#"data.degradation="jpeg""#.into(), "validation.degrade=jpeg:75".into()]).unwrap();
        assert_eq!(c.data.degradation, Some(DegradationRecipe::Preset(upres_image::degrade::Preset::Jpeg)));
        let err = TrainConfig::from_json(&lowres, &[r#"data.degradation={"kind": "after_bicubic", "steps": [{"op": "jpeg", "qualty": 50}]}"#.into()])
            .unwrap_err();
        assert!(format!("{err:#}").contains("data.degradation") && format!("{err:#}").contains("qualty"), "{err:#}");
        let err =
            TrainConfig::from_json(&lowres, &[r#"data.degradation={"kind": "after_bicubic", "steps": [{"op": "jpeg", "quality": 500}]}"#.into()])
                .unwrap_err();
        assert!(format!("{err:#}").contains("jpeg quality"), "{err:#}");
        let err = TrainConfig::from_json(MINIMAL, &[r#"data.degradation="real""#.into()]).unwrap_err();
        assert!(format!("{err:#}").contains("bicubic-upscaled input"), "{err:#}");
        let err = TrainConfig::from_json(&lowres, &["validation.degrade=jpg".into()]).unwrap_err();
        assert!(format!("{err:#}").contains("validation.degrade"), "{err:#}");
    }

    #[test]
    fn the_discriminator_optimiser_comes_from_the_recipe() {
        let sgd = MINIMAL.replace(r#""name": "t","#, r#""name": "t", "gan": {"optimizer": {"kind": "sgd", "lr": 0.01, "momentum": 0.9}},"#);
        let c = TrainConfig::from_json(&sgd, &[]).unwrap();
        assert!(matches!(c.gan.unwrap().optimizer().unwrap(), OptimizerConfig::Sgd { lr, momentum, .. } if lr == 0.01 && momentum == 0.9));
        // The older spelling: a bare lr is Adam, as before.
        let old = MINIMAL.replace(r#""name": "t","#, r#""name": "t", "gan": {"lr": 0.0001},"#);
        let c = TrainConfig::from_json(&old, &[]).unwrap();
        assert!(matches!(c.gan.unwrap().optimizer().unwrap(), OptimizerConfig::Adam { lr, beta1, .. } if lr == 1e-4 && beta1 == 0.9));
        let both = MINIMAL.replace(r#""name": "t","#, r#""name": "t", "gan": {"lr": 0.0001, "optimizer": {"kind": "adam", "lr": 0.001}},"#);
        let err = TrainConfig::from_json(&both, &[]).unwrap_err();
        assert!(format!("{err:#}").contains("not both"), "{err:#}");
    }
}
