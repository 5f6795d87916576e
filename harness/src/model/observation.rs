//! What was observed of one scenario: outcomes, stop, exit, signal, PID 1, the timeline.

use super::streams::{ConnectionObservation, NamedStream};
use std::time::Duration;

use serde::Serialize;

use super::events::EventKind;
use super::load::{ClientProfile, LoadRecord, Phase};
use super::outcome::{Expected, Outcome};
use super::pid1::Pid1;
use super::rollout::{HookOutcome, RolloutPhase};

/// What one request met, with times in ms from the moment the server was ready.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequestObservation {
    /// The request's name.
    pub name: String,
    /// Its outcome (`timeout` when none was recorded).
    pub outcome: Outcome,
    /// The status, when headers arrived.
    pub status: Option<u16>,
    /// Body bytes received.
    pub bytes: u64,
    /// Whether its TCP connection was ever established. A timeout without one never reached a
    /// listener: the path dropped the connection attempt (Podman's network does while it tears
    /// down a stopped container's, for a connection to its published port).
    pub connected: bool,
    /// When it was sent.
    pub sent_ms: i64,
    /// When its outcome was known.
    pub done_ms: i64,
    /// Whether it was sent before the stop was issued: told from the events' own instants, not
    /// their milliseconds, since the stop can follow a request within the same millisecond.
    pub sent_before_stop: bool,
}

/// One line of a scenario's timeline: an event at ms from ready (negative before it).
#[derive(Debug, Clone, PartialEq)]
pub struct TimedEvent {
    /// Ms from the moment the server was ready.
    pub ms: i64,
    /// What happened.
    pub kind: EventKind,
}

/// Everything observed of one scenario.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Observation {
    /// The image run, for containers.
    pub image: Option<String>,
    /// Whether the server became ready.
    pub ready: bool,
    /// The server's exit code.
    pub exit_code: Option<i64>,
    /// When the stop was issued.
    pub stop_issued_ms: Option<i64>,
    /// How the stop's moment was measured from the path, when it was.
    pub stop_moment: Option<StopMoment>,
    /// When the engine sent the stop signal, for containers: Docker's first `kill` event, or
    /// when Podman's container state turned `stopping` (it reports no kill events).
    pub signal_sent_ms: Option<i64>,
    /// How long the stop took to return.
    pub stop_duration: Option<Duration>,
    /// When the server logged the signal, if it did.
    pub signal_logged_ms: Option<i64>,
    /// Whether the server logged the signal (None when its log cannot tell).
    pub signal_received: Option<bool>,
    /// What PID 1 was, for containers.
    pub pid1: Option<Pid1>,
    /// Each request, in the order they were sent.
    pub requests: Vec<RequestObservation>,
    /// From start to the last event.
    pub duration: Duration,
    /// Every event, in order (a load's records aside: they are in `load`).
    pub timeline: Vec<TimedEvent>,
    /// The load across the stop, if the scenario had one.
    pub load: Option<LoadObservation>,
    /// The rolling update, if the scenario was one.
    pub rollout: Option<RolloutObservation>,
    /// Each long-lived stream (a request of another protocol than HTTP/1.1), in the order they
    /// ended; its times are from the moment the server was ready.
    pub streams: Vec<NamedStream>,
    /// The HTTP/2 connections those streams used (h2c, gRPC), with their GOAWAY frames.
    pub connections: Vec<ConnectionObservation>,
}

/// The stop's moment as measured from the path: its latency over the warm-up requests, and how
/// long after the in-flight requests the stop went out (half of it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StopMoment {
    /// The path's median latency (None: no warm-up request was answered in full).
    pub path_latency_ms: Option<u64>,
    /// How long after the in-flight requests the stop went out.
    pub stop_after_ms: u64,
}

/// A rolling update, as observed: each replica's termination steps, each request of the stream
/// with the replica the balancer sent it to (from the balancer's own log), and what was lost,
/// by replica and by the phase of that replica's termination.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct RolloutObservation {
    /// Every replica, old and new, in the order they started.
    pub replicas: Vec<ReplicaObservation>,
    /// Requests of the stream sent during the rollout.
    pub sent: u64,
    /// Of them, lost: errors from the balancer, resets, empty replies, truncated bodies,
    /// timeouts.
    pub lost: u64,
    /// Requests the balancer's log names no replica for (it found none in its pool, or never
    /// logged them): their phase is not known.
    pub unattributed: u64,
    /// Sent and lost, by the phase of the termination of the replica each went to, when it
    /// went out.
    pub by_phase: Vec<RolloutPhaseCounts>,
    /// The lost ones by outcome (`http-error` for the balancer's 502 and 503), most first.
    pub lost_by_outcome: Vec<(Outcome, u64)>,
    /// Every request of the stream, with the balancer's facts (in the JSON with
    /// `--load-records`).
    #[serde(skip)]
    pub requests: Vec<RolloutRequest>,
}

