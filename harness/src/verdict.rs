//! Judges an observation against a scenario's expectations, and against the two requirements
//! of a correct shutdown.

use serde::Serialize;

use crate::duration;
use crate::observation::{Observation, RequestObservation};
use crate::scenario::Scenario;

/// The two requirements of a server shut down correctly (the experiment's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Requirement {
    /// Every request received before the stop is answered in full.
    AnswersInFlight,
    /// No request sent after the stop is served.
    RefusesNew,
}

impl Requirement {
    /// The requirement in words.
    pub fn statement(self) -> &'static str {
        match self {
            Requirement::AnswersInFlight => "every request received is answered",
            Requirement::RefusesNew => "no new request is served once shutdown began",
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

/// Compares `observation` with `scenario`'s expectations.
pub fn judge(scenario: &Scenario, observation: &Observation) -> Verdict {
    let expect = &scenario.expect;
    let mut failures = Vec::new();
    for (name, expected) in &expect.requests {
        match observation.request(name) {
            None => failures.push(format!(
                "request `{name}`: expected {expected}, but it was never sent"
            )),
            Some(request) if !expected.accepts(request.outcome) => failures.push(format!(
                "request `{name}`: expected {expected}, got {}",
                describe(request)
            )),
            Some(_) => {}
        }
    }
    if let Some(wanted) = expect.exit_code {
        match observation.exit_code {
            Some(code) if code == wanted => {}
            Some(code) => failures.push(format!("exit code: expected {wanted}, got {code}")),
            None => failures.push(format!(
                "exit code: expected {wanted}, but no exit was seen"
            )),
        }
    }
    if let Some(wanted) = expect.signal_received {
        if observation.signal_received != Some(wanted) {
            let said = if wanted { "logged" } else { "not logged" };
            failures.push(format!(
                "signal received: expected the server to have {said} the signal, it had {}",
                match observation.signal_received {
                    Some(true) => "logged it",
                    Some(false) => "not logged it",
                    None => "no readable log",
                }
            ));
        }
    }
    if let Some(stop) = observation.stop_duration {
        if let Some(min) = expect.stop_at_least.filter(|min| stop < *min) {
            failures.push(format!(
                "stop duration: expected at least {}, took {}",
                duration::format(min),
                duration::format(stop)
            ));
        }
        if let Some(max) = expect.stop_below.filter(|max| stop >= *max) {
            failures.push(format!(
                "stop duration: expected below {}, took {}",
                duration::format(max),
                duration::format(stop)
            ));
        }
    } else if expect.stop_at_least.is_some() || expect.stop_below.is_some() {
        failures.push("stop duration: the stop never returned".to_string());
    }
    Verdict {
        passed: failures.is_empty(),
        failures,
        requirements: requirements(observation),
    }
}

/// Checks the two requirements from the requests sent before and after the stop.
pub fn requirements(observation: &Observation) -> Vec<RequirementCheck> {
    let stop = observation.stop_issued_ms.unwrap_or(i64::MAX);
    let (before, after): (Vec<_>, Vec<_>) =
        observation.requests.iter().partition(|r| r.sent_ms < stop);
    vec![
        check(Requirement::AnswersInFlight, &before, |r| {
            r.outcome == crate::Outcome::Ok
        }),
        check(Requirement::RefusesNew, &after, |r| !r.outcome.served()),
    ]
}

fn check(
    requirement: Requirement,
    requests: &[&RequestObservation],
    holds: impl Fn(&RequestObservation) -> bool,
) -> RequirementCheck {
    let met = (!requests.is_empty()).then(|| requests.iter().all(|r| holds(r)));
    let descriptions: Vec<String> = requests.iter().map(|r| describe(r)).collect();
    let evidence = match requests {
        [] => "no request tested it".to_string(),
        [_, _, ..] if descriptions.iter().all(|d| *d == descriptions[0]) => {
            format!("all {} requests: {}", requests.len(), descriptions[0])
        }
        _ => requests
            .iter()
            .zip(&descriptions)
            .map(|(r, d)| format!("{}: {d}", r.name))
            .collect::<Vec<_>>()
            .join("; "),
    };
    RequirementCheck {
        requirement,
        met,
        evidence,
    }
}

/// `ok (200, 3 bytes)`, `reset`, `truncated (200, 1200 bytes)`.
pub fn describe(request: &RequestObservation) -> String {
    match request.status {
        Some(status) => format!("{} ({status}, {} bytes)", request.outcome, request.bytes),
        None => request.outcome.to_string(),
    }
}
