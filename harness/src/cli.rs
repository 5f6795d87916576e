//! The command line: parses arguments, calls the library, renders, and picks the exit code.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::check::{self, CheckOptions};
use crate::docker::{self, LABEL_MANAGED, LABEL_RUN};
use crate::error::{Error, Result};
use crate::explain::{self, ExplainOptions};
use crate::report::{self, Format};
use crate::reproduce::{self, Timings};
use crate::results::RunResults;
use crate::run::{self, RunOptions};
use crate::scenario::{Scenario, Target};
use crate::scenario_file;
use crate::server_build::workspace_root;
use crate::slices;
use crate::variant::StopSignal;

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
    /// Run scenario files (default: the workspace's scenarios/) and judge their expectations.
    Run(RunArgs),
    /// List the scenarios the files expand to, one per line.
    List(ListArgs),
    /// Check your own image: requests in flight, docker stop, one request after; exit 1 if a
    /// requirement is not met.
    Check(CheckArgs),
    /// Explain where an image's stop signal goes, without load: PID 1, its handlers, the fix.
    Explain(ExplainArgs),
    /// Remove every container the harness left behind (label shutdown-harness.managed).
    Clean(CleanArgs),
}

#[derive(Debug, Args)]
struct CleanArgs {
    /// Also remove the harness's images (bases and variants); the next run rebuilds them.
    #[arg(long)]
    images: bool,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("what").required(true).multiple(true).args(["image", "dockerfile"])))]
struct ExplainArgs {
    /// The image to diagnose; it must be present locally (nothing is pulled).
    #[arg(long)]
    image: Option<String>,
    /// The Dockerfile it was built from (alone: read the file only, no engine needed).
    #[arg(long)]
    dockerfile: Option<PathBuf>,
    /// The stop signal (default: the image's STOPSIGNAL, else SIGTERM).
    #[arg(long, value_parser = parse_signal)]
    signal: Option<StopSignal>,
    /// docker stop's grace period, in seconds, named in the prediction.
    #[arg(long, default_value_t = 10)]
    stop_timeout: u32,
    /// Run with docker's init (tini) as PID 1, as `docker run --init`.
    #[arg(long)]
    init: bool,
    /// A container port to wait on until PATH answers, before reading PID 1.
    #[arg(long)]
    port: Option<u16>,
    /// The path probed on --port.
    #[arg(long, default_value = "/")]
    path: String,
    /// `table` (plain text) or `json`.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(Debug, Args)]
struct RunArgs {
    #[command(flatten)]
    select: SelectArgs,
    /// At most this many scenarios at once; they mostly wait [default: 16 per core, 4 to 64].
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=256))]
    jobs: Option<u16>,
    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Debug, Args)]
