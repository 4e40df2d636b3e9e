//! Bringing outside weights into the upres format with an explicit key mapping.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, Result};
use burn::backend::Flex;
use burn_store::KeyRemapper;
use regex::Regex;
use upres_models::weights::{apply_named_tensors, expected_tensors, renamed};
use upres_models::{ModelConfig, Provenance, WeightsDtype, WeightsMeta, save_weights};

use crate::cli::ImportArgs;
use crate::files::write_atomic;
use crate::foreign_tensors::read_tensors;

/// Known outside layouts, by architecture: `(pattern, replacement)`.
fn builtin_mapping(arch: &str) -> Vec<(&'static str, &'static str)> {
    let mut rules = vec![
        // nn.DataParallel wraps every key.
        (r"^module\.", ""),
    ];
    match arch {
        // twtygqyy/pytorch-vdsr: input, residual_layer.{0..17}.conv, output.
        "vdsr" => rules.push((r"^residual_layer\.(\d+)\.conv\.(weight|bias)$", "body.$1.$2")),
        // The usual PyTorch SRCNN (e.g. yjn870/SRCNN-pytorch): conv1, conv2, conv3.
        "srcnn" => {
            rules.push((r"^conv1\.", "head."));
            rules.push((r"^conv2\.", "body.0.conv."));
            rules.push((r"^conv3\.", "tail."));
        }
        // yjn870/FSRCNN-pytorch: first_part and last_part; mid_part is
        // renamed by position in `fsrcnn_mid_part`, which knows the layer count.
        "fsrcnn" => {
            rules.push((r"^first_part\.0\.", "extract."));
            rules.push((r"^first_part\.1\.", "extract_act."));
            rules.push((r"^last_part\.", "deconv."));
        }
        _ => {}
    }
    rules
}

/// FSRCNN's `mid_part` Sequential, renamed by position: shrink, PReLU,
/// `mapping` x (conv, PReLU), expand, PReLU.
fn fsrcnn_mid_part(mapping: usize) -> Vec<(String, String)> {
    let mut layers = vec!["shrink".to_string(), "shrink_act".to_string()];
    for m in 0..mapping {
        layers.push(format!("mapping.{m}"));
        layers.push(format!("mapping_acts.{m}"));
    }
    layers.push("expand".into());
    layers.push("expand_act".into());
    layers.into_iter().enumerate().map(|(i, layer)| (format!(r"^mid_part\.{i}\."), format!("{layer}."))).collect()
}

/// PyTorch names batch-norm and PReLU parameters `weight`/`bias`; burn names
/// them `gamma`/`beta` and `alpha`.
fn rename_for_burn(name: String, expected: &BTreeSet<String>) -> String {
    if expected.contains(&name) {
        return name;
    }
    let Some((prefix, leaf)) = name.rsplit_once('.') else { return name };
    let candidates: &[&str] = match leaf {
        "weight" => &["gamma", "alpha"],
        "bias" => &["beta"],
        _ => &[],
    };
    candidates.iter().map(|c| format!("{prefix}.{c}")).find(|c| expected.contains(c)).unwrap_or(name)
}

pub fn run(args: ImportArgs) -> Result<()> {
    let tensors = read_tensors(&args.from, args.top_level_key.as_deref())?;

    let mut config = ModelConfig::preset(&args.arch, args.scale[0])?;
    match &mut config {
        // Whether the outside VDSR has biases decides the architecture.
        ModelConfig::Vdsr(v) => v.bias = tensors.iter().any(|t| t.full_path().ends_with(".bias")),
        ModelConfig::Mdsr(m) => m.scales = args.scale.clone(),
        // A SESR state dict holds either the collapsed kernels (`blocks.0.weight`)
        // or the expanded pair; the file decides which form is imported.
        ModelConfig::Sesr(c) => c.collapsed = tensors.iter().any(|t| t.full_path().ends_with("input_block.weight") && t.shape.len() == 4),
        _ => {}
    }
    // Built-in rules first, then the user's --map, in order; each rule
    // replaces every match (burn-store's KeyRemapper).
    let builtin = builtin_mapping(config.arch()).into_iter().map(|(p, r)| (p.to_string(), r.to_string()));
    let positional = match &config {
        ModelConfig::Fsrcnn(c) => fsrcnn_mid_part(c.mapping),
        _ => Vec::new(),
    };
    let mut rules: Vec<(Regex, String)> = builtin.chain(positional).map(|(p, r)| (Regex::new(&p).expect("built-in patterns are valid"), r)).collect();
    for m in &args.maps {
        let (pattern, replacement) = m.split_once('=').with_context(|| format!("--map {m}: expected REGEX=REPLACEMENT"))?;
        rules.push((Regex::new(pattern).with_context(|| format!("--map {m}: invalid regex"))?, replacement.to_string()));
    }
    let remapper = KeyRemapper::from_compiled_patterns(rules);
    let (tensors, remapped) = remapper.remap(tensors);
    let original_of: BTreeMap<String, String> = remapped.into_iter().collect();

    let model = config.init::<Flex>(&Default::default())?;
    let expected: BTreeSet<String> = expected_tensors(&model).into_iter().map(|(n, _)| n).collect();
    let mut renames = BTreeMap::new();
    let mut seen = BTreeMap::new();
    let mut mapped_tensors = Vec::with_capacity(tensors.len());
    for tensor in tensors {
        let now = tensor.full_path();
        let original = original_of.get(&now).cloned().unwrap_or_else(|| now.clone());
        let mapped = rename_for_burn(now, &expected);
        if let Some(first) = seen.insert(mapped.clone(), original.clone()) {
            anyhow::bail!("{}: {first} and {original} both map to {mapped}; check --map", args.from.display());
        }
        if mapped != original {
            renames.insert(original, mapped.clone());
        }
        mapped_tensors.push(renamed(tensor, &mapped));
    }
    let model = apply_named_tensors(model, config.arch(), mapped_tensors)
        .with_context(|| format!("{}: does not fit --arch {}", args.from.display(), args.arch))?;

    let provenance = Provenance {
        author: args.author.clone(),
        training_data: args.training_data.clone(),
        iterations: args.iterations,
        notes: format!(
            "imported from {}{}{}",
            args.from.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default(),
            if args.notes.is_empty() { "" } else { "; " },
            args.notes
        ),
        ..Default::default()
    };
    let meta = WeightsMeta::new(config, args.scale.clone(), provenance);
    let dtype = if args.f16 { WeightsDtype::F16 } else { WeightsDtype::F32 };
    let bytes = save_weights(&model, &meta, dtype)?;
    write_atomic(&args.out, &bytes)?;
    eprintln!("import: {} tensors, {} renamed:", expected.len(), renames.len());
    for (from, to) in renames.iter().take(6) {
        eprintln!("  {from} -> {to}");
    }
    if renames.len() > 6 {
        eprintln!("  ... and {} more", renames.len() - 6);
    }
    eprintln!("import: wrote {} ({:.2} MB, {dtype:?})", args.out.display(), bytes.len() as f64 / 1e6);
    Ok(())
}
