//! Float tensors by name from weights files made elsewhere: safetensors, or
//! PyTorch pickles (through burn-store's reader). Used by `trainer import`
//! and by the perceptual loss's VGG19.

use std::path::Path;

use anyhow::{Context, Result};
use safetensors::SafeTensors;
use upres_models::weights::float_values;

use crate::files::read_bytes;

/// `(name, shape, values)` of every float tensor, in file order.
pub type Named = Vec<(String, Vec<usize>, Vec<f32>)>;

/// The tensors of a `.safetensors` or PyTorch (`.pth`, `.pt`, `.bin`, `.ckpt`) file.
pub fn read_tensors(path: &Path, top_level_key: Option<&str>) -> Result<Named> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    match ext.as_str() {
        "safetensors" => read_safetensors(path),
        "pth" | "pt" | "bin" | "ckpt" => read_pytorch(path, top_level_key),
        _ => anyhow::bail!("{}: unknown weights format (expected .safetensors, .pth or .pt)", path.display()),
    }
}

pub fn read_safetensors(path: &Path) -> Result<Named> {
    let bytes = read_bytes(path)?;
    let st = SafeTensors::deserialize(&bytes).with_context(|| format!("{}: not a safetensors file", path.display()))?;
    let mut out = Vec::new();
    for (name, view) in st.tensors() {
        let Some(values) = float_values(&view) else {
            eprintln!("note: ignoring {name} ({:?}, not a float tensor)", view.dtype());
            continue;
        };
        out.push((name, view.shape().to_vec(), values));
    }
    Ok(out)
}

pub fn read_pytorch(path: &Path, top_level_key: Option<&str>) -> Result<Named> {
    use burn_store::pytorch::PytorchReader;
    let reader = match top_level_key {
        Some(key) => PytorchReader::with_top_level_key(path, key),
        None => PytorchReader::new(path),
    }
    .map_err(|e| anyhow::anyhow!("{}: cannot read as a PyTorch file: {e}", path.display()))?;
    let mut out = Vec::new();
    for (name, snapshot) in reader.into_tensors() {
        if name.ends_with("num_batches_tracked") {
            continue;
        }
        let data = snapshot.to_data().map_err(|e| anyhow::anyhow!("{}: tensor {name}: {e:?}", path.display()))?;
        let shape = data.shape.to_vec();
        let values = data.convert::<f32>().into_vec::<f32>().map_err(|e| anyhow::anyhow!("{name}: {e:?}"))?;
        out.push((name, shape, values));
    }
    if out.is_empty() {
        anyhow::bail!(
            "{}: no tensors found; if the state dict sits under a key of a checkpoint, name it with --top-level-key",
            path.display()
        );
    }
    Ok(out)
}
