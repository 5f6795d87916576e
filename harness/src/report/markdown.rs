//! The Markdown report: what a CI job summary or a pull-request comment shows. The run's
//! verdict, a table of scenarios with the requirements and their evidence, then per scenario
//! that has a load or a rollout its counts by phase, its long-lived streams' lines, its
//! thresholds and what failed, and a link to the HTML report when there is one.

use std::fmt::Write;

use super::evidence::requirement_outcomes;
use super::line::{baseline, counts};
use super::streams;
use crate::duration;
use crate::exit_code;
use crate::model::observation::{LoadObservation, LoadSummary, Observation, RolloutObservation};
use crate::model::results::{RunResults, ScenarioResult};
use crate::model::verdict::{Met, Requirement};

/// Renders `results` as Markdown; `html`, when given, is where the HTML report was written
/// (a path or URL relative to where the Markdown is read), linked at the end.
pub fn render(results: &RunResults, html: Option<&str>) -> String {
    let mut out = String::new();
    let passed = results.scenarios.iter().filter(|s| s.passed()).count();
    let late = results
        .scenarios
        .iter()
        .filter(|s| s.not_delivered())
        .count();
    let failed = results.scenarios.len() - passed - late;
    let verdict = match (results.passed(), failed) {
        (true, _) => "passed",
        (false, 0) => "not judged (a load was not delivered as asked)",
        (false, _) => "FAILED",
    };
    let late = if late == 0 {
        String::new()
    } else {
        format!(", {late} not delivered")
    };
    let _ = writeln!(
        out,
        "## shutdown-harness: {verdict}\n\n{passed} passed, {failed} failed{late} in {}{}\n",
        duration::format(results.duration),
        results
            .engine
            .as_ref()
            .map(|e| format!(" on {} {}", e.kind.name(), e.version))
            .unwrap_or_default()
    );
    let _ = writeln!(
        out,
        "| scenario | verdict | {} | {} | exit | stop |",
        Requirement::AnswersInFlight.statement(),
        Requirement::RefusesNew.statement()
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|");
    for result in &results.scenarios {
        let observation = &result.observation;
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} | {} |",
            cell(&result.scenario.name),
            if result.passed() {
                "passed"
            } else if result.not_delivered() {
                "not delivered"
            } else {
                "**FAILED**"
            },
            requirement(result, Requirement::AnswersInFlight),
            requirement(result, Requirement::RefusesNew),
            observation
                .exit_code
                .map_or_else(|| "-".to_string(), |c| cell(&exit_code::describe(c))),
            observation
                .stop_duration
                .map_or_else(|| "-".to_string(), duration::format),
        );
    }
    for result in &results.scenarios {
        scenario_details(&mut out, result);
    }
    if let Some(html) = html {
        let _ = writeln!(
            out,
            "The timelines are in the [HTML report]({html}).",
            html = html.replace(' ', "%20")
        );
    }
    out
}

/// A scenario's load or rollout, long-lived streams, thresholds and failures, when it has any
/// of them.
fn scenario_details(out: &mut String, result: &ScenarioResult) {
    let observation = &result.observation;
    let thresholds = result
        .verdict
        .requirements
        .iter()
        .find(|r| r.requirement == Requirement::WithinThresholds);
    let failures: Vec<String> = result
        .error
        .iter()
        .map(|e| e.to_string())
        .chain(result.verdict.failures.iter().map(ToString::to_string))
        .collect();
    if observation.load.is_none()
        && observation.streams.is_empty()
        && thresholds.is_none()
        && failures.is_empty()
        && result.verdict.not_delivered.is_none()
    {
        return;
    }
    let _ = writeln!(out, "\n### `{}`\n", cell(&result.scenario.name));
    if let Some(rollout) = &observation.rollout {
        rollout_details(out, rollout);
    } else if let Some(load) = &observation.load {
        load_details(out, load);
    }
    if !observation.streams.is_empty() {
        stream_details(out, observation);
    }
    if let Some(not_delivered) = &result.verdict.not_delivered {
        let _ = writeln!(
            out,
            "**Not judged**: {}.\n",
            cell(&not_delivered.to_string())
        );
    }
    if let Some(check) = thresholds {
        let met = match check.met {
            Met::Yes => "met",
            Met::No => "**NOT met**",
            Met::Untested(_) => "not tested",
        };
        let _ = writeln!(out, "Thresholds: {met} ({}).\n", cell(&check.evidence));
    }
    for failure in failures {
        let _ = writeln!(out, "- {}", cell(&failure));
    }
}

