//! Runs a scenario against a server in a container: create, start, wait for ready, drive the
//! requests and `docker stop`, record the exit; a container it created is removed whatever
//! happens. [`drive`] alone serves containers someone else started (testcontainers).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use bollard::Docker;
use bollard::models::{ContainerCreateBody, HostConfig, PortBinding};
use bollard::query_parameters::{
    CreateContainerOptions, EventsOptions, LogsOptions, StopContainerOptions, WaitContainerOptions,
};
use futures_util::StreamExt;
use tokio::sync::{oneshot, watch};
use tokio::time::Instant;

use crate::docker::{self, labels};
use crate::error::{Error, Result};
use crate::pid1;
use crate::run::events::{EventKind, EventSink};
use crate::run::ready;
use crate::run::schedule::{self, Stopper};
use crate::scenario::{Scenario, Target};
use crate::server_log;

/// The port graceful-server listens on inside the container (the experiment's).
pub const SERVER_PORT: u16 = server_contract::env::DEFAULT_PORT;

/// How long a started container may take to log its start line.
const START_WAIT: Duration = Duration::from_secs(30);

/// Where and as what a container scenario runs.
#[derive(Debug, Clone)]
pub struct ContainerRun<'a> {
    /// The engine.
    pub docker: &'a Docker,
    /// The image to run.
    pub image: &'a str,
    /// The container's name (unique per run and scenario).
    pub name: String,
    /// The run's id, for the labels.
    pub run_id: &'a str,
}

/// Runs `scenario` in a container of `run.image`; removes the container before returning.
pub async fn run(scenario: &Scenario, run: &ContainerRun<'_>, sink: &EventSink) -> Result<()> {
    let id = create(scenario, run).await?;
    let outcome = async {
        docker::start_container(run.docker, &id).await?;
        sink.emit(EventKind::Started {
            image: Some(run.image.to_string()),
        });
        let what = format!("container {} ({})", run.name, run.image);
        drive(scenario, run.docker, &id, &what, sink).await
    }
    .await;
    let removed = docker::remove_container(run.docker, &id).await;
    outcome.and(removed.map(|_| ()))
}

/// The container port, `--init`, and environment of a container scenario.
fn container_settings(scenario: &Scenario) -> (u16, bool, Vec<String>) {
    match &scenario.target {
        Target::Image(spec) => (spec.port, spec.init, Vec::new()),
        Target::Container(spec) => {
            let env = scenario
                .server
                .env()
                .into_iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            (SERVER_PORT, spec.init, env)
        }
        Target::Process => (SERVER_PORT, false, Vec::new()),
    }
}

async fn create(scenario: &Scenario, run: &ContainerRun<'_>) -> Result<String> {
    let (port, init, env) = container_settings(scenario);
    let port = format!("{port}/tcp");
    let body = ContainerCreateBody {
        image: Some(run.image.to_string()),
        env: Some(env),
        labels: Some(labels(run.run_id)),
        exposed_ports: Some(vec![port.clone()]),
        // API 1.41 has no per-call stop signal: it is the container's, set here.
        stop_signal: Some(scenario.stop.signal.name().to_string()),
        stop_timeout: Some(scenario.stop.timeout.as_secs() as i64),
        host_config: Some(HostConfig {
            // Traffic stays on 127.0.0.1; the engine picks a free host port.
            port_bindings: Some(HashMap::from([(
                port,
                Some(vec![PortBinding {
                    host_ip: Some("127.0.0.1".to_string()),
                    host_port: Some(String::new()),
                }]),
            )])),
            init: Some(init),
            ..Default::default()
        }),
        ..Default::default()
    };
    let options = CreateContainerOptions {
        name: Some(run.name.clone()),
        ..Default::default()
    };
    let created = run
        .docker
        .create_container(Some(options), body)
        .await
        .map_err(|source| Error::Docker {
            operation: "create container",
            source,
        })?;
    Ok(created.id)
}

