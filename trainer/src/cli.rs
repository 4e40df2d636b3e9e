use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use upres_image::UpscaleRequest;

pub use crate::train::precision::Precision;

#[derive(Parser, Debug)]
#[command(name = "trainer", version, about = "Train, evaluate, import and run the upres super-resolution models")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Make LR images the way the published test sets were made: modcrop, then MATLAB bicubic.
    Degrade(DegradeArgs),
    /// PSNR/SSIM on the papers' protocol (Y channel, modcrop, `scale` pixels shaved).
    Eval(EvalArgs),
    /// Upscale an image (or every image in a folder) with a weights file.
    Upscale(UpscaleArgs),
    /// Convert outside weights (safetensors, PyTorch .pth) into the upres format.
    Import(ImportArgs),
    /// Show what a weights file holds.
    Info(InfoArgs),
    /// Save each layer's activations as PNG grids (VDSR paper, Figure 2).
    Features(FeaturesArgs),
    /// Train a model from a recipe in trainer/configs/.
    Train(TrainArgs),
    /// Write a run's best or last weights as a weights file (f32 or f16).
    Export(ExportArgs),
    /// Training and inference throughput per model, as a table.
    Bench(BenchArgs),
    /// Single convolution layers (forward, backward-data, backward-weights) at
    /// 16/32/64 channels: GFLOP/s against the 64-channel layer in the same run.
    BenchLayers(BenchLayersArgs),
}

#[derive(Args, Debug)]
pub struct BenchLayersArgs {
    /// Timed repetitions per layer and phase (after one warm-up); the median is reported.
    #[arg(long, default_value_t = 5)]
    pub reps: usize,
    /// Channel counts (input = output channels unless one side is fixed below).
    #[arg(long, num_args = 1.., default_values_t = [16, 32, 64])]
    pub channels: Vec<usize>,
    /// Fix every layer's input channels (a network's first layer: `--in-channels 1`).
    #[arg(long, conflicts_with = "out_channels")]
    pub in_channels: Option<usize>,
    /// Fix every layer's output channels (a sub-pixel network's last layer: `--out-channels 4`).
    #[arg(long)]
    pub out_channels: Option<usize>,
    /// Square kernel sizes.
    #[arg(long, num_args = 1.., default_values_t = [3, 5])]
    pub kernels: Vec<usize>,
    /// Training shape: this many patches of --patch x --patch.
    #[arg(long, default_value_t = 16)]
    pub batch: usize,
    #[arg(long, default_value_t = 64)]
    pub patch: usize,
    /// Inference shape: one image of --image x --image (forward only).
    #[arg(long, default_value_t = 256)]
    pub image: usize,
    /// Also write the table as CSV here.
    #[arg(long)]
    pub csv: Option<PathBuf>,
    #[command(flatten)]
    pub backend: BackendArgs,
}

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Timed training steps per model (after one warm-up step).
    #[arg(long, default_value_t = 3)]
    pub steps: usize,
    /// Models to run (default: srcnn vdsr edsr-baseline srresnet mdsr-baseline).
    #[arg(long, num_args = 1..)]
    pub models: Vec<String>,
    /// Also (or, without --models, only) time these recipes' models with their batch, patch and first scale.
    #[arg(long = "config", num_args = 1..)]
    pub configs: Vec<PathBuf>,
    /// Override every model's batch size (the default is each paper's).
    #[arg(long)]
    pub batch: Option<usize>,
    /// Also time the same on this reference backend, in the same process, and print the ratio.
    #[arg(long, value_enum)]
    pub compare: Option<BackendKind>,
    /// Time mixed-precision training steps (f16/bf16 forward and backward, f32 master weights).
    #[arg(long, value_enum, default_value = "f32")]
    pub precision: Precision,
    #[command(flatten)]
    pub backend: BackendArgs,
}

