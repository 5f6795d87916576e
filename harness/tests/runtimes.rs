//! The runtimes people ship (`scenarios/runtimes.toml`) on the real engine: a representative
//! subset behaves as its file says, and wherever `explain` predicts something about a cell, the
//! run shows it; where it cannot know, it says so instead of guessing.
//!
//! Timings measured here (2 cores): the subset and the four explanations take about 12 s once
//! the images exist; forging them the first time (node, npm, Python's standard library, nginx,
//! busybox) takes about a minute.

mod common;

use shutdown_harness::images::{HTTP_PORT, RuntimeImage, runtime_image};
use shutdown_harness::{
    ExplainOptions, Explanation, Met, Outcome, Requirement, RunOptions, Scenario, ScenarioResult,
    Target, explain,
};

use common::{assert_run_left_nothing, engine, failed_report, named, scenario, workspace};

/// One cell per runtime and per way its shutdown goes (ignored until SIGKILL, drained, cut by
/// npm, cut by a short --graceful-timeout, cut by nginx's fast shutdown, killed under --init).
const SUBSET: [&str; 8] = [
    "node/exec-form/unhandled",
    "node/exec-form/graceful",
    "npm-start/graceful",
    "gunicorn/graceful-timeout-longer",
    "gunicorn/graceful-timeout-shorter",
    "nginx/stop-SIGTERM",
    "busybox-httpd/exec-form",
    "busybox-httpd/init",
];

/// The cells `explain` is held to: two where it predicts the outcome (busybox httpd's dropped
/// SIGTERM, nginx's fast shutdown) and two where it must say it cannot know (node's own
/// handler, npm standing between the signal and the server).
const EXPLAINED: [&str; 4] = [
    "busybox-httpd/exec-form",
    "nginx/stop-SIGTERM",
    "node/exec-form/unhandled",
    "npm-start/graceful",
];

/// Explains the image `scenario` ran, with its stop signal, grace period and `--init`.
async fn explain_cell(scenario: &Scenario) -> Explanation {
    let engine = engine().await;
    let Target::Runtime(spec) = &scenario.target else {
        panic!("{} is not a runtime cell", scenario.name);
    };
    let image = RuntimeImage::of(scenario).expect("a runtime cell has an image");
    let tag = runtime_image(&engine, &image).await.expect("forged").tag;
    let options = ExplainOptions {
        stop_signal: Some(scenario.stop.signal),
        stop_timeout: scenario.stop.timeout,
        init: spec.init,
        port: Some(HTTP_PORT),
        path: spec.runtime.ready_path().to_string(),
        ..ExplainOptions::default()
    };
    let explanation = explain(&engine, &tag, &options).await.expect("explains");
    assert_run_left_nothing(&explanation.run_id).await;
    explanation
}

/// Asserts that every prediction `explain` made holds in the run, and returns how many it made.
fn assert_agree(e: &Explanation, result: &ScenarioResult) -> usize {
    let text = shutdown_harness::explain::render(e);
    let observed = &result.observation;
    let in_flight = observed.request("in-flight").expect("in-flight was sent");
    let mut predictions = 0;
    if let Some(code) = e.expected_exit_code {
        assert_eq!(
            observed.exit_code,
            Some(code),
            "{}:\n{text}",
            result.scenario.name
        );
        predictions += 1;
    }
    if let Some(drains) = e.drains {
        // A drain is both requirements at once: the request in flight answered, and no new
        // one served. A dropped signal answers it too, but serves newcomers: no drain.
        let drained = in_flight.outcome == Outcome::Ok
            && result.requirement(Requirement::RefusesNew) == Some(Met::Yes);
        assert_eq!(drained, drains, "{}:\n{text}", result.scenario.name);
        predictions += 1;
    }
    if e.signal_reaches_server == Some(false) {
        // Not delivered: nothing ends the server before the SIGKILL.
        assert_eq!(observed.exit_code, Some(137), "{text}");
        predictions += 1;
    }
    predictions
}

#[tokio::test]
async fn a_subset_of_the_runtimes_behaves_as_its_file_says_and_as_explain_predicts() {
    let subset = named(&SUBSET);
    let engine = engine().await;
    let options = RunOptions::new(Some(workspace()));
    let results = shutdown_harness::run_scenarios(Some(&engine), &subset, &options, &mut ())
        .await
        .expect("the run completes");
    assert_run_left_nothing(&options.run_id).await;
    assert!(results.passed(), "{}", failed_report(&results));

    let cells: Vec<&Scenario> = subset
        .iter()
        .filter(|s| EXPLAINED.contains(&s.name.as_str()))
        .collect();
    let explanations = futures_util::future::join_all(cells.iter().map(|s| explain_cell(s))).await;
    let explained = |name: &str| {
        let index = cells
            .iter()
            .position(|s| s.name == name)
            .expect("explained");
        &explanations[index]
    };
    for (cell, e) in cells.iter().zip(&explanations) {
        assert_agree(e, scenario(&results, &cell.name));
    }

    // Where explain knows, it says: busybox httpd drops SIGTERM, serves on (no drain) and is
    // SIGKILLed (137); nginx's SIGTERM is a fast shutdown (no drain, exit 0). The run showed both.
    let busybox = explained("busybox-httpd/exec-form");
    assert_eq!(
        assert_agree(busybox, scenario(&results, "busybox-httpd/exec-form")),
        3
    );
    let nginx = explained("nginx/stop-SIGTERM");
    assert_eq!(
        assert_agree(nginx, scenario(&results, "nginx/stop-SIGTERM")),
        2
    );

    // Where it cannot, it says that: node catches SIGTERM whether or not server.js listens, so
    // nothing of the drain or the exit (the run: ignored until SIGKILL, 137); npm decides what
    // reaches the server (the run: nothing, npm exits 1).
    let node = explained("node/exec-form/unhandled");
    let text = shutdown_harness::explain::render(node);
    assert_eq!(
        (node.drains, node.expected_exit_code),
        (None, None),
        "{text}"
    );
    assert!(text.contains("Node.js documentation"), "{text}");
    let npm = explained("npm-start/graceful");
    let text = shutdown_harness::explain::render(npm);
    assert_eq!(
        (
            npm.signal_reaches_server,
            npm.drains,
            npm.expected_exit_code
        ),
        (None, None, None),
        "{text}"
    );
    assert!(
        npm.summary.starts_with("npm, not the server, gets SIGTERM"),
        "{text}"
    );
    assert!(
        npm.fixes
            .iter()
            .any(|f| f.contains("ENTRYPOINT [\"node\", \"server.js\"]")),
        "{text}"
    );
}
