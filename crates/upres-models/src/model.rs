use burn::prelude::*;
use serde::{Deserialize, Serialize};
pub use upres_image::{ColorSpace, InputKind, NetworkSpec};
use upres_kernels::SrBackend;

use crate::ModelError;
use crate::architecture::{Architecture, Network};
use crate::edsr::{Edsr, EdsrConfig, Mdsr, MdsrConfig};
use crate::fsrcnn::{Fsrcnn, FsrcnnConfig};
use crate::sesr::{Sesr, SesrConfig};
use crate::srcnn::{Srcnn, SrcnnConfig};
use crate::srresnet::{Srresnet, SrresnetConfig};
use crate::vdsr::{Vdsr, VdsrConfig};

/// The table of architectures: one line each, `Variant(Config, Network) =
/// "arch"`, where `"arch"` is the tag in weights files and recipes (the
/// variant's name in lower case) and `Config` implements [`Architecture`].
/// It generates [`ModelConfig`], [`SrModel`] and every dispatch between them.
macro_rules! architectures {
    ($($variant:ident($config:ident, $network:ident) = $arch:literal),+ $(,)?) => {
        /// Any of the networks, with its hyper-parameters. Serialised as JSON with an
        /// `"arch"` tag; it travels inside the weights file. When read, fields left
        /// out take the architecture's defaults (`{"arch": "edsr", "scale": 3}` is
        /// EDSR-baseline x3).
        #[derive(Debug, Clone, PartialEq, Serialize)]
        #[serde(tag = "arch", rename_all = "lowercase")]
        pub enum ModelConfig {
            $($variant($config)),+
        }

        /// The same enum, read strictly (every field present).
        #[derive(Deserialize)]
        #[serde(tag = "arch", rename_all = "lowercase")]
        enum StrictModelConfig {
            $($variant($config)),+
        }

        /// Any super-resolution network.
        #[derive(Module, Debug)]
        pub enum SrModel<B: SrBackend> {
            $($variant($network<B>)),+
        }

        /// Every architecture's tag.
        pub const ARCHITECTURES: &[&str] = &[$($arch),+];

        impl ModelConfig {
            /// An architecture's config with every field at its default.
            pub(crate) fn defaults(arch: &str) -> Option<Self> {
                match arch {
                    $($arch => Some(ModelConfig::$variant($config::new())),)+
                    _ => None,
                }
            }

            fn from_strict(strict: StrictModelConfig) -> Self {
                match strict {
                    $(StrictModelConfig::$variant(c) => ModelConfig::$variant(c)),+
                }
            }

            pub fn arch(&self) -> &'static str {
                match self {
                    $(ModelConfig::$variant(_) => $arch),+
                }
            }

            /// The architecture's own facts.
            fn architecture(&self) -> &dyn ArchitectureFacts {
                match self {
                    $(ModelConfig::$variant(c) => c),+
                }
            }

            /// Build the network with freshly initialised weights.
            pub fn init<B: SrBackend>(&self, device: &B::Device) -> Result<SrModel<B>, ModelError> {
                self.validate()?;
                Ok(match self {
                    $(ModelConfig::$variant(c) => SrModel::$variant(c.build(device))),+
                })
            }
        }

        impl<B: SrBackend> SrModel<B> {
            /// Run the network. `x` is `[N, C, H, W]` in [0, 1]: the bicubic-upscaled
            /// image for [`InputKind::Bicubic`] networks, the LR image otherwise.
            /// `scale` selects MDSR's branch (already checked with
            /// [`ModelConfig::check_scale`]); the others ignore it.
            pub fn forward(&self, x: Tensor<B, 4>, scale: usize) -> Tensor<B, 4> {
                match self {
                    $(SrModel::$variant(m) => Network::forward(m, x, scale)),+
                }
            }

            /// Named intermediate activations, ending with the output, for the
            /// networks that have a layer-by-layer view (VDSR, SRCNN, EDSR, FSRCNN,
            /// SESR); the others show only the output.
            pub fn forward_features(&self, x: Tensor<B, 4>, scale: usize) -> Vec<(String, Tensor<B, 4>)> {
                match self {
                    $(SrModel::$variant(m) => Network::forward_features(m, x, scale)),+
                }
            }
        }
    };
}

