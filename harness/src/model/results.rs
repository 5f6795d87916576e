//! The results of a run: each scenario with its observation and verdict, as reporters read them.

use std::sync::Arc;
use std::time::Duration;

use super::engine_info::EngineInfo;
use super::observation::Observation;
use super::scenario::Scenario;
use super::verdict::{Met, Requirement, Verdict};
use crate::option_name::OptionName;

/// What a result knows of the error that cut its scenario short. The runner's error
/// (`ScenarioError`, in the `run` module) is one; a result holds it as this trait so that
/// the model names no layer, and [`ScenarioFault::as_error`] gives the typed error back.
pub trait ScenarioFault: std::error::Error + Send + Sync + 'static {
    /// The scenario was skipped (it needs something the engine is not), neither passed nor
    /// failed.
    fn skipped(&self) -> bool;

    /// The message, with each option it asks to change spelled by `spell`.
    fn message_with(&self, spell: &dyn Fn(OptionName) -> String) -> String;

    /// The error itself, for a caller that wants its type back (`downcast_ref`).
    fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static);
}

/// One scenario's result.
#[derive(Debug, Clone)]
pub struct ScenarioResult {
    /// What was run.
    pub scenario: Scenario,
    /// What was seen.
    pub observation: Observation,
    /// How it compares with the expectations.
    pub verdict: Verdict,
    /// The error that cut the run short, if any (the verdict then fails).
    pub error: Option<Arc<dyn ScenarioFault>>,
    /// When its server started, counted from the start of the run (queueing included).
    pub started: Duration,
}

impl ScenarioResult {
    /// Passed: no error, its load (if any) delivered, and every expectation held.
    pub fn passed(&self) -> bool {
        self.error.is_none() && self.verdict.passed && !self.not_delivered()
    }

    /// Its load was not delivered as asked: neither passed nor failed, an environment limit.
    pub fn not_delivered(&self) -> bool {
        self.error.is_none() && self.verdict.not_delivered.is_some()
    }

    /// Skipped: it needs a Docker Swarm manager and the engine is none. Neither passed nor
    /// failed; its error says why and how to get one.
    pub fn skipped(&self) -> bool {
        self.error.as_deref().is_some_and(ScenarioFault::skipped)
    }

    /// Whether `requirement` was met; None when it was not judged (thresholds, when there are
    /// none).
    pub fn requirement(&self, requirement: Requirement) -> Option<Met> {
        self.verdict
            .requirements
            .iter()
            .find(|r| r.requirement == requirement)
            .map(|r| r.met)
    }
}

/// The results of a whole run.
#[derive(Debug, Clone)]
pub struct RunResults {
    /// Each scenario, in plan order.
    pub scenarios: Vec<ScenarioResult>,
    /// Wall time of running the scenarios (images already built).
    pub duration: Duration,
    /// Wall time of building the server and the images before that.
    pub build_duration: Duration,
    /// The engine the scenarios ran on (None when only processes ran).
    pub engine: Option<EngineInfo>,
}

impl RunResults {
    /// Every scenario passed (or was skipped).
    pub fn passed(&self) -> bool {
        self.scenarios.iter().all(|s| s.passed() || s.skipped())
    }

    /// Some scenario could not be run at all (an environment problem, not a failed expectation).
    pub fn errored(&self) -> bool {
        self.scenarios
            .iter()
            .any(|s| s.error.is_some() && !s.skipped())
    }

    /// Some scenario's load was not delivered as asked (an environment limit: what depends on
    /// its requests was not judged).
    pub fn not_delivered(&self) -> bool {
        self.scenarios.iter().any(ScenarioResult::not_delivered)
    }

    /// The longest scenario's duration.
    pub fn longest_scenario(&self) -> Duration {
        self.scenarios
            .iter()
            .map(|s| s.observation.duration)
            .max()
            .unwrap_or_default()
    }
}
