//! Helpers shared by the harness's integration tests: they call the library, never Docker directly.

#![allow(dead_code)]

use std::time::Duration;

use shutdown_harness::docker::{self, LABEL_RUN};
use shutdown_harness::{RunResults, ScenarioResult};

/// The result of scenario `name`, or a panic listing what there is.
pub fn scenario<'a>(results: &'a RunResults, name: &str) -> &'a ScenarioResult {
    results
        .scenarios
        .iter()
        .find(|s| s.scenario.name == name)
        .unwrap_or_else(|| {
            let names: Vec<_> = results.scenarios.iter().map(|s| &s.scenario.name).collect();
            panic!("no scenario {name} in {names:?}")
        })
}

/// Asserts that run `run_id` left no container behind.
pub async fn assert_run_left_nothing(run_id: &str) {
    let docker = docker::connect().await.expect("the engine answers");
    let left = docker::remove_labelled_containers(&docker, &format!("{LABEL_RUN}={run_id}"))
        .await
        .expect("listing containers works");
    assert_eq!(left, 0, "run {run_id} left {left} container(s) behind");
}

/// The results with every duration zeroed and times rounded away, for snapshots.
pub fn without_durations(results: &RunResults) -> RunResults {
    let mut results = results.clone();
    results.duration = Duration::ZERO;
    results.build_duration = Duration::ZERO;
    for scenario in &mut results.scenarios {
        scenario.observation.duration = Duration::ZERO;
        scenario.observation.stop_duration =
            scenario.observation.stop_duration.map(|_| Duration::ZERO);
    }
    results
}

/// Asserts that no container labelled `shutdown-harness.managed` and made from `image` exists:
/// whatever a check created, it removed. Lists only, so a leftover fails the test instead of
/// being cleaned away silently.
pub async fn assert_no_managed_container_of(image: &str) {
    let docker = docker::connect().await.expect("the engine answers");
    let filters = std::collections::HashMap::from([(
        "label".to_string(),
        vec![docker::LABEL_MANAGED.to_string()],
    )]);
    let options = bollard::query_parameters::ListContainersOptions {
        all: true,
        filters: Some(filters),
        ..Default::default()
    };
    let left: Vec<String> = docker
        .list_containers(Some(options))
        .await
        .expect("listing containers works")
        .into_iter()
        .filter(|c| c.image.as_deref() == Some(image))
        .map(|c| format!("{} ({:?})", c.id.unwrap_or_default(), c.names))
        .collect();
    assert!(
        left.is_empty(),
        "containers of {image} left behind: {left:?}"
    );
}
