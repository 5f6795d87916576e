//! A requirement's verdict in short, with the outcomes that show it: what the verdict tables
//! (text, HTML, Markdown) print in their requirement columns.

use crate::model::results::ScenarioResult;
use crate::model::verdict::{Met, Requirement};

/// Whether `which` was met, and the outcomes of the requests that are its
/// evidence (those sent before the stop for R1, after it for R2); None when it was not judged.
pub fn requirement_outcomes(result: &ScenarioResult, which: Requirement) -> Option<(Met, String)> {
    let check = result
        .verdict
        .requirements
        .iter()
        .find(|r| r.requirement == which)?;
    if which == Requirement::WithinThresholds {
        return Some((check.met, check.evidence.clone()));
    }
    // A rollout's evidence is the stream's count.
    if let Some(rollout) = &result.observation.rollout {
        let evidence = match which {
            Requirement::AnswersInFlight => format!("lost {}", rollout.lost),
            Requirement::RefusesNew | Requirement::WithinThresholds => String::new(),
        };
        return Some((check.met, evidence));
    }
    let mut outcomes: Vec<&str> = Vec::new();
    for request in &result.observation.requests {
        let before = request.sent_before_stop;
        let word = request.outcome.name();
        if before == (which == Requirement::AnswersInFlight) && !outcomes.contains(&word) {
            outcomes.push(word);
        }
    }
    Some((check.met, outcomes.join(", ")))
}