/// Each long-lived stream's line, in the order they were opened.
fn stream_details(out: &mut String, observation: &Observation) {
    let signal = streams::signal_at(observation);
    let _ = writeln!(out, "Streams:\n");
    for view in streams::streams(observation) {
        let _ = writeln!(out, "- {}", cell(&streams::line(&view, signal)));
    }
    let _ = writeln!(out);
}

/// What a rollout lost, and a table of its replicas.
fn rollout_details(out: &mut String, rollout: &RolloutObservation) {
    let _ = writeln!(
        out,
        "Rollout: lost {} of {}{}.\n",
        rollout.lost,
        rollout.sent,
        if rollout.unattributed > 0 {
            format!(
                " ({} the balancer logged nothing for)",
                rollout.unattributed
            )
        } else {
            String::new()
        }
    );
    let _ = writeln!(out, "| replica | routed to it | lost | exit |");
    let _ = writeln!(out, "|---|---|---|---|");
    for replica in &rollout.replicas {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            replica.name,
            replica.routed,
            replica.lost,
            replica
                .exit_code
                .map_or_else(|| "-".to_string(), |c| cell(&exit_code::describe(c)))
        );
    }
    let _ = writeln!(out);
}

/// A stream's counts, a table of them by phase, and its baseline.
fn load_details(out: &mut String, load: &LoadObservation) {
    let summary = &load.summary;
    let _ = writeln!(
        out,
        "Load: {} requests/s, {} client, vantage {}: {}.\n",
        load.rate,
        load.client,
        load.vantage,
        counts(&summary.total)
    );
    if !summary.phases.is_empty() {
        phase_table(out, summary);
    }
    if let Some(mut said) = summary.baseline.as_ref().and_then(baseline) {
        said[..1].make_ascii_uppercase();
        let _ = writeln!(out, "{said}.\n");
    }
}

/// A stream's counts by phase, one row each.
fn phase_table(out: &mut String, summary: &LoadSummary) {
    // Cut or not served, when the server's log cannot tell which, is a column of its
    // own: folded into either, it would claim what was not observed.
    let untold = !summary.told_apart;
    let _ = writeln!(
        out,
        "| phase | sent | ok | cut | not served |{} lost |",
        if untold { " cut or not served |" } else { "" }
    );
    let _ = writeln!(
        out,
        "|---|---|---|---|---|{}---|",
        if untold { "---|" } else { "" }
    );
    for (phase, c) in &summary.phases {
        let untold = if untold {
            format!(" {} |", c.cut_or_not_served)
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |{untold} {} |",
            phase.name(),
            c.sent,
            c.ok,
            c.cut,
            c.not_served,
            c.lost
        );
    }
    let _ = writeln!(out);
}

/// A requirement's cell: `met: ok`, `NOT met: reset`, `not tested`, `-`; a stream's requirement
/// (no named requests) gives its own evidence.
fn requirement(result: &ScenarioResult, which: Requirement) -> String {
    let own = || {
        result
            .verdict
            .requirements
            .iter()
            .find(|r| r.requirement == which)
            .map(|r| r.evidence.clone())
            .unwrap_or_default()
    };
    match requirement_outcomes(result, which) {
        None => "-".to_string(),
        Some((Met::Untested(_), _)) => "not tested".to_string(),
        Some((met, evidence)) => {
            let evidence = if evidence.is_empty() { own() } else { evidence };
            match met {
                Met::Yes => cell(&format!("met: {evidence}")),
                _ => format!("**NOT met**: {}", cell(&evidence)),
            }
        }
    }
}

/// Text made safe for one Markdown table cell: no line breaks, no column separators.
fn cell(text: &str) -> String {
    text.replace('\n', " ").replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_stream_has_its_line_in_its_scenario_s_details() {
        let markdown = render(&super::super::stream_fixtures::results(), None);
        let details = &markdown[markdown.find("### `grpc/graceful`").expect("details")..];
        let details = &details[..details[1..].find("### ").map_or(details.len(), |i| i + 1)];
        assert!(
            details.contains("Streams:\n\n- open (grpc): status OK · 2 received, 2 after the signal · GOAWAY last stream 2^31-1 at 0.320s, GOAWAY last stream 1 at 0.322s (two-step) · 2 PINGs · connection closed at 1.516s\n- late (grpc): empty-reply · opened after the signal, 0 received · no GOAWAY · connection closed at 0.624s · client: transport error: connection reset\n"),
            "{details}"
        );
    }

    #[test]
    fn cells_stay_in_their_column() {
        assert_eq!(cell("a | b\nc"), "a \\| b c");
    }
}
