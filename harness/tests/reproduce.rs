//! The experiment end to end on the real engine: processes, then shell and exec form on dash.

mod common;

use shutdown_harness::reproduce::{self, Timings};
use shutdown_harness::{Outcome, RunOptions, report};

use common::{assert_run_left_nothing, engine, failed_report, for_snapshot, scenario, workspace};

#[tokio::test]
async fn the_experiment_holds_with_fast_timings() {
    let timings = Timings::fast();
    let engine = engine().await;
    let options = RunOptions::new(Some(workspace()));
    let results = shutdown_harness::run_scenarios(
        Some(&engine),
        &reproduce::scenarios(timings),
        &options,
        &mut (),
    )
    .await
    .expect("the run completes");
    assert_run_left_nothing(&options.run_id).await;
    let report = report::human::render(&results);

    // Shell form on dash: the shell is PID 1, SIGTERM never reaches the server.
    let shell = &scenario(&results, "container/shell-form").observation;
    assert_eq!(
        shell.request("in-flight").unwrap().outcome,
        Outcome::Ok,
        "{report}"
    );
    assert_eq!(
        shell.request("after-stop").unwrap().outcome,
        Outcome::Ok,
        "the shell form serves a request sent after docker stop:\n{report}"
    );
    assert_eq!(shell.exit_code, Some(137), "{report}");
    assert_eq!(shell.signal_received, Some(false), "{report}");
    assert!(shell.stop_duration.unwrap() >= timings.grace, "{report}");
    let pid1 = shell.pid1.as_ref().expect("PID 1 was read");
    assert_eq!(pid1.command, "/bin/sh -c server", "{report}");
    assert!(!pid1.handles_stop_signal, "{report}");

    // Exec form on dash: the server is PID 1, drains, refuses the newcomer.
    let exec = &scenario(&results, "container/exec-form").observation;
    assert_eq!(
        exec.request("in-flight").unwrap().outcome,
        Outcome::Ok,
        "{report}"
    );
    assert!(
        exec.request("after-stop").unwrap().outcome.not_served(),
        "{report}"
    );
    assert_eq!(exec.exit_code, Some(0), "{report}");
    assert_eq!(exec.signal_received, Some(true), "{report}");
    assert!(exec.stop_duration.unwrap() < timings.grace, "{report}");
    assert!(exec.pid1.as_ref().unwrap().handles_stop_signal, "{report}");

    // Bare processes: abrupt cuts the in-flight request, graceful completes it.
    let abrupt = &scenario(&results, "process/abrupt").observation;
    assert!(
        abrupt.request("in-flight").unwrap().outcome.not_served(),
        "{report}"
    );
    let graceful = &scenario(&results, "process/graceful").observation;
    assert_eq!(
        graceful.request("in-flight").unwrap().outcome,
        Outcome::Ok,
        "{report}"
    );
    assert_eq!(
        graceful.request("after-stop").unwrap().outcome,
        Outcome::Refused,
        "{report}"
    );

    assert!(results.passed(), "{}", failed_report(&results));
    // The experiment's verdicts as a job summary shows them, whatever the engine's version.
    insta::with_settings!({filters => vec![(r"on (docker|podman) \S+", "on [engine]")]}, {
        insta::assert_snapshot!(
            "experiment_verdicts",
            report::markdown::render(&for_snapshot(&results), None)
        );
    });
}
