//! Each subcommand: load or build what it needs, call the library with the live reporter,
//! write the report, and say which exit code it earned.

use std::path::Path;
use std::time::Duration;

use shutdown_harness::engine::{LABEL_MANAGED, Reaped};
use shutdown_harness::report::{self, Format, json};
use shutdown_harness::reproduce::{self, Timings};
use shutdown_harness::{
    BalancerSettings, CheckOptions, ClientProfile, Engine, EngineError, EngineKind, Error,
    ExplainOptions, LoadSpec, PreStop, Readiness, RolloutSpec, RunOptions, RunResults, Scenario,
    ScenarioError, Target, Workspace, check_image, explain, scenario_file,
};
use tokio_util::sync::CancellationToken;

use super::args::{
    Cli, Command, ExplainArgs, ExplainFormat, ListFormat, LoadClient, OutputArgs, ReportFormat,
    SelectArgs,
};
use super::events::EventLog;
use super::live::{Live, Show};
use super::slices;
use super::{EXIT_ERROR, EXIT_FAILED, EXIT_OK};

/// How long `check --load` streams before it waits for the exit, unless told.
const DEFAULT_LOAD_DURATION: Duration = Duration::from_secs(4);

/// Runs the command; its exit code, or the error that stopped it (exit 2). `cancel` stops it
/// at once, removing what it made.
pub async fn execute(cli: Cli, run_id: &str, cancel: CancellationToken) -> Result<u8, Error> {
    let workspace = match &cli.workspace {
        Some(dir) => Some(Workspace::at(dir).ok_or_else(|| not_a_workspace(dir))?),
        None => std::env::current_dir()
            .ok()
            .and_then(|dir| Workspace::find_from(&dir)),
    };
    match cli.command {
        Command::Reproduce(args) => {
            let timings = if args.fast {
                Timings::fast()
            } else {
                Timings::experiment()
            };
            let engine = connect(cli.engine).await?;
            let options = RunOptions {
                run_id: run_id.to_string(),
                cancel,
                ..RunOptions::new(workspace)
            };
            let scenarios = reproduce::scenarios(timings);
            run_and_report(
                &engine,
                &scenarios,
                &options,
                &args.output,
                Show::Timelines,
                true,
            )
            .await
        }
        Command::Run(args) => {
            let scenarios = load(&args.select, workspace.as_ref())?;
            if scenarios.is_empty() {
                eprintln!("no scenario matches; see `shutdown-harness list`");
                return Ok(EXIT_ERROR);
            }
            let engine = connect(cli.engine).await?;
            let options = RunOptions {
                run_id: run_id.to_string(),
                cancel,
                jobs: args.jobs.map_or_else(
                    || shutdown_harness::default_jobs_on(engine.info().kind),
                    usize::from,
                ),
                ..RunOptions::new(workspace)
            };
            run_and_report(
                &engine,
                &scenarios,
                &options,
                &args.output,
                Show::Lines,
                args.table,
            )
            .await
        }
        Command::List(args) => {
            let scenarios = load(&args.select, workspace.as_ref())?;
            match args.format {
                ListFormat::Plain => {
                    for scenario in &scenarios {
                        println!("{}", describe_scenario(scenario));
                    }
                }
                ListFormat::GithubMatrix => println!("{}", slices::github_matrix_json(&scenarios)),
            }
            Ok(EXIT_OK)
        }
        Command::Check(args) => {
            super::swarm::refuse_emulated_flags(
                args.orchestrator,
                &[
                    ("pre-stop-sleep", args.pre_stop_sleep.is_some()),
                    ("pre-stop-exec", args.pre_stop_exec.is_some()),
                    ("address-reuse", args.address_reuse),
                    ("balancer-checks", args.balancer_checks.is_some()),
                ],
            )?;
            let engine = connect(cli.engine).await?;
            let options = CheckOptions {
                port: args.port,
                path: args.path.clone(),
                requests: usize::from(args.requests),
                stop_timeout: Duration::from_secs(u64::from(args.stop_timeout)),
                signal: args.signal,
                init: args.init,
                stop_after: args.stop_after,
                after_stop: args.after_stop,
                startup_timeout: args.startup_timeout,
                ready_path: args.ready_path,
                run_id: run_id.to_string(),
                cancel,
                load: args.load.map(|rate| LoadSpec {
                    rate,
                    duration: args.load_duration.unwrap_or(DEFAULT_LOAD_DURATION),
                    path: args.load_path.clone().unwrap_or_else(|| args.path.clone()),
                    client: match args.load_client {
                        LoadClient::Fresh => ClientProfile::Fresh,
                        LoadClient::Pooled => ClientProfile::Pooled,
                        LoadClient::Reqwest => ClientProfile::Reqwest,
                        LoadClient::Fixed => ClientProfile::Fixed,
                    },
                    connections: args.load_connections,
                }),
                rollout: args.rollout.then(|| RolloutSpec {
                    replicas: args.replicas,
                    replace: args.replicas,
                    pre_stop: match (&args.pre_stop_exec, args.pre_stop_sleep) {
                        (Some(command), _) => {
                            PreStop::Exec(command.split_whitespace().map(str::to_string).collect())
                        }
                        (None, Some(pause)) => PreStop::Sleep(pause),
                        (None, None) => PreStop::None,
                    },
                    endpoint_lag: args.endpoint_lag,
                    termination_grace: Duration::from_secs(u64::from(args.stop_timeout)),
                    readiness: Readiness {
                        period: args.readiness_period,
                        ..Readiness::default()
                    },
                    address_reuse: args.address_reuse,
                    balancer: BalancerSettings {
                        checks: args.balancer_checks,
                        connect_timeout: args.connect_timeout,
                        ..BalancerSettings::default()
                    },
                    orchestrator: args.orchestrator.orchestrator(),
                }),
                max_lost: args.max_lost,
                max_cut: args.max_cut,
                max_p99: args.max_p99,
            };
            let mut live = live(&args.output, Show::Timelines)?;
            let result = check_image(&engine, &args.image, &options, &mut live).await?;
            let results = RunResults {
                duration: result.observation.duration,
                build_duration: Duration::ZERO,
                engine: Some(engine.info().clone()),
                scenarios: vec![result],
            };
            finish(live, &results, &args.output, true)
        }
        Command::Explain(args) => explain_command(args, cli.engine, run_id, cancel).await,
        Command::Swarm(args) => super::swarm::swarm_command(&args, cli.engine).await,
        Command::Clean(args) => {
            let engine = Engine::connect_to(cli.engine).await?;
            let reaped = engine.reap_dead_runs().await?;
            say_reaped(&reaped);
            let mut removed = reaped.containers();
            let mut networks = reaped.networks;
            if args.all {
                removed += engine.remove_labelled_containers(LABEL_MANAGED).await?;
                networks += engine.remove_labelled_networks(LABEL_MANAGED).await?;
            }
            println!(
                "removed {removed} container(s), {networks} network(s), {} Swarm service(s)",
                reaped.services
            );
            if args.images {
                let removed = engine.remove_managed_images().await?;
                println!("removed {removed} image(s)");
            }
            Ok(EXIT_OK)
        }
    }
}

