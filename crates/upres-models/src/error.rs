/// Errors of model construction and of the weights format.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("invalid model config: {0}")]
    InvalidConfig(String),
    #[error("scale x{asked} is not supported by this {arch} model (it supports {supported})")]
    UnsupportedScale { arch: String, asked: String, supported: String },
    #[error("not an upres weights file: {0}")]
    NotWeights(String),
    #[error("weights format version {found} is newer than this build understands (up to {supported})")]
    NewerFormat { found: u32, supported: u32 },
    #[error("weights are for {found}, expected {expected}")]
    WrongModel { expected: String, found: String },
    #[error("weights do not fit the {arch} architecture: {detail}")]
    ShapeMismatch { arch: String, detail: String },
    /// NaN or infinite values in the weights: the model would run and give garbage.
    #[error("weights of {arch} hold non-finite values: {detail}")]
    NonFinite { arch: String, detail: String },
    #[error(transparent)]
    Image(#[from] upres_image::ImageError),
    #[error("cancelled")]
    Cancelled,
    #[error("cannot serialise weights: {0}")]
    Serialise(String),
}
