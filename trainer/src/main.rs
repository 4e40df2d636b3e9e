//! `trainer`: evaluate, degrade, upscale, import and inspect super-resolution
//! models. The work is done in `crates/`; this binary parses arguments and
//! reports errors.

mod backend;
mod cli;
mod commands;
mod files;
mod train;

use clap::Parser;

fn main() -> std::process::ExitCode {
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
