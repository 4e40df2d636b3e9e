//! Picking the burn backend at run time. Every command that runs a model is
//! generic over the backend; this is the one place that names them.

use anyhow::Result;
use burn::prelude::Backend;

use crate::cli::{BackendArgs, BackendKind};

/// Work to run on whichever backend the user chose.
pub trait OnBackend {
    type Output;
    fn run<B: Backend>(self, device: B::Device) -> Result<Self::Output>;
}

pub fn dispatch<T: OnBackend>(args: &BackendArgs, task: T) -> Result<T::Output> {
    match args.backend {
        BackendKind::Cpu => task.run::<burn::backend::Flex>(Default::default()),
        BackendKind::Ndarray => task.run::<burn::backend::NdArray>(Default::default()),
        BackendKind::Wgpu => run_wgpu(args.device, task),
        BackendKind::Cuda => run_cuda(args.device, task),
    }
}

#[cfg(feature = "wgpu")]
fn run_wgpu<T: OnBackend>(index: usize, task: T) -> Result<T::Output> {
    use burn::backend::wgpu::{Wgpu, WgpuDevice};
    // wgpu panics when it finds no adapter; turn that into an error.
    let device = if index == 0 { WgpuDevice::DefaultDevice } else { WgpuDevice::DiscreteGpu(index) };
    let probe = device.clone();
    // Silence the default hook while probing: the panic is expected and reported below.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let found = std::panic::catch_unwind(move || {
        let _ = burn::tensor::Tensor::<Wgpu, 1>::zeros([1], &probe).into_data();
    });
    std::panic::set_hook(hook);
    if found.is_err() {
        anyhow::bail!("--backend wgpu: no usable GPU adapter was found (Vulkan, Metal or DX12); use --backend cpu");
    }
    task.run::<Wgpu>(device)
}

#[cfg(not(feature = "wgpu"))]
fn run_wgpu<T: OnBackend>(_index: usize, _task: T) -> Result<T::Output> {
    anyhow::bail!("--backend wgpu: this trainer was built without wgpu; rebuild with `cargo build --release -p trainer --features wgpu`")
}

#[cfg(feature = "cuda")]
fn run_cuda<T: OnBackend>(index: usize, task: T) -> Result<T::Output> {
    let count = cuda_device_count().map_err(|why| anyhow::anyhow!("--backend cuda: no CUDA device found: {why}; use --backend cpu"))?;
    if index >= count {
        anyhow::bail!("--backend cuda: --device {index} does not exist; this machine has {count} CUDA device(s)");
    }
    task.run::<burn::backend::Cuda>(burn::backend::cuda::CudaDevice::new(index))
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
        let get_count: libloading::Symbol<unsafe extern "C" fn(*mut i32) -> i32> =
            lib.get(b"cuDeviceGetCount").map_err(|e| e.to_string())?;
        let mut n = 0i32;
        if get_count(&mut n) != 0 || n <= 0 {
            return Err("the driver reports no CUDA device".into());
        }
        Ok(n as usize)
    }
}

#[cfg(not(feature = "cuda"))]
fn run_cuda<T: OnBackend>(_index: usize, _task: T) -> Result<T::Output> {
    anyhow::bail!("--backend cuda: this trainer was built without CUDA; rebuild with `cargo build --release -p trainer --features cuda`")
}
