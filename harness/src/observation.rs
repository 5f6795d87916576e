//! Folds a scenario's events into what was observed: outcomes, stop, exit, signal, PID 1.

use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

use crate::outcome::Outcome;
use crate::pid1::Pid1;
use crate::run::events::{Event, EventKind};

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
    /// When it was sent.
    pub sent_ms: i64,
    /// When its outcome was known.
    pub done_ms: i64,
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
    /// When the engine sent the stop signal (Docker's first `kill` event), for containers.
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
    /// Every event, in order.
    pub timeline: Vec<TimedEvent>,
}

impl Observation {
    /// Folds `events` (of one scenario, in order). `reads_signal_log`: whether the server is
    /// ours, whose log says when it got the signal.
    pub fn from_events(events: &[Event], reads_signal_log: bool) -> Observation {
        let first = events.first().map(|e| e.at);
        let ready_at = events
            .iter()
            .find(|e| e.kind == EventKind::Ready)
            .map(|e| e.at)
            .or(first);
        let ms = |at: Instant| match ready_at {
            Some(ready) if at >= ready => (at - ready).as_millis() as i64,
            Some(ready) => -((ready - at).as_millis() as i64),
            None => 0,
        };

        let mut observation = Observation::default();
        let mut stop_issued = None;
        for event in events {
            match &event.kind {
                EventKind::Started { image } => observation.image.clone_from(image),
                EventKind::Ready => observation.ready = true,
                EventKind::ServerLog { line } => {
                    if crate::server_log::is_signal_received(line)
                        && observation.signal_logged_ms.is_none()
                    {
                        observation.signal_logged_ms = Some(ms(event.at));
                    }
                }
                EventKind::Pid1(pid1) => observation.pid1 = Some(pid1.clone()),
                EventKind::RequestSent { name } => {
                    observation.requests.push(RequestObservation {
                        name: name.clone(),
                        outcome: Outcome::Timeout,
                        status: None,
                        bytes: 0,
                        sent_ms: ms(event.at),
                        done_ms: ms(event.at),
                    });
                }
                EventKind::RequestDone {
                    name,
                    outcome,
                    status,
                    bytes,
                } => {
                    if let Some(request) = observation.requests.iter_mut().find(|r| &r.name == name)
                    {
                        request.outcome = *outcome;
                        request.status = *status;
                        request.bytes = *bytes;
                        request.done_ms = ms(event.at);
                    }
                }
                EventKind::StopIssued { .. } => {
                    stop_issued = Some(event.at);
                    observation.stop_issued_ms = Some(ms(event.at));
                }
                EventKind::SignalSent { .. } => {
                    observation.signal_sent_ms.get_or_insert(ms(event.at));
                }
                EventKind::StopReturned => {
                    observation.stop_duration = stop_issued.map(|issued| event.at - issued);
                }
                EventKind::Exited { code } => observation.exit_code = Some(*code),
            }
            observation.timeline.push(TimedEvent {
                ms: ms(event.at),
                kind: event.kind.clone(),
            });
        }
        observation.signal_received =
            reads_signal_log.then_some(observation.signal_logged_ms.is_some());
        if let (Some(first), Some(last)) = (first, events.last()) {
            observation.duration = last.at - first;
        }
        observation
    }

    /// Killed after the grace period: exit 137 and a stop at least as long as the timeout.
    pub fn killed_after_grace(&self, stop_timeout: Duration) -> bool {
        self.exit_code == Some(137) && self.stop_duration.is_some_and(|d| d >= stop_timeout)
    }

    /// The observation of request `name`.
    pub fn request(&self, name: &str) -> Option<&RequestObservation> {
        self.requests.iter().find(|r| r.name == name)
    }
}
