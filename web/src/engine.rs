//! A loaded model on one backend (WebGPU or the CPU), and the async drivers
//! that run it over an image tile by tile: upscale, the papers' evaluation
//! (ground-truth mode) and feature maps. Nothing here knows about JS; the
//! bindings hand in an async `on_tile` callback.

use std::future::Future;

use burn::prelude::*;
use serde::Serialize;
use upres_image::{
    OutputSize, PlanarImage, Quality, TileInput, UpscaleJob, UpscaleOutput, UpscaleRequest, degrade::jpeg_image, evaluate_y, evaluate_y_planes,
    feature_grid, luma, shave_for_scale,
};
use upres_kernels::SrBackend;
use upres_models::eval::{bicubic_to, protocol_pair};
use upres_models::run::tile_tensor;
use upres_models::{Expectation, OpenWeights, SrModel, WeightsMeta};

use crate::WebError;
use crate::pixels::check_memory;

/// The CPU backend: burn's Flex, built with wasm SIMD (simd128) for the browser.
pub type Cpu = burn::backend::Flex;
#[cfg(all(target_family = "wasm", feature = "webgpu"))]
pub type WebGpu = burn::backend::Wgpu;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    Webgpu,
    Cpu,
}

#[derive(Clone)]
pub struct Loaded<B: SrBackend> {
    pub model: SrModel<B>,
    pub device: B::Device,
}

#[derive(Clone)]
pub enum Engine {
    Cpu(Loaded<Cpu>),
    #[cfg(all(target_family = "wasm", feature = "webgpu"))]
    WebGpu(Loaded<WebGpu>),
}

/// Why a tile did not come back.
#[derive(Debug)]
pub enum TileError {
    /// The GPU failed (device lost, out of memory): the run may go on on the CPU.
    Device(String),
    Other(WebError),
}

async fn read_back<B: Backend>(t: Tensor<B, 4>) -> Result<Vec<f32>, TileError> {
    // Asynchronous: a synchronous read of a WebGPU buffer panics in a browser.
    let data = t.into_data_async().await.map_err(|e| TileError::Device(format!("{e:?}")))?;
    data.convert::<f32>().into_vec::<f32>().map_err(|e| TileError::Other(WebError::Backend(format!("reading the network output: {e:?}"))))
}

async fn forward_tile<B: SrBackend>(loaded: &Loaded<B>, input: &TileInput, scale: usize) -> Result<Vec<f32>, TileError> {
    // A copy: the caller keeps the tile to run it again on the CPU if the GPU is lost.
    read_back(loaded.model.forward(tile_tensor::<B>(input.clone(), &loaded.device), scale)).await
}

/// One layer's activations as a gray grid image (0..=255).
#[derive(Debug, Clone, Serialize)]
pub struct FeatureMap {
    pub name: String,
    pub channels: usize,
    pub width: usize,
    pub height: usize,
    #[serde(skip)]
    pub grid: upres_image::Plane,
}

async fn features_of<B: SrBackend>(loaded: &Loaded<B>, input: &TileInput, scale: usize, max_channels: usize) -> Result<Vec<FeatureMap>, TileError> {
    let mut maps = vec![FeatureMap {
        name: "input".into(),
        channels: input.channels,
        width: input.width,
        height: input.height,
        grid: feature_grid(&input.data, input.channels, input.height, input.width, max_channels),
    }];
    for (name, t) in loaded.model.forward_features(tile_tensor::<B>(input.clone(), &loaded.device), scale) {
        let [_, c, h, w] = t.dims();
        let values = read_back(t).await?;
        maps.push(FeatureMap { name, channels: c, width: w, height: h, grid: feature_grid(&values, c, h, w, max_channels) });
    }
    Ok(maps)
}

impl Engine {
    pub fn cpu(weights: &OpenWeights<impl AsRef<[u8]>>) -> Result<Engine, WebError> {
        let device = Default::default();
        let file = weights.load::<Cpu>(&device, &Expectation::default())?;
        Ok(Engine::Cpu(Loaded { model: file.model, device }))
    }

