//! What was observed of one scenario: outcomes, stop, exit, signal, PID 1, the timeline.

use std::time::Duration;

use serde::Serialize;

use crate::events::EventKind;
use crate::outcome::Outcome;
use crate::pid1::Pid1;

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
    /// Killed after the grace period: exit 137 and a stop at least as long as the timeout.
    pub fn killed_after_grace(&self, stop_timeout: Duration) -> bool {
        self.exit_code == Some(137) && self.stop_duration.is_some_and(|d| d >= stop_timeout)
    }

    /// The observation of request `name`.
    pub fn request(&self, name: &str) -> Option<&RequestObservation> {
        self.requests.iter().find(|r| r.name == name)
    }
}

impl RequestObservation {
    /// `ok (200, 3 bytes)`, `reset`, `truncated (200, 1200 bytes)`.
    pub fn describe(&self) -> String {
        match self.status {
            Some(status) => format!("{} ({status}, {} bytes)", self.outcome, self.bytes),
            None => self.outcome.to_string(),
        }
    }
}