/// One request of a rollout's stream: what the client saw and what the balancer did with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RolloutRequest {
    /// Its id (`x-request-id`).
    pub id: u32,
    /// The replica the balancer sent it to last; None when its log names none.
    pub replica: Option<String>,
    /// The phase of that replica's termination when the request went out.
    pub phase: RolloutPhase,
    /// The balancer's connection retries.
    pub retries: u8,
    /// Whether the balancer redispatched it to another replica after its retries.
    pub redispatched: bool,
    /// HAProxy's termination state (`----` for a normal end, `SC--` a connection to the
    /// server that failed, `SH--` a server that closed before its headers); None when the
    /// balancer logged nothing for it.
    pub termination_state: Option<String>,
    /// What the client saw.
    pub outcome: Outcome,
    /// The status the client got, if any.
    pub status: Option<u16>,
    /// When it went out, ms from ready.
    pub sent_ms: i64,
    /// When its outcome was known, ms from ready.
    pub done_ms: i64,
}

/// The counts of one phase of a rollout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RolloutPhaseCounts {
    /// The phase.
    pub phase: RolloutPhase,
    /// Requests sent in it.
    pub sent: u64,
    /// Of them, lost.
    pub lost: u64,
}

/// One replica of a rollout: when each step of its life happened, ms from ready.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct ReplicaObservation {
    /// Its name (`r1`...).
    pub name: String,
    /// When it started.
    pub started_ms: Option<i64>,
    /// When it entered the balancer's pool.
    pub in_pool_ms: Option<i64>,
    /// Its address on the run's network.
    pub address: Option<std::net::IpAddr>,
    /// When its termination began.
    pub termination_ms: Option<i64>,
    /// How its `preStop` step ended, and when.
    pub pre_stop: Option<HookOutcome>,
    /// When its `preStop` step ended.
    pub pre_stop_ended_ms: Option<i64>,
    /// When it left the balancer's pool.
    pub endpoint_removed_ms: Option<i64>,
    /// When the orchestrator sent it the stop signal.
    pub signal_ms: Option<i64>,
    /// When it was SIGKILLed at the end of the grace period, if it was.
    pub killed_ms: Option<i64>,
    /// When it exited.
    pub exit_ms: Option<i64>,
    /// Its exit code.
    pub exit_code: Option<i64>,
    /// Requests of the stream the balancer sent to it.
    pub routed: u64,
    /// Of them, lost.
    pub lost: u64,
}

/// A stream of requests across the stop, as observed.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadObservation {
    /// Requests per second asked for.
    pub rate: u32,
    /// The client.
    pub client: ClientProfile,
    /// Where the client stood.
    pub vantage: crate::model::vantage::Vantage,
    /// When the stream started, ms from ready.
    pub started_ms: i64,
    /// Every request, by id.
    pub requests: Vec<ObservedRequest>,
    /// The counts, latencies and rates.
    pub summary: LoadSummary,
}

/// One request of a stream, with what it means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObservedRequest {
    /// What the client saw.
    pub record: LoadRecord,
    /// When it was sent, relative to the stop; None in a rollout, which has no single stop
    /// (its requests' phases are those of their replicas, in its observation).
    pub phase: Option<Phase>,
    /// What its outcome means.
    pub class: Class,
}

impl ObservedRequest {
    /// Whether it failed on a pooled connection the server had already closed (the keep-alive
    /// race): no response on a reused connection, and (when the log can tell) never seen by
    /// the server.
    pub fn failed_on_reused_connection(&self) -> bool {
        self.record.connection == super::load::Connection::Reused
            && matches!(
                self.record.outcome,
                super::outcome::Outcome::EmptyReply | super::outcome::Outcome::Reset
            )
            && self.class != Class::Cut
    }
}

