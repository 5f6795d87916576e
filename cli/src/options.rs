//! From raw arguments to the library's options: each command's clap arguments become what the
//! library takes in one function per command, so that the commands only call the library (as
//! ripgrep's low arguments become its high ones).

use std::path::Path;
use std::time::Duration;

use shutdown_harness::protocol::Protocol;
use shutdown_harness::reproduce::{self, Timings};
use shutdown_harness::{
    BalancerSettings, CheckOptions, ClientProfile, EngineKind, Error, ExplainOptions, LoadSpec,
    PreStop, ReadinessProbe, RolloutSpec, RunOptions, Scenario, Workspace, scenario_file,
};
use tokio_util::sync::CancellationToken;

use super::args::{CheckArgs, ExplainArgs, ReproduceArgs, RunArgs, SelectArgs};

/// How long `check --load` streams before it waits for the exit, unless told.
const DEFAULT_LOAD_DURATION: Duration = Duration::from_secs(4);

/// What every command is run with: the run's id (its containers' label) and the token that
/// stops it.
pub struct Session<'a> {
    /// The run id the command's containers carry.
    pub run_id: &'a str,
    /// Cancelled on SIGINT, SIGTERM or SIGHUP.
    pub cancel: CancellationToken,
}

/// The workspace `--workspace` names, else the checkout holding the current directory (none
/// is fine: only graceful-server's scenarios need one).
pub fn workspace(dir: Option<&Path>) -> Result<Option<Workspace>, Error> {
    match dir {
        Some(dir) => Workspace::at(dir)
            .map(Some)
            .ok_or_else(|| not_a_workspace(dir)),
        None => Ok(std::env::current_dir()
            .ok()
            .and_then(|dir| Workspace::find_from(&dir))),
    }
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

/// `reproduce`: the experiment's scenarios, at its timings or scaled down, and how they run
/// (the library's default concurrency, whichever the engine).
pub fn reproduce_options(
    args: &ReproduceArgs,
    workspace: Option<Workspace>,
    session: Session<'_>,
) -> (Vec<Scenario>, RunOptions) {
    let timings = if args.fast {
        Timings::fast()
    } else {
        Timings::experiment()
    };
    let options = RunOptions {
        run_id: session.run_id.to_string(),
        cancel: session.cancel,
        ..RunOptions::new(workspace)
    };
    (reproduce::scenarios(timings), options)
}

/// `run`: how the scenarios run on an engine of `kind` (`--jobs`, else as many as suit it).
pub fn run_options(
    args: &RunArgs,
    kind: EngineKind,
    workspace: Option<Workspace>,
    session: Session<'_>,
) -> RunOptions {
    RunOptions {
        run_id: session.run_id.to_string(),
        cancel: session.cancel,
        jobs: args
            .jobs
            .map_or_else(|| shutdown_harness::default_jobs_on(kind), usize::from),
        ..RunOptions::new(workspace)
    }
}

/// `run` and `list`: the scenarios of the files (default: the workspace's scenarios/) whose
/// names match `--filter`; every file must be valid, or none is returned.
pub fn select_scenarios(
    select: &SelectArgs,
    workspace: Option<&Workspace>,
) -> Result<Vec<Scenario>, Error> {
    let root = workspace.map_or_else(|| Path::new(".").to_path_buf(), |w| w.root().to_path_buf());
    let paths = if select.paths.is_empty() {
        vec![workspace.ok_or(Error::NoWorkspace)?.scenarios()]
    } else {
        select.paths.clone()
    };
    let scenarios = scenario_file::read(&root, &paths)?;
    Ok(match &select.filter {
        Some(glob) => scenario_file::filter(scenarios, glob)?,
        None => scenarios,
    })
}

/// `check`: the check, its steady stream (`--load`) and its rolling update (`--rollout`).
pub fn check_options(args: &CheckArgs, session: Session<'_>) -> CheckOptions {
    CheckOptions {
        port: args.port,
        protocol: args.protocol,
        path: check_path(args),
        requests: usize::from(args.requests),
        stop_timeout: Duration::from_secs(u64::from(args.stop_timeout)),
        signal: args.signal,
        init: args.init,
        stop_after: args.stop_after,
        after_stop: args.after_stop,
        startup_timeout: args.startup_timeout,
        ready_path: args.ready_path.clone(),
        run_id: session.run_id.to_string(),
        cancel: session.cancel,
        load: load_spec(args),
        rollout: rollout_spec(args),
        max_lost: args.max_lost,
        max_cut: args.max_cut,
        max_p99: args.max_p99,
        workspace: None,
    }
}

/// `--path`, else the protocol's usual one.
fn check_path(args: &CheckArgs) -> String {
    args.path
        .clone()
        .unwrap_or_else(|| shutdown_harness::check::default_path(args.protocol).to_string())
}

/// `--load` and the flags that shape its stream.
fn load_spec(args: &CheckArgs) -> Option<LoadSpec> {
    args.load.map(|rate| LoadSpec {
        rate,
        duration: args.load_duration.unwrap_or(DEFAULT_LOAD_DURATION),
        path: args.load_path.clone().unwrap_or_else(|| check_path(args)),
        // With h2c streams the load is h2c streams too, unless the user names another client
        // (which the check then refuses, saying why).
        client: args.load_client.unwrap_or(match args.protocol {
            Protocol::H2c => ClientProfile::H2c,
            _ => ClientProfile::Fresh,
        }),
        connections: args.load_connections,
        vantage: args.vantage,
    })
}

/// `--rollout` and the flags of the orchestrator and the balancer; `--stop-timeout` is the
/// termination grace.
fn rollout_spec(args: &CheckArgs) -> Option<RolloutSpec> {
    args.rollout.then(|| RolloutSpec {
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
        readiness: ReadinessProbe {
            period: args.readiness_period,
            ..ReadinessProbe::default()
        },
        address_reuse: args.address_reuse,
        balancer: BalancerSettings {
            checks: args.balancer_checks,
            connect_timeout: args.connect_timeout,
            ..BalancerSettings::default()
        },
        orchestrator: args.orchestrator.orchestrator(),
    })
}

/// `explain --image`: how the image's container is run and read.
pub fn explain_options(args: &ExplainArgs, session: Session<'_>) -> ExplainOptions {
    ExplainOptions {
        dockerfile: args.dockerfile.clone(),
        stop_signal: args.signal,
        stop_timeout: Duration::from_secs(u64::from(args.stop_timeout)),
        init: args.init,
        port: args.port,
        path: args.path.clone(),
        run_id: session.run_id.to_string(),
        cancel: session.cancel,
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::args::{Cli, Command};

    fn check_args(line: &[&str]) -> CheckArgs {
        let cli = Cli::try_parse_from(
            ["shutdown-harness", "check", "--image", "i", "--port", "80"]
                .iter()
                .chain(line),
        )
        .expect("parses");
        match cli.command {
            Command::Check(args) => *args,
            other => panic!("not check: {other:?}"),
        }
    }

    fn session() -> Session<'static> {
        Session {
            run_id: "r",
            cancel: CancellationToken::new(),
        }
    }

    #[test]
    fn a_plain_check_has_no_stream_and_no_rollout() {
        let options = check_options(&check_args(&[]), session());
        assert!(options.load.is_none() && options.rollout.is_none());
        assert_eq!(options.stop_timeout, Duration::from_secs(10));
        assert!(options.validate().is_ok());
    }

    #[test]
    fn the_stream_defaults_to_the_path_and_four_seconds() {
        let args = check_args(&[
            "--path",
            "/slow",
            "--load",
            "200/s",
            "--load-client",
            "fixed",
        ]);
        let load = check_options(&args, session()).load.expect("a load");
        assert_eq!(load.rate, 200);
        assert_eq!(load.path, "/slow");
        assert_eq!(load.duration, DEFAULT_LOAD_DURATION);
        assert_eq!(load.client, shutdown_harness::ClientProfile::Fixed);
    }

    #[test]
    fn a_protocol_without_a_path_asks_for_its_usual_one() {
        use shutdown_harness::protocol::Protocol;
        let grpc = check_options(&check_args(&["--protocol", "grpc"]), session());
        assert_eq!(grpc.protocol, Protocol::Grpc);
        assert_eq!(grpc.path, "/grpc.health.v1.Health/Watch");
        assert!(grpc.validate().is_ok());
        let ws = check_options(&check_args(&["--protocol", "websocket"]), session());
        assert_eq!(ws.path, "/ws");
        let given = check_args(&["--protocol", "sse", "--path", "/feed"]);
        assert_eq!(check_options(&given, session()).path, "/feed");
        assert_eq!(check_options(&check_args(&[]), session()).path, "/");
    }

    #[test]
    fn a_rollout_takes_the_stop_timeout_as_its_grace() {
        let args = check_args(&[
            "--rollout",
            "--stop-timeout",
            "3",
            "--pre-stop-exec",
            "sleep  5",
        ]);
        let rollout = check_options(&args, session()).rollout.expect("a rollout");
        assert_eq!(rollout.termination_grace, Duration::from_secs(3));
        assert_eq!(
            rollout.pre_stop,
            PreStop::Exec(vec!["sleep".to_string(), "5".to_string()])
        );
    }
}
