//! Drives one scenario's requests and its stop against a ready server, on the scenario's clock.
//!
//! The stop is issued at its scheduled time but never before the requests meant to be in flight
//! are: connected, and (when the server's log can be read) logged as received. Requests after
//! the stop are timed from the moment the signal was delivered when that is known (Docker's
//! `kill` event), else from the moment the stop was issued.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::sync::{oneshot, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::client;
use crate::model::events::EventKind;
use crate::model::scenario::{RequestKind, RequestSpec, Scenario};
use crate::model::streams::StreamRequest;
use crate::run::error::ScenarioError;
use crate::run::sink::EventSink;
use crate::run::{load, netns, streams};

/// Issues the stop of one kind of target; returns when the stop has returned.
pub(super) trait Stopper {
    /// Stops the server: `docker stop`, or the signal to a process followed by waiting for it.
    fn stop(&mut self) -> impl std::future::Future<Output = Result<(), ScenarioError>> + Send;
}

/// When the stop signal was really delivered, if the target can tell (resolves once).
pub(super) type Delivered = oneshot::Receiver<Instant>;

/// How long the stop waits for in-flight requests to be logged as received before going ahead:
/// a bound, not a pause; past it the observation shows what happened.
const RECEIVED_WAIT: Duration = Duration::from_secs(10);

/// The facts about the server that the schedule synchronises on.
pub(super) struct Facts {
    /// How many "Receive Request" lines the server logged, when its log can be read.
    pub(super) received: Option<watch::Receiver<usize>>,
    /// When the stop signal was really delivered, if the target can tell.
    pub(super) delivered: Option<Delivered>,
    /// The server's exit code, once it has exited.
    pub(super) exited: watch::Receiver<Option<i64>>,
    /// The stream, when it already runs inside the server's network namespace (the schedule
    /// counts from its start).
    pub(super) netns: Option<netns::Running>,
}

/// Sends the scenario's requests (and its load) to `addr` and issues the stop, emitting events
/// to `sink`. `budget` (the scenario's, worked out when the run was prepared) bounds every wait;
/// `ready` is the instant the server was ready. Returns once the stop has returned and every
/// request has an outcome.
pub(super) async fn drive(
    scenario: &Scenario,
    budget: Duration,
    addr: SocketAddr,
    ready: Instant,
    mut facts: Facts,
    stopper: &mut impl Stopper,
    sink: &EventSink,
) -> Result<(), ScenarioError> {
    let exited = facts.exited.clone();
    let netns = facts.netns.take();
    // From inside the namespace the schedule counts from the generator's start; the streams'
    // times stay on the timeline's, from `ready`.
    let origin = netns.as_ref().map_or(ready, |running| running.start);
    let load = async {
        // Started already, inside the target's network namespace.
        if let (Some(running), Some(spec)) = (netns, &scenario.load) {
            netns::follow(running, spec, exited, sink).await;
        } else if let Some(spec) = &scenario.load {
            load::send(spec, addr, ready, exited, budget, budget, sink).await;
        }
    };
    let (_, driven) = tokio::join!(
        load,
        requests_and_stop(
            scenario,
            budget,
            addr,
            (origin, ready),
            facts,
            stopper,
            sink
        )
    );
    driven
}