/// What a stream request's outcome means for the shutdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Class {
    /// Answered in full.
    Ok,
    /// Accepted by the server and not completed.
    Cut,
    /// Never accepted.
    NotServed,
    /// An empty reply or a reset the server's log cannot place (not our server): cut or not
    /// served, not told apart.
    CutOrNotServed,
    /// A complete non-2xx answer (a balancer's 502, say).
    HttpError,
    /// No outcome within the deadline, never seen by the server.
    Timeout,
}

/// Counts of a stream's requests (of one phase, or all).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct PhaseCounts {
    /// Sent.
    pub sent: u64,
    /// Answered in full.
    pub ok: u64,
    /// Accepted and not completed.
    pub cut: u64,
    /// Never accepted.
    pub not_served: u64,
    /// Cut or not served, not told apart.
    pub cut_or_not_served: u64,
    /// Complete non-2xx answers.
    pub http_error: u64,
    /// No outcome in time.
    pub timeout: u64,
    /// Failed on a pooled connection the server had already closed.
    pub reused_connection: u64,
    /// Every client-visible failure: everything not ok.
    pub lost: u64,
}

impl PhaseCounts {
    /// Counts one more request.
    pub fn add(&mut self, request: &ObservedRequest) {
        self.sent += 1;
        match request.class {
            Class::Ok => self.ok += 1,
            Class::Cut => self.cut += 1,
            Class::NotServed => self.not_served += 1,
            Class::CutOrNotServed => self.cut_or_not_served += 1,
            Class::HttpError => self.http_error += 1,
            Class::Timeout => self.timeout += 1,
        }
        if request.class != Class::Ok {
            self.lost += 1;
        }
        if request.failed_on_reused_connection() {
            self.reused_connection += 1;
        }
    }
}

/// Percentiles of a time each request of a stream took, in ms: the latency of the requests
/// answered in full (from when each was due), or every request's departure lag.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Percentiles {
    /// Median.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Slowest.
    pub max_ms: f64,
}

/// Requests sent in one second of the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Second {
    /// Seconds from the stream's start.
    pub second: u64,
    /// Answered in full.
    pub ok: u64,
    /// Anything else.
    pub failed: u64,
}

/// A stream's headline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoadSummary {
    /// Every request.
    pub total: PhaseCounts,
    /// By phase (none in a rollout, which has no single stop).
    pub phases: Vec<(Phase, PhaseCounts)>,
    /// Whether cut and not-served could be told apart (the server logs request ids).
    pub told_apart: bool,
    /// Latencies before the signal.
    pub latency_before_signal: Option<Percentiles>,
    /// Latencies during the drain.
    pub latency_draining: Option<Percentiles>,
    /// Latencies of every request answered in full.
    pub latency_all: Option<Percentiles>,
    /// How late every request left (`started_us - sent_us`, whatever its outcome): a client
    /// that falls behind its schedule did not deliver the load it was asked for. None without
    /// any request.
    pub departure_lag: Option<Percentiles>,
    /// Whether the stream went out as asked (its departure lag within [`Delivery`]'s bounds):
    /// when not, what depends on the load was not tested.
    pub delivery: Delivery,
    /// The path's own failures under this load before any stop: the requests whose outcome
    /// came before the signal (nothing of the stop can have touched them), and those still in
    /// flight at the signal. None without a single stop (a rollout) or a signal.
    pub baseline: Option<Baseline>,
    /// Requests per second over time.
    pub per_second: Vec<Second>,
}

/// Whether a stream was delivered as asked. An open-model generator that falls behind sends
/// each request late instead of fewer of them: half the stream late means it could not hold the
/// rate; a tail far behind means the machine stalled it. Either way the losses it meets say
/// more of the generator or the machine than of the server, so nothing is judged on them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Delivery {
    /// Within every bound.
    pub delivered: bool,
    /// The median departure lag may be at most this (ms): above, the generator is behind its
    /// schedule, not stalled once.
    pub p50_bound_ms: f64,
    /// The 99th percentile may be at most this (ms).
    pub p99_bound_ms: f64,
    /// No request may leave later than this (ms).
    pub max_bound_ms: f64,
}

impl Delivery {
    /// The median departure lag of a stream delivered as asked is at most this: past it the
    /// generator is behind its schedule (at 10,000 requests/s on 2 cores the fresh client left
    /// 195 ms late at the median).
    pub const P50_BOUND_MS: f64 = 10.0;
    /// Its 99th percentile is at most this. A busy 2-core machine delays a few requests by tens
    /// of ms (up to 50 ms at the 99th percentile measured at load average 9); a tenth of a
    /// second is a stall the stream did not recover from.
    pub const P99_BOUND_MS: f64 = 100.0;
    /// No request leaves later than this.
    pub const MAX_BOUND_MS: f64 = 1000.0;

