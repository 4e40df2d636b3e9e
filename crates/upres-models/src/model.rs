use burn::prelude::*;
use serde::{Deserialize, Serialize};
pub use upres_image::{ColorSpace, InputKind, NetworkSpec};

use crate::edsr::{Edsr, EdsrConfig, Mdsr, MdsrConfig};
use crate::fsrcnn::{Fsrcnn, FsrcnnConfig};
use crate::sesr::{Sesr, SesrConfig};
use crate::srcnn::{Srcnn, SrcnnConfig};
use crate::srresnet::{Srresnet, SrresnetConfig};
use crate::vdsr::{Vdsr, VdsrConfig};
use crate::ModelError;

/// Any of the networks, with its hyper-parameters. Serialised as JSON with an
/// `"arch"` tag; it travels inside the weights file. When read, fields left
/// out take the architecture's defaults (`{"arch": "edsr", "scale": 3}` is
/// EDSR-baseline x3).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "arch", rename_all = "lowercase")]
pub enum ModelConfig {
    Srcnn(SrcnnConfig),
    Vdsr(VdsrConfig),
    Edsr(EdsrConfig),
    Mdsr(MdsrConfig),
    Srresnet(SrresnetConfig),
    Fsrcnn(FsrcnnConfig),
    Sesr(SesrConfig),
}

/// The same enum, read strictly (every field present).
#[derive(Deserialize)]
#[serde(tag = "arch", rename_all = "lowercase")]
enum StrictModelConfig {
    Srcnn(SrcnnConfig),
    Vdsr(VdsrConfig),
    Edsr(EdsrConfig),
    Mdsr(MdsrConfig),
    Srresnet(SrresnetConfig),
    Fsrcnn(FsrcnnConfig),
    Sesr(SesrConfig),
}

impl<'de> Deserialize<'de> for ModelConfig {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let mut given = serde_json::Value::deserialize(deserializer)?;
        let arch = given.get("arch").and_then(|a| a.as_str()).ok_or_else(|| D::Error::missing_field("arch"))?.to_string();
        let defaults = match arch.as_str() {
            "srcnn" => ModelConfig::Srcnn(SrcnnConfig::new()),
            "vdsr" => ModelConfig::Vdsr(VdsrConfig::new()),
            "edsr" => ModelConfig::Edsr(EdsrConfig::new()),
            "mdsr" => ModelConfig::Mdsr(MdsrConfig::new()),
            "srresnet" => ModelConfig::Srresnet(SrresnetConfig::new()),
            "fsrcnn" => ModelConfig::Fsrcnn(FsrcnnConfig::new()),
            "sesr" => ModelConfig::Sesr(SesrConfig::new()),
            other => return Err(D::Error::unknown_variant(other, &["srcnn", "vdsr", "edsr", "mdsr", "srresnet", "fsrcnn", "sesr"])),
        };
        let mut merged = serde_json::to_value(&defaults).map_err(D::Error::custom)?;
        if let (Some(m), Some(g)) = (merged.as_object_mut(), given.as_object_mut()) {
            for (k, v) in std::mem::take(g) {
                m.insert(k, v);
            }
        }
        Ok(match StrictModelConfig::deserialize(merged).map_err(D::Error::custom)? {
            StrictModelConfig::Srcnn(c) => ModelConfig::Srcnn(c),
            StrictModelConfig::Vdsr(c) => ModelConfig::Vdsr(c),
            StrictModelConfig::Edsr(c) => ModelConfig::Edsr(c),
            StrictModelConfig::Mdsr(c) => ModelConfig::Mdsr(c),
            StrictModelConfig::Srresnet(c) => ModelConfig::Srresnet(c),
            StrictModelConfig::Fsrcnn(c) => ModelConfig::Fsrcnn(c),
            StrictModelConfig::Sesr(c) => ModelConfig::Sesr(c),
        })
    }
}

