//! The second engine: the matrix's subset, the experiment and runtime cells on Podman's
//! Docker-compatible API, `check` on a real server there, and what `--engine` says when the
//! wrong engine answers.
//!
//! Needs Podman's API service: CONTAINER_HOST's (`.ci/run` starts one), else one the tests start
//! themselves (`common::podman_endpoint`).

#[path = "../../harness/tests/common/mod.rs"]
mod common;

use std::time::Duration;

use assert_cmd::cargo::cargo_bin_cmd;
use serde_json::Value;
use shutdown_harness::reproduce::{self, Timings};
use shutdown_harness::{
    EngineKind, EventKind, Outcome, RunOptions, default_jobs_on, images, report,
};

use common::{
    assert_no_managed_container_of_on, assert_run_left_nothing_on, failed_report, matrix_subset,
    named, podman, podman_endpoint, scenario, workspace,
};

/// Runtime cells run on Podman too: a graceful node, nginx's graceful stop, gunicorn draining.
const RUNTIMES_SUBSET: [&str; 3] = [
    "node/exec-form/graceful",
    "nginx/stop-SIGQUIT",
    "gunicorn/graceful-timeout-longer",
];

#[tokio::test]
async fn the_matrix_subset_and_the_experiment_hold_on_podman() {
    let engine = podman().await;
    assert_eq!(engine.info().kind, EngineKind::Podman);
    let mut scenarios = matrix_subset();
    scenarios.extend(reproduce::scenarios(Timings::fast()));
    // The runtimes people ship, forged into Podman's own image store.
    scenarios.extend(named(&RUNTIMES_SUBSET));
    let options = RunOptions {
        jobs: default_jobs_on(EngineKind::Podman),
        ..RunOptions::new(Some(workspace()))
    };
    let results = shutdown_harness::run_scenarios(Some(&engine), &scenarios, &options, &mut ())
        .await
        .expect("the run completes");
    assert_run_left_nothing_on(&engine, &options.run_id).await;
    let report = report::human::render(&results);
    // The same files, the same expectations: no cell of the subset differs between engines.
    assert!(results.passed(), "{}", failed_report(&results));
    assert_eq!(
        results.engine.as_ref().map(|e| e.kind),
        Some(EngineKind::Podman)
    );

    // Podman sends no `kill` event: the stop's beginning is read off the container's state,
    // and the request after the stop is timed from it, so on the shell form it is sent (and
    // served) long before the SIGKILL at the end of the grace period.
    let shell = scenario(&results, "container/shell-form");
    let timeline = &shell.observation.timeline;
    assert!(
        timeline
            .iter()
            .any(|e| matches!(e.kind, EventKind::StopBegan { .. })),
        "{report}"
    );
    assert!(
        !timeline
            .iter()
            .any(|e| matches!(e.kind, EventKind::SignalSent { .. })),
        "{report}"
    );
    let observation = &shell.observation;
    let lag = observation
        .signal_sent_ms
        .expect("the stop's beginning was seen")
        - observation.stop_issued_ms.expect("the stop was issued");
    assert!(
        (0..1000).contains(&lag),
        "stopping seen {lag} ms after the stop: {report}"
    );
    let after = observation.request("after-stop").expect("sent");
    assert_eq!(after.outcome, Outcome::Ok, "{report}");
    let stop_returned = observation.stop_issued_ms.unwrap()
        + i64::try_from(observation.stop_duration.unwrap().as_millis()).unwrap();
    assert!(
        after.sent_ms < stop_returned - 1000,
        "the late request waited for the stop to return: {report}"
    );
}

