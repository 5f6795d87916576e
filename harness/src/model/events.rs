//! The events of a run, as they happen: the one record every stage shares. The runner emits
//! them, the judge folds a finished scenario's events into its observation, and reporters hear
//! them live inside a `RunEvent` (the `report` module), which lists all a reporter hears.
//! They sit here, below the reporters, because the runner, the images stage and the
//! observations use them too.

use super::streams::{ConnectionObservation, StreamObservation};
use tokio::time::Instant;

use super::load::{ClientProfile, LoadRecord};
use super::outcome::Outcome;
use super::pid1::Pid1;
use super::rollout::{BalancerRecord, HookOutcome};
use super::variant::StopSignal;

/// Something that happened during a scenario, at a moment on the harness's clock.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Which scenario it belongs to (its index in the plan).
    pub scenario: usize,
    /// When it happened.
    pub at: Instant,
    /// What happened.
    pub kind: EventKind,
}

/// The kinds of [`Event`].
#[derive(Debug, Clone, PartialEq)]
pub enum EventKind {
    /// The process was spawned or the container started.
    Started {
        /// The image, for containers.
        image: Option<String>,
    },
    /// The server is ready: its start line was logged or its port answered.
    Ready,
    /// A line the server (or its container) printed.
    ServerLog {
        /// The line as printed, without the trailing newline.
        line: String,
    },
    /// What PID 1 of the container is, read from the host's `/proc`.
    Pid1(Pid1),
    /// A request went out: its connection is being opened.
    RequestSent {
        /// The request's name.
        name: String,
    },
    /// A request's outcome is known.
    RequestDone {
        /// The request's name.
        name: String,
        /// The outcome.
        outcome: Outcome,
        /// The status, when headers arrived.
        status: Option<u16>,
        /// Body bytes received.
        bytes: u64,
        /// Whether its TCP connection was ever established.
        connected: bool,
    },
    /// A long-lived stream (a request of another protocol than HTTP/1.1) ended: all that was
    /// seen of it, its times from the moment the server was ready. Its outcome in the
    /// vocabulary is its [`EventKind::RequestDone`].
    StreamObserved {
        /// The request's name.
        name: String,
        /// What was seen of it.
        stream: Box<StreamObservation>,
        /// The HTTP/2 connection it used (h2c, gRPC), with its GOAWAY frames; none for a
        /// WebSocket or an event stream over HTTP/1.1.
        connections: Vec<ConnectionObservation>,
    },
    /// The stop's moment was measured from the path: its median latency over the warm-up
    /// requests, and how long after the in-flight requests the stop goes out (half of it).
    StopMomentMeasured {
        /// How many warm-up requests were answered.
        warmups: u8,
        /// Their median latency (None: none was answered in full, and the default moment is
        /// used).
        median: Option<std::time::Duration>,
        /// How long after the in-flight requests the stop goes out.
        stop_after: std::time::Duration,
    },
    /// The stop was issued (`docker stop`, or the signal sent to a process).
    StopIssued {
        /// The first signal.
        signal: StopSignal,
        /// The grace period before SIGKILL, in ms.
        timeout_ms: u64,
    },
    /// The engine sent a signal to the container (its `kill` event): the moment the stop
    /// really began, which under load can lag the API call by a lot.
    SignalSent {
        /// The signal number.
        signal: i32,
    },
    /// The engine began stopping the container, seen in its state (`stopping`): on an engine
    /// that reports no `kill` events (Podman), the moment the stop signal went out, which
    /// Podman sends right after setting that state.
    StopBegan {
        /// The stop signal it sends.
        signal: StopSignal,
    },
    /// The stop returned: `docker stop` came back, or the process exited.
    StopReturned,
    /// The server exited.
    Exited {
        /// The exit code (128 + signal for a process killed by a signal).
        code: i64,
    },
    /// A steady stream of requests started; its records' times count from this event.
    LoadStarted {
        /// Requests per second.
        rate: u32,
        /// The client.
        client: ClientProfile,
        /// Where the client stands.
        vantage: crate::model::vantage::Vantage,
    },
    /// Requests of the stream that have an outcome, in batches (a stream records every
    /// request, so they travel together).
    LoadRecords(Vec<LoadRecord>),
    /// The stream ended: every request it sent has an outcome.
    LoadEnded,
    /// What the balancer did with requests of the stream, from its log, in batches.
    BalancerRecords(Vec<BalancerRecord>),
    /// A line the balancer logged other than a request's: a server going up, down or into
    /// maintenance, a warning.
    BalancerLog {
        /// The line as logged.
        line: String,
    },
    /// A rollout's replica was started (`r1`, `r2`: the first ones; then their replacements).
    ReplicaStarted {
        /// Its name.
        replica: String,
    },
    /// A replica entered the balancer's pool: its readiness probe passed (and, when the
    /// balancer checks, so did the balancer's check).
    ReplicaInPool {
        /// Its name.
        replica: String,
        /// Its address on the run's network (where the balancer reaches it, or its relay does).
        address: std::net::IpAddr,
    },
    /// A replica's termination began (Kubernetes: the pod is marked terminating).
    TerminationBegan {
        /// Its name.
        replica: String,
    },
    /// A replica's `preStop` step ended.
    PreStopEnded {
        /// Its name.
        replica: String,
        /// How it ended.
        outcome: HookOutcome,
    },
    /// A replica left the balancer's pool (its endpoint was removed).
    EndpointRemoved {
        /// Its name.
        replica: String,
    },
    /// The orchestrator sent a replica its stop signal.
    ReplicaSignalled {
        /// Its name.
        replica: String,
        /// The signal.
        signal: StopSignal,
    },
    /// The grace period ended with the replica still running: SIGKILL.
    ReplicaKilled {
        /// Its name.
        replica: String,
    },
    /// A replica exited.
    ReplicaExited {
        /// Its name.
        replica: String,
        /// Its exit code.
        code: i64,
    },
}

/// Progress of the images stage, before any scenario runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildEvent {
    /// The static server binary is being built (or found up to date by cargo).
    ServerBuilding,
    /// The static server binary is ready.
    ServerReady,
    /// An image is being looked up and, if missing, built.
    ImageStarted {
        /// Its short name (`shell-form:dash`, `base:dash`).
        name: String,
    },
    /// An image is ready.
    ImageFinished {
        /// Its short name.
        name: String,
        /// Whether it was built now (false: found in the cache).
        built: bool,
    },
}