/// The scenario's own requests, and the stop at its time: the schedule counts from `origin`,
/// the streams' times from `ready` (the same instant but under a stream from inside the
/// namespace, which starts later).
async fn requests_and_stop(
    scenario: &Scenario,
    deadline: Duration,
    addr: SocketAddr,
    (origin, ready): (Instant, Instant),
    facts: Facts,
    stopper: &mut impl Stopper,
    sink: &EventSink,
) -> Result<(), ScenarioError> {
    let Facts {
        received,
        delivered,
        ..
    } = facts;
    let mut requests = JoinSet::new();
    // With the moment measured from the path, the in-flight requests go out together once the
    // warm-ups are done, and the stop half their latency later.
    let (stop_at, measured_lead) = match scenario.stop.from_path {
        None => (origin + scenario.stop.at, None),
        Some(from) => {
            let path = scenario
                .requests
                .iter()
                .find(|r| r.at.before_stop())
                .map_or_else(|| "/".to_string(), |r| r.kind.path());
            let after = stop_moment(addr, &path, from.warmups, scenario.stop.at, sink).await;
            (Instant::now() + after, Some(after))
        }
    };

    let mut connected = Vec::new();
    let before: Vec<_> = scenario
        .requests
        .iter()
        .filter(|r| r.at.before_stop())
        .collect();
    for request in &before {
        let lead =
            measured_lead.unwrap_or_else(|| Duration::from_millis(request.at.0.unsigned_abs()));
        let send_at = stop_at.checked_sub(lead).unwrap_or(origin).max(origin);
        let (tx, rx) = oneshot::channel();
        connected.push(rx);
        requests.spawn(send(
            (*request).clone(),
            addr,
            ready,
            send_at,
            deadline,
            sink.clone(),
            Some(tx),
        ));
    }

    tokio::time::sleep_until(stop_at).await;
    for rx in connected {
        // An error means the request ended without connecting (refused): nothing to wait for.
        let _ = rx.await;
    }
    if let Some(mut received) = received {
        let wanted = before.len();
        let _ = tokio::time::timeout(RECEIVED_WAIT, received.wait_for(|n| *n >= wanted)).await;
    }

    let stop_issued = Instant::now();
    sink.emit(EventKind::StopIssued {
        signal: scenario.stop.signal,
        timeout_ms: scenario.stop.timeout.as_millis() as u64,
    });
    let stop = stopper.stop();
    tokio::pin!(stop);
    let mut stopped = None;
    let anchor = match delivered {
        Some(delivered) => tokio::select! {
            at = delivered => at.unwrap_or(stop_issued),
            outcome = &mut stop => {
                stopped = Some(outcome);
                stop_issued
            }
        },
        None => stop_issued,
    };
    for request in scenario.requests.iter().filter(|r| !r.at.before_stop()) {
        let send_at = anchor + Duration::from_millis(request.at.0 as u64);
        requests.spawn(send(
            request.clone(),
            addr,
            ready,
            send_at,
            deadline,
            sink.clone(),
            None,
        ));
    }
    let stopped = match stopped {
        Some(outcome) => outcome,
        None => stop.await,
    };
    sink.emit(EventKind::StopReturned);
    while requests.join_next().await.is_some() {}
    stopped
}

/// The longest a warm-up request may take, and past which no further one is sent.
const WARMUP_DEADLINE: Duration = Duration::from_secs(30);
/// A warm-up answered slower than this is the last: more would only make the check longer.
const LONG_WARMUP: Duration = Duration::from_secs(2);

/// Measures `path`'s latency over up to `warmups` requests, one after the other, and says when
/// the stop goes out after the in-flight requests: half the median, or `fallback` when none was
/// answered in full. Emits what it measured.
async fn stop_moment(
    addr: SocketAddr,
    path: &str,
    warmups: u8,
    fallback: Duration,
    sink: &EventSink,
) -> Duration {
    let mut latencies = Vec::new();
    for _ in 0..warmups.max(1) {
        let sent = Instant::now();
        let response = client::get(addr, path, WARMUP_DEADLINE, None, || {}).await;
        let took = sent.elapsed();
        if response.outcome != crate::model::outcome::Outcome::Ok {
            break;
        }
        latencies.push(took);
        if took > LONG_WARMUP {
            break;
        }
    }
    latencies.sort();
    let median = latencies.get(latencies.len() / 2).copied();
    let stop_after = median.map_or(fallback, |m| m / 2);
    sink.emit(EventKind::StopMomentMeasured {
        warmups: u8::try_from(latencies.len()).unwrap_or(u8::MAX),
        median,
        stop_after,
    });
    stop_after
}

/// Sends `request` at `at` (a stream's times are from `ready`) and emits its outcome.
#[allow(clippy::too_many_arguments)]
async fn send(
    request: RequestSpec,
    addr: SocketAddr,
    ready: Instant,
    at: Instant,
    deadline: Duration,
    sink: EventSink,
    connected: Option<oneshot::Sender<()>>,
) {
    tokio::time::sleep_until(at).await;
    sink.emit(EventKind::RequestSent {
        name: request.name.clone(),
    });
    let connected = || {
        if let Some(tx) = connected {
            let _ = tx.send(());
        }
    };
    let response = match request.kind {
        RequestKind::Stream {
            protocol,
            what,
            routes,
        } => {
            let (response, stream, connections) = streams::observe(
                StreamRequest {
                    name: request.name.clone(),
                    protocol,
                    what,
                    routes,
                },
                addr,
                ready,
                deadline,
                connected,
            )
            .await;
            sink.emit(EventKind::StreamObserved {
                name: request.name.clone(),
                stream: Box::new(stream),
                connections,
            });
            response
        }
        _ => client::get(addr, &request.kind.path(), deadline, None, connected).await,
    };
    sink.emit(EventKind::RequestDone {
        name: request.name,
        outcome: response.outcome,
        status: response.status,
        bytes: response.bytes,
        connected: response.connected.is_some(),
    });
}