struct ListArgs {
    #[command(flatten)]
    select: SelectArgs,
    /// `plain`: one scenario per line; `github-matrix`: the nightly workflow's job matrix (JSON).
    #[arg(long, value_enum, default_value_t = ListFormat::Plain)]
    format: ListFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ListFormat {
    Plain,
    GithubMatrix,
}

/// Which scenarios: files or directories, narrowed by a glob on names.
#[derive(Debug, Args)]
struct SelectArgs {
    /// Scenario files or directories of them (default: scenarios/ of this workspace).
    #[arg(value_name = "FILE|DIR")]
    paths: Vec<PathBuf>,
    /// Only the scenarios whose names match this glob (`dash/*`, `*/exec-form/*`).
    #[arg(long, value_name = "GLOB")]
    filter: Option<String>,
}

impl SelectArgs {
    /// Loads and filters the scenarios; every file must be valid, or nothing is returned.
    fn load(&self) -> Result<Vec<Scenario>> {
        let workspace = workspace_root();
        let paths = if self.paths.is_empty() {
            vec![workspace.join("scenarios")]
        } else {
            self.paths.clone()
        };
        let scenarios = scenario_file::load(&workspace, &paths)?;
        Ok(match &self.filter {
            Some(glob) => scenario_file::filter(scenarios, glob)?,
            None => scenarios,
        })
    }
}

#[derive(Debug, Args)]
struct CheckArgs {
    /// The image to check; it must be present locally (nothing is pulled).
    #[arg(long)]
    image: String,
    /// The container port the server listens on.
    #[arg(long)]
    port: u16,
    /// The path to request; a slow one shows the drain best.
    #[arg(long, default_value = "/")]
    path: String,
    /// How many requests are in flight when docker stop is issued.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=1000))]
    requests: u16,
    /// docker stop's grace period, in seconds.
    #[arg(long, default_value_t = 10)]
    stop_timeout: u32,
    /// The stop signal (default: the image's STOPSIGNAL, else SIGTERM).
    #[arg(long, value_parser = parse_signal)]
    signal: Option<StopSignal>,
    /// Run with docker's init (tini) as PID 1, as `docker run --init`.
    #[arg(long)]
    init: bool,
    /// How long after the server answers the requests are sent and docker stop is issued.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    stop_after: Duration,
    /// How long after docker stop the late request is sent.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    after_stop: Duration,
    /// How long the server may take to answer after the container started.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    startup_timeout: Duration,
    /// The path polled until the server answers 2xx before the check starts [default: PATH].
    #[arg(long)]
    ready_path: Option<String>,
    #[command(flatten)]
    output: OutputArgs,
}

/// Where and how a report is written.
#[derive(Debug, Args)]
struct OutputArgs {
    /// Report format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Write the report to this file instead of standard output.
    #[arg(long)]
    output: Option<PathBuf>,
    /// Also write the JSON report to this file (CI keeps it beside a JUnit report).
    #[arg(long, value_name = "FILE")]
    json_output: Option<PathBuf>,
}

fn parse_signal(text: &str) -> std::result::Result<StopSignal, String> {
    StopSignal::parse(text).ok_or_else(|| {
        let known: Vec<_> = StopSignal::ALL.iter().map(|s| s.name()).collect();
        format!("unknown signal `{text}` (known: {})", known.join(", "))
    })
}

fn parse_duration(text: &str) -> std::result::Result<Duration, String> {
    crate::duration::parse(text)
        .ok_or_else(|| format!("bad duration `{text}`: write it like 250ms, 2s or 1.5s"))
}

#[derive(Debug, Args)]
struct ReproduceArgs {
    /// Scale the timings down (1 s handler, 2 s grace) instead of the experiment's 5 s / 10 s.
    #[arg(long)]
    fast: bool,
    #[command(flatten)]
    output: OutputArgs,
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
            emit(&results, &args.output)?;
            Ok(exit_code(&results))
        }
        Command::Run(args) => {
            let scenarios = args.select.load()?;
            if scenarios.is_empty() {
                eprintln!("no scenario matches; see `shutdown-harness list`");
                return Ok(EXIT_ERROR);
            }
            let docker = docker::connect().await?;
            let options = RunOptions {
                run_id: run_id.to_string(),
                jobs: args
                    .jobs
                    .map_or_else(run::runner::default_jobs, usize::from),
                ..RunOptions::default()
            };
            let results = run::run(Some(&docker), &scenarios, &options).await?;
            emit(&results, &args.output)?;
            Ok(exit_code(&results))
        }
        Command::List(args) => {
            let scenarios = args.select.load()?;
            match args.format {
                ListFormat::Plain => {
                    for scenario in &scenarios {
                        println!("{}", describe_scenario(scenario));
                    }
                }
                ListFormat::GithubMatrix => {
                    let matrix = slices::github_matrix(&scenarios);
                    println!(
                        "{}",
                        serde_json::to_string(&matrix).expect("plain data serialises")
                    );
                }
            }
            Ok(EXIT_OK)
        }
        Command::Check(args) => {
            let docker = docker::connect().await?;
            let options = CheckOptions {
                port: args.port,
                path: args.path,
                requests: usize::from(args.requests),
                stop_timeout: Duration::from_secs(u64::from(args.stop_timeout)),
                signal: args.signal,
                init: args.init,
                stop_after: args.stop_after,
                after_stop: args.after_stop,
                startup_timeout: args.startup_timeout,
                ready_path: args.ready_path,
            };
            let result = check::check_image(&docker, &args.image, &options).await?;
            let results = RunResults {
                duration: result.observation.duration,
                build_duration: Duration::ZERO,
                scenarios: vec![result],
            };
            emit(&results, &args.output)?;
            Ok(exit_code(&results))
        }
        Command::Explain(args) => explain(args).await,
        Command::Clean(args) => {
            let docker = docker::connect().await?;
            let removed = docker::remove_labelled_containers(&docker, LABEL_MANAGED).await?;
            println!("removed {removed} container(s)");
            if args.images {
                let removed = docker::remove_managed_images(&docker).await?;
                println!("removed {removed} image(s)");
            }
            Ok(EXIT_OK)
        }
    }
}