    /// The model on the browser's GPU. The caller has checked that an adapter exists:
    /// burn's initialisation panics without one.
    #[cfg(all(target_family = "wasm", feature = "webgpu"))]
    pub async fn webgpu(weights: &OpenWeights<impl AsRef<[u8]>>) -> Result<Engine, WebError> {
        use burn::backend::wgpu::{RuntimeOptions, WgpuDevice, graphics, init_setup_async};
        thread_local! {
            // burn registers one WebGPU client per device and panics on a second
            // registration: every Upscaler in this thread shares it.
            static INITIALISED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
        }
        let device = WgpuDevice::default();
        if !INITIALISED.get() {
            init_setup_async::<graphics::WebGpu>(&device, RuntimeOptions::default()).await;
            INITIALISED.set(true);
        }
        let file = weights.load::<WebGpu>(&device, &Expectation::default())?;
        Ok(Engine::WebGpu(Loaded { model: file.model, device }))
    }

    pub fn kind(&self) -> BackendKind {
        match self {
            Engine::Cpu(_) => BackendKind::Cpu,
            #[cfg(all(target_family = "wasm", feature = "webgpu"))]
            Engine::WebGpu(_) => BackendKind::Webgpu,
        }
    }

    pub async fn run_tile(&self, input: &TileInput, scale: usize) -> Result<Vec<f32>, TileError> {
        match self {
            Engine::Cpu(l) => forward_tile(l, input, scale).await,
            #[cfg(all(target_family = "wasm", feature = "webgpu"))]
            Engine::WebGpu(l) => forward_tile(l, input, scale).await,
        }
    }

    async fn features(&self, input: &TileInput, scale: usize, max_channels: usize) -> Result<Vec<FeatureMap>, TileError> {
        match self {
            Engine::Cpu(l) => features_of(l, input, scale, max_channels).await,
            #[cfg(all(target_family = "wasm", feature = "webgpu"))]
            Engine::WebGpu(l) => features_of(l, input, scale, max_channels).await,
        }
    }
}

/// A model ready to run, with what is needed to move it to the CPU mid-run.
#[derive(Clone)]
pub struct Session {
    pub engine: Engine,
    /// The weights file, its header read once; kept to rebuild the model on
    /// the CPU if the GPU is lost.
    pub weights: OpenWeights<std::rc::Rc<[u8]>>,
    /// Why the CPU runs although WebGPU was asked for or tried.
    pub fallback_reason: Option<String>,
    /// Test hook: the next GPU tile fails as if the device had been lost.
    pub fail_next_gpu_tile: bool,
}

impl Session {
    pub fn on_cpu(weights: OpenWeights<std::rc::Rc<[u8]>>, fallback_reason: Option<String>) -> Result<Session, WebError> {
        let engine = Engine::cpu(&weights)?;
        Ok(Session { engine, weights, fallback_reason, fail_next_gpu_tile: false })
    }

    pub fn meta(&self) -> &WeightsMeta {
        self.weights.meta()
    }

    /// Run one tile; on a GPU failure, move to the CPU, say why, and run it there.
    pub async fn run_tile(&mut self, input: &TileInput, scale: usize) -> Result<Vec<f32>, WebError> {
        let result = if self.fail_next_gpu_tile && self.engine.kind() == BackendKind::Webgpu {
            self.fail_next_gpu_tile = false;
            Err(TileError::Device("the GPU device was lost (simulated)".into()))
        } else {
            self.engine.run_tile(input, scale).await
        };
        match result {
            Ok(v) => Ok(v),
            Err(TileError::Other(e)) => Err(e),
            Err(TileError::Device(reason)) => {
                self.move_to_cpu(reason)?;
                self.engine.run_tile(input, scale).await.map_err(|e| match e {
                    TileError::Device(m) => WebError::Backend(m),
                    TileError::Other(e) => e,
                })
            }
        }
    }

    fn move_to_cpu(&mut self, reason: String) -> Result<(), WebError> {
        self.engine = Engine::cpu(&self.weights)?;
        self.fallback_reason = Some(format!("WebGPU failed during a run ({reason}); the rest ran on the CPU"));
        Ok(())
    }

    /// Upscale `image`; `on_tile(done, total)` runs after each tile and stops
    /// the work (with [`WebError::Aborted`]) when it resolves to false.
    pub async fn upscale<F, Fut>(&mut self, image: &PlanarImage, request: &UpscaleRequest, mut on_tile: F) -> Result<UpscaleOutput, WebError>
    where
        F: FnMut(usize, usize) -> Fut,
        Fut: Future<Output = Result<bool, WebError>>,
    {
        check_requested_scale(self.meta(), image.width, image.height, request)?;
        // Before UpscaleJob::new, which allocates planes of the output size.
        let (ow, oh) = request.size.resolve(image.width, image.height);
        check_memory(ow, oh, image.layout.channels().max(3))?;
        let job = UpscaleJob::new(image, &self.meta().config.network_spec(), request)?;
        job.run(async |input, scale| self.run_tile(&input, scale).await, async |done, total| stop_unless(on_tile(done, total).await?)).await
    }

