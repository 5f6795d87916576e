//! The verdict table the command prints: one row per scenario, the two requirements with their
//! evidence in short, at most 100 columns wide, the requirements' full statements as a legend
//! below it.

use comfy_table::{
    ColumnConstraint, ContentArrangement, Table, Width, presets::UTF8_FULL_CONDENSED,
};

use shutdown_harness::report::evidence::requirement_outcomes;
use shutdown_harness::report::line::MAX_WIDTH;
use shutdown_harness::{Met, Requirement, RunResults, ScenarioResult, format_duration};

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
                .map_or("-".to_string(), format_duration),
            match observation.signal_received {
                Some(true) => "yes",
                Some(false) => "no",
                None => "?",
            }
            .to_string(),
            if result.passed() {
                "yes"
            } else if result.not_delivered() {
                "not delivered"
            } else {
                "NO"
            }
            .to_string(),
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
        Some((Met::Untested(_), _)) => "not tested".to_string(),
        Some((Met::Yes, outcomes)) => format!("met: {outcomes}"),
        Some((Met::No, outcomes)) => format!("NOT met: {outcomes}"),
    }
}
