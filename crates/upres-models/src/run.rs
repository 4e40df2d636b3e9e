//! Running a network over an image of any size, tile by tile.

use burn::prelude::*;
use upres_image::{PlanarImage, TileInput, UpscaleJob, UpscaleOutput, UpscaleRequest};

use crate::{ModelConfig, ModelError, SrModel};

/// A tile as a `[1, C, H, W]` tensor.
pub fn tile_tensor<B: Backend>(tile: &TileInput, device: &B::Device) -> Tensor<B, 4> {
    Tensor::<B, 1>::from_data(TensorData::new(tile.data.clone(), [tile.data.len()]), device).reshape([1, tile.channels, tile.height, tile.width])
}

/// Upscale `image` with `model`; `progress(done, total)` is called after each
/// tile and stops the work (with [`ModelError::Cancelled`]) when it returns false.
pub fn upscale<B: Backend>(
    model: &SrModel<B>,
    config: &ModelConfig,
    image: &PlanarImage,
    request: &UpscaleRequest,
    device: &B::Device,
    mut progress: impl FnMut(usize, usize) -> bool,
) -> Result<UpscaleOutput, ModelError> {
    let mut job = UpscaleJob::new(image, &config.network_spec(), request)?;
    let total = job.tile_count();
    let scale = job.network_scale();
    for i in 0..total {
        let input = job.tile_input(i);
        let output = model.forward(tile_tensor::<B>(&input, device), scale);
        let values =
            output.into_data().convert::<f32>().into_vec::<f32>().map_err(|e| ModelError::Serialise(format!("reading the network output: {e:?}")))?;
        job.add_tile_output(i, &values)?;
        if !progress(i + 1, total) {
            return Err(ModelError::Cancelled);
        }
    }
    Ok(job.finish()?)
}
