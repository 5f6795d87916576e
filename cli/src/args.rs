//! The command line's grammar: subcommands, flags and how their values are parsed.

use std::path::PathBuf;
use std::time::Duration;

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand, ValueEnum};
use shutdown_harness::protocol::Protocol;
use shutdown_harness::{ClientProfile, EngineKind, HealthChecks, Limit, StopSignal, Vantage};

/// Proves on a real container engine whether an HTTP server shuts down gracefully on
/// `docker stop`.
#[derive(Debug, Parser)]
#[command(name = "shutdown-harness", version, about)]
pub struct Cli {
    /// The project checkout the server and images are built from [default: the one holding the
    /// current directory].
    #[arg(
        long,
        global = true,
        env = "SHUTDOWN_HARNESS_WORKSPACE",
        value_name = "DIR"
    )]
    pub workspace: Option<PathBuf>,
    /// The container engine: docker (DOCKER_HOST, else /var/run/docker.sock) or podman
    /// (CONTAINER_HOST, else /run/podman/podman.sock) [default: whichever DOCKER_HOST, else the
    /// Docker socket, answers].
    #[arg(
        long,
        global = true,
        env = "SHUTDOWN_HARNESS_ENGINE",
        value_name = "ENGINE",
        value_parser = parse_engine
    )]
    pub engine: Option<EngineKind>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Reproduce the experiment: abrupt vs graceful process, shell vs exec form on dash.
    Reproduce(ReproduceArgs),
    /// Run scenario files (default: the workspace's scenarios/) and judge their expectations.
    Run(RunArgs),
    /// List the scenarios the files expand to, one per line.
    List(ListArgs),
    /// Check your own image: requests in flight, docker stop, one request after; exit 1 if a
    /// requirement is not met.
    Check(Box<CheckArgs>),
    /// Explain where an image's stop signal goes, without load: PID 1, its handlers, the fix.
    Explain(ExplainArgs),
    /// Remove what runs whose process is gone left behind (`--all`: every run's containers).
    Clean(CleanArgs),
    /// Make the engine a single-node swarm manager (`swarm init`) or leave it (`swarm leave`).
    Swarm(crate::swarm::SwarmArgs),
}

#[derive(Debug, Args)]
pub struct CleanArgs {
    /// Remove the containers of every run, live ones too, not only those of runs whose
    /// process is gone.
    #[arg(long)]
    pub all: bool,
    /// Also remove the harness's images (bases and variants); the next run rebuilds them.
    #[arg(long)]
    pub images: bool,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("what").required(true).multiple(true).args(["image", "dockerfile"])))]
pub struct ExplainArgs {
    /// The image to diagnose; it must be present locally (nothing is pulled).
    #[arg(long)]
    pub image: Option<String>,
    /// The Dockerfile it was built from (alone: read the file only, no engine needed).
    #[arg(long)]
    pub dockerfile: Option<PathBuf>,
    /// The stop signal (default: the image's STOPSIGNAL, else SIGTERM).
    #[arg(long, value_parser = parse_signal)]
    pub signal: Option<StopSignal>,
    /// docker stop's grace period, in seconds, named in the prediction (at most an hour).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(0..=3600))]
    pub stop_timeout: u32,
    /// Run with docker's init (tini) as PID 1, as `docker run --init`.
    #[arg(long)]
    pub init: bool,
    /// A container port to wait on until PATH answers, before reading PID 1.
    #[arg(long)]
    pub port: Option<u16>,
    /// The path probed on --port.
    #[arg(long, default_value = "/", value_parser = parse_path)]
    pub path: String,
    /// `table` (plain text) or `json`.
    #[arg(long, value_enum, default_value_t = ExplainFormat::Table)]
    pub format: ExplainFormat,
}

/// The formats of `explain`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExplainFormat {
    /// Plain text.
    Table,
    /// JSON.
    Json,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub select: SelectArgs,
    /// At most this many scenarios at once; they mostly wait [default: 16 per core, 4 to 64].
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub jobs: Option<u16>,
    /// Also print the verdict table after the per-scenario lines.
    #[arg(long)]
    pub table: bool,
    /// Every stream from this vantage, whatever the files say: `netns` or `host` (a stream
    /// that cannot run inside the namespace runs from the host all the same).
    #[arg(long, value_name = "VANTAGE", value_parser = vantage_parser())]
    pub vantage: Option<Vantage>,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub select: SelectArgs,
    /// `plain`: one scenario per line; `github-matrix`: the nightly workflow's job matrix (JSON).
    #[arg(long, value_enum, default_value_t = ListFormat::Plain)]
    pub format: ListFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    Plain,
    GithubMatrix,
}

