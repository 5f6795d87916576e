//! Runs a scenario against a server in a container: create, start, wait for ready, drive the
//! requests and `docker stop`, record the exit; a container it created is removed whatever
//! happens. A container someone else started is driven the same way and left stopped.

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::engine::{ContainerConfig, Engine, run_labels};
use crate::model::events::EventKind;
use crate::model::readiness::{Readiness, START_WAIT};
use crate::model::scenario::{RunningSpec, Scenario, Target};
use crate::model::variant::StopSignal;
use crate::procfs;
use crate::run::context::RunContext;
use crate::run::error::ScenarioError;
use crate::run::logs::{self, Writer, harness_instant};
use crate::run::netns::{self, Generator};
use crate::run::ready;
use crate::run::schedule::{self, Stopper};
use crate::run::sink::EventSink;

/// How long the log stream may outlive the container's exit before it is dropped: under load
/// the engine's log stream lags seconds behind the container.
const LOG_DRAIN: Duration = Duration::from_secs(30);
/// How long past the grace period the container's state is watched for the stop's beginning.
const STOPPING_WAIT: Duration = Duration::from_secs(30);

/// What a container run is given besides its scenario: the container's name, the scenario's
/// budget, and the load generator's container when its stream runs from inside the namespace.
pub(super) struct Run<'a> {
    /// The container's name.
    pub(super) name: &'a str,
    /// The longest the scenario can take once its server is ready.
    pub(super) budget: Duration,
    /// The generator beside the container, for the `netns` vantage.
    pub(super) generator: Option<&'a Generator>,
}

/// Runs `scenario` in a new container of `image` named as `run` says; removes it before
/// returning, also when the run is cancelled (the create itself is never cut: what it makes is
/// removed).
pub(super) async fn run_container(
    engine: &Engine,
    scenario: &Scenario,
    image: &str,
    run: &Run<'_>,
    cx: &RunContext,
    sink: &EventSink,
) -> Result<(), ScenarioError> {
    let (name, generator) = (run.name, run.generator);
    let id = engine
        .create_container(&config(scenario, image, name, &cx.run_id))
        .await?;
    let driven = async {
        engine.start_container(&id).await?;
        sink.emit(EventKind::Started {
            image: Some(image.to_string()),
        });
        let what = format!("container {name} ({image})");
        drive(engine, scenario, run.budget, &id, &what, generator, sink).await
    };
    let outcome = tokio::select! {
        outcome = driven => outcome,
        () = cx.cancel.cancelled() => Err(ScenarioError::Interrupted),
    };
    // The generator first: it lives in the target's network namespace. By name, since it may
    // have been created when the run was cut short.
    let generator_removed = match generator {
        Some(generator) => engine.remove_container(&generator.name).await.map(drop),
        None => Ok(()),
    };
    let removed = engine.remove_container(&id).await;
    outcome?;
    generator_removed?;
    removed?;
    Ok(())
}

/// Drives a container someone else started (and will remove): it is left stopped.
pub(super) async fn drive_running(
    engine: &Engine,
    scenario: &Scenario,
    spec: &RunningSpec,
    run: &Run<'_>,
    sink: &EventSink,
) -> Result<(), ScenarioError> {
    sink.emit(EventKind::Started {
        image: Some(spec.image.clone()),
    });
    let what = format!("container {}", spec.container);
    let (budget, generator) = (run.budget, run.generator);
    drive(
        engine,
        scenario,
        budget,
        &spec.container,
        &what,
        generator,
        sink,
    )
    .await
}