impl ModelConfig {
    pub fn arch(&self) -> &'static str {
        match self {
            ModelConfig::Srcnn(_) => "srcnn",
            ModelConfig::Vdsr(_) => "vdsr",
            ModelConfig::Edsr(_) => "edsr",
            ModelConfig::Mdsr(_) => "mdsr",
            ModelConfig::Srresnet(_) => "srresnet",
            ModelConfig::Fsrcnn(_) => "fsrcnn",
            ModelConfig::Sesr(_) => "sesr",
        }
    }

    /// Look an architecture up by name, with the paper's defaults
    /// (`edsr-baseline`, `edsr`, `srcnn-915`, ...); `scale` picks the upsampler.
    pub fn preset(name: &str, scale: usize) -> Result<Self, ModelError> {
        Ok(match name {
            "srcnn" | "srcnn-955" => ModelConfig::Srcnn(SrcnnConfig::srcnn_955()),
            "srcnn-915" => ModelConfig::Srcnn(SrcnnConfig::srcnn_915()),
            "vdsr" => ModelConfig::Vdsr(VdsrConfig::new()),
            "edsr-baseline" => ModelConfig::Edsr(EdsrConfig::baseline(scale)),
            "edsr" => ModelConfig::Edsr(EdsrConfig::paper(scale)),
            "mdsr-baseline" | "mdsr" => ModelConfig::Mdsr(MdsrConfig::new()),
            "srresnet" => ModelConfig::Srresnet(SrresnetConfig::new().with_scale(scale)),
            "fsrcnn" | "fsrcnn-s" => ModelConfig::Fsrcnn(FsrcnnConfig::preset(name, scale).expect("a listed preset")),
            "sesr-m3" | "sesr-m5" | "sesr-m7" | "sesr-m11" | "sesr-xl" => {
                ModelConfig::Sesr(SesrConfig::preset(&name[5..], scale).expect("a listed preset"))
            }
            other => {
                return Err(ModelError::InvalidConfig(format!(
                    "unknown architecture '{other}' (known: srcnn, srcnn-915, vdsr, edsr-baseline, edsr, mdsr-baseline, srresnet, fsrcnn, fsrcnn-s, sesr-m3, sesr-m5, sesr-m7, sesr-m11, sesr-xl)"
                )));
            }
        })
    }

    pub fn input_kind(&self) -> InputKind {
        match self {
            ModelConfig::Srcnn(c) if c.upsample.is_none() => InputKind::Bicubic,
            ModelConfig::Vdsr(_) => InputKind::Bicubic,
            _ => InputKind::LowRes,
        }
    }

    pub fn color_space(&self) -> ColorSpace {
        let channels = match self {
            ModelConfig::Srcnn(c) => c.channels,
            ModelConfig::Vdsr(c) => c.channels,
            ModelConfig::Fsrcnn(_) | ModelConfig::Sesr(_) => 1,
            _ => 3,
        };
        if channels == 1 { ColorSpace::Y } else { ColorSpace::Rgb }
    }

    /// The scales the network itself produces, or `None` when it takes a
    /// bicubic-upscaled input and so runs at any scale.
    pub fn network_scales(&self) -> Option<Vec<usize>> {
        match self {
            ModelConfig::Srcnn(c) => c.upsample.map(|s| vec![s]),
            ModelConfig::Vdsr(_) => None,
            ModelConfig::Edsr(c) => Some(vec![c.scale]),
            ModelConfig::Mdsr(c) => Some(c.scales.clone()),
            ModelConfig::Srresnet(c) => Some(vec![c.scale]),
            ModelConfig::Fsrcnn(c) => Some(vec![c.scale]),
            ModelConfig::Sesr(c) => Some(vec![c.scale]),
        }
    }

    /// What the image side needs to know to feed this network.
    pub fn network_spec(&self) -> NetworkSpec {
        NetworkSpec { input: self.input_kind(), color: self.color_space(), scales: self.network_scales().unwrap_or_default() }
    }

    /// Whether `scale` can be produced; a clear error otherwise.
    pub fn check_scale(&self, scale: f64) -> Result<(), ModelError> {
        let fits = match self.network_scales() {
            None => scale.is_finite() && scale >= 1.0,
            Some(scales) => scales.iter().any(|&s| s as f64 == scale),
        };
        if fits {
            return Ok(());
        }
        let supported = match self.network_scales() {
            None => "any scale of at least 1".to_string(),
            Some(s) => s.iter().map(|s| format!("x{s}")).collect::<Vec<_>>().join(", "),
        };
        Err(ModelError::UnsupportedScale { arch: self.arch().to_string(), asked: scale.to_string(), supported })
    }

    pub fn validate(&self) -> Result<(), ModelError> {
        match self {
            ModelConfig::Srcnn(c) => c.validate(),
            ModelConfig::Vdsr(c) if c.layers < 2 || !matches!(c.channels, 1 | 3) => Err(ModelError::InvalidConfig(
                format!("VDSR needs at least 2 layers and 1 or 3 channels, got {} and {}", c.layers, c.channels),
            )),
            ModelConfig::Vdsr(_) => Ok(()),
            ModelConfig::Edsr(c) => c.validate(),
            ModelConfig::Mdsr(c) => c.validate(),
            ModelConfig::Srresnet(c) => c.validate(),
            ModelConfig::Fsrcnn(c) => c.validate(),
            ModelConfig::Sesr(c) => c.validate(),
        }
    }

    /// Build the network with freshly initialised weights.
    pub fn init<B: Backend>(&self, device: &B::Device) -> Result<SrModel<B>, ModelError> {
        self.validate()?;
        Ok(match self {
            ModelConfig::Srcnn(c) => SrModel::Srcnn(c.init(device)),
            ModelConfig::Vdsr(c) => SrModel::Vdsr(c.init(device)),
            ModelConfig::Edsr(c) => SrModel::Edsr(c.init(device)),
            ModelConfig::Mdsr(c) => SrModel::Mdsr(c.init(device)),
            ModelConfig::Srresnet(c) => SrModel::Srresnet(c.init(device)),
            ModelConfig::Fsrcnn(c) => SrModel::Fsrcnn(c.init(device)),
            ModelConfig::Sesr(c) => SrModel::Sesr(c.init(device)),
        })
    }
}

