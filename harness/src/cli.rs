//! The command line: parses arguments, calls the library, renders, and picks the exit code.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::docker::{self, LABEL_MANAGED, LABEL_RUN};
use crate::error::{Error, Result};
use crate::report::{self, Format};
use crate::reproduce::{self, Timings};
use crate::results::RunResults;
use crate::run::{self, RunOptions};

/// Every expectation held.
pub const EXIT_OK: u8 = 0;
/// An expectation failed.
pub const EXIT_FAILED: u8 = 1;
/// Usage or environment error (bad input, no engine, a build failed).
pub const EXIT_ERROR: u8 = 2;
/// Interrupted by Ctrl-C (after cleaning up).
pub const EXIT_INTERRUPTED: u8 = 130;

/// Proves on a real Docker engine whether an HTTP server shuts down gracefully on `docker stop`.
#[derive(Debug, Parser)]
#[command(name = "shutdown-harness", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Reproduce the experiment: abrupt vs graceful process, shell vs exec form on dash.
    Reproduce(ReproduceArgs),
    /// Remove every container the harness left behind (label shutdown-harness.managed).
    Clean,
}

#[derive(Debug, Args)]
struct ReproduceArgs {
    /// Scale the timings down (1 s handler, 2 s grace) instead of the experiment's 5 s / 10 s.
    #[arg(long)]
    fast: bool,
    /// Report format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Write the report to this file instead of standard output.
    #[arg(long)]
    output: Option<PathBuf>,
}

/// Runs the command line; returns the process's exit code.
pub async fn main() -> ExitCode {
    let cli = Cli::parse();
    let run_id = run::runner::new_run_id();
    let outcome = tokio::select! {
        outcome = execute(cli.command, &run_id) => outcome,
        _ = tokio::signal::ctrl_c() => {
            eprintln!("interrupted: removing this run's containers");
            if let Ok(docker) = docker::connect().await {
                let _ = docker::remove_labelled_containers(&docker, &format!("{LABEL_RUN}={run_id}")).await;
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

async fn execute(command: Command, run_id: &str) -> Result<u8> {
    match command {
        Command::Reproduce(args) => {
            let timings = if args.fast {
                Timings::fast()
            } else {
                Timings::experiment()
            };
            let docker = docker::connect().await?;
            let options = RunOptions {
                run_id: run_id.to_string(),
                ..RunOptions::default()
            };
            let results = run::run(Some(&docker), &reproduce::scenarios(timings), &options).await?;
            emit(&results, args.format, args.output.as_deref())?;
            Ok(exit_code(&results))
        }
        Command::Clean => {
            let docker = docker::connect().await?;
            let removed = docker::remove_labelled_containers(&docker, LABEL_MANAGED).await?;
            println!("removed {removed} container(s)");
            Ok(EXIT_OK)
        }
    }
}

/// Writes the report to `output`, or to standard output.
fn emit(results: &RunResults, format: Format, output: Option<&std::path::Path>) -> Result<()> {
    let rendered = report::render(results, format);
    match output {
        Some(path) => std::fs::write(path, rendered).map_err(|source| Error::WriteReport {
            path: path.to_path_buf(),
            source,
        }),
        None => {
            print!("{rendered}");
            Ok(())
        }
    }
}

/// 0 when all held, 1 when an expectation failed, 2 when a scenario could not run.
pub fn exit_code(results: &RunResults) -> u8 {
    if results.errored() {
        EXIT_ERROR
    } else if results.passed() {
        EXIT_OK
    } else {
        EXIT_FAILED
    }
}
