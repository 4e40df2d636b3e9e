//! Float tensors by name from weights files made elsewhere, as burn-store
//! snapshots (read lazily): safetensors through its `SafetensorsStore`,
//! PyTorch pickles through its `PytorchReader`. Used by `trainer import` and
//! by the perceptual loss's VGG19.

use std::path::Path;

use anyhow::{Context, Result};
use burn_store::pytorch::PytorchReader;
use burn_store::{ModuleStore, SafetensorsStore, TensorSnapshot};
use upres_models::weights::{is_float, renamed};

use crate::files::read_bytes;

/// The float tensors of a `.safetensors` or PyTorch (`.pth`, `.pt`, `.bin`, `.ckpt`) file.
pub fn read_tensors(path: &Path, top_level_key: Option<&str>) -> Result<Vec<TensorSnapshot>> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    let tensors = match ext.as_str() {
        "safetensors" => read_safetensors(path)?,
        "pth" | "pt" | "bin" | "ckpt" => read_pytorch(path, top_level_key)?,
        _ => anyhow::bail!("{}: unknown weights format (expected .safetensors, .pth or .pt)", path.display()),
    };
    let floats = floats_only(tensors);
    if floats.is_empty() {
        anyhow::bail!("{}: no float tensors found; if the state dict sits under a key of a checkpoint, name it with --top-level-key", path.display());
    }
    Ok(floats)
}

fn read_safetensors(path: &Path) -> Result<Vec<TensorSnapshot>> {
    let mut store = SafetensorsStore::from_bytes(Some(read_bytes(path)?));
    let tensors =
        store.get_all_snapshots().map_err(|e| anyhow::anyhow!("{e}")).with_context(|| format!("{}: not a safetensors file", path.display()))?;
    Ok(tensors.values().cloned().collect())
}

fn read_pytorch(path: &Path, top_level_key: Option<&str>) -> Result<Vec<TensorSnapshot>> {
    let reader = match top_level_key {
        Some(key) => PytorchReader::with_top_level_key(path, key),
        None => PytorchReader::new(path),
    }
    .map_err(|e| anyhow::anyhow!("{}: cannot read as a PyTorch file: {e}", path.display()))?;
    // The reader's keys are the state dict's names; the snapshots take them as their paths.
    Ok(reader.into_tensors().into_iter().map(|(name, tensor)| renamed(tensor, &name)).collect())
}

/// Batch-norm's step counter and other integer tensors are no weights.
fn floats_only(tensors: Vec<TensorSnapshot>) -> Vec<TensorSnapshot> {
    tensors
        .into_iter()
        .filter(|t| {
            let name = t.full_path();
            let float = is_float(t.dtype);
            if !float && !name.ends_with("num_batches_tracked") {
                eprintln!("note: ignoring {name} ({:?}, not a float tensor)", t.dtype);
            }
            float
        })
        .collect()
}