/// Writes the report in the chosen format to the chosen file, or to standard output, and the
/// JSON report to its own file when asked.
fn emit(results: &RunResults, output: &OutputArgs) -> Result<()> {
    if let Some(path) = &output.json_output {
        write_file(path, &report::render(results, Format::Json))?;
    }
    let rendered = report::render(results, output.format);
    match &output.output {
        Some(path) => write_file(path, &rendered),
        None => {
            print!("{rendered}");
            Ok(())
        }
    }
}

fn write_file(path: &std::path::Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|source| Error::WriteReport {
        path: path.to_path_buf(),
        source,
    })
}

/// Prints the diagnosis of an image (and its Dockerfile), or of a Dockerfile alone.
async fn explain(args: ExplainArgs) -> Result<u8> {
    let json = match args.format {
        Format::Table => false,
        Format::Json => true,
        Format::Junit => {
            eprintln!("explain reports as table or json");
            return Ok(EXIT_ERROR);
        }
    };
    let text = match (&args.image, &args.dockerfile) {
        (Some(image), _) => {
            let docker = docker::connect().await?;
            let options = ExplainOptions {
                dockerfile: args.dockerfile.clone(),
                stop_signal: args.signal,
                stop_timeout: Duration::from_secs(u64::from(args.stop_timeout)),
                init: args.init,
                port: args.port,
                path: args.path.clone(),
            };
            let explanation = explain::explain(&docker, image, &options).await?;
            if json {
                serde_json::to_string_pretty(&explanation).expect("plain data serialises")
            } else {
                explain::render(&explanation)
            }
        }
        (None, Some(dockerfile)) => {
            let facts = explain::explain_dockerfile(dockerfile)?;
            if json {
                serde_json::to_string_pretty(&facts).expect("plain data serialises")
            } else {
                explain::render_dockerfile(&facts)
            }
        }
        (None, None) => unreachable!("clap requires --image or --dockerfile"),
    };
    println!("{}", text.trim_end());
    Ok(EXIT_OK)
}

/// `name  target, mode, stop`: one line of `list`.
fn describe_scenario(scenario: &Scenario) -> String {
    let target = match &scenario.target {
        Target::Process => "process".to_string(),
        Target::Container(spec) => {
            let init = if spec.init { " --init" } else { "" };
            format!("{} on {}{init}", spec.variant, spec.base)
        }
        Target::Image(spec) => format!("image {}", spec.image),
    };
    format!(
        "{}\t{target}, {} server, {} after {}, grace {}",
        scenario.name,
        scenario.server.mode,
        scenario.stop.signal,
        crate::duration::format(scenario.stop.at),
        crate::duration::format(scenario.stop.timeout)
    )
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