/// Runs `scenarios` with the live reporter, then writes the report.
async fn run_and_report(
    engine: &Engine,
    scenarios: &[Scenario],
    options: &RunOptions,
    output: &OutputArgs,
    show: Show,
    with_table: bool,
) -> Result<u8, Error> {
    let mut live = live(output, show)?;
    let results = shutdown_harness::run(Some(engine), scenarios, options, &mut live).await?;
    finish(live, &results, output, with_table)
}

/// Connects to the engine, and first of all removes what runs killed earlier left there.
async fn connect(kind: Option<EngineKind>) -> Result<Engine, Error> {
    let engine = Engine::connect_to(kind).await?;
    say_reaped(&engine.reap_dead_runs().await?);
    Ok(engine)
}

/// Says on stderr what reaping removed, if anything.
fn say_reaped(reaped: &Reaped) {
    for (run, containers) in &reaped.runs {
        eprintln!(
            "removed {} container(s) left by run {run}, whose process is gone",
            containers.len()
        );
    }
}

/// The live reporter for `output`'s format and destination.
fn live(output: &OutputArgs, show: Show) -> Result<Live, Error> {
    let human_on_stdout = output.format == ReportFormat::Table && output.output.is_none();
    let events = match &output.events {
        Some(path) => Some(EventLog::create(path).map_err(|source| Error::WriteReport {
            path: path.clone(),
            source,
        })?),
        None => None,
    };
    Ok(Live::new(show, output.verbose, human_on_stdout, events))
}

/// Closes the live display and writes the report where it was asked for; the exit code.
fn finish(
    mut live: Live,
    results: &RunResults,
    output: &OutputArgs,
    with_table: bool,
) -> Result<u8, Error> {
    live.finish(results, with_table);
    // The engine gone mid-run: one line says so (every scenario's error would say the same).
    let lost = results
        .scenarios
        .iter()
        .find_map(|s| s.error.as_deref().and_then(lost_engine));
    if let Some(lost) = lost {
        eprintln!("error: {lost}");
        return Ok(EXIT_ERROR);
    }
    if let Some(reason) = live.cleanup_failed() {
        eprintln!("warning: removing this run's containers failed: {reason}");
    }
    if let Some(path) = &output.json_output {
        write_file(
            path,
            &json::render_with_records(results, output.load_records),
        )?;
    }
    if let Some(path) = &output.html {
        write_file(path, &report::render(results, Format::Html))?;
    }
    if let Some(path) = &output.junit {
        write_file(path, &report::render(results, Format::Junit))?;
    }
    let markdown = || report::markdown::render(results, html_link(output));
    if let Some(path) = &output.markdown {
        write_file(path, &markdown())?;
    }
    let document = match output.format {
        ReportFormat::Table => live.transcript().to_string(),
        ReportFormat::Json => json::render_with_records(results, output.load_records),
        ReportFormat::Junit => report::render(results, Format::Junit),
        ReportFormat::Html => report::render(results, Format::Html),
        ReportFormat::Markdown => markdown(),
    };
    match (&output.output, output.format) {
        (Some(path), _) => write_file(path, &document)?,
        // The human report was shown as it came.
        (None, ReportFormat::Table) => {}
        (None, _) => print!("{document}"),
    }
    Ok(exit_code(results))
}

