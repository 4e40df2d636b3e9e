//! The papers' named configurations (`sesr-m5`, `edsr-baseline`, ...), in
//! one list. The trainer's `--arch` and `bench --models` read them;
//! `save_weights` writes the preset a config is into the file's metadata
//! (`preset`); `trainer info` prints it (recognising older files), and
//! `web/build.mjs` puts it with the paper's figure into `weights/index.json`,
//! which the demo shows. Nothing else spells a preset's sizes or its
//! published score. The wasm leaves recognition out (3 kB of its gzip budget).

use serde_json::Value;

use crate::ModelError;
use crate::model::ModelConfig;

/// One named configuration from a paper.
pub struct Preset {
    /// The name recipes, `--arch` and weights' `preset` use.
    pub name: &'static str,
    /// Other names accepted for it (`srcnn-955` for `srcnn`).
    pub aliases: &'static [&'static str],
    /// The paper's Set5 Y-PSNR (dB) at each scale, on the protocol
    /// `trainer eval` follows; only what the paper's own table gives.
    pub published_set5: &'static [(usize, f64)],
    /// The config as JSON: the fields that differ from the architecture's
    /// defaults (data rather than a constructor per preset; recognising one
    /// is a comparison of JSON values).
    config: &'static str,
}

/// Fields that do not make a network another preset: the scale (the
/// weights' own), SESR's training form (`collapsed`) and VDSR's biases (the
/// widely used PyTorch VDSR, our imported reference, has none).
const NOT_IDENTIFYING: [&str; 3] = ["scale", "collapsed", "bias"];

impl Preset {
    /// The config at `scale` (ignored by networks that refine a bicubic
    /// upscale, which have no scale).
    pub fn config(&self, scale: usize) -> ModelConfig {
        let mut value = self.value();
        let defaults = ModelConfig::defaults(value["arch"].as_str().unwrap_or_default()).expect("a preset names a known architecture");
        if serde_json::to_value(&defaults).expect("configs serialise").get("scale").is_some() {
            value["scale"] = scale.into();
        }
        serde_json::from_value(value).expect("a preset is a valid config")
    }

    pub fn published_set5_at(&self, scale: usize) -> Option<f64> {
        self.published_set5.iter().find(|(s, _)| *s == scale).map(|(_, psnr)| *psnr)
    }

    /// Every field of the config, defaults included, as JSON.
    fn value(&self) -> Value {
        serde_json::from_str(self.config).expect("a preset is valid JSON")
    }

    /// Whether `config` (as JSON) is this network: every field equal but the
    /// [`NOT_IDENTIFYING`] ones.
    fn is(&self, config: &Value) -> bool {
        let full = serde_json::to_value(self.config(2)).expect("configs serialise");
        let (Some(full), Some(given)) = (full.as_object(), config.as_object()) else { return false };
        full.len() == given.len() && full.iter().all(|(k, v)| NOT_IDENTIFYING.contains(&k.as_str()) || given.get(k).is_some_and(|g| same(g, v)))
    }
}

/// JSON values equal as the configs mean them (1 and 1.0 are one number).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b)),
        _ => a == b,
    }
}

