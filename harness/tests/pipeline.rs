//! The pipeline streams: a reporter hears each scenario's events and result as they happen, not
//! after the whole run. Runs bare processes, so no engine is needed.

mod common;

use std::time::Duration;

use shutdown_harness::reproduce::{self, Timings};
use shutdown_harness::{EventKind, RunEvent, RunOptions, Scenario, ServerMode, Target};

use common::workspace;

/// Two process scenarios: a quick one (abrupt: it ends at the signal) and a slow one (graceful,
/// draining a request 2 s longer than the quick one lives).
fn quick_and_slow() -> (Scenario, Scenario) {
    let processes: Vec<Scenario> = reproduce::scenarios(Timings::fast())
        .into_iter()
        .filter(|s| s.target == Target::Process)
        .collect();
    let quick = processes
        .iter()
        .find(|s| s.server.mode == ServerMode::Abrupt)
        .expect("the experiment has an abrupt process")
        .clone();
    let mut slow = processes
        .iter()
        .find(|s| s.server.mode == ServerMode::Graceful)
        .expect("the experiment has a graceful process")
        .clone();
    slow.server.delay += Duration::from_secs(2);
    slow.stop.timeout += Duration::from_secs(2);
    slow.expect.stop_below = None;
    (quick, slow)
}

/// What the reporter heard, in order: `started <name>`, `event <name> <kind>`,
/// `finished <name>`, `run finished`.
#[derive(Default)]
struct Recording(Vec<String>);

impl Recording {
    fn position(&self, entry: &str) -> usize {
        self.0
            .iter()
            .position(|e| e == entry)
            .unwrap_or_else(|| panic!("{entry:?} was never reported: {:#?}", self.0))
    }
}

#[tokio::test]
async fn the_first_result_reaches_the_reporter_before_the_last_scenario_finishes() {
    let (quick, slow) = quick_and_slow();
    let scenarios = [slow.clone(), quick.clone()];
    let mut recording = Recording::default();
    let mut reporter = |event: RunEvent<'_>| {
        let entry = match event {
            RunEvent::ScenarioStarted { scenario, .. } => format!("started {}", scenario.name),
            RunEvent::Event { scenario, event } => {
                let kind = match &event.kind {
                    EventKind::Exited { .. } => "exited",
                    EventKind::RequestDone { .. } => "request done",
                    _ => return,
                };
                format!("event {} {kind}", scenario.name)
            }
            RunEvent::ScenarioFinished { result, .. } => {
                format!("finished {}", result.scenario.name)
            }
            RunEvent::RunFinished { .. } => "run finished".to_string(),
            _ => return,
        };
        recording.0.push(entry);
    };
    let results = shutdown_harness::run_scenarios(
        None,
        &scenarios,
        &RunOptions::new(Some(workspace())),
        &mut reporter,
    )
    .await
    .expect("the run completes");
    assert!(results.passed(), "{:#?}", results.scenarios);

    // The quick scenario was judged and reported while the slow one was still draining: its
    // result came before the slow one's exit, which came before the slow one's result.
    let quick_finished = recording.position(&format!("finished {}", quick.name));
    let slow_exited = recording.position(&format!("event {} exited", slow.name));
    let slow_finished = recording.position(&format!("finished {}", slow.name));
    assert!(quick_finished < slow_exited, "{:#?}", recording.0);
    assert!(slow_exited < slow_finished, "{:#?}", recording.0);
    // Each scenario starts before its events, and the run's end comes last.
    for scenario in &scenarios {
        let started = recording.position(&format!("started {}", scenario.name));
        let exited = recording.position(&format!("event {} exited", scenario.name));
        assert!(started < exited, "{:#?}", recording.0);
    }
    assert_eq!(recording.0.last().map(String::as_str), Some("run finished"));
    // The results keep the plan's order, whatever order the scenarios ended in.
    let names: Vec<&str> = results
        .scenarios
        .iter()
        .map(|s| s.scenario.name.as_str())
        .collect();
    assert_eq!(names, [slow.name.as_str(), quick.name.as_str()]);
}
