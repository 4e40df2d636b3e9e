//! `trainer`: evaluate, degrade, upscale, import and inspect super-resolution
//! models. The work is done in `crates/`; this binary parses arguments and
//! reports errors.

mod backend;
mod cli;
mod commands;
mod files;
mod foreign_tensors;
mod lpips;
mod pairs;
mod train;

use clap::Parser;

fn main() -> std::process::ExitCode {
    keep_freed_memory();
    let cli = cli::Cli::parse();
    match commands::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            // One line, outermost context first: "eval: foo.png: not a decodable image (...)".
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// A training step allocates and frees tensors of several megabytes each.
/// glibc's malloc serves blocks above 128 KiB to 32 MiB (its threshold adapts)
/// with fresh mmaps and gives freed memory back at once, so every step
/// faults its pages in again (with TLB shootdowns between the threads):
/// a quarter of VDSR's step on the 2-core machine. Keep freed blocks in the
/// heap instead; the memory stays what the largest step needs.
fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
    }
}
