//! Picking the burn backend and its devices at run time.
//! Every command that runs a model is generic over the backend; this is the
//! one place that names them.

use anyhow::Result;
use upres_kernels::SrBackend;

use crate::cli::{BackendArgs, BackendKind};

/// Work to run on whichever backend the user chose.
pub trait OnBackend: Sized {
    type Output;
    /// Whether the task can use several devices at once (data-parallel training).
    const MULTI_DEVICE: bool = false;
    fn run<B: SrBackend>(self, device: B::Device) -> Result<Self::Output>;
    /// `devices` is never empty; the first one is the main device.
    fn run_on<B: SrBackend>(self, mut devices: Vec<B::Device>) -> Result<Self::Output> {
        self.run::<B>(devices.swap_remove(0))
    }
}

pub fn dispatch<T: OnBackend>(args: &BackendArgs, task: T) -> Result<T::Output> {
    anyhow::ensure!(!args.devices.is_empty(), "--device needs at least one index");
    if args.devices.len() > 1 && !T::MULTI_DEVICE {
        anyhow::bail!("--device takes one index here; only `trainer train` runs on several devices");
    }
    match args.backend {
        // One CPU: several "devices" are data-parallel shards on it, which
        // exercises the multi-device path but gains no speed.
        BackendKind::Cpu => task.run_on::<burn::backend::Flex>(vec![Default::default(); args.devices.len()]),
        BackendKind::Ndarray => task.run_on::<burn::backend::NdArray>(vec![Default::default(); args.devices.len()]),
        BackendKind::Wgpu => run_wgpu(args, task),
        BackendKind::Cuda => run_cuda(args, task),
    }
}

#[cfg(feature = "wgpu")]
fn run_wgpu<T: OnBackend>(args: &BackendArgs, task: T) -> Result<T::Output> {
    use burn::backend::wgpu::{Wgpu, WgpuDevice};
    let devices: Vec<WgpuDevice> = args
        .devices
        .iter()
        .map(|&i| if i == 0 && args.devices.len() == 1 { WgpuDevice::DefaultDevice } else { WgpuDevice::DiscreteGpu(i) })
        .collect();
    // wgpu panics when it finds no adapter; turn that into an error.
    let probe = devices.clone();
    // Silence the default hook while probing: the panic is expected and reported below.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let found = std::panic::catch_unwind(move || {
        for device in &probe {
            let _ = burn::tensor::Tensor::<Wgpu, 1>::zeros([1], device).into_data();
        }
    });
    std::panic::set_hook(hook);
    if found.is_err() {
        anyhow::bail!("--backend wgpu: no usable GPU adapter was found (Vulkan, Metal or DX12) for --device {:?}; use --backend cpu", args.devices);
    }
    task.run_on::<Wgpu>(devices)
}

#[cfg(not(feature = "wgpu"))]
fn run_wgpu<T: OnBackend>(_args: &BackendArgs, _task: T) -> Result<T::Output> {
    anyhow::bail!("--backend wgpu: this trainer was built without wgpu; rebuild with `cargo build --release -p trainer --features wgpu`")
}

#[cfg(feature = "cuda")]
fn run_cuda<T: OnBackend>(args: &BackendArgs, task: T) -> Result<T::Output> {
    let count = cuda_device_count().map_err(|why| anyhow::anyhow!("--backend cuda: no CUDA device found: {why}; use --backend cpu"))?;
    if let Some(missing) = args.devices.iter().find(|&&i| i >= count) {
        anyhow::bail!("--backend cuda: --device {missing} does not exist; this machine has {count} CUDA device(s)");
    }
    let devices = args.devices.iter().map(|&i| burn::backend::cuda::CudaDevice::new(i)).collect();
    task.run_on::<burn::backend::Cuda>(devices)
}

/// Ask the driver directly, because cudarc panics when libcuda is missing.
#[cfg(feature = "cuda")]
fn cuda_device_count() -> Result<usize, String> {
    // SAFETY: cuInit and cuDeviceGetCount are plain C functions of the CUDA
    // driver API with these exact signatures; the library stays loaded while they run.
    unsafe {
        let lib = libloading::Library::new("libcuda.so.1")
            .or_else(|_| libloading::Library::new("libcuda.so"))
            .map_err(|e| format!("the NVIDIA driver library libcuda.so could not be loaded ({e})"))?;
        let init: libloading::Symbol<unsafe extern "C" fn(u32) -> i32> = lib.get(b"cuInit").map_err(|e| e.to_string())?;
        let code = init(0);
        if code != 0 {
            return Err(format!("cuInit failed with CUDA error {code} (no GPU, or the driver is not loaded)"));
        }
        let get_count: libloading::Symbol<unsafe extern "C" fn(*mut i32) -> i32> = lib.get(b"cuDeviceGetCount").map_err(|e| e.to_string())?;
        let mut n = 0i32;
        if get_count(&mut n) != 0 || n <= 0 {
            return Err("the driver reports no CUDA device".into());
        }
        Ok(n as usize)
    }
}

#[cfg(not(feature = "cuda"))]
fn run_cuda<T: OnBackend>(_args: &BackendArgs, _task: T) -> Result<T::Output> {
    anyhow::bail!("--backend cuda: this trainer was built without CUDA; rebuild with `cargo build --release -p trainer --features cuda`")
}
