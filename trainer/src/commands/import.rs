//! Bringing outside weights into the upres format with an explicit key mapping.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, Result};
use burn::backend::Flex;
use regex::Regex;
use upres_models::weights::{apply_named_tensors, expected_tensors};
use upres_models::{save_weights, ModelConfig, Provenance, WeightsDtype, WeightsMeta};

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

/// FSRCNN's `mid_part` Sequential: shrink, PReLU, `m` x (conv, PReLU), expand, PReLU.
fn fsrcnn_mid_part(name: &str, mapping: usize) -> Option<String> {
    let rest = name.strip_prefix("mid_part.")?;
    let (index, leaf) = rest.split_once('.')?;
    let i: usize = index.parse().ok()?;
    let layer = match i {
        0 => "shrink".to_string(),
        1 => "shrink_act".to_string(),
        i if i < 2 + 2 * mapping && i % 2 == 0 => format!("mapping.{}", (i - 2) / 2),
        i if i < 2 + 2 * mapping => format!("mapping_acts.{}", (i - 3) / 2),
        i if i == 2 + 2 * mapping => "expand".to_string(),
        i if i == 3 + 2 * mapping => "expand_act".to_string(),
        _ => return None,
    };
    Some(format!("{layer}.{leaf}"))
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
    candidates
        .iter()
        .map(|c| format!("{prefix}.{c}"))
        .find(|c| expected.contains(c))
        .unwrap_or(name)
}

pub fn run(args: ImportArgs) -> Result<()> {
    let mut tensors = read_tensors(&args.from, args.top_level_key.as_deref())?;

    let mut config = ModelConfig::preset(&args.arch, args.scale[0])?;
    match &mut config {
        // Whether the outside VDSR has biases decides the architecture.
        ModelConfig::Vdsr(v) => v.bias = tensors.iter().any(|(n, _, _)| n.ends_with(".bias")),
        ModelConfig::Mdsr(m) => m.scales = args.scale.clone(),
        // A SESR state dict holds either the collapsed kernels (`blocks.0.weight`)
        // or the expanded pair; the file decides which form is imported.
        ModelConfig::Sesr(c) => c.collapsed = tensors.iter().any(|(n, shape, _)| n.ends_with("input_block.weight") && shape.len() == 4),
        _ => {}
    }
    if let ModelConfig::Fsrcnn(c) = &config {
        for (name, _, _) in tensors.iter_mut() {
            if let Some(mapped) = fsrcnn_mid_part(name.trim_start_matches("module."), c.mapping) {
                *name = mapped;
            }
        }
    }
    let mut rules: Vec<(Regex, String)> = Vec::new();
    for (pattern, replacement) in builtin_mapping(config.arch()) {
        rules.push((Regex::new(pattern).expect("built-in patterns are valid"), replacement.to_string()));
    }
    for m in &args.maps {
        let (pattern, replacement) = m.split_once('=').with_context(|| format!("--map {m}: expected REGEX=REPLACEMENT"))?;
        rules.push((Regex::new(pattern).with_context(|| format!("--map {m}: invalid regex"))?, replacement.to_string()));
    }

    let model = config.init::<Flex>(&Default::default())?;
    let expected: BTreeSet<String> = expected_tensors(&model).into_iter().map(|(n, _)| n).collect();
    let mut renames = BTreeMap::new();
    for (name, _, _) in tensors.iter_mut() {
        let original = name.clone();
        let mut mapped = original.clone();
        for (re, rep) in &rules {
            mapped = re.replace(&mapped, rep.as_str()).into_owned();
        }
        mapped = rename_for_burn(mapped, &expected);
        if mapped != original {
            renames.insert(original, mapped.clone());
        }
        *name = mapped;
    }
    let model = apply_named_tensors(model, config.arch(), tensors)
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