/// Drives `scenario` against the running container `id`: waits until it is ready, reads PID 1,
/// sends the requests, issues `docker stop` and waits for the exit. `what` names the container
/// in errors. The container is left for its owner to remove.
pub async fn drive(
    scenario: &Scenario,
    docker: &Docker,
    id: &str,
    what: &str,
    sink: &EventSink,
) -> Result<()> {
    let (started_tx, started_rx) = oneshot::channel();
    let (received_tx, received_rx) = watch::channel(0usize);
    let (exit_tx, exit_rx) = watch::channel(None);
    let logs = tokio::spawn(follow_logs(
        docker.clone(),
        id.to_string(),
        sink.clone(),
        started_tx,
        received_tx,
    ));
    let exited = tokio::spawn(wait_exit(
        docker.clone(),
        id.to_string(),
        sink.clone(),
        exit_tx,
    ));
    let (delivered_tx, delivered_rx) = oneshot::channel();
    let signals = tokio::spawn(follow_kills(
        docker.clone(),
        id.to_string(),
        sink.clone(),
        delivered_tx,
    ));

    let inspect = docker::inspect_container(docker, id).await?;
    let state = inspect.state.as_ref();
    if state.and_then(|s| s.running) == Some(false) {
        // An exited container has no published ports left: say it exited, not "no port".
        let code = state.and_then(|s| s.exit_code).unwrap_or(-1);
        return Err(ready::exited_early(what, code));
    }
    let (port, _, _) = container_settings(scenario);
    let addr = published_addr(&inspect, port).ok_or_else(|| Error::StartServer {
        what: what.to_string(),
        reason: format!("port {port}/tcp is not published on the host; publish it (-p)"),
    })?;

    let received = match &scenario.target {
        Target::Image(spec) => {
            ready::answers(addr, &spec.ready_path, spec.ready_within, exit_rx, what).await?;
            None
        }
        _ => {
            ready::logged_start(started_rx, START_WAIT, exit_rx, what).await?;
            Some(received_rx)
        }
    };
    let ready = Instant::now();
    sink.emit(EventKind::Ready);
    if let Some(pid) = inspect
        .state
        .as_ref()
        .and_then(|s| s.pid)
        .filter(|p| *p > 0)
    {
        // Unreadable /proc (another PID namespace, no permission) leaves PID 1 unknown.
        if let Ok(pid1) = pid1::read(pid, scenario.stop.signal.number()) {
            sink.emit(EventKind::Pid1(pid1));
        }
    }

    let mut stopper = DockerStopper {
        docker,
        id,
        timeout: scenario.stop.timeout,
    };
    let driven = schedule::drive(
        scenario,
        addr,
        ready,
        received,
        &mut stopper,
        Some(delivered_rx),
        sink,
    )
    .await;
    // Both end with the container: the wait answers and the log stream closes.
    let _ = exited.await;
    let _ = logs.await;
    // The event stream does not end by itself.
    signals.abort();
    driven
}

/// `docker stop` with the scenario's grace period.
struct DockerStopper<'a> {
    docker: &'a Docker,
    id: &'a str,
    timeout: Duration,
}

impl Stopper for DockerStopper<'_> {
    async fn stop(&mut self) -> Result<()> {
        let options = StopContainerOptions {
            t: Some(self.timeout.as_secs() as i32),
            signal: None,
        };
        self.docker
            .stop_container(self.id, Some(options))
            .await
            .map_err(|source| Error::Docker {
                operation: "stop container",
                source,
            })
    }
}

/// The loopback address of the container's published `port`: traffic stays on 127.0.0.1, so a
/// port published on all addresses (testcontainers' default) is reached there too.
pub(crate) fn published_addr(
    inspect: &bollard::models::ContainerInspectResponse,
    port: u16,
) -> Option<SocketAddr> {
    let ports = inspect.network_settings.as_ref()?.ports.as_ref()?;
    let binding = ports
        .get(&format!("{port}/tcp"))?
        .as_ref()?
        .iter()
        .find(|b| {
            matches!(
                b.host_ip.as_deref(),
                Some("127.0.0.1" | "0.0.0.0" | "") | None
            )
        })?;
    let port: u16 = binding.host_port.as_ref()?.parse().ok()?;
    Some(SocketAddr::from(([127, 0, 0, 1], port)))
}