/// The container of `scenario`: its port published on 127.0.0.1, the run's labels, the stop
/// signal and grace period, `--init`, and (for our server) its `SERVER_*` settings.
fn config(scenario: &Scenario, image: &str, name: &str, run_id: &str) -> ContainerConfig {
    let (port, init, env) = match &scenario.target {
        Target::Image(spec) => (spec.port, spec.init, Vec::new()),
        Target::Runtime(spec) => (scenario.port(), spec.init, Vec::new()),
        Target::Container(spec) => (scenario.port(), spec.init, scenario.server.env()),
        Target::Process | Target::Running(_) => (scenario.port(), false, Vec::new()),
    };
    ContainerConfig {
        name: Some(name.to_string()),
        image: image.to_string(),
        env,
        labels: run_labels(run_id),
        publish: vec![port],
        init,
        stop_signal: Some(scenario.stop.signal),
        stop_timeout: Some(scenario.stop.timeout),
        ..ContainerConfig::default()
    }
}

/// Drives `scenario` against the running container `id`: waits until it is ready, reads PID 1,
/// sends the requests, issues `docker stop` and waits for the exit. `what` names the container
/// in errors. The container is left for its owner to remove.
async fn drive(
    engine: &Engine,
    scenario: &Scenario,
    budget: Duration,
    id: &str,
    what: &str,
    generator: Option<&Generator>,
    sink: &EventSink,
) -> Result<(), ScenarioError> {
    let readiness = scenario.readiness();
    let (started_tx, started_rx) = oneshot::channel();
    let (received_tx, received_rx) = watch::channel(0usize);
    let (exit_tx, exit_rx) = watch::channel(None);
    let (delivered_tx, delivered_rx) = oneshot::channel();
    // Aborted when dropped, so that no early return leaves them running.
    let mut followers = Followers::default();
    followers.logs = Some(tokio::spawn(logs::follow(
        engine.clone(),
        id.to_string(),
        Writer::Server,
        sink.clone(),
        started_tx,
        Some(received_tx),
    )));
    followers.exit = Some(tokio::spawn(wait_exit(
        engine.clone(),
        id.to_string(),
        budget + readiness.within().max(START_WAIT),
        sink.clone(),
        exit_tx,
    )));
    // Docker reports the signals it sends; on Podman the stopper reads the moment off the
    // container's state instead.
    let mut delivered_tx = Some(delivered_tx);
    if engine.info().kind.reports_kill_events()
        && let Some(tx) = delivered_tx.take()
    {
        followers.kills = Some(tokio::spawn(follow_kills(
            engine.clone(),
            id.to_string(),
            sink.clone(),
            tx,
        )));
    }

    let state = engine.inspect_container(id).await?;
    if !state.running {
        // An exited container has no published ports left: say it exited, not "no port".
        return Err(ScenarioError::ExitedEarly {
            what: what.to_string(),
            code: state.exit_code.unwrap_or(-1),
        });
    }
    let port = scenario.port();
    let addr: SocketAddr = state
        .published(port)
        .ok_or_else(|| ScenarioError::NotPublished {
            what: what.to_string(),
            port,
        })?;

    // Ours is ready when it logs its start line, and only then are its received requests
    // counted from its log.
    let counts_received = matches!(readiness, Readiness::LogLine { .. });
    ready::until_ready(&readiness, addr, started_rx, exit_rx.clone(), what).await?;
    let received = counts_received.then_some(received_rx);
    let ready = Instant::now();
    sink.emit(EventKind::Ready);
    // Only a local engine's process ids are this host's; unreadable /proc leaves PID 1 unknown.
    if let Some(pid) = state.pid.filter(|_| engine.info().local)
        && let Ok(pid1) = procfs::read(pid, scenario.stop.signal.number())
    {
        sink.emit(EventKind::Pid1(pid1));
    }

    let mut stopper = EngineStopper {
        engine,
        id,
        timeout: scenario.stop.timeout,
        what,
        stopping: delivered_tx.map(|tx| (scenario.stop.signal, tx, sink.clone())),
    };
    // From inside the namespace, the scenario's schedule counts from the generator's start.
    let netns = match (generator, &scenario.load) {
        (Some(generator), Some(spec)) => {
            match netns::start(engine, generator, id, what, spec, port, budget).await {
                Ok(started) => Some(started),
                // An engine that refuses to share the namespace, when nobody asked for it:
                // the stream runs from the host, and its start event says so.
                Err(ScenarioError::Engine(refused))
                    if spec.vantage.is_none() && !refused.is_lost() =>
                {
                    None
                }
                Err(error) => return Err(error),
            }
        }
        _ => None,
    };
    let facts = schedule::Facts {
        received,
        delivered: Some(delivered_rx),
        exited: exit_rx,
        netns,
    };
    let driven = schedule::drive(scenario, budget, addr, ready, facts, &mut stopper, sink).await;
    followers.finish().await;
    driven
}

