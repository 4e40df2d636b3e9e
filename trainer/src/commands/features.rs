//! Layer-by-layer activations as PNG grids, as in the VDSR paper's Figure 2.

use anyhow::{Context, Result};
use upres_image::{
    BitDepth, DecodeLimits, Layout, OutputSize, PlanarImage, Plane, UpscaleJob, UpscaleRequest, feature_grid, read_image, write_png_atomic,
};
use upres_kernels::SrBackend;
use upres_models::Expectation;

use crate::backend::{OnBackend, dispatch};
use crate::cli::FeaturesArgs;

/// Most pixels a feature dump handles at once (activations of every layer are kept).
const MAX_PIXELS: usize = 1024 * 1024;

struct FeaturesTask {
    args: FeaturesArgs,
}

impl OnBackend for FeaturesTask {
    type Output = usize;
    fn run<B: SrBackend>(self, device: B::Device) -> Result<usize> {
        let args = self.args;
        let weights = super::load_model::<B>(&args.weights, &device, &Expectation { arch: None, scale: args.scale })?;
        let image = read_image(&args.image, DecodeLimits::default())?;
        let scale = args.scale.unwrap_or(weights.meta.scales.first().copied().unwrap_or(2) as f64);
        let spec = weights.meta.config.network_spec();
        let whole = image.width.max(image.height) * scale.ceil() as usize + 1;
        let job = UpscaleJob::new(&image, &spec, &UpscaleRequest { size: OutputSize::Scale(scale), tile: whole, overlap: 0 })?;
        let (iw, ih) = job.network_input_size();
        if iw * ih > MAX_PIXELS {
            anyhow::bail!(
                "{}: the network input would be {iw}x{ih}; feature maps are limited to {MAX_PIXELS} pixels: crop the image or lower --scale",
                args.image.display()
            );
        }
        std::fs::create_dir_all(&args.out).with_context(|| format!("{}: cannot create folder", args.out.display()))?;
        let input = job.tile_input(0);
        let x = upres_models::run::tile_tensor::<B>(input.clone(), &device);
        let save = |name: &str, plane: Plane| -> Result<()> {
            let img = PlanarImage::new(Layout::Gray, BitDepth::Eight, vec![plane]);
            write_png_atomic(&img, &args.out.join(format!("{name}.png")))?;
            Ok(())
        };
        save("input", feature_grid(&input.data, input.channels, input.height, input.width, usize::MAX))?;
        let features = weights.model.forward_features(x, job.network_scale());
        for (name, tensor) in &features {
            let [_, c, h, w] = tensor.dims();
            let values = tensor.clone().into_data().convert::<f32>().into_vec::<f32>().map_err(|e| anyhow::anyhow!("{e:?}"))?;
            save(name, feature_grid(&values, c, h, w, usize::MAX))?;
        }
        Ok(features.len() + 1)
    }
}

pub fn run(args: FeaturesArgs) -> Result<()> {
    let backend = args.backend.clone();
    let out = args.out.clone();
    let n = dispatch(&backend, FeaturesTask { args })?;
    eprintln!("features: wrote {n} PNG grids to {}", out.display());
    Ok(())
}