/// Streams the container's output as log events; signals the start line and counts requests.
async fn follow_logs(
    docker: Docker,
    id: String,
    sink: EventSink,
    started: oneshot::Sender<()>,
    received: watch::Sender<usize>,
) {
    let options = LogsOptions {
        follow: true,
        stdout: true,
        stderr: true,
        ..Default::default()
    };
    let mut started = Some(started);
    let mut stream = docker.logs(&id, Some(options));
    let mut pending = String::new();
    while let Some(Ok(chunk)) = stream.next().await {
        pending.push_str(&String::from_utf8_lossy(chunk.as_ref()));
        while let Some(end) = pending.find('\n') {
            let line: String = pending.drain(..=end).collect();
            let line = line.trim_end().to_string();
            if server_log::started_on(&line).is_some() {
                if let Some(tx) = started.take() {
                    let _ = tx.send(());
                }
            }
            if server_log::is_request_received(&line) {
                received.send_modify(|n| *n += 1);
            }
            sink.emit(EventKind::ServerLog { line });
        }
    }
}

/// Follows the engine's `kill` events for the container: each is a signal really sent; the
/// first is the moment the stop began.
async fn follow_kills(
    docker: Docker,
    id: String,
    sink: EventSink,
    delivered: oneshot::Sender<Instant>,
) {
    let filters = HashMap::from([
        ("container".to_string(), vec![id]),
        ("event".to_string(), vec!["kill".to_string()]),
    ]);
    // Replaying from a minute back makes a late subscription miss nothing.
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs().saturating_sub(60));
    let options = EventsOptions {
        since: Some(since.to_string()),
        until: None,
        filters: Some(filters),
    };
    let mut delivered = Some(delivered);
    let mut events = docker.events(Some(options));
    while let Some(Ok(event)) = events.next().await {
        let signal = event
            .actor
            .and_then(|a| a.attributes)
            .and_then(|attributes| attributes.get("signal")?.parse().ok())
            .unwrap_or(0);
        let at = event.time_nano.map_or_else(Instant::now, engine_instant);
        sink.emit_at(at, EventKind::SignalSent { signal });
        if let Some(tx) = delivered.take() {
            let _ = tx.send(at);
        }
    }
}

/// The harness-clock instant of an engine timestamp (ns since the epoch, same host clock).
fn engine_instant(nanos: i64) -> Instant {
    let then = std::time::UNIX_EPOCH + Duration::from_nanos(nanos.max(0) as u64);
    let age = std::time::SystemTime::now()
        .duration_since(then)
        .unwrap_or_default();
    Instant::now().checked_sub(age).unwrap_or_else(Instant::now)
}

/// Waits for the container to stop running, emits its exit code and publishes it on `exit`.
async fn wait_exit(docker: Docker, id: String, sink: EventSink, exit: watch::Sender<Option<i64>>) {
    if let Some(code) = exit_code(&docker, &id).await {
        sink.emit(EventKind::Exited { code });
        exit.send_replace(Some(code));
    }
}

/// Publishes the container's exit code on `exit` when it stops running.
pub(crate) async fn publish_exit(docker: Docker, id: String, exit: watch::Sender<Option<i64>>) {
    if let Some(code) = exit_code(&docker, &id).await {
        exit.send_replace(Some(code));
    }
}

/// Waits for the container to stop running; its exit code, or None if the wait failed.
async fn exit_code(docker: &Docker, id: &str) -> Option<i64> {
    let options = WaitContainerOptions {
        condition: "not-running".to_string(),
    };
    match docker.wait_container(id, Some(options)).next().await {
        Some(Ok(response)) => Some(response.status_code),
        // bollard reports a non-zero exit as an error carrying the code.
        Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. })) => Some(code),
        _ => None,
    }
}
