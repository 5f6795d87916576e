//! Helpers shared by the harness's integration tests: they call the library, never the engine
//! directly.

#![allow(dead_code)]

mod podman_service;
mod swarm;

pub use podman_service::podman_endpoint;
#[allow(unused_imports)] // Only the Swarm tests hold a swarm.
pub use swarm::{SwarmGuard, swarm};

use std::path::Path;
use std::time::Duration;

use shutdown_harness::engine::{LABEL_MANAGED, LABEL_RUN};
use shutdown_harness::images::build_variant_images;
use shutdown_harness::{
    Base, Engine, EngineKind, Outcome, RunResults, Scenario, ScenarioResult, Variant, Workspace,
};

/// The project's checkout (the tests run from inside it).
pub fn workspace() -> Workspace {
    Workspace::find_from(Path::new(env!("CARGO_MANIFEST_DIR")))
        .expect("the tests run in a checkout")
}

/// The engine of `DOCKER_HOST`, or the local one.
pub async fn engine() -> Engine {
    Engine::connect().await.expect("a container engine answers")
}

/// The tag of our server's image of `variant` on `base`, built on the local engine unless it
/// exists.
pub async fn our_image(variant: Variant, base: Base) -> String {
    let pair = (variant, base);
    let images = build_variant_images(&engine().await, &workspace(), &[pair])
        .await
        .expect("the image builds");
    images[&pair].clone()
}

/// Podman's API service: CONTAINER_HOST, else one the tests start themselves.
pub async fn podman() -> Engine {
    let endpoint = podman_endpoint();
    Engine::connect_at(Some(EngineKind::Podman), &endpoint)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The matrix's representative subset: at least one scenario per variant, plus each special
/// case; short timings throughout.
pub const MATRIX_SUBSET: [&str; 12] = [
    "dash/shell-form/graceful",
    "bash/shell-form/graceful",
    "busybox/exec-form-sh/graceful",
    "dash/exec-form/abrupt",
    "busybox/shell-form-exec/graceful",
    "bash/script-no-exec/graceful",
    "dash/script-exec/graceful",
    "none/tini/unhandled",
    "dash/shell-form/graceful/init",
    "dash/exec-form/sigint-only/stop-SIGTERM",
    "dash/exec-form/request-longer-than-grace",
    "dash/exec-form/abrupt/download",
];

/// Every scenario of the workspace's scenarios/.
pub fn all_scenarios() -> Vec<Scenario> {
    let workspace = workspace();
    shutdown_harness::scenario_file::read(workspace.root(), &[workspace.scenarios()])
        .expect("the scenario files are valid")
}

/// The scenarios of [`MATRIX_SUBSET`], checked to be there.
pub fn matrix_subset() -> Vec<Scenario> {
    named(&MATRIX_SUBSET)
}

/// The scenarios of scenarios/ called `names`, in file order; a name that is not there fails
/// the test (a renamed cell must not shrink a subset silently).
pub fn named(names: &[&str]) -> Vec<Scenario> {
    let subset: Vec<Scenario> = all_scenarios()
        .into_iter()
        .filter(|s| names.contains(&s.name.as_str()))
        .collect();
    for name in names {
        assert!(
            subset.iter().any(|s| s.name == *name),
            "no scenario {name} in scenarios/"
        );
    }
    subset
}

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

/// The requests a rollout lost in `phase` (of the replica each went to, or unattributed).
pub fn lost_in(
    rollout: &shutdown_harness::RolloutObservation,
    phase: shutdown_harness::RolloutPhase,
) -> u64 {
    rollout
        .by_phase
        .iter()
        .find(|c| c.phase == phase)
        .map_or(0, |c| c.lost)
}

/// The reports of the scenarios that did not pass, each opening with why: what a failed
/// `results.passed()` assertion prints (CI logs keep a test's first and last lines, so the
/// failing cell must not hide among the passing ones).
pub fn failed_report(results: &RunResults) -> String {
    let mut out = String::new();
    for result in results.scenarios.iter().filter(|s| !s.passed()) {
        out.push_str(&format!("FAILED {}\n", result.scenario.name));
        if let Some(error) = &result.error {
            out.push_str(&format!("  error: {error}\n"));
        }
        for failure in &result.verdict.failures {
            out.push_str(&format!("  {failure}\n"));
        }
        out.push_str(&shutdown_harness::report::human::render_scenario(result));
        out.push('\n');
    }
    out
}

/// Asserts that run `run_id` left no container behind (and removes any, so that one failure
/// does not leak into the next test).
pub async fn assert_run_left_nothing(run_id: &str) {
    assert_run_left_nothing_on(&engine().await, run_id).await;
}

/// [`assert_run_left_nothing`] on `engine`.
pub async fn assert_run_left_nothing_on(engine: &Engine, run_id: &str) {
    let label = format!("{LABEL_RUN}={run_id}");
    let left = engine
        .labelled_containers(&label)
        .await
        .expect("listing containers works");
    if !left.is_empty() {
        let _ = engine.remove_labelled_containers(&label).await;
    }
    assert!(left.is_empty(), "run {run_id} left {left:?} behind");
}

/// The results with every duration zeroed, and every empty reply or reset read as a reset
/// (through docker-proxy a stopped server shows as either, at random), for snapshots.
pub fn for_snapshot(results: &RunResults) -> RunResults {
    let mut results = results.clone();
    results.duration = Duration::ZERO;
    results.build_duration = Duration::ZERO;
    for scenario in &mut results.scenarios {
        scenario.observation.duration = Duration::ZERO;
        scenario.observation.stop_duration =
            scenario.observation.stop_duration.map(|_| Duration::ZERO);
        for request in &mut scenario.observation.requests {
            if request.outcome == Outcome::EmptyReply {
                request.outcome = Outcome::Reset;
            }
        }
    }
    results
}

/// Asserts that no container labelled `shutdown-harness.managed` and made from `image` exists:
/// whatever a check created, it removed. Lists only, so a leftover fails the test instead of
/// being cleaned away silently.
pub async fn assert_no_managed_container_of(image: &str) {
    assert_no_managed_container_of_on(&engine().await, image).await;
}

/// [`assert_no_managed_container_of`] on `engine`.
pub async fn assert_no_managed_container_of_on(engine: &Engine, image: &str) {
    let left: Vec<String> = engine
        .labelled_containers(LABEL_MANAGED)
        .await
        .expect("listing containers works")
        .into_iter()
        .filter(|c| c.image == image)
        .map(|c| c.id)
        .collect();
    assert!(
        left.is_empty(),
        "containers of {image} left behind: {left:?}"
    );
}
