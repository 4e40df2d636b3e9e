//! `trainer bench-layers`: one convolution layer at a time, each phase of a
//! training step apart (forward, backward-data, backward-weights) and the
//! forward pass on one inference-sized image, so a slow phase or channel
//! count shows up by itself instead of inside a whole network's step.
//!
//! GFLOP/s counts 2 FLOPs a multiply-add; every phase of a layer has the
//! same multiply-adds (batch x H x W x c_in x c_out x k x k). The last
//! column compares each row with the 64-channel layer of the same kernel
//! and phase measured in the same run, the ratio the small-convolutions
//! targets are stated in. `--in-channels` / `--out-channels` fix one side,
//! for the first and last layers of a network (1 -> 16, 16 -> 4).
//!
//! Each phase runs twice: through upres-kernels (`SrBackend::sr_conv2d*`,
//! what the networks run) and through burn's own `ModuleOps` (`burn ms`),
//! so the extension's worth on the chosen backend is measured in one run.

use std::io::Write;
use std::time::Instant;
use upres_kernels::SrBackend;

use anyhow::{Context, Result};
use burn::prelude::*;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Distribution, TensorPrimitive};

use crate::backend::{OnBackend, dispatch};
use crate::cli::BenchLayersArgs;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Forward,
    BackwardData,
    BackwardWeights,
    Inference,
}

impl Phase {
    fn name(self) -> &'static str {
        match self {
            Phase::Forward => "forward",
            Phase::BackwardData => "backward-data",
            Phase::BackwardWeights => "backward-weights",
            Phase::Inference => "inference",
        }
    }
}

#[derive(Debug, Clone)]
struct Row {
    phase: Phase,
    /// The varied channel count (`--channels`), the 64 of "vs 64 ch".
    channels: usize,
    c_in: usize,
    c_out: usize,
    kernel: usize,
    batch: usize,
    size: usize,
    /// Through upres-kernels.
    ms: f64,
    /// Through burn's own operation.
    burn_ms: f64,
}

impl Row {
    fn macs(&self) -> f64 {
        (self.batch * self.size * self.size * self.c_in * self.c_out * self.kernel * self.kernel) as f64
    }
    fn gflops(&self) -> f64 {
        2.0 * self.macs() / (self.ms * 1e6)
    }
}

struct LayerBench<'a> {
    args: &'a BenchLayersArgs,
}

fn float<B: SrBackend, const D: usize>(t: Tensor<B, D>) -> B::FloatTensorPrimitive {
    t.into_primitive().tensor()
}

fn wait<B: SrBackend>(p: B::FloatTensorPrimitive) {
    let t = Tensor::<B, 4>::from_primitive(TensorPrimitive::Float(p));
    let _ = t.slice([0..1, 0..1, 0..1, 0..1]).into_data();
}