/// Which scenarios: files or directories, narrowed by a glob on names.
#[derive(Debug, Args)]
pub struct SelectArgs {
    /// Scenario files or directories of them (default: scenarios/ of the workspace).
    #[arg(value_name = "FILE|DIR")]
    pub paths: Vec<PathBuf>,
    /// Only the scenarios whose names match this glob (`dash/*`, `*/exec-form/*`).
    #[arg(long, value_name = "GLOB")]
    pub filter: Option<String>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The image to check; it must be present locally (nothing is pulled).
    #[arg(long)]
    pub image: String,
    /// The container port the server listens on.
    #[arg(long)]
    pub port: u16,
    /// What the requests speak: `http1` requests, or long-lived streams (one held open across
    /// docker stop, one opened after the signal, each judged by how it ended).
    #[arg(long, value_name = "PROTOCOL", default_value_t = Protocol::Http1, value_parser = protocol_parser())]
    pub protocol: Protocol,
    /// The path to request; a slow one shows the drain best. For a stream protocol the
    /// endpoint's path; for grpc the method's, /package.Service/Method, called with an empty
    /// request [default: /; websocket /ws, sse /events, grpc /grpc.health.v1.Health/Watch].
    #[arg(long, value_parser = parse_path)]
    pub path: Option<String>,
    /// How many requests are in flight when docker stop is issued (streams held open, with
    /// --protocol).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub requests: u16,
    /// docker stop's grace period, in seconds (at most an hour).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(0..=3600))]
    pub stop_timeout: u32,
    /// The stop signal (default: the image's STOPSIGNAL, else SIGTERM).
    #[arg(long, value_parser = parse_signal)]
    pub signal: Option<StopSignal>,
    /// Run with docker's init (tini) as PID 1, as `docker run --init`.
    #[arg(long)]
    pub init: bool,
    /// How long after the in-flight requests are sent docker stop is issued [default: half the
    /// path's median latency over 3 warm-up requests, so that they are surely in flight].
    #[arg(long, visible_alias = "stop-at", value_parser = parse_duration)]
    pub stop_after: Option<Duration>,
    /// How long after docker stop the late request is sent.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub after_stop: Duration,
    /// How long the server may take to answer after the container started.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub startup_timeout: Duration,
    /// The path polled until the server answers 2xx before the check starts [default: PATH;
    /// with a stream protocol, none: the port holding a connection open].
    #[arg(long, value_parser = parse_path)]
    pub ready_path: Option<String>,
    /// A steady stream of requests across the stop, at this rate (`200/s`).
    #[arg(long, value_name = "RATE", value_parser = parse_rate)]
    pub load: Option<u32>,
    /// How long the stream runs before it waits for the exit [default: 4s].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, requires = "load")]
    pub load_duration: Option<Duration>,
    /// The path the stream asks for [default: PATH].
    #[arg(long, value_name = "PATH", value_parser = parse_path, requires = "load")]
    pub load_path: Option<String>,
    /// The stream's client: `fresh` (a connection per request), `pooled` (keep-alive, a new
    /// connection whenever all are busy), `reqwest` (reqwest with its defaults), `fixed` (a
    /// fixed set of keep-alive connections) or `h2c` (HTTP/2 streams on one connection)
    /// [default: fresh; h2c with `--protocol h2c`].
    #[arg(long, value_parser = client_parser(), requires = "load")]
    pub load_client: Option<ClientProfile>,
    /// How many connections `--load-client fixed` or `h2c` keeps [default: 64 for fixed, 1 for
    /// h2c].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=i64::from(shutdown_harness::MAX_CONNECTIONS)), requires = "load")]
    pub load_connections: Option<u16>,
    /// Where the stream's client stands: `netns` (inside the container's network namespace, a
    /// helper container beside it: no docker-proxy, so a closed listener refuses) or `host`
    /// (through the published port) [default: netns, for the fresh, fixed and h2c clients].
    #[arg(long, value_name = "VANTAGE", value_parser = vantage_parser(), requires = "load")]
    pub vantage: Option<Vantage>,
    /// Instead of one stop: a rolling update of replicas of the image behind HAProxy, under a
    /// steady stream (`--load`, else 100/s of PATH); --stop-timeout is the termination grace.
    #[arg(long)]
    pub rollout: bool,
    /// Who replaces the replicas: the harness in Kubernetes' order, or a Docker Swarm rolling
    /// update (needs `shutdown-harness swarm init`).
    #[arg(long, value_enum, default_value_t = crate::swarm::OrchestratorArg::Emulated, requires = "rollout")]
    pub orchestrator: crate::swarm::OrchestratorArg,
    /// How many replicas serve; each is replaced in turn.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(1..=4), requires = "rollout")]
    pub replicas: u8,
    /// How long after a replica's termination begins it leaves the balancer's pool.
    #[arg(long, default_value = "1s", value_parser = parse_duration, requires = "rollout")]
    pub endpoint_lag: Duration,
    /// preStop: the orchestrator waits this long before the signal (preStop.sleep).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, requires = "rollout", conflicts_with = "pre_stop_exec")]
    pub pre_stop_sleep: Option<Duration>,
    /// preStop: this command runs in the container before the signal (`sleep 5`; words split
    /// on spaces).
    #[arg(long, value_name = "COMMAND", requires = "rollout")]
    pub pre_stop_exec: Option<String>,
    /// How often a new replica's readiness probe (GET --ready-path, else PATH) runs until it
    /// passes; the replica enters the pool then.
    #[arg(long, value_name = "DURATION", default_value = "500ms", value_parser = parse_positive_duration, requires = "rollout")]
    pub readiness_period: Duration,
    /// The balancer checks its servers itself, as HAProxy Ingress or Traefik do (kube-proxy
    /// does not): `inter=2s,fall=3,rise=2`, HAProxy's own for what is left out.
    #[arg(long, value_name = "SETTINGS", num_args = 0..=1, default_missing_value = "", value_parser = parse_checks, requires = "rollout")]
    pub balancer_checks: Option<HealthChecks>,
    /// HAProxy's `timeout connect`: how long each try to reach a replica may take.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_positive_duration, requires = "rollout")]
    pub connect_timeout: Duration,
    /// Let a new replica be given a gone replica's address (the engine's own allocation):
    /// requests still trying the gone one then reach its successor.
    #[arg(long, requires = "rollout")]
    pub address_reuse: bool,
    /// The most of the stream that may be lost: a count (5) or a share of it (0.1%); exit 1
    /// past it. For one stop, of what was sent before the signal (later requests are refused
    /// by a correct server); for --rollout, of the whole stream. Needs --load or --rollout.
    #[arg(long, value_name = "N|P%", value_parser = parse_limit)]
    pub max_lost: Option<Limit>,
    /// The most of the stream that may be cut (accepted, then not completed): 5 or 0.1%. Only
    /// our server's log tells cut from never accepted: on another image it is not tested.
    #[arg(long, value_name = "N|P%", value_parser = parse_limit)]
    pub max_cut: Option<Limit>,
    /// The longest the 99th percentile latency of the stream's answered requests may be,
    /// across the stop.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub max_p99: Option<Duration>,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct ReproduceArgs {
    /// Scale the timings down (1 s handler, 2 s grace) instead of the experiment's 5 s / 10 s.
    #[arg(long)]
    pub fast: bool,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Where and how a report is written.
#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Report format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    pub format: ReportFormat,
    /// Write the report to this file instead of standard output.
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Also write the JSON report to this file (CI keeps it beside a JUnit report).
    #[arg(long, value_name = "FILE")]
    pub json_output: Option<PathBuf>,
    /// Also write the HTML report (verdict table, SVG timelines) to this file.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Also write the JUnit XML report to this file.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Also write the Markdown report (a CI job summary) to this file; it links the --html
    /// report by its file name.
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
    /// Show every scenario's full timeline, not only those that did not behave as expected.
    #[arg(long, short)]
    pub verbose: bool,
    /// Write the run's events to this file as JSON lines, as they happen.
    #[arg(long, value_name = "FILE")]
    pub events: Option<PathBuf>,
    /// In the JSON report, every request of each load (sent_ms, done_ms, phase, connection,
    /// outcome), not only the counts.
    #[arg(long)]
    pub load_records: bool,
}