#[tokio::test]
async fn check_runs_on_podman_and_says_so_in_its_report() {
    let engine = podman().await;
    let image = images::nginx_image(&engine)
        .await
        .expect("nginx forges on Podman");
    let output = tokio::task::spawn_blocking({
        let image = image.clone();
        move || {
            cargo_bin_cmd!("shutdown-harness")
                .env("CONTAINER_HOST", podman_endpoint())
                .args(["--engine", "podman", "check", "--image", &image])
                .args(["--port", "8080", "--path", "/slow", "--ready-path", "/"])
                .args([
                    "--requests",
                    "2",
                    "--stop-timeout",
                    "8",
                    "--signal",
                    "SIGQUIT",
                ])
                .args([
                    "--stop-after",
                    "1s",
                    "--after-stop",
                    "1500ms",
                    "--format",
                    "json",
                ])
                .timeout(Duration::from_secs(120))
                .output()
                .expect("the binary runs")
        }
    })
    .await
    .expect("joins");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // nginx's graceful shutdown (SIGQUIT) drains on Podman as on Docker.
    assert_eq!(
        output.status.code(),
        Some(0),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    let report: Value = serde_json::from_str(&stdout).expect("stdout is JSON");
    assert_eq!(report["engine"]["kind"], "podman", "{stdout}");
    assert_eq!(report["engine"]["api_version"], "1.41", "{stdout}");
    assert_no_managed_container_of_on(&engine, &image).await;
}

#[test]
fn asking_for_docker_where_podman_answers_is_a_usage_error() {
    let output = cargo_bin_cmd!("shutdown-harness")
        .env("DOCKER_HOST", podman_endpoint())
        .args(["--engine", "docker", "clean"])
        .timeout(Duration::from_secs(60))
        .output()
        .expect("the binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("is podman, not docker"), "{stderr}");
    assert!(stderr.contains("DOCKER_HOST"), "{stderr}");
}

#[test]
fn an_unknown_engine_is_refused_with_the_known_ones() {
    let output = cargo_bin_cmd!("shutdown-harness")
        .args(["--engine", "containerd", "clean"])
        .output()
        .expect("the binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("use docker or podman"), "{stderr}");
}

/// A rollout on Podman beside Docker: its network's bridge is let through Docker's firewall for
/// the run (one DOCKER-USER rule), the replicas lose the stale window's share as on Docker, and
/// the rule goes with the network.
#[tokio::test]
async fn a_rollout_runs_on_podman_beside_docker_and_leaves_no_firewall_rule() {
    let engine = podman().await;
    let options = RunOptions {
        jobs: default_jobs_on(EngineKind::Podman),
        ..RunOptions::new(Some(workspace()))
    };
    let results = shutdown_harness::run_scenarios(
        Some(&engine),
        &named(&["rollout/no-pre-stop/lag-1s"]),
        &options,
        &mut (),
    )
    .await
    .expect("the run completes");
    assert_run_left_nothing_on(&engine, &options.run_id).await;
    let report = report::human::render(&results);
    assert!(results.passed(), "{}", failed_report(&results));
    let cell = scenario(&results, "rollout/no-pre-stop/lag-1s");
    let rollout = cell.observation.rollout.as_ref().expect("a rollout");
    let expected = cell
        .scenario
        .rollout
        .as_ref()
        .and_then(|spec| spec.expected_lost_per_replica(100))
        .expect("the formula applies");
    for replica in rollout
        .replicas
        .iter()
        .filter(|r| r.termination_ms.is_some())
    {
        let lost = replica.lost as f64;
        assert!(
            (0.6 * expected..=1.4 * expected).contains(&lost),
            "{} lost {lost}, expected {expected:.1}:\n{report}",
            replica.name
        );
    }
    let networks = engine
        .labelled_networks(&format!(
            "{}={}",
            shutdown_harness::engine::LABEL_RUN,
            options.run_id
        ))
        .await
        .expect("listing networks works");
    assert!(networks.is_empty(), "networks left behind: {networks:?}");
    let rules = std::process::Command::new("iptables")
        .args(["-w", "-S", "DOCKER-USER"])
        .output()
        .expect("iptables runs");
    let rules = String::from_utf8_lossy(&rules.stdout);
    assert!(
        !rules.contains("shutdown-harness"),
        "a firewall rule was left behind:\n{rules}"
    );
}
