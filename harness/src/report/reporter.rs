//! What a reporter hears while a run goes on ([`RunEvent`]), the [`Reporter`] that hears it, and
//! a [`FanOut`] so that several reporters (a live display, the JSON-lines [`EventLog`]) hear
//! the same events, in order (cargo-nextest's `reporter/events.rs` is the model).
//!
//! The records a [`RunEvent`] carries are made further down: a scenario's timestamped
//! [`Event`]s by the runner, the images' [`BuildEvent`]s by the images stage (both in
//! `events.rs`), results by the judge. They are only wrapped here, so nothing that makes them
//! imports reporters; reporters never talk to the engine, and the runner never prints.
//!
//! [`EventLog`]: super::EventLog

use crate::engine::EngineError;
use crate::model::events::{BuildEvent, Event};
use crate::model::results::{RunResults, ScenarioResult};
use crate::model::scenario::Scenario;

/// What a run tells its reporter, in order: the build, then for each scenario its start, its
/// events and its result (scenarios interleave), then the end.
#[derive(Debug, Clone, Copy)]
pub enum RunEvent<'a> {
    /// Progress of the images stage.
    Build(&'a BuildEvent),
    /// The scenarios start; the images are ready.
    RunStarted {
        /// Every scenario of the plan, in order.
        scenarios: &'a [Scenario],
        /// How many run at once at most.
        jobs: usize,
    },
    /// A scenario got its turn.
    ScenarioStarted {
        /// Its index in the plan.
        index: usize,
        /// The scenario.
        scenario: &'a Scenario,
    },
    /// Something happened in a running scenario.
    Event {
        /// The scenario.
        scenario: &'a Scenario,
        /// What happened, and when.
        event: &'a Event,
    },
    /// A scenario ended and was judged.
    ScenarioFinished {
        /// Its index in the plan.
        index: usize,
        /// Its result.
        result: &'a ScenarioResult,
    },
    /// Removing what the run left failed; the results stand.
    CleanupFailed(&'a EngineError),
    /// Every scenario ended.
    RunFinished {
        /// All the results.
        results: &'a RunResults,
    },
}

/// Receives a run's events as they happen. Any `FnMut(RunEvent)` is one; `()` and `None` hear
/// nothing; a [`FanOut`] passes each event to several.
pub trait Reporter {
    /// Called for each event, in order, on the task that runs the pipeline.
    fn report(&mut self, event: RunEvent<'_>);
}

impl<F: FnMut(RunEvent<'_>)> Reporter for F {
    fn report(&mut self, event: RunEvent<'_>) {
        self(event)
    }
}

impl Reporter for () {
    fn report(&mut self, _event: RunEvent<'_>) {}
}

/// A reporter that was not asked for (`--events` not given) hears nothing.
impl<R: Reporter> Reporter for Option<R> {
    fn report(&mut self, event: RunEvent<'_>) {
        if let Some(reporter) = self {
            reporter.report(event);
        }
    }
}

/// Several reporters hearing the same events: each event goes to each, in the order they were
/// added. It borrows them, so that each can be asked what it saw once the run is over.
#[derive(Default)]
pub struct FanOut<'a> {
    reporters: Vec<&'a mut dyn Reporter>,
}

impl<'a> FanOut<'a> {
    /// No reporter yet.
    pub fn new() -> FanOut<'a> {
        FanOut::default()
    }

    /// Adds `reporter` after those already there.
    pub fn with(mut self, reporter: &'a mut dyn Reporter) -> FanOut<'a> {
        self.reporters.push(reporter);
        self
    }
}

impl Reporter for FanOut<'_> {
    fn report(&mut self, event: RunEvent<'_>) {
        for reporter in &mut self.reporters {
            reporter.report(event);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a reporter heard, by name, so that order can be compared.
    fn name(event: RunEvent<'_>) -> &'static str {
        match event {
            RunEvent::Build(_) => "build",
            RunEvent::RunStarted { .. } => "run-started",
            _ => "other",
        }
    }

    #[test]
    fn a_fan_out_passes_each_event_to_each_reporter_in_order() {
        let mut first = Vec::new();
        let mut second = Vec::new();
        let mut absent: Option<fn(RunEvent<'_>)> = None;
        {
            let mut a = |event: RunEvent<'_>| first.push(name(event));
            let mut b = |event: RunEvent<'_>| second.push(name(event));
            let mut fan_out = FanOut::new().with(&mut a).with(&mut absent).with(&mut b);
            fan_out.report(RunEvent::Build(&BuildEvent::ServerBuilding));
            fan_out.report(RunEvent::RunStarted {
                scenarios: &[],
                jobs: 1,
            });
        }
        assert_eq!(first, ["build", "run-started"]);
        assert_eq!(second, first);
    }
}
