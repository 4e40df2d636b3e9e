//! Running a network over an image of any size, tile by tile.

use burn::prelude::*;
use upres_image::{PlanarImage, TileInput, UpscaleJob, UpscaleOutput, UpscaleRequest};
use upres_kernels::SrBackend;

use crate::{ModelConfig, ModelError, SrModel};

/// A tile as a `[1, C, H, W]` tensor (its samples moved, not copied).
pub fn tile_tensor<B: Backend>(tile: TileInput, device: &B::Device) -> Tensor<B, 4> {
    Tensor::from_data(TensorData::new(tile.data, [1, tile.channels, tile.height, tile.width]), device)
}

/// The network's output as the f32 samples an [`UpscaleJob`] blends.
pub fn output_values<B: Backend>(output: Tensor<B, 4>) -> Result<Vec<f32>, ModelError> {
    output.into_data().convert::<f32>().into_vec::<f32>().map_err(|e| ModelError::Serialise(format!("reading the network output: {e:?}")))
}

/// Upscale `image` with `model`; `progress(done, total)` is called after each
/// tile and stops the work (with [`ModelError::Cancelled`]) when it returns false.
pub fn upscale<B: SrBackend>(
    model: &SrModel<B>,
    config: &ModelConfig,
    image: &PlanarImage,
    request: &UpscaleRequest,
    device: &B::Device,
    mut progress: impl FnMut(usize, usize) -> bool,
) -> Result<UpscaleOutput, ModelError> {
    let job = UpscaleJob::new(image, &config.network_spec(), request)?;
    // Nothing here waits, so the future is ready at its first poll.
    futures_executor::block_on(job.run(
        async |tile, scale| output_values(model.forward(tile_tensor::<B>(tile, device), scale)),
        async |done, total| if progress(done, total) { Ok(()) } else { Err(ModelError::Cancelled) },
    ))
}
