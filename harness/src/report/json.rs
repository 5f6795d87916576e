//! The JSON report: the stable contract CI and users parse (documented in the README).

use serde::Serialize;

use crate::engine::EngineInfo;
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
    /// The engine the scenarios ran on (null when only processes ran).
    pub engine: Option<&'a EngineInfo>,
    /// Each scenario.
    pub scenarios: Vec<JsonScenario<'a>>,
}

/// One scenario. Times are ms from the moment the server was ready.
#[derive(Debug, Serialize)]
pub struct JsonScenario<'a> {
    /// The scenario's name.
    pub name: &'a str,
    /// Every expectation held and nothing failed.
    pub passed: bool,
    /// The image run; null for processes.
    pub image: Option<&'a str>,
    /// The server's exit code.
    pub exit_code: Option<i64>,
    /// The grace period before SIGKILL.
    pub stop_timeout_ms: u64,
    /// When the stop was issued.
    pub stop_issued_ms: Option<i64>,
    /// How long the stop took to return.
    pub stop_duration_ms: Option<u64>,
    /// When the engine sent the stop signal (its kill event); null for processes.
    pub signal_sent_ms: Option<i64>,
    /// Exit 137 after at least the grace period.
    pub killed_after_grace: bool,
    /// Whether the server logged the signal; null when its log cannot tell (not our server).
    pub signal_received: Option<bool>,
    /// What PID 1 was; null for processes or when /proc could not be read.
    pub pid1: Option<&'a Pid1>,
    /// From the scenario's first event to its last.
    pub duration_ms: u64,
    /// When its server started, from the start of the run (queueing in the engine included).
    pub started_ms: u64,
    /// Each request's outcome and times.
    pub requests: &'a [RequestObservation],
    /// The two requirements, with evidence.
    pub requirements: &'a [RequirementCheck],
    /// One line per expectation that did not hold, the scenario's error first.
    pub failures: Vec<String>,
    /// Why the expectations are what they are.
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
            engine: results.engine.as_ref(),
            scenarios: results.scenarios.iter().map(JsonScenario::new).collect(),
        }
    }
}

impl<'a> JsonScenario<'a> {
    fn new(result: &'a ScenarioResult) -> Self {
        let observation = &result.observation;
        let mut failures: Vec<String> = result.error.iter().map(|e| e.to_string()).collect();
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
