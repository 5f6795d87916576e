//! The results of a run: each scenario with its observation and verdict, as reporters read them.

use std::sync::Arc;
use std::time::Duration;

use crate::engine::EngineInfo;
use crate::observation::Observation;
use crate::run::ScenarioError;
use crate::scenario::Scenario;
use crate::verdict::{Met, Requirement, Verdict};

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
    pub error: Option<Arc<ScenarioError>>,
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
        matches!(self.error.as_deref(), Some(ScenarioError::NoSwarm { .. }))
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
