//! The judgement of a scenario: its expectations and the two requirements of a correct shutdown.

use serde::Serialize;

/// The two requirements of a server shut down correctly (the experiment's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Requirement {
    /// Every request received before the stop is answered in full.
    AnswersInFlight,
    /// No request sent after the stop is served.
    RefusesNew,
    /// The load stays within the thresholds the user set (a share of its requests lost, a
    /// latency percentile during the stop): present only when there are thresholds.
    WithinThresholds,
}

impl Requirement {
    /// The requirement in words.
    pub fn statement(self) -> &'static str {
        match self {
            Requirement::AnswersInFlight => "every request received is answered",
            Requirement::RefusesNew => "no new request is served once shutdown began",
            Requirement::WithinThresholds => "the load stays within its thresholds",
        }
    }
}

/// Whether one requirement was met, with the evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequirementCheck {
    /// Which requirement.
    pub requirement: Requirement,
    /// Met, not met, or None when no request tested it.
    pub met: Option<bool>,
    /// The requests that show it (`in-flight: ok (200, 3 bytes)`).
    pub evidence: String,
}

/// The judgement of one scenario.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// Every expectation held.
    pub passed: bool,
    /// One line per expectation that did not hold.
    pub failures: Vec<String>,
    /// The two requirements, as observed (independent of what the scenario expected).
    pub requirements: Vec<RequirementCheck>,
}