/// Median time in ms of `reps` runs of `f`, after one warm-up run.
fn median_ms(reps: usize, mut f: impl FnMut()) -> f64 {
    f();
    let mut times: Vec<f64> = (0..reps.max(1))
        .map(|_| {
            let t = Instant::now();
            f();
            1000.0 * t.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

impl OnBackend for LayerBench<'_> {
    type Output = Vec<Row>;
    fn run<B: SrBackend>(self, device: B::Device) -> Result<Vec<Row>> {
        let a = self.args;
        let mut rows = Vec::new();
        let u = Distribution::Uniform(-1.0, 1.0);
        for &kernel in &a.kernels {
            for &c in &a.channels {
                let (c_in, c_out) = (a.in_channels.unwrap_or(c), a.out_channels.unwrap_or(c));
                let options = ConvOptions::new([1, 1], [kernel / 2, kernel / 2], [1, 1], 1);
                let w = Tensor::<B, 4>::random([c_out, c_in, kernel, kernel], u, &device);
                let bias = Tensor::<B, 1>::random([c_out], u, &device);
                let x = Tensor::<B, 4>::random([a.batch, c_in, a.patch, a.patch], u, &device);
                let g = Tensor::<B, 4>::random([a.batch, c_out, a.patch, a.patch], u, &device);
                let row = |phase, batch, size, (ms, burn_ms)| Row { phase, channels: c, c_in, c_out, kernel, batch, size, ms, burn_ms };
                let both = |ours: &dyn Fn() -> B::FloatTensorPrimitive, burns: &dyn Fn() -> B::FloatTensorPrimitive| {
                    (median_ms(a.reps, || wait::<B>(ours())), median_ms(a.reps, || wait::<B>(burns())))
                };
                let (xp, wp, bp, gp) = (|| float(x.clone()), || float(w.clone()), || Some(float(bias.clone())), || float(g.clone()));
                let o = || options.clone();

                let ms = both(&|| B::sr_conv2d(xp(), wp(), bp(), o()), &|| B::conv2d(xp(), wp(), bp(), o()));
                rows.push(row(Phase::Forward, a.batch, a.patch, ms));
                let ms = both(&|| B::sr_conv2d_x_backward(xp(), wp(), gp(), o()), &|| B::conv2d_x_backward(xp(), wp(), gp(), o()));
                rows.push(row(Phase::BackwardData, a.batch, a.patch, ms));
                let ms = both(&|| B::sr_conv2d_weight_backward(xp(), wp(), gp(), o()), &|| B::conv2d_weight_backward(xp(), wp(), gp(), o()));
                rows.push(row(Phase::BackwardWeights, a.batch, a.patch, ms));

                let img = Tensor::<B, 4>::random([1, c_in, a.image, a.image], u, &device);
                let ip = || float(img.clone());
                let ms = both(&|| B::sr_conv2d(ip(), wp(), bp(), o()), &|| B::conv2d(ip(), wp(), bp(), o()));
                rows.push(row(Phase::Inference, 1, a.image, ms));
            }
        }
        Ok(rows)
    }
}

pub fn run(args: BenchLayersArgs) -> Result<()> {
    anyhow::ensure!(args.batch > 0 && args.patch > 0 && args.image > 0, "--batch, --patch and --image must be positive");
    anyhow::ensure!(args.kernels.iter().all(|k| k % 2 == 1), "kernels must be odd (same padding)");
    anyhow::ensure!(args.channels.iter().chain(&args.in_channels).chain(&args.out_channels).all(|&c| c > 0), "channel counts must be positive");
    let rows = dispatch(&args.backend, LayerBench { args: &args })?;
    let threads = std::env::var("RAYON_NUM_THREADS")
        .unwrap_or_else(|_| format!("all ({})", std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)));
    println!(
        "backend {:?}, threads {threads}; conv2d stride 1 same padding; training phases on {}x{}x{}, inference on 1x{}x{}; median of {} after one warm-up",
        args.backend.backend, args.batch, args.patch, args.patch, args.image, args.image, args.reps
    );
    println!("{:<17} {:>7} {:>3} {:>10} {:>9} {:>13} {:>10} {:>9}", "phase", "ch", "k", "ms", "GFLOP/s", "vs 64 ch", "burn ms", "speed-up");
    let mut csv = String::from("phase,channels,c_in,c_out,kernel,batch,size,ms,gflops,vs_64,burn_ms\n");
    for r in &rows {
        let base = rows.iter().find(|b| b.channels == 64 && b.kernel == r.kernel && b.phase == r.phase);
        let vs = base.map(|b| r.gflops() / b.gflops());
        let channels = match r.c_in == r.c_out {
            true => r.c_in.to_string(),
            false => format!("{}>{}", r.c_in, r.c_out),
        };
        println!(
            "{:<17} {:>7} {:>3} {:>10.2} {:>9.1} {:>13} {:>10.2} {:>8.2}x",
            r.phase.name(),
            channels,
            r.kernel,
            r.ms,
            r.gflops(),
            vs.map(|v| format!("{:.0}%", 100.0 * v)).unwrap_or_else(|| "-".into()),
            r.burn_ms,
            r.burn_ms / r.ms
        );
        csv.push_str(&format!(
            "{},{},{},{},{},{},{},{:.3},{:.2},{},{:.3}\n",
            r.phase.name(),
            r.channels,
            r.c_in,
            r.c_out,
            r.kernel,
            r.batch,
            r.size,
            r.ms,
            r.gflops(),
            vs.map(|v| format!("{v:.3}")).unwrap_or_default(),
            r.burn_ms
        ));
    }
    if let Some(path) = &args.csv {
        std::fs::File::create(path).and_then(|mut f| f.write_all(csv.as_bytes())).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
