//! The `shutdown-harness` command: parses arguments, calls the library, shows progress, renders
//! reports, and picks the exit code. A crate of its own, so that the library's users build
//! none of what only the command needs (clap, indicatif, console, comfy-table).

mod args;
mod commands;
mod flags;
mod interrupt;
mod live;
mod options;
mod slices;
mod stdout;
mod swarm;
mod table;

use std::process::ExitCode;

use clap::Parser;
use tokio_util::sync::CancellationToken;

/// Every expectation held.
pub const EXIT_OK: u8 = 0;
/// An expectation failed.
pub const EXIT_FAILED: u8 = 1;
/// Usage or environment error (bad input, no engine, a build failed, a load this machine could
/// not deliver).
pub const EXIT_ERROR: u8 = 2;

/// Runs the command line; returns the process's exit code. SIGINT, SIGTERM and SIGHUP stop the
/// command the same way (see [`interrupt`]).
#[tokio::main]
async fn main() -> ExitCode {
    let cli = args::Cli::parse();
    let run_id = shutdown_harness::new_run_id();
    let mut signals = match interrupt::Signals::install() {
        Ok(signals) => signals,
        Err(error) => {
            eprintln!("error: cannot handle SIGINT, SIGTERM and SIGHUP: {error}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    let cancel = CancellationToken::new();
    let engine = cli.engine;
    let command = commands::execute(cli, &run_id, cancel.clone());
    tokio::pin!(command);
    let signal = tokio::select! {
        outcome = &mut command => {
            return match outcome {
                Ok(code) => ExitCode::from(code),
                Err(error) => {
                    eprintln!("error: {}", flags::message(&error));
                    ExitCode::from(EXIT_ERROR)
                }
            };
        }
        signal = signals.next() => signal,
    };
    interrupt::stop(signal, engine, &run_id, cancel, command, &mut signals).await
}
