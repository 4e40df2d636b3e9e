use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

const IMAGE_EXTENSIONS: [&str; 8] = ["png", "jpg", "jpeg", "bmp", "webp", "gif", "tif", "tiff"];

pub fn is_image_path(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()).is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// The image files of a folder, sorted by name; a single file stands for itself.
pub fn list_images(path: &Path) -> Result<Vec<PathBuf>> {
    if path.is_file() {
        return Ok(vec![path.to_owned()]);
    }
    let entries = std::fs::read_dir(path).with_context(|| format!("{}: cannot read folder", path.display()))?;
    let mut files: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_file() && is_image_path(p)).collect();
    files.sort();
    if files.is_empty() {
        anyhow::bail!("{}: no images (png, jpg, bmp, webp) in this folder", path.display());
    }
    Ok(files)
}

pub fn stem(path: &Path) -> String {
    path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
}

/// "2" for integer scales, "1.5" otherwise.
pub fn scale_label(scale: f64) -> String {
    if scale.fract() == 0.0 { format!("{}", scale as i64) } else { format!("{scale}") }
}

pub fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("{}: cannot read file", path.display()))
}

/// Write through a synced temporary file renamed into place (upres-image's writer).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    Ok(upres_image::write_atomic(path, bytes)?)
}
