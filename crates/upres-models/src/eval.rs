//! The papers' evaluation protocol applied to a model: HR modcropped to the
//! scale, LR by MATLAB bicubic, PSNR/SSIM on Y with `round(scale)` pixels
//! shaved. Y networks are measured on their own unrounded Y output.

use upres_image::{
    ImageError, OutputSize, PlanarImage, Quality, ResizeTarget, UpscaleRequest, evaluate_y, evaluate_y_planes, imresize, luma, modcrop, output_len,
    shave_for_scale,
};
use upres_kernels::SrBackend;

use crate::{ModelConfig, ModelError, SrModel};

/// HR (modcropped, 8-bit) and its LR, or an error if the image is too small
/// for the scale (SSIM needs 11x11 pixels after the shave).
pub fn protocol_pair(image: &PlanarImage, scale: f64, name: &str) -> Result<(PlanarImage, PlanarImage), ImageError> {
    let hr = modcrop(&image.to_depth8(), scale);
    let min = 2 * shave_for_scale(scale) + 11;
    if hr.width < min || hr.height < min {
        return Err(ImageError::TooSmall { name: format!("{name} (after modcrop to x{scale})"), width: hr.width, height: hr.height, min });
    }
    let lr = imresize(&hr, ResizeTarget::Scale(1.0 / scale))?;
    Ok((hr, lr))
}

/// `imresize(lr, scale)`, or to the exact HR size where `ceil` would not give it.
pub fn bicubic_to(lr: &PlanarImage, width: usize, height: usize, scale: f64) -> Result<PlanarImage, ImageError> {
    let target = if output_len(lr.width, scale) == width && output_len(lr.height, scale) == height {
        ResizeTarget::Scale(scale)
    } else {
        ResizeTarget::Size { width, height }
    };
    imresize(lr, target)
}

pub fn bicubic_quality(hr: &PlanarImage, lr: &PlanarImage, scale: f64) -> Result<Quality, ImageError> {
    evaluate_y(&bicubic_to(lr, hr.width, hr.height, scale)?, hr, shave_for_scale(scale))
}

/// The model's PSNR/SSIM on one protocol pair.
pub fn model_quality<B: SrBackend>(
    model: &SrModel<B>,
    config: &ModelConfig,
    hr: &PlanarImage,
    lr: &PlanarImage,
    scale: f64,
    device: &B::Device,
) -> Result<Quality, ModelError> {
    model_output(model, config, hr, lr, scale, device).map(|(quality, _)| quality)
}

/// [`model_quality`], with the 8-bit output image (for LPIPS, which looks at RGB).
pub fn model_output<B: SrBackend>(
    model: &SrModel<B>,
    config: &ModelConfig,
    hr: &PlanarImage,
    lr: &PlanarImage,
    scale: f64,
    device: &B::Device,
) -> Result<(Quality, PlanarImage), ModelError> {
    // Large tiles: the published images are evaluated whole; tiling only bounds memory for huge ones.
    let request = UpscaleRequest { size: OutputSize::Exact { width: hr.width, height: hr.height }, tile: 1024, overlap: 32 };
    let out = crate::run::upscale(model, config, lr, &request, device, |_, _| true)?;
    let shave = shave_for_scale(scale);
    let quality = match &out.network_y {
        Some(y) => evaluate_y_planes(y, &luma(hr), shave)?,
        None => evaluate_y(&out.image, hr, shave)?,
    };
    Ok((quality, out.image))
}
