//! Each subcommand: load or build what it needs, call the library with the live reporter,
//! write the report, and say which exit code it earned.

use std::path::Path;
use std::time::Duration;

use shutdown_harness::engine::{LABEL_MANAGED, Reaped};
use shutdown_harness::report::{self, Format, json};
use shutdown_harness::{
    Engine, EngineError, EngineKind, Error, EventLog, FanOut, RunOptions, RunResults, Scenario,
    ScenarioError, ScenarioFault, Target, Workspace, check_image, explain,
};
use tokio_util::sync::CancellationToken;

use super::args::{
    CheckArgs, CleanArgs, Cli, Command, ExplainArgs, ExplainFormat, ListArgs, ListFormat,
    OutputArgs, ReportFormat, ReproduceArgs, RunArgs,
};
use super::flags;
use super::live::{Live, Show};
use super::options::{self, Session};
use super::slices;
use super::stdout;
use super::{EXIT_ERROR, EXIT_FAILED, EXIT_OK};

/// Runs the command; its exit code, or the error that stopped it (exit 2). `cancel` stops it
/// at once, removing what it made.
pub async fn execute(cli: Cli, run_id: &str, cancel: CancellationToken) -> Result<u8, Error> {
    let workspace = options::workspace(cli.workspace.as_deref())?;
    let session = Session { run_id, cancel };
    match cli.command {
        Command::Reproduce(args) => reproduce(&args, cli.engine, workspace, session).await,
        Command::Run(args) => run(&args, cli.engine, workspace, session).await,
        Command::List(args) => list(&args, workspace.as_ref()),
        Command::Check(args) => check(&args, cli.engine, workspace, session).await,
        Command::Explain(args) => explain_command(&args, cli.engine, session).await,
        Command::Clean(args) => clean(&args, cli.engine).await,
        Command::Swarm(args) => super::swarm::swarm_command(&args, cli.engine).await,
    }
}

