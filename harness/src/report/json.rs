//! The JSON report: the stable contract CI and users parse (documented in the README).

use serde::Serialize;

use crate::observation::RequestObservation;
use crate::pid1::Pid1;
use crate::results::{RunResults, ScenarioResult};
use crate::verdict::RequirementCheck;

/// The whole report.
#[derive(Debug, Serialize)]
pub struct JsonReport<'a> {
    /// Every scenario passed.
    pub passed: bool,
    /// Wall time of the scenarios, images already built.
    pub duration_ms: u64,
    /// Wall time of building the server and images first.
    pub build_ms: u64,
    /// The longest single scenario.
    pub longest_scenario_ms: u64,
    /// Each scenario.
    pub scenarios: Vec<JsonScenario<'a>>,
}

/// One scenario. Times are ms from the moment the server was ready.
#[derive(Debug, Serialize)]
pub struct JsonScenario<'a> {
    pub name: &'a str,
    pub passed: bool,
    pub image: Option<&'a str>,
    pub exit_code: Option<i64>,
    pub stop_timeout_ms: u64,
    pub stop_issued_ms: Option<i64>,
    pub stop_duration_ms: Option<u64>,
    pub signal_sent_ms: Option<i64>,
    pub killed_after_grace: bool,
    pub signal_received: Option<bool>,
    pub pid1: Option<&'a Pid1>,
    pub duration_ms: u64,
    /// When its server started, from the start of the run (queueing in the engine included).
    pub started_ms: u64,
    pub requests: &'a [RequestObservation],
    pub requirements: &'a [RequirementCheck],
    pub failures: Vec<String>,
    pub reason: Option<&'a str>,
}

impl<'a> JsonReport<'a> {
    /// The report of `results`.
    pub fn new(results: &'a RunResults) -> Self {
        JsonReport {
            passed: results.passed(),
            duration_ms: results.duration.as_millis() as u64,
            build_ms: results.build_duration.as_millis() as u64,
            longest_scenario_ms: results.longest_scenario().as_millis() as u64,
            scenarios: results.scenarios.iter().map(JsonScenario::new).collect(),
        }
    }
}

impl<'a> JsonScenario<'a> {
    fn new(result: &'a ScenarioResult) -> Self {
        let observation = &result.observation;
        let mut failures: Vec<String> = result.error.iter().cloned().collect();
        failures.extend(result.verdict.failures.iter().cloned());
        JsonScenario {
            name: &result.scenario.name,
            passed: result.passed(),
            image: observation.image.as_deref(),
            exit_code: observation.exit_code,
            stop_timeout_ms: result.scenario.stop.timeout.as_millis() as u64,
            stop_issued_ms: observation.stop_issued_ms,
            stop_duration_ms: observation.stop_duration.map(|d| d.as_millis() as u64),
            signal_sent_ms: observation.signal_sent_ms,
            killed_after_grace: observation.killed_after_grace(result.scenario.stop.timeout),
            signal_received: observation.signal_received,
            pid1: observation.pid1.as_ref(),
            duration_ms: observation.duration.as_millis() as u64,
            started_ms: result.started.as_millis() as u64,
            requests: &observation.requests,
            requirements: &result.verdict.requirements,
            failures,
            reason: result.scenario.reason.as_deref(),
        }
    }
}

/// Renders `results` as pretty-printed JSON.
pub fn render(results: &RunResults) -> String {
    serde_json::to_string_pretty(&JsonReport::new(results)).expect("the report serialises")
}