#[derive(Args, Debug)]
pub struct TrainArgs {
    /// The recipe (trainer/configs/*.json); with --resume, the run's own config is used.
    #[arg(long, required_unless_present = "resume")]
    pub config: Option<PathBuf>,
    /// Run folder (default: runs/<config name>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Continue the run in --out from its last checkpoint.
    #[arg(long)]
    pub resume: bool,
    /// Stop after this many iterations in all (the schedule keeps the config's length).
    #[arg(long)]
    pub max_iters: Option<u64>,
    /// Override a config field: --set optimizer.lr=1e-4 --set data.batch=8.
    #[arg(long = "set")]
    pub overrides: Vec<String>,
    /// Start from these weights (fine-tuning; EDSR x3/x4 from x2).
    #[arg(long)]
    pub init_from: Option<PathBuf>,
    /// Root for the config's relative data paths (default: $UPRES_DATA or ../shared/data).
    #[arg(long)]
    pub data_root: Option<PathBuf>,
    /// torchvision VGG19 or VGG16 weights (.pth state dict or .safetensors)
    /// for the perceptual loss (VGG16's default: the ones `make tools`
    /// installs with LPIPS's); `random` uses an untrained VGG, only to test
    /// the code path.
    #[arg(long)]
    pub vgg_weights: Option<PathBuf>,
    /// Forward and backward in f16 or bf16, with f32 master weights and
    /// optimiser state (mixed precision). Default: f32, or the resumed run's.
    #[arg(long, value_enum)]
    pub precision: Option<Precision>,
    /// The f16 loss scale to start from (default 65536); it halves when a step
    /// overflows (the step is skipped) and doubles after 2000 clean steps.
    #[arg(long)]
    pub loss_scale: Option<f32>,
    /// No progress bar or summary lines.
    #[arg(long)]
    pub quiet: bool,
    #[command(flatten)]
    pub backend: BackendArgs,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum WhichCheckpoint {
    Best,
    Last,
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    #[arg(long)]
    pub run: PathBuf,
    #[arg(long, value_enum, default_value = "best")]
    pub checkpoint: WhichCheckpoint,
    /// Store as f16 (half the size, for the web).
    #[arg(long)]
    pub f16: bool,
    /// Add to the provenance's notes (e.g. the Set14 figures measured after training).
    #[arg(long)]
    pub notes: Option<String>,
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendKind {
    /// burn's Flex CPU backend (always available).
    Cpu,
    /// burn's NdArray CPU backend (the reference the benchmark compares Flex with).
    Ndarray,
    /// wgpu (Vulkan/Metal/DX12); needs the `wgpu` cargo feature.
    Wgpu,
    /// NVIDIA CUDA; needs the `cuda` cargo feature and a GPU with its driver.
    Cuda,
}

#[derive(Args, Debug, Clone)]
pub struct BackendArgs {
    #[arg(long, value_enum, default_value = "cpu")]
    pub backend: BackendKind,
    /// GPU index for wgpu/cuda; `trainer train` takes several (`--devices 0,1`)
    /// and trains data-parallel, each device taking a share of every batch.
    #[arg(long = "device", visible_alias = "devices", value_delimiter = ',', num_args = 1.., default_value = "0")]
    pub devices: Vec<usize>,
}

#[derive(Args, Debug, Clone)]
pub struct TileArgs {
    /// Largest tile side in network-input pixels (memory is bounded by it);
    /// each side is cut into the fewest equal tiles that fit.
    #[arg(long, default_value_t = UpscaleRequest::DEFAULT_TILE)]
    pub tile: usize,
    /// Overlap between tiles, blended away [default: the model's, twice its
    /// receptive radius plus two and at most 32, which makes tiles exact;
    /// `trainer info` shows it]
    #[arg(long)]
    pub overlap: Option<usize>,
}

#[derive(Args, Debug)]
pub struct DegradeArgs {
    #[arg(long)]
    pub scale: f64,
    /// Folder of HR images.
    #[arg(long)]
    pub input: PathBuf,
    /// Folder for the LR images, written as `<name>x<scale>.png`.
    #[arg(long)]
    pub output: PathBuf,
    /// Degrade the MATLAB bicubic LR as `trainer eval --degrade` does
    /// (a preset, or e.g. `jpeg:75+noise:2`).
    #[arg(long)]
    pub degrade: Option<String>,
    /// Seed of the degradation (each image draws from the seed and its name).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// Folder(s) of HR images, or single images (Set5/HR, Set14/HR, ...).
    #[arg(long, required = true, num_args = 1..)]
    pub data: Vec<PathBuf>,
    /// Scale(s); non-integer scales (1.5, 2.5) work for bicubic-input models.
    #[arg(long, required = true, num_args = 1..)]
    pub scale: Vec<f64>,
    /// `bicubic` for the baseline.
    #[arg(long, conflicts_with = "weights")]
    pub model: Option<String>,
    /// Weights file(s) in the upres format; several give a cross table
    /// (test scale x model, bicubic beside), as the VDSR paper's Table 2.
    #[arg(long, required_unless_present = "model", num_args = 1..)]
    pub weights: Vec<PathBuf>,
    /// Degrade the papers' LR as photos are before the model sees it: a
    /// preset (`jpeg`, `real`) or steps joined by `+`: `jpeg:Q`,
    /// `noise:SIGMA` (8-bit levels), `gray-noise:SIGMA`, `poisson:SCALE`,
    /// `blur:SIGMA` (pixels); a value may be a range `LO..HI`. Bicubic is
    /// measured on the same degraded LR.
    #[arg(long, conflicts_with = "lr")]
    pub degrade: Option<String>,
    /// Seed of the degradation (each image draws from the seed and its name).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Real pairs: a folder of LR images named as the HR images of --data
    /// (e.g. DRealSR/LR_x4 with --data DRealSR/HR --scale 4).
    #[arg(long)]
    pub lr: Option<PathBuf>,
    /// Also measure LPIPS (VGG16, v0.1 heads; lower is closer to the HR)
    /// on RGB, `scale` pixels shaved. Needs the weights `make tools` writes.
    #[arg(long)]
    pub lpips: bool,
    /// LPIPS weights (default: $UPRES_LPIPS_WEIGHTS, else
    /// ~/.cache/upres/lpips-vgg16.safetensors).
    #[arg(long, requires = "lpips")]
    pub lpips_weights: Option<PathBuf>,
    /// One JSON object on stdout instead of tables.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub backend: BackendArgs,
}

#[derive(Args, Debug)]
pub struct UpscaleArgs {
    #[arg(long)]
    pub weights: PathBuf,
    /// Output scale (default: the weights' first scale); may be non-integer.
    #[arg(long, conflicts_with_all = ["width", "height"])]
    pub scale: Option<f64>,
    /// Exact output width (with --height).
    #[arg(long, requires = "height")]
    pub width: Option<usize>,
    #[arg(long, requires = "width")]
    pub height: Option<usize>,
    /// An image, or a folder of images.
    pub input: PathBuf,
    /// A .png file, or a folder when INPUT is one.
    pub output: PathBuf,
    #[command(flatten)]
    pub tiles: TileArgs,
    #[command(flatten)]
    pub backend: BackendArgs,
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// A .safetensors or PyTorch .pth/.pt file (state dict, or a checkpoint holding one).
    #[arg(long)]
    pub from: PathBuf,
    /// Architecture preset: vdsr, srcnn, srcnn-915, edsr-baseline, edsr, mdsr-baseline, srresnet.
    #[arg(long)]
    pub arch: String,
    /// The scale(s) the weights are for (VDSR: 2 3 4).
    #[arg(long, num_args = 1.., default_value = "2")]
    pub scale: Vec<usize>,
    /// Extra key renames, `REGEX=REPLACEMENT` (applied after the built-in ones).
    #[arg(long = "map")]
    pub maps: Vec<String>,
    /// Key inside a PyTorch checkpoint that holds the state dict (e.g. `model`).
    #[arg(long)]
    pub top_level_key: Option<String>,
    #[arg(long)]
    pub out: PathBuf,
    /// Store as f16 (half the size, for the web).
    #[arg(long)]
    pub f16: bool,
    /// Who made the weights, recorded in the provenance.
    #[arg(long, default_value = "unknown")]
    pub author: String,
    #[arg(long, default_value = "")]
    pub training_data: String,
    #[arg(long)]
    pub iterations: Option<u64>,
    #[arg(long, default_value = "")]
    pub notes: String,
}

#[derive(Args, Debug)]
pub struct InfoArgs {
    pub file: PathBuf,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct FeaturesArgs {
    #[arg(long)]
    pub weights: PathBuf,
    /// The LR image (for bicubic-input models it is upscaled by --scale first).
    #[arg(long)]
    pub image: PathBuf,
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long)]
    pub scale: Option<f64>,
    #[command(flatten)]
    pub backend: BackendArgs,
}
