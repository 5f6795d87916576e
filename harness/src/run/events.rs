//! The timestamped events a run emits; everything downstream (observation, reports) is derived
//! from them.

use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::outcome::Outcome;
use crate::pid1::Pid1;
use crate::variant::StopSignal;

/// Something that happened during a scenario, at a moment on the harness's clock.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Which scenario it belongs to (index into the plan).
    pub scenario: usize,
    /// When the harness saw it.
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
    /// A request's connection was opened.
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
    },
    /// The stop was issued (`docker stop`, or the signal sent to a process).
    StopIssued {
        /// The first signal.
        signal: StopSignal,
        /// The grace period before SIGKILL, in ms.
        timeout_ms: u64,
    },
    /// The engine sent a signal to the container (Docker's `kill` event): the moment the stop
    /// really began, which under load can lag the API call by a lot.
    SignalSent {
        /// The signal number.
        signal: i32,
    },
    /// The stop returned: `docker stop` came back, or the process exited.
    StopReturned,
    /// The server exited.
    Exited {
        /// The exit code (128 + signal for a process killed by a signal).
        code: i64,
    },
}

/// Where a runner sends its events; cheap to clone, never blocks, never prints.
#[derive(Debug, Clone)]
pub struct EventSink {
    scenario: usize,
    tx: mpsc::UnboundedSender<Event>,
}

impl EventSink {
    /// A sink for scenario `scenario` feeding `tx`.
    pub fn new(scenario: usize, tx: mpsc::UnboundedSender<Event>) -> Self {
        EventSink { scenario, tx }
    }

    /// Emits `kind` stamped with the current instant.
    pub fn emit(&self, kind: EventKind) {
        self.emit_at(Instant::now(), kind);
    }

    /// Emits `kind` stamped with `at`, for facts timed by someone else (the engine's events).
    pub fn emit_at(&self, at: Instant, kind: EventKind) {
        // A closed receiver means nobody listens any more (the run was abandoned): drop the event.
        let _ = self.tx.send(Event {
            scenario: self.scenario,
            at,
            kind,
        });
    }
}
