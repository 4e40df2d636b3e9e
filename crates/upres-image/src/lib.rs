//! Image math for super-resolution that needs no tensors.
//!
//! Everything here follows the evaluation protocol of the SR papers (SRCNN,
//! VDSR, EDSR, SRGAN): MATLAB's `imresize` bicubic (antialiased, uint8 between
//! the two passes), MATLAB's `rgb2ycbcr` (BT.601, studio range), `modcrop`,
//! PSNR/SSIM on Y with `scale` pixels shaved at each border. The tiling plan
//! lets inference run on images of any size with bounded memory.

mod bands;
mod color;
mod crop;
pub mod degrade;
mod error;
mod feature_grid;
mod interleaved;
mod io;
mod jpeg_quality;
mod metrics;
mod planar;
mod resize;
mod tiling;

pub use bands::{Band, BandPlan};
pub use color::{YCBCR_OFFSET, rgb_to_ycbcr, y_channel, ycbcr_to_rgb};
pub use crop::{modcrop, modcrop_len, shave, shave_for_scale};
pub use error::ImageError;
pub use feature_grid::{feature_grid, robust_range};
pub use interleaved::{InterleavedImage, RowSource, Samples};
pub use io::{
    DecodeLimits, DecodeNotes, Decoded, decodable_format, decode, decode_samples_with_notes, decode_with_notes, encode_png, header_size, read_image,
    read_image_with_notes, write_atomic, write_png_atomic,
};
pub use jpeg_quality::{JpegQuality, jpeg_quality};
pub use metrics::{Quality, evaluate_y, evaluate_y_planes, luma, psnr, ssim};
pub use planar::{BitDepth, Layout, PlanarImage, Plane};
pub use resize::{Contributions, Quantize, ResizeTarget, imresize, imresize_plane, output_len};
pub use tiling::{Tile, TileBlender, TilePlan};
mod pipeline;
pub use pipeline::{
    ColorSpace, InputKind, NetworkSpec, OutputSize, TileInput, UpscaleJob, UpscaleOutput, UpscaleRequest, choose_network_scale, network_planes,
};
