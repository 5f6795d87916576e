//! Rolling updates behind a real HAProxy on the engine: a representative subset of
//! `scenarios/rollout.toml` (a lossless cell and a lossy one, a preStop hook that fails in an
//! image without `sleep`, the orchestrator's own wait), and `check --rollout` on our image.

mod common;

use std::time::Duration;

use assert_cmd::cargo::cargo_bin_cmd;
use serde_json::Value;
use shutdown_harness::engine::LABEL_RUN;
use shutdown_harness::images::build_variant_images;
use shutdown_harness::{Base, HookOutcome, RolloutPhase, RunOptions, Variant, report};

use common::{assert_run_left_nothing, engine, named, scenario, workspace};

/// One cell per lesson of the file.
const SUBSET: [&str; 4] = [
    "rollout/no-pre-stop/lag-0",
    "rollout/no-pre-stop/lag-1s",
    "rollout/no-shell/exec-sleep-2s/lag-1s",
    "rollout/orchestrator-sleep-2s/lag-1s",
];

#[tokio::test]
async fn a_representative_subset_of_the_rollout_matrix_behaves_as_its_file_says() {
    let subset = named(&SUBSET);
    let engine = engine().await;
    let options = RunOptions::new(Some(workspace()));
    let results = shutdown_harness::run(Some(&engine), &subset, &options, &mut ())
        .await
        .expect("the run completes");
    assert_run_left_nothing(&options.run_id).await;
    let networks = engine
        .labelled_networks(&format!("{LABEL_RUN}={}", options.run_id))
        .await
        .expect("listing networks works");
    assert!(networks.is_empty(), "networks left behind: {networks:?}");
    let text = report::human::render(&results);
    assert!(results.passed(), "{text}");

    // The lossy cell lost its requests where the file says: after the replica exited, while
    // the balancer still had it (and answered 503 once its retries to it failed).
    let lossy = scenario(&results, "rollout/no-pre-stop/lag-1s")
        .observation
        .rollout
        .as_ref()
        .expect("a rollout was observed");
    let stale = lossy
        .by_phase
        .iter()
        .find(|c| c.phase == RolloutPhase::StaleEndpoint)
        .expect("every phase is counted");
    assert!(stale.lost > 0, "{text}");
    for replica in lossy.replicas.iter().filter(|r| r.termination_ms.is_some()) {
        // SIGTERM went out at once (no hook), and the replica left the pool a second later.
        let (began, signal) = (replica.termination_ms.unwrap(), replica.signal_ms.unwrap());
        let removed = replica.endpoint_removed_ms.unwrap();
        assert!(signal - began < 500, "{text}");
        assert!(removed - began >= 1000, "{text}");
        assert_eq!(replica.exit_code, Some(0), "{text}");
    }

    // The hook that cannot run fails, and the signal follows at once.
    let failed = scenario(&results, "rollout/no-shell/exec-sleep-2s/lag-1s")
        .observation
        .rollout
        .as_ref()
        .expect("a rollout was observed");
    for replica in failed
        .replicas
        .iter()
        .filter(|r| r.termination_ms.is_some())
    {
        assert!(
            matches!(&replica.pre_stop, Some(HookOutcome::Failed(why)) if why.contains("sleep")),
            "{text}"
        );
    }
}

/// `shutdown-harness check --rollout` on our exec-form image with `args`; (exit code, JSON).
fn check_rollout(image: &str, args: &[&str]) -> (Option<i32>, Value, String) {
    let output = cargo_bin_cmd!("shutdown-harness")
        .args(["check", "--image", image, "--port", "1202"])
        .args([
            "--path",
            "/?delay=100ms",
            "--stop-timeout",
            "5",
            "--rollout",
        ])
        .args(args)
        .args(["--format", "json"])
        .timeout(Duration::from_secs(120))
        .output()
        .expect("the binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let report = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("stdout is JSON ({e}):\n{stdout}\nstderr:\n{stderr}"));
    (output.status.code(), report, stderr)
}

#[tokio::test]
async fn check_rollout_passes_with_a_pre_stop_wait_and_fails_without_one() {
    let pair = (Variant::ExecForm, Base::Busybox);
    let images = build_variant_images(&engine().await, &workspace(), &[pair])
        .await
        .expect("the image builds");
    let image = images[&pair].clone();
    let (covered, bare) = tokio::task::spawn_blocking(move || {
        (
            check_rollout(&image, &["--endpoint-lag", "1s", "--pre-stop-sleep", "2s"]),
            check_rollout(&image, &["--endpoint-lag", "1s"]),
        )
    })
    .await
    .expect("joins");

    let (code, report, stderr) = covered;
    let rollout = &report["scenarios"][0]["rollout"];
    assert_eq!(code, Some(0), "{report:#}\n{stderr}");
    assert_eq!(rollout["lost"], 0, "{report:#}");
    assert_eq!(rollout["replica_count"], 2, "{report:#}");
    assert_eq!(
        rollout["replicas"].as_array().map(Vec::len),
        Some(4),
        "{report:#}"
    );
    assert_eq!(rollout["pre_stop"]["sleep_ms"], 2000, "{report:#}");
    // The balancer health-checks a server it cannot read, as a readiness probe would.
    assert_eq!(rollout["balancer"]["checks"], true, "{report:#}");

    let (code, report, stderr) = bare;
    let lost = report["scenarios"][0]["rollout"]["lost"]
        .as_u64()
        .unwrap_or(0);
    assert_eq!(code, Some(1), "{report:#}\n{stderr}");
    assert!(lost > 0, "{report:#}");
}