/// How a Markdown report links the HTML report written beside it: by its file name, which is
/// right when both sit in one folder (an artifact, a report directory).
fn html_link(output: &OutputArgs) -> Option<&str> {
    output
        .html
        .as_ref()
        .and_then(|p| p.file_name())
        .and_then(|n| n.to_str())
}

/// The engine error of a scenario that lost the engine.
fn lost_engine(error: &ScenarioError) -> Option<&EngineError> {
    match error {
        ScenarioError::Engine(engine) if engine.is_lost() => Some(engine),
        _ => None,
    }
}

/// Loads and filters the scenarios; every file must be valid, or nothing is returned.
fn load(select: &SelectArgs, workspace: Option<&Workspace>) -> Result<Vec<Scenario>, Error> {
    let root = workspace.map_or_else(|| Path::new(".").to_path_buf(), |w| w.root().to_path_buf());
    let paths = if select.paths.is_empty() {
        vec![workspace.ok_or(Error::NoWorkspace)?.scenarios()]
    } else {
        select.paths.clone()
    };
    let scenarios = scenario_file::load(&root, &paths)?;
    Ok(match &select.filter {
        Some(glob) => scenario_file::filter(scenarios, glob)?,
        None => scenarios,
    })
}

fn not_a_workspace(dir: &Path) -> Error {
    Error::Read {
        path: dir.to_path_buf(),
        source: std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "not a shutdown-harness checkout (no Dockerfiles/ and server/Cargo.toml); pass the project's root to --workspace",
        ),
    }
}

fn write_file(path: &Path, text: &str) -> Result<(), Error> {
    std::fs::write(path, text).map_err(|source| Error::WriteReport {
        path: path.to_path_buf(),
        source,
    })
}

/// Prints the diagnosis of an image (and its Dockerfile), or of a Dockerfile alone.
async fn explain_command(
    args: ExplainArgs,
    kind: Option<EngineKind>,
    run_id: &str,
    cancel: CancellationToken,
) -> Result<u8, Error> {
    let json = args.format == ExplainFormat::Json;
    let text = match (&args.image, &args.dockerfile) {
        (Some(image), _) => {
            let engine = connect(kind).await?;
            let options = ExplainOptions {
                dockerfile: args.dockerfile.clone(),
                stop_signal: args.signal,
                stop_timeout: Duration::from_secs(u64::from(args.stop_timeout)),
                init: args.init,
                port: args.port,
                path: args.path.clone(),
                run_id: run_id.to_string(),
                cancel,
            };
            let explanation = explain::explain(&engine, image, &options).await?;
            if json {
                to_json(&explanation)
            } else {
                explain::render(&explanation)
            }
        }
        (None, Some(dockerfile)) => {
            let facts = explain::explain_dockerfile(dockerfile)?;
            if json {
                to_json(&facts)
            } else {
                explain::render_dockerfile(&facts)
            }
        }
        // clap requires one of the two; say so rather than trust it blindly.
        (None, None) => {
            eprintln!("explain needs --image or --dockerfile");
            return Ok(EXIT_ERROR);
        }
    };
    println!("{}", text.trim_end());
    Ok(EXIT_OK)
}

fn to_json(value: &impl serde::Serialize) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
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
        Target::Runtime(spec) => {
            let init = if spec.init { " --init" } else { "" };
            format!("runtime {}{init}", spec.runtime)
        }
        Target::Running(spec) => format!("container {}", spec.container),
    };
    format!(
        "{}\t{target}, {} server, {} after {}, grace {}",
        scenario.name,
        scenario.server.mode,
        scenario.stop.signal,
        shutdown_harness::format_duration(scenario.stop.at),
        shutdown_harness::format_duration(scenario.stop.timeout)
    )
}

/// 0 when all held, 1 when an expectation failed, 2 when a scenario could not run.
fn exit_code(results: &RunResults) -> u8 {
    if results.errored() {
        EXIT_ERROR
    } else if results.passed() {
        EXIT_OK
    } else {
        EXIT_FAILED
    }
}
