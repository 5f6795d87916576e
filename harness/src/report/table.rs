//! The verdict table: one row per scenario, the two requirements with their evidence in short,
//! at most 100 columns wide, the requirements' full statements as a legend below it.

use comfy_table::{
    ColumnConstraint, ContentArrangement, Table, Width, presets::UTF8_FULL_CONDENSED,
};

use super::line::MAX_WIDTH;
use crate::duration;
use crate::results::{RunResults, ScenarioResult};
use crate::verdict::Requirement;

/// The table and its legend.
pub fn verdict_table(results: &RunResults) -> String {
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(MAX_WIDTH as u16)
        .set_header(vec!["scenario", "R1", "R2", "exit", "stop", "sig", "ok"]);
    for result in &results.scenarios {
        let observation = &result.observation;
        table.add_row(vec![
            result.scenario.name.clone(),
            requirement(result, Requirement::AnswersInFlight),
            requirement(result, Requirement::RefusesNew),
            observation
                .exit_code
                .map_or("-".to_string(), |c| c.to_string()),
            observation
                .stop_duration
                .map_or("-".to_string(), duration::format),
            match observation.signal_received {
                Some(true) => "yes",
                Some(false) => "no",
                None => "?",
            }
            .to_string(),
            if result.passed() { "yes" } else { "NO" }.to_string(),
        ]);
    }
    // Names and numbers stay whole; the evidence columns wrap when the table is too wide.
    for index in [0, 3, 4, 5, 6] {
        if let Some(column) = table.column_mut(index) {
            column.set_constraint(ColumnConstraint::ContentWidth);
        }
    }
    // Wide enough for `NOT met:` over `empty-reply`.
    for index in [1, 2] {
        if let Some(column) = table.column_mut(index) {
            column.set_constraint(ColumnConstraint::LowerBoundary(Width::Fixed(11)));
        }
    }
    let mut out = table.to_string();
    out.push('\n');
    out.push_str(&format!(
        "R1: {}; R2: {}\nsig: the server logged the stop signal (? when the server is not ours)\n",
        Requirement::AnswersInFlight.statement(),
        Requirement::RefusesNew.statement()
    ));
    out
}

/// `met: ok`, `NOT met: ok`, `not tested`: the requirement and the outcomes that show it.
fn requirement(result: &ScenarioResult, which: Requirement) -> String {
    match requirement_outcomes(result, which) {
        None => "-".to_string(),
        Some((None, _)) => "not tested".to_string(),
        Some((Some(true), outcomes)) => format!("met: {outcomes}"),
        Some((Some(false), outcomes)) => format!("NOT met: {outcomes}"),
    }
}

/// Whether `which` was met (None: not tested), and the outcomes of the requests that are its
/// evidence (those sent before the stop for R1, after it for R2); None when it was not judged.
pub(super) fn requirement_outcomes(
    result: &ScenarioResult,
    which: Requirement,
) -> Option<(Option<bool>, String)> {
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
    let stop = result.observation.stop_issued_ms.unwrap_or(i64::MAX);
    let mut outcomes: Vec<&str> = Vec::new();
    for request in &result.observation.requests {
        let before = request.sent_ms < stop;
        let word = request.outcome.name();
        if before == (which == Requirement::AnswersInFlight) && !outcomes.contains(&word) {
            outcomes.push(word);
        }
    }
    Some((check.met, outcomes.join(", ")))
}