/// The formats of a run's report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// For people: one line per scenario as it finishes (timelines where needed), a summary.
    Table,
    /// The JSON contract.
    Json,
    /// JUnit XML, one test case per scenario.
    Junit,
    /// One self-contained HTML page: the verdict table and an SVG timeline per scenario.
    Html,
    /// Markdown for a CI job summary or a pull-request comment (links the --html report).
    Markdown,
}

fn parse_engine(text: &str) -> Result<EngineKind, String> {
    text.parse()
}

/// `--vantage`: the library's vantages by their names.
fn vantage_parser() -> impl TypedValueParser<Value = Vantage> {
    let values = Vantage::ALL.map(|v| PossibleValue::new(v.name()).help(v.describe()));
    PossibleValuesParser::new(values)
        .try_map(|name| Vantage::parse(&name).ok_or_else(|| format!("unknown vantage `{name}`")))
}

/// `--protocol`: the library's protocols by their names, each with its help line.
fn protocol_parser() -> impl TypedValueParser<Value = Protocol> {
    let values = Protocol::ALL.map(|p| PossibleValue::new(p.name()).help(protocol_help(p)));
    PossibleValuesParser::new(values).try_map(|name| {
        Protocol::from_name(&name).ok_or_else(|| format!("unknown protocol `{name}`"))
    })
}