/// Every preset, in the order the papers came.
pub static PRESETS: &[Preset] = &[
    Preset { name: "srcnn", aliases: &["srcnn-955"], published_set5: &[(2, 36.66), (3, 32.75), (4, 30.48)], config: r#"{"arch": "srcnn"}"# },
    Preset { name: "srcnn-915", aliases: &[], published_set5: &[], config: r#"{"arch": "srcnn", "kernels": [9, 1, 5]}"# },
    Preset { name: "fsrcnn", aliases: &[], published_set5: &[(2, 37.00), (3, 33.16), (4, 30.71)], config: r#"{"arch": "fsrcnn"}"# },
    Preset { name: "fsrcnn-s", aliases: &[], published_set5: &[], config: r#"{"arch": "fsrcnn", "features": 32, "shrink": 5, "mapping": 1}"# },
    Preset { name: "vdsr", aliases: &[], published_set5: &[(2, 37.53), (3, 33.66), (4, 31.35)], config: r#"{"arch": "vdsr"}"# },
    Preset { name: "srresnet", aliases: &[], published_set5: &[(4, 32.05)], config: r#"{"arch": "srresnet"}"# },
    Preset { name: "edsr-baseline", aliases: &[], published_set5: &[(2, 37.99), (3, 34.37), (4, 32.09)], config: r#"{"arch": "edsr"}"# },
    Preset {
        name: "edsr",
        aliases: &[],
        published_set5: &[(2, 38.11), (3, 34.65), (4, 32.46)],
        config: r#"{"arch": "edsr", "resblocks": 32, "features": 256, "res_scale": 0.1}"#,
    },
    Preset { name: "mdsr-baseline", aliases: &["mdsr"], published_set5: &[], config: r#"{"arch": "mdsr"}"# },
    Preset { name: "sesr-m3", aliases: &[], published_set5: &[], config: r#"{"arch": "sesr", "features": 16, "blocks": 3}"# },
    Preset { name: "sesr-m5", aliases: &[], published_set5: &[(2, 37.39)], config: r#"{"arch": "sesr", "features": 16, "blocks": 5}"# },
    Preset { name: "sesr-m7", aliases: &[], published_set5: &[], config: r#"{"arch": "sesr", "features": 16, "blocks": 7}"# },
    Preset { name: "sesr-m11", aliases: &[], published_set5: &[(2, 37.58)], config: r#"{"arch": "sesr", "features": 16, "blocks": 11}"# },
    Preset { name: "sesr-xl", aliases: &[], published_set5: &[(2, 37.77)], config: r#"{"arch": "sesr", "features": 32, "blocks": 11}"# },
];

/// The preset called exactly `name`, as a weights file stores it.
pub fn named(name: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|p| p.name == name)
}

/// The preset called `name` (or one of its aliases).
pub fn preset(name: &str) -> Result<&'static Preset, ModelError> {
    PRESETS.iter().find(|p| p.name == name || p.aliases.contains(&name)).ok_or_else(|| {
        let known: Vec<&str> = PRESETS.iter().map(|p| p.name).collect();
        ModelError::InvalidConfig(format!("unknown architecture '{name}' (known: {})", known.join(", ")))
    })
}

/// The preset whose network `config` is: every hyper-parameter equal,
/// whatever its scale and the form it is stored in (SESR collapsed or
/// expanded, VDSR with or without biases). `None` for a configuration of
/// our own (`edsr-small-x2`).
pub fn preset_of(config: &ModelConfig) -> Option<&'static Preset> {
    let given = serde_json::to_value(config).ok()?;
    PRESETS.iter().find(|p| p.is(&given))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edsr::EdsrConfig;
    use crate::sesr::SesrConfig;
    use crate::srcnn::SrcnnConfig;
    use crate::vdsr::VdsrConfig;

    #[test]
    fn each_preset_builds_the_papers_network() {
        let config = |name: &str, scale| preset(name).unwrap().config(scale);
        assert_eq!(config("sesr-xl", 3), ModelConfig::Sesr(SesrConfig::new().with_scale(3).with_features(32).with_blocks(11)));
        assert_eq!(config("edsr", 4), ModelConfig::Edsr(EdsrConfig::paper(4)));
        assert_eq!(config("edsr-baseline", 2), ModelConfig::Edsr(EdsrConfig::baseline(2)));
        assert_eq!(config("srcnn-955", 3), ModelConfig::Srcnn(SrcnnConfig::srcnn_955()));
        assert_eq!(config("vdsr", 4), ModelConfig::Vdsr(VdsrConfig::new()));
    }

    #[test]
    fn every_preset_is_recognised_as_itself_at_each_scale_and_as_no_other() {
        for p in PRESETS {
            for scale in [2, 3, 4] {
                let found = preset_of(&p.config(scale)).map(|q| q.name);
                assert_eq!(found, Some(p.name), "{} x{scale}", p.name);
            }
            assert!(std::ptr::eq(preset(p.name).unwrap(), p));
            for alias in p.aliases {
                assert_eq!(preset(alias).unwrap().name, p.name);
            }
        }
    }

    #[test]
    fn a_collapsed_sesr_is_its_preset_and_other_sizes_are_none() {
        let ModelConfig::Sesr(m5) = preset("sesr-m5").unwrap().config(4) else { panic!() };
        assert_eq!(m5.scale, 4);
        assert_eq!(preset_of(&ModelConfig::Sesr(m5.as_collapsed())).map(|p| p.name), Some("sesr-m5"));
        assert!(preset_of(&ModelConfig::Sesr(m5.clone().with_blocks(6))).is_none());
        assert!(preset_of(&ModelConfig::Sesr(m5.with_expansion(64))).is_none(), "every field but the listed ones counts");
        let small_vdsr = ModelConfig::Vdsr(VdsrConfig::new().with_layers(6).with_features(32));
        assert!(preset_of(&small_vdsr).is_none());
        let reference_vdsr = ModelConfig::Vdsr(VdsrConfig::new().with_bias(false));
        assert_eq!(preset_of(&reference_vdsr).map(|p| p.name), Some("vdsr"));
        let edsr_small = ModelConfig::Edsr(EdsrConfig::baseline(2).with_resblocks(6).with_features(32));
        assert!(preset_of(&edsr_small).is_none());
        assert_eq!(preset_of(&ModelConfig::Edsr(EdsrConfig::paper(3))).map(|p| p.name), Some("edsr"));
        assert_eq!(preset_of(&ModelConfig::Srcnn(SrcnnConfig::srcnn_915())).map(|p| p.name), Some("srcnn-915"));
    }

    #[test]
    fn an_unknown_name_lists_the_presets() {
        let err = preset("sesr-m9").err().unwrap().to_string();
        assert!(err.contains("unknown architecture 'sesr-m9'") && err.contains("sesr-m5") && err.contains("edsr-baseline"), "{err}");
    }
}
