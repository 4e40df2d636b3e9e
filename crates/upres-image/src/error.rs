use std::path::PathBuf;

/// Everything that can go wrong with an image, named so that a user can act on it.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("{path}: cannot read file: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}: cannot write file: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("{0}: not a decodable image ({1})")]
    Decode(String, String),
    #[error("{name}: image is {width}x{height}, larger than the limit of {max_pixels} pixels")]
    TooLarge { name: String, width: u32, height: u32, max_pixels: u64 },
    #[error("{name}: image is {width}x{height}; at least {min}x{min} pixels are needed")]
    TooSmall { name: String, width: usize, height: usize, min: usize },
    #[error("{0}: cannot encode PNG ({1})")]
    Encode(String, String),
    #[error("cannot encode JPEG ({0})")]
    EncodeJpeg(String),
    #[error("invalid degradation: {0}")]
    InvalidDegradation(String),
    #[error("images differ in size: {0}x{1} vs {2}x{3}")]
    SizeMismatch(usize, usize, usize, usize),
    #[error("invalid resize: {0}")]
    InvalidResize(String),
    #[error("invalid tiling: {0}")]
    InvalidTiling(String),
}