    /// The delivery of a stream whose departure lag was `lag` (a stream of no request was
    /// delivered: nothing was asked of it).
    pub fn of(lag: Option<&Percentiles>) -> Delivery {
        Delivery {
            delivered: lag.is_none_or(|lag| {
                lag.p50_ms <= Self::P50_BOUND_MS
                    && lag.p99_ms <= Self::P99_BOUND_MS
                    && lag.max_ms <= Self::MAX_BOUND_MS
            }),
            p50_bound_ms: Self::P50_BOUND_MS,
            p99_bound_ms: Self::P99_BOUND_MS,
            max_bound_ms: Self::MAX_BOUND_MS,
        }
    }
}

impl Default for Delivery {
    fn default() -> Delivery {
        Delivery::of(None)
    }
}

/// A stream's requests around the signal: the failures before it are the path's baseline
/// (the server under load, docker-proxy, the generator's own sockets), and the ones in flight
/// at it are what the stop can have changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Baseline {
    /// Requests whose outcome came before the signal.
    pub done_before_signal: u64,
    /// Of them, lost.
    pub lost_before_signal: u64,
    /// Requests sent before the signal whose outcome came after it.
    pub in_flight_at_signal: u64,
    /// Of them, lost.
    pub lost_in_flight: u64,
}

impl Baseline {
    /// Whether the path failed nothing before the signal.
    pub fn clean(&self) -> bool {
        self.lost_before_signal == 0
    }

    /// How many of the requests in flight at the signal the baseline's failure rate would lose
    /// with no stop at all (rounded up: one such loss is the path's, not the stop's).
    pub fn expected_in_flight_losses(&self) -> u64 {
        (self.in_flight_at_signal * self.lost_before_signal)
            .div_ceil(self.done_before_signal.max(1))
    }
}

impl LoadSummary {
    /// The counts of `phase`.
    pub fn phase(&self, phase: Phase) -> PhaseCounts {
        self.phases
            .iter()
            .find(|(p, _)| *p == phase)
            .map(|(_, c)| *c)
            .unwrap_or_default()
    }
}

impl Observation {
    /// Killed after the grace period: exit 137 and a stop at least as long as the timeout.
    pub fn killed_after_grace(&self, stop_timeout: Duration) -> bool {
        self.exit_code == Some(137) && self.stop_duration.is_some_and(|d| d >= stop_timeout)
    }

    /// The observation of request `name`.
    pub fn request(&self, name: &str) -> Option<&RequestObservation> {
        self.requests.iter().find(|r| r.name == name)
    }

    /// The HTTP/2 connections stream `name` used (h2c, gRPC), with their GOAWAY frames, PINGs
    /// and close, as its [`EventKind::StreamObserved`] on the timeline carried them: each stream
    /// of a run has its own connections, which `connections` holds all together. Empty for a
    /// WebSocket or an event stream over HTTP/1.1.
    pub fn stream_connections(&self, name: &str) -> &[ConnectionObservation] {
        self.timeline
            .iter()
            .find_map(|e| match &e.kind {
                EventKind::StreamObserved {
                    name: observed,
                    connections,
                    ..
                } if observed == name => Some(connections.as_slice()),
                _ => None,
            })
            .unwrap_or_default()
    }
}

impl RequestObservation {
    /// `ok (200, 3 bytes)`, `reset`, `truncated (200, 1200 bytes)`, `timeout (never connected)`.
    pub fn describe(&self) -> String {
        match self.status {
            Some(status) => format!("{} ({status}, {} bytes)", self.outcome, self.bytes),
            None if self.never_connected() => format!("{} (never connected)", self.outcome),
            None => self.outcome.to_string(),
        }
    }

    /// Whether it timed out without a connection: no server ever saw it.
    pub fn never_connected(&self) -> bool {
        self.outcome == Outcome::Timeout && !self.connected
    }

    /// Whether it meets `expected`. `not-served` also takes a timeout that never connected: the
    /// request reached no server, though its client only learnt so at its deadline.
    pub fn meets(&self, expected: Expected) -> bool {
        expected.accepts(self.outcome)
            || (expected == Expected::NotServed && self.never_connected())
    }
}