architectures! {
    Srcnn(SrcnnConfig, Srcnn) = "srcnn",
    Vdsr(VdsrConfig, Vdsr) = "vdsr",
    Edsr(EdsrConfig, Edsr) = "edsr",
    Mdsr(MdsrConfig, Mdsr) = "mdsr",
    Srresnet(SrresnetConfig, Srresnet) = "srresnet",
    Fsrcnn(FsrcnnConfig, Fsrcnn) = "fsrcnn",
    Sesr(SesrConfig, Sesr) = "sesr",
}

/// [`Architecture`] without its generic parts, so that a config can be
/// asked through one `&dyn`.
trait ArchitectureFacts {
    fn validate(&self) -> Result<(), ModelError>;
    fn input_kind(&self) -> InputKind;
    fn color_space(&self) -> ColorSpace;
    fn network_scales(&self) -> Option<Vec<usize>>;
    fn macs_per_lr_pixel_at(&self, scale: usize) -> u64;
    fn receptive_radius_at(&self, scale: usize) -> Option<usize>;
}

impl<A: Architecture> ArchitectureFacts for A {
    fn validate(&self) -> Result<(), ModelError> {
        Architecture::validate(self)
    }
    fn input_kind(&self) -> InputKind {
        Architecture::input_kind(self)
    }
    fn color_space(&self) -> ColorSpace {
        Architecture::color_space(self)
    }
    fn network_scales(&self) -> Option<Vec<usize>> {
        Architecture::network_scales(self)
    }
    fn macs_per_lr_pixel_at(&self, scale: usize) -> u64 {
        Architecture::macs_per_lr_pixel_at(self, scale)
    }
    fn receptive_radius_at(&self, scale: usize) -> Option<usize> {
        Architecture::receptive_radius_at(self, scale)
    }
}

impl<'de> Deserialize<'de> for ModelConfig {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let mut given = serde_json::Value::deserialize(deserializer)?;
        let arch = given.get("arch").and_then(|a| a.as_str()).ok_or_else(|| D::Error::missing_field("arch"))?.to_string();
        let defaults = ModelConfig::defaults(&arch).ok_or_else(|| D::Error::unknown_variant(&arch, ARCHITECTURES))?;
        let mut merged = serde_json::to_value(&defaults).map_err(D::Error::custom)?;
        if let (Some(m), Some(g)) = (merged.as_object_mut(), given.as_object_mut()) {
            for (k, v) in std::mem::take(g) {
                m.insert(k, v);
            }
        }
        Ok(ModelConfig::from_strict(StrictModelConfig::deserialize(merged).map_err(D::Error::custom)?))
    }
}

impl ModelConfig {
    /// Look an architecture up by name, with the paper's defaults
    /// (`edsr-baseline`, `edsr`, `srcnn-915`, ...; the list is
    /// [`PRESETS`](crate::presets::PRESETS)); `scale` picks the upsampler.
    pub fn preset(name: &str, scale: usize) -> Result<Self, ModelError> {
        Ok(crate::presets::preset(name)?.config(scale))
    }

    pub fn input_kind(&self) -> InputKind {
        self.architecture().input_kind()
    }

    pub fn color_space(&self) -> ColorSpace {
        self.architecture().color_space()
    }

    /// The scales the network itself produces, or `None` when it takes a
    /// bicubic-upscaled input and so runs at any scale.
    pub fn network_scales(&self) -> Option<Vec<usize>> {
        self.architecture().network_scales()
    }

    /// Multiply-adds per LR pixel at `scale` (for a network with one scale,
    /// its own scale is used whatever `scale` says).
    pub fn macs_per_lr_pixel(&self, scale: usize) -> u64 {
        self.architecture().macs_per_lr_pixel_at(scale)
    }

    /// The receptive radius at `scale` in network-input pixels (see
    /// `reach.rs`); `None` when a layer reads the whole image.
    pub fn receptive_radius(&self, scale: usize) -> Option<usize> {
        self.architecture().receptive_radius_at(scale)
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
        self.architecture().validate()
    }
}

impl<B: SrBackend> SrModel<B> {
    /// The form to ship and to run in inference: SESR's linear blocks
    /// collapsed into plain convolutions (the same function), every other
    /// network as it is. Returns the config that describes the new form.
    pub fn for_inference(self, config: &ModelConfig) -> (ModelConfig, SrModel<B>) {
        match (self, config) {
            (SrModel::Sesr(m), ModelConfig::Sesr(c)) => (ModelConfig::Sesr(c.as_collapsed()), SrModel::Sesr(m.collapse())),
            (model, config) => (config.clone(), model),
        }
    }
}
