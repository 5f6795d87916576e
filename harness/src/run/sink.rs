//! Where a running scenario's events go: a channel to the pipeline, which reports them as they
//! arrive. Never blocks, never prints.

use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::model::events::{Event, EventKind};
use crate::run::ScenarioError;

/// What flows from the scenario tasks to the pipeline, in order per scenario: it began (got its
/// turn), its events, and its end. Its end comes after every event of its own.
#[derive(Debug)]
pub(crate) enum Message {
    /// Scenario `0` got its turn and is starting.
    Began(usize),
    /// Something happened.
    Event(Event),
    /// Scenario `0` ended, with the error that cut it short if any.
    Ended(usize, Option<ScenarioError>),
}

/// A scenario's sink; cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct EventSink {
    scenario: usize,
    tx: mpsc::UnboundedSender<Message>,
}

impl EventSink {
    /// A sink for scenario `scenario` feeding `tx`.
    pub(crate) fn new(scenario: usize, tx: mpsc::UnboundedSender<Message>) -> Self {
        EventSink { scenario, tx }
    }

    /// Emits `kind` stamped with the current instant.
    pub(crate) fn emit(&self, kind: EventKind) {
        self.emit_at(Instant::now(), kind);
    }

    /// Emits `kind` stamped with `at`, for facts timed by someone else (the engine's events).
    pub(crate) fn emit_at(&self, at: Instant, kind: EventKind) {
        // A closed receiver means nobody listens any more (the run was abandoned): drop it.
        let _ = self.tx.send(Message::Event(Event {
            scenario: self.scenario,
            at,
            kind,
        }));
    }
}
