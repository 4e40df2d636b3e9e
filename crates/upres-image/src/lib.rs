//! Image math for super-resolution that needs no tensors.
//!
//! Everything here follows the evaluation protocol of the SR papers (SRCNN,
//! VDSR, EDSR, SRGAN): MATLAB's `imresize` bicubic (antialiased, uint8 between
//! the two passes), MATLAB's `rgb2ycbcr` (BT.601, studio range), `modcrop`,
//! PSNR/SSIM on Y with `scale` pixels shaved at each border. The tiling plan
//! lets inference run on images of any size with bounded memory.

mod bands;
pub mod degrade;
mod feature_grid;
mod color;
mod crop;
mod error;
mod interleaved;
mod io;
mod jpeg_quality;
mod metrics;
mod planar;
mod resize;
mod tiling;

pub use bands::{Band, BandPlan};
pub use color::{rgb_to_ycbcr, ycbcr_to_rgb, y_channel, YCBCR_OFFSET};
pub use crop::{modcrop, modcrop_len, shave, shave_for_scale};
pub use error::ImageError;
pub use feature_grid::{feature_grid, robust_range};
pub use jpeg_quality::{jpeg_quality, JpegQuality};
pub use interleaved::{InterleavedImage, RowSource, Samples};
pub use io::{decodable_format, decode, decode_samples_with_notes, header_size, decode_with_notes, encode_png, read_image, read_image_with_notes, write_atomic, write_png_atomic, DecodeLimits, DecodeNotes, Decoded};
pub use metrics::{evaluate_y, evaluate_y_planes, luma, psnr, ssim, Quality};
pub use planar::{BitDepth, Layout, PlanarImage, Plane};
pub use resize::{imresize, imresize_plane, output_len, Contributions, Quantize, ResizeTarget};
pub use tiling::{Tile, TileBlender, TilePlan};
mod pipeline;
pub use pipeline::{choose_network_scale, network_planes, ColorSpace, InputKind, NetworkSpec, OutputSize, TileInput, UpscaleJob, UpscaleOutput, UpscaleRequest};