    /// Ground-truth mode: `image` is the HR; its LR is made with MATLAB's
    /// bicubic and upscaled back by bicubic and by the model, both scored on
    /// the papers' protocol (Y, modcrop, `round(scale)` shaved).
    /// With `jpeg_quality`, the low-resolution image is saved as a JPEG of
    /// that quality before both restore it (`trainer eval --degrade jpeg:Q`).
    pub async fn evaluate<F, Fut>(
        &mut self,
        image: &PlanarImage,
        scale: f64,
        jpeg_quality: Option<u8>,
        tile: usize,
        on_tile: F,
    ) -> Result<Evaluation, WebError>
    where
        F: FnMut(usize, usize) -> Fut,
        Fut: Future<Output = Result<bool, WebError>>,
    {
        self.meta().config.check_scale(scale)?;
        let (hr, mut lr) = protocol_pair(image, scale, "image")?;
        if let Some(quality) = jpeg_quality {
            lr = jpeg_image(&lr, quality)?;
        }
        let shave = shave_for_scale(scale);
        let bicubic = bicubic_to(&lr, hr.width, hr.height, scale)?;
        let bicubic_quality = evaluate_y(&bicubic, &hr, shave)?;
        let request = UpscaleRequest { size: OutputSize::Exact { width: hr.width, height: hr.height }, tile, overlap: self.meta().default_overlap() };
        let out = self.upscale(&lr, &request, on_tile).await?;
        // Y networks are scored on their own unrounded Y, as trainer eval does.
        let model_quality = match &out.network_y {
            Some(y) => evaluate_y_planes(y, &luma(&hr), shave)?,
            None => evaluate_y(&out.image, &hr, shave)?,
        };
        Ok(Evaluation { hr, lr, bicubic, model: out.image, bicubic_quality, model_quality })
    }

    /// The activations of every layer for `image` at `scale` (the whole image
    /// in one tile, so it must be small).
    pub async fn features(&mut self, image: &PlanarImage, scale: f64, max_pixels: usize, max_channels: usize) -> Result<Vec<FeatureMap>, WebError> {
        self.meta().config.check_scale(scale)?;
        let whole = image.width.max(image.height) * scale.ceil() as usize + 1;
        let job =
            UpscaleJob::new(image, &self.meta().config.network_spec(), &UpscaleRequest { size: OutputSize::Scale(scale), tile: whole, overlap: 0 })?;
        let (iw, ih) = job.network_input_size();
        if iw * ih > max_pixels {
            return Err(WebError::Image(format!(
                "feature maps need the whole network input at once; it would be {iw}x{ih}, more than {max_pixels} pixels: use a smaller image or crop"
            )));
        }
        let input = job.tile_input(0);
        match self.engine.features(&input, job.network_scale(), max_channels).await {
            Ok(maps) => Ok(maps),
            Err(TileError::Other(e)) => Err(e),
            Err(TileError::Device(reason)) => {
                self.move_to_cpu(reason)?;
                self.engine.features(&input, job.network_scale(), max_channels).await.map_err(|e| match e {
                    TileError::Device(m) => WebError::Backend(m),
                    TileError::Other(e) => e,
                })
            }
        }
    }
}

/// Any factor from 1 up is accepted (the nearest network scale runs, then
/// bicubic), but not one where bicubic would do most of the work.
/// What a tile driver's `on_tile` answered: go on (true), or stop with [`WebError::Aborted`].
pub(crate) fn stop_unless(go_on: bool) -> Result<(), WebError> {
    if go_on { Ok(()) } else { Err(WebError::Aborted) }
}

