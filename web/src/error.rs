//! The one error type of the web facade. Each variant becomes a JS `Error`
//! whose `name` is [`WebError::js_name`], in one place (`bindings/mod.rs`).

use upres_image::ImageError;
use upres_models::ModelError;

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// Not an upres weights file, a damaged one, or one this build cannot use.
    #[error("bad weights file: {0}")]
    Weights(String),
    #[error("{0}")]
    UnsupportedScale(String),
    /// Undecodable bytes, pixels that do not match their size, an image too small.
    #[error("{0}")]
    Image(String),
    #[error(
        "image too large: the {out_width}x{out_height} output needs about {needed_mb} MB, more than the {limit_mb} MB this library allows itself in the browser; use a smaller scale, or split or shrink the image first"
    )]
    TooLarge { out_width: usize, out_height: usize, needed_mb: u64, limit_mb: u64 },
    #[error("invalid option: {0}")]
    Options(String),
    #[error("the upscale was aborted")]
    Aborted,
    #[error("{0}")]
    Backend(String),
}

impl WebError {
    /// The JS `Error.name` callers can branch on.
    pub fn js_name(&self) -> &'static str {
        match self {
            WebError::Weights(_) => "WeightsError",
            WebError::UnsupportedScale(_) => "ScaleError",
            WebError::Image(_) => "ImageError",
            WebError::TooLarge { .. } => "ImageTooLargeError",
            WebError::Options(_) => "TypeError",
            WebError::Aborted => "AbortError",
            WebError::Backend(_) => "BackendError",
        }
    }
}

impl From<ImageError> for WebError {
    fn from(e: ImageError) -> Self {
        match e {
            ImageError::InvalidResize(m) | ImageError::InvalidTiling(m) => WebError::Options(m),
            other => WebError::Image(other.to_string()),
        }
    }
}

impl From<ModelError> for WebError {
    fn from(e: ModelError) -> Self {
        match e {
            ModelError::UnsupportedScale { .. } => WebError::UnsupportedScale(e.to_string()),
            ModelError::Image(i) => i.into(),
            ModelError::Cancelled => WebError::Aborted,
            other => WebError::Weights(other.to_string()),
        }
    }
}