/// What `--help` says of each protocol.
fn protocol_help(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::Http1 => "HTTP/1.1 requests",
        Protocol::H2c => "HTTP/2 streams without TLS (prior knowledge): GOAWAY frames as evidence",
        Protocol::Grpc => {
            "gRPC calls of PATH with an empty request, replies kept as bytes: the status as evidence"
        }
        Protocol::Websocket => "WebSockets: the close code as evidence",
        Protocol::Sse => "Server-sent event streams: the last event as evidence",
    }
}

/// `--load-client`: the library's clients by their names, each with its help line.
fn client_parser() -> impl TypedValueParser<Value = ClientProfile> {
    let values = ClientProfile::ALL
        .map(|client| PossibleValue::new(client.name()).help(client_help(client)));
    // The names are the library's own, so each parses; an error all the same rather than a panic.
    PossibleValuesParser::new(values).try_map(|name| {
        ClientProfile::parse(&name).ok_or_else(|| format!("unknown client `{name}`"))
    })
}

/// What `--help` says of each client.
fn client_help(client: ClientProfile) -> &'static str {
    match client {
        ClientProfile::Fresh => "A new connection per request",
        ClientProfile::Pooled => {
            "A pool of keep-alive connections, a new one whenever all are busy (reqwest's pool), noting which one each request went out on"
        }
        ClientProfile::Reqwest => "reqwest with its default settings: what a reqwest user gets",
        ClientProfile::Fixed => {
            "A fixed set of keep-alive connections, one request in flight on each (as wrk2)"
        }
        ClientProfile::H2c => {
            "HTTP/2 with prior knowledge: each request a stream, many in flight on one connection (or --load-connections)"
        }
    }
}

fn parse_signal(text: &str) -> Result<StopSignal, String> {
    StopSignal::parse(text)
        .ok_or_else(|| format!("unknown signal `{text}` (known: {})", StopSignal::known()))
}

fn parse_path(text: &str) -> Result<String, String> {
    match shutdown_harness::path_problem(text) {
        Some(problem) => Err(problem),
        None => Ok(text.to_string()),
    }
}

fn parse_rate(text: &str) -> Result<u32, String> {
    let number = text.trim().strip_suffix("/s").unwrap_or(text.trim());
    number
        .parse::<u32>()
        .ok()
        .filter(|rate| (1..=shutdown_harness::MAX_RATE).contains(rate))
        .ok_or_else(|| {
            format!(
                "bad rate `{text}`: write requests per second, like 200/s (1 to {})",
                shutdown_harness::MAX_RATE
            )
        })
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    shutdown_harness::parse_duration_at_most(text, shutdown_harness::MAX_DURATION)
}

fn parse_positive_duration(text: &str) -> Result<Duration, String> {
    match parse_duration(text)? {
        zero if zero.is_zero() => Err(format!("`{text}` must be longer than zero")),
        duration => Ok(duration),
    }
}

fn parse_limit(text: &str) -> Result<Limit, String> {
    Limit::parse(text)
}

fn parse_checks(text: &str) -> Result<HealthChecks, String> {
    HealthChecks::parse(text)
}
