//! The command line: parses arguments, calls the library, shows progress, renders reports, and
//! picks the exit code. It belongs to the binary, not to the library's API.

mod args;
mod commands;
mod live;
mod slices;

use std::process::ExitCode;

use clap::Parser;
use shutdown_harness::Engine;
use shutdown_harness::engine::LABEL_RUN;

/// Every expectation held.
pub const EXIT_OK: u8 = 0;
/// An expectation failed.
pub const EXIT_FAILED: u8 = 1;
/// Usage or environment error (bad input, no engine, a build failed).
pub const EXIT_ERROR: u8 = 2;
/// Interrupted by Ctrl-C (after cleaning up).
pub const EXIT_INTERRUPTED: u8 = 130;

/// Runs the command line; returns the process's exit code.
pub async fn main() -> ExitCode {
    let cli = args::Cli::parse();
    let run_id = shutdown_harness::new_run_id();
    let outcome = tokio::select! {
        outcome = commands::execute(cli, &run_id) => outcome,
        _ = tokio::signal::ctrl_c() => {
            eprintln!("interrupted: removing this run's containers");
            if let Ok(engine) = Engine::connect().await {
                let _ = engine.remove_labelled_containers(&format!("{LABEL_RUN}={run_id}")).await;
            }
            return ExitCode::from(EXIT_INTERRUPTED);
        }
    };
    match outcome {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}