/// `reproduce`: the experiment's scenarios, each with its timeline.
async fn reproduce(
    args: &ReproduceArgs,
    kind: Option<EngineKind>,
    workspace: Option<Workspace>,
    session: Session<'_>,
) -> Result<u8, Error> {
    let (scenarios, options) = options::reproduce_options(args, workspace, session);
    let engine = connect(kind).await?;
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

/// `run`: the selected scenario files, a line each as they finish.
async fn run(
    args: &RunArgs,
    kind: Option<EngineKind>,
    workspace: Option<Workspace>,
    session: Session<'_>,
) -> Result<u8, Error> {
    let mut scenarios = options::select_scenarios(&args.select, workspace.as_ref())?;
    if scenarios.is_empty() {
        eprintln!("no scenario matches; see `shutdown-harness list`");
        return Ok(EXIT_ERROR);
    }
    // One vantage for every stream, whatever the files say (where it cannot run, the host's).
    if let Some(vantage) = args.vantage {
        for load in scenarios.iter_mut().filter_map(|s| s.load.as_mut()) {
            load.vantage = Some(vantage);
        }
    }
    let engine = connect(kind).await?;
    let options = options::run_options(args, engine.info().kind, workspace, session);
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

/// `list`: the selected scenarios, a line each or as the nightly workflow's job matrix.
fn list(args: &ListArgs, workspace: Option<&Workspace>) -> Result<u8, Error> {
    let scenarios = options::select_scenarios(&args.select, workspace)?;
    match args.format {
        ListFormat::Plain => {
            for scenario in &scenarios {
                stdout::println(&describe_scenario(scenario));
            }
        }
        ListFormat::GithubMatrix => stdout::println(&slices::github_matrix_json(&scenarios)),
    }
    Ok(EXIT_OK)
}

/// `check`: one image, judged with its evidence.
async fn check(
    args: &CheckArgs,
    kind: Option<EngineKind>,
    workspace: Option<Workspace>,
    session: Session<'_>,
) -> Result<u8, Error> {
    if let Some(refused) = super::swarm::refuse_emulated_flags(
        args.orchestrator,
        &[
            ("pre-stop-sleep", args.pre_stop_sleep.is_some()),
            ("pre-stop-exec", args.pre_stop_exec.is_some()),
            ("address-reuse", args.address_reuse),
            ("balancer-checks", args.balancer_checks.is_some()),
        ],
    ) {
        eprintln!("error: {refused}");
        return Ok(EXIT_ERROR);
    }
    let mut options = options::check_options(args, session);
    // Bad options are a usage error, told before the engine is even reached.
    options.validate()?;
    let engine = connect(kind).await?;
    // The load generator is built from the checkout, for a stream from inside the namespace.
    options.workspace = workspace;
    let mut log = event_log(&args.output)?;
    let mut live = live(&args.output, Show::Timelines);
    let reporter = &mut FanOut::new().with(&mut log).with(&mut live);
    let result = check_image(&engine, &args.image, &options, reporter).await?;
    let results = RunResults {
        duration: result.observation.duration,
        build_duration: Duration::ZERO,
        engine: Some(engine.info().clone()),
        scenarios: vec![result],
    };
    finish(live, &results, &args.output, true)
}

/// `clean`: what dead runs left behind; with `--all` every run's containers, with `--images`
/// the harness's images.
async fn clean(args: &CleanArgs, kind: Option<EngineKind>) -> Result<u8, Error> {
    let engine = Engine::connect_to(kind).await?;
    let reaped = engine.reap_dead_runs().await?;
    say_reaped(&reaped);
    let mut removed = reaped.containers();
    let mut networks = reaped.networks;
    if args.all {
        removed += engine.remove_labelled_containers(LABEL_MANAGED).await?;
        networks += engine.remove_labelled_networks(LABEL_MANAGED).await?;
    }
    stdout::println(&format!(
        "removed {removed} container(s), {networks} network(s), {} Swarm service(s)",
        reaped.services
    ));
    if args.images {
        let removed = engine.remove_managed_images().await?;
        stdout::println(&format!("removed {removed} image(s)"));
    }
    Ok(EXIT_OK)
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
    let mut log = event_log(output)?;
    let mut live = live(output, show);
    let reporter = &mut FanOut::new().with(&mut log).with(&mut live);
    let results =
        shutdown_harness::run_scenarios(Some(engine), scenarios, options, reporter).await?;
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
fn live(output: &OutputArgs, show: Show) -> Live {
    let human_on_stdout = output.format == ReportFormat::Table && output.output.is_none();
    Live::new(show, output.verbose, human_on_stdout)
}

/// The `--events` log, when asked for; it hears each event before the live display does.
fn event_log(output: &OutputArgs) -> Result<Option<EventLog>, Error> {
    let Some(path) = &output.events else {
        return Ok(None);
    };
    let log = EventLog::create(path).map_err(|source| Error::WriteReport {
        path: path.clone(),
        source,
    })?;
    Ok(Some(log))
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
        eprintln!("error: {}", lost.message_with(&flags::spell));
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
        (None, _) => stdout::print(&document),
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
fn lost_engine(error: &dyn ScenarioFault) -> Option<&EngineError> {
    match error.as_error().downcast_ref::<ScenarioError>()? {
        ScenarioError::Engine(engine) if engine.is_lost() => Some(engine),
        _ => None,
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
    args: &ExplainArgs,
    kind: Option<EngineKind>,
    session: Session<'_>,
) -> Result<u8, Error> {
    let json = args.format == ExplainFormat::Json;
    let text = match (&args.image, &args.dockerfile) {
        (Some(image), _) => {
            let engine = connect(kind).await?;
            let options = options::explain_options(args, session);
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
    stdout::println(text.trim_end());
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

/// 0 when all held, 1 when an expectation failed, 2 when a scenario could not run or its load
/// was not delivered as asked (an environment limit: nothing of its requests was judged).
fn exit_code(results: &RunResults) -> u8 {
    if results.errored() || results.not_delivered() {
        EXIT_ERROR
    } else if results.passed() {
        EXIT_OK
    } else {
        EXIT_FAILED
    }
}