/// Any super-resolution network.
#[derive(Module, Debug)]
pub enum SrModel<B: Backend> {
    Srcnn(Srcnn<B>),
    Vdsr(Vdsr<B>),
    Edsr(Edsr<B>),
    Mdsr(Mdsr<B>),
    Srresnet(Srresnet<B>),
    Fsrcnn(Fsrcnn<B>),
    Sesr(Sesr<B>),
}

impl<B: Backend> SrModel<B> {
    /// Run the network. `x` is `[N, C, H, W]` in [0, 1]: the bicubic-upscaled
    /// image for [`InputKind::Bicubic`] networks, the LR image otherwise.
    /// `scale` selects MDSR's branch (already checked with
    /// [`ModelConfig::check_scale`]); the others ignore it.
    pub fn forward(&self, x: Tensor<B, 4>, scale: usize) -> Tensor<B, 4> {
        match self {
            SrModel::Srcnn(m) => m.forward(x),
            SrModel::Vdsr(m) => m.forward(x),
            SrModel::Edsr(m) => m.forward(x),
            SrModel::Mdsr(m) => m.forward(x, scale),
            SrModel::Srresnet(m) => m.forward(x),
            SrModel::Fsrcnn(m) => m.forward(x),
            SrModel::Sesr(m) => m.forward(x),
        }
    }

    /// The form to ship and to run in inference: SESR's linear blocks
    /// collapsed into plain convolutions (the same function), every other
    /// network as it is. Returns the config that describes the new form.
    pub fn for_inference(self, config: &ModelConfig) -> (ModelConfig, SrModel<B>) {
        match (self, config) {
            (SrModel::Sesr(m), ModelConfig::Sesr(c)) => (ModelConfig::Sesr(c.as_collapsed()), SrModel::Sesr(m.collapse())),
            (model, config) => (config.clone(), model),
        }
    }

    /// Named intermediate activations, ending with the output, for the
    /// networks that have a layer-by-layer view (VDSR, SRCNN, EDSR, FSRCNN, SESR).
    pub fn forward_features(&self, x: Tensor<B, 4>, scale: usize) -> Vec<(String, Tensor<B, 4>)> {
        match self {
            SrModel::Srcnn(m) => m.forward_features(x),
            SrModel::Vdsr(m) => m.forward_features(x),
            SrModel::Edsr(m) => m.forward_features(x),
            SrModel::Fsrcnn(m) => m.forward_features(x),
            SrModel::Sesr(m) => m.forward_features(x),
            other => vec![("output".to_string(), other.forward(x, scale))],
        }
    }
}