pub(crate) fn check_requested_scale(meta: &WeightsMeta, in_width: usize, in_height: usize, request: &UpscaleRequest) -> Result<(), WebError> {
    let factor = match request.size {
        OutputSize::Scale(s) => s,
        OutputSize::Exact { width, height } => (width as f64 / in_width as f64).max(height as f64 / in_height as f64),
    };
    if !(factor.is_finite() && factor >= 1.0) {
        return Err(WebError::Options(format!("scale must be a number of at least 1, got {factor}")));
    }
    if factor > MAX_SCALE {
        return Err(WebError::UnsupportedScale(format!("x{factor} is more than the x{MAX_SCALE} this library upscales by")));
    }
    if let Some(scales) = meta.config.network_scales() {
        let largest = scales.iter().copied().max().unwrap_or(1) as f64;
        if factor > 2.0 * largest {
            return Err(WebError::UnsupportedScale(format!(
                "these {} weights upscale x{}; x{factor} would be mostly bicubic: ask for at most x{}, or use weights made for a larger scale",
                meta.config.arch(),
                scales.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(", x"),
                2.0 * largest
            )));
        }
    }
    Ok(())
}

/// The largest factor an upscale may ask for.
pub const MAX_SCALE: f64 = 16.0;

pub struct Evaluation {
    pub hr: PlanarImage,
    pub lr: PlanarImage,
    pub bicubic: PlanarImage,
    pub model: PlanarImage,
    pub bicubic_quality: Quality,
    pub model_quality: Quality,
}

#[cfg(test)]
mod tests {
    use super::*;
    use upres_image::{BitDepth, Layout, Plane};
    use upres_models::{ModelConfig, Provenance, WeightsDtype, save_weights};

    use crate::ready;

    fn small_vdsr_weights() -> Vec<u8> {
        let config: ModelConfig = serde_json::from_str(r#"{"arch":"vdsr","layers":4,"features":8}"#).unwrap();
        let model = config.init::<Cpu>(&Default::default()).unwrap();
        let meta = WeightsMeta::new(config, vec![2, 3, 4], Provenance::default());
        save_weights(&model, &meta, WeightsDtype::F32).unwrap()
    }

    fn test_image() -> PlanarImage {
        let plane = |k: usize| Plane::new(37, 29, (0..37 * 29).map(|i| ((i * k) % 256) as f32).collect());
        PlanarImage::new(Layout::Rgb, BitDepth::Eight, vec![plane(3), plane(7), plane(11)])
    }

    #[test]
    fn session_upscale_equals_the_native_run_exactly() {
        let weights = small_vdsr_weights();
        let mut session = Session::on_cpu(upres_models::open_weights(std::rc::Rc::<[u8]>::from(weights.clone())).unwrap(), None).unwrap();
        let request = UpscaleRequest { size: OutputSize::Scale(2.0), tile: 16, overlap: 4 };
        let ours = ready(session.upscale(&test_image(), &request, |_, _| async { Ok(true) })).unwrap();
        let device = Default::default();
        let file = upres_models::load_weights::<Cpu>(&weights, &device, &Expectation::default()).unwrap();
        let native = upres_models::run::upscale(&file.model, &file.meta.config, &test_image(), &request, &device, |_, _| true).unwrap();
        assert_eq!(ours.image.planes, native.image.planes);
    }

    #[test]
    fn on_tile_returning_false_aborts_after_that_tile() {
        let mut session = Session::on_cpu(upres_models::open_weights(std::rc::Rc::<[u8]>::from(small_vdsr_weights())).unwrap(), None).unwrap();
        let request = UpscaleRequest { size: OutputSize::Scale(2.0), tile: 16, overlap: 4 };
        let mut calls = 0;
        let result = ready(session.upscale(&test_image(), &request, |done, _| {
            calls += 1;
            async move { Ok(done < 2) }
        }));
        assert!(matches!(result, Err(WebError::Aborted)));
        assert_eq!(calls, 2);
    }

    #[test]
    fn evaluate_scores_bicubic_as_the_protocol_does() {
        let mut session = Session::on_cpu(upres_models::open_weights(std::rc::Rc::<[u8]>::from(small_vdsr_weights())).unwrap(), None).unwrap();
        let image = test_image();
        let e = ready(session.evaluate(&image, 2.0, None, 64, |_, _| async { Ok(true) })).unwrap();
        let (hr, lr) = protocol_pair(&image, 2.0, "t").unwrap();
        let expected = upres_models::eval::bicubic_quality(&hr, &lr, 2.0).unwrap();
        assert_eq!(e.bicubic_quality.psnr, expected.psnr);
        assert_eq!((e.model.width, e.model.height), (36, 28));
    }
}