/// The tasks following a container: its log, its exit, the engine's kill events.
#[derive(Default)]
struct Followers {
    logs: Option<JoinHandle<()>>,
    exit: Option<JoinHandle<()>>,
    kills: Option<JoinHandle<()>>,
}

impl Followers {
    /// Lets the exit wait and the log stream end with the container, then stops following the
    /// kill events (which never end by themselves); every event they emit precedes the return.
    async fn finish(&mut self) {
        if let Some(exit) = self.exit.take() {
            let _ = exit.await;
        }
        if let Some(mut logs) = self.logs.take()
            && tokio::time::timeout(LOG_DRAIN, &mut logs).await.is_err()
        {
            logs.abort();
            let _ = logs.await;
        }
        if let Some(kills) = self.kills.take() {
            kills.abort();
            let _ = kills.await;
        }
    }
}

impl Drop for Followers {
    fn drop(&mut self) {
        for task in [&self.logs, &self.exit, &self.kills].into_iter().flatten() {
            task.abort();
        }
    }
}

/// `docker stop` with the scenario's grace period.
struct EngineStopper<'a> {
    engine: &'a Engine,
    id: &'a str,
    timeout: Duration,
    what: &'a str,
    /// On an engine without kill events: the signal it sends, where to say when the stop
    /// began (seen in the container's state), and the sink to emit it to.
    stopping: Option<(StopSignal, oneshot::Sender<Instant>, EventSink)>,
}

impl Stopper for EngineStopper<'_> {
    async fn stop(&mut self) -> Result<(), ScenarioError> {
        let seen = async {
            let Some((signal, delivered, sink)) = self.stopping.take() else {
                return;
            };
            // Bounded by the stop itself: past the grace period the exit says the rest.
            let limit = self.timeout + STOPPING_WAIT;
            if let Ok(at) = self.engine.stopping_seen(self.id, limit).await {
                let at = harness_instant(at);
                sink.emit_at(at, EventKind::StopBegan { signal });
                let _ = delivered.send(at);
            }
        };
        let (stopped, ()) = tokio::join!(self.engine.stop_container(self.id, self.timeout), seen);
        stopped.map_err(|e| {
            // A lost engine stays typed: the run stops every scenario for it.
            if e.is_lost() {
                return ScenarioError::Engine(e);
            }
            ScenarioError::Stop {
                what: self.what.to_string(),
                reason: e.to_string(),
            }
        })
    }
}

/// Follows the engine's `kill` events for the container: each is a signal really sent; the
/// first is the moment the stop began.
async fn follow_kills(
    engine: Engine,
    id: String,
    sink: EventSink,
    delivered: oneshot::Sender<Instant>,
) {
    let mut delivered = Some(delivered);
    let events = engine.kill_events(&id);
    futures_util::pin_mut!(events);
    while let Some(event) = events.next().await {
        let at = harness_instant(event.at);
        sink.emit_at(
            at,
            EventKind::SignalSent {
                signal: event.signal,
            },
        );
        if let Some(tx) = delivered.take() {
            let _ = tx.send(at);
        }
    }
}

/// Waits (at most `limit`) for the container to stop running; emits and publishes its exit code.
async fn wait_exit(
    engine: Engine,
    id: String,
    limit: Duration,
    sink: EventSink,
    exit: watch::Sender<Option<i64>>,
) {
    if let Ok(code) = engine.wait_container(&id, limit).await {
        sink.emit(EventKind::Exited { code });
        exit.send_replace(Some(code));
    }
}
