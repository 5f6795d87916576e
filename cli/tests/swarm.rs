//! Rollouts on a real Docker Swarm: a lossless cell and a lossy one of `scenarios/swarm.toml`,
//! each request attributed from the balancer's log to the task it went to, Swarm's order read
//! from the engine's own facts, and nothing (service, network, balancer) left; and the same
//! cell skipped, saying how to get a swarm, on an engine that is in none (Podman).

#[path = "../../harness/tests/common/mod.rs"]
mod common;

use shutdown_harness::engine::{LABEL_RUN, SwarmState};
use shutdown_harness::{Outcome, RolloutPhase, RunOptions, ScenarioError, report};

use common::{
    assert_run_left_nothing, engine, failed_report, lost_in, named, podman, scenario, swarm,
    workspace,
};

/// Swarm's order, lossless; and a balancer that keeps vanished addresses past the signal.
const CELLS: [&str; 2] = ["swarm/start-first", "swarm/hold-obsolete-4s"];

#[tokio::test]
async fn swarm_s_order_loses_nothing_and_a_balancer_slower_than_it_loses_after_the_signal() {
    let _swarm = swarm().await;
    let engine = engine().await;
    let cells = named(&CELLS);
    let options = RunOptions::new(Some(workspace()));
    let results = shutdown_harness::run_scenarios(Some(&engine), &cells, &options, &mut ())
        .await
        .expect("the run completes");
    let label = format!("{LABEL_RUN}={}", options.run_id);
    assert_run_left_nothing(&options.run_id).await;
    let networks = engine.labelled_networks(&label).await.expect("lists");
    assert!(networks.is_empty(), "networks left behind: {networks:?}");
    let services = engine.labelled_services(&label).await.expect("lists");
    assert!(services.is_empty(), "services left behind: {services:?}");
    let text = report::human::render(&results);
    assert!(results.passed(), "{}", failed_report(&results));

    // Swarm's order: each old task left the balancer's pool (by its own DNS log) before its
    // SIGTERM, which came seconds after Swarm marked it for shutdown; nothing was lost.
    let lossless = scenario(&results, "swarm/start-first")
        .observation
        .rollout
        .as_ref()
        .expect("a rollout was observed");
    assert_eq!(lossless.lost, 0, "{text}");
    assert_eq!(lossless.replicas.len(), 4, "{text}");
    let terminated: Vec<_> = lossless
        .replicas
        .iter()
        .filter(|r| r.termination_ms.is_some())
        .collect();
    assert_eq!(terminated.len(), 2, "{text}");
    for replica in &terminated {
        let began = replica.termination_ms.expect("terminating");
        let signal = replica.signal_ms.expect("signalled");
        let removed = replica.endpoint_removed_ms.expect("left the pool");
        assert!(
            removed < signal,
            "{} left after its signal:\n{text}",
            replica.name
        );
        assert!(signal - began >= 2000, "Swarm waits 2 s after DNS:\n{text}");
        assert_eq!(replica.exit_code, Some(0), "{text}");
        assert!(replica.routed > 0, "{text}");
    }
    // Every replica's requests were given to it by address: the new tasks served too.
    assert!(lossless.replicas.iter().all(|r| r.routed > 0), "{text}");

    // A balancer that keeps a vanished address for 4 s: each old task is still in its pool
    // after its signal, and the losses are that task's, after the signal.
    let lossy = scenario(&results, "swarm/hold-obsolete-4s")
        .observation
        .rollout
        .as_ref()
        .expect("a rollout was observed");
    assert!(lossy.lost > 0, "{text}");
    // Every loss goes to a task (an answered request may lack its log line: that costs nothing).
    assert_eq!(lost_in(lossy, RolloutPhase::Unattributed), 0, "{text}");
    let terminated: Vec<_> = lossy
        .replicas
        .iter()
        .filter(|r| r.termination_ms.is_some())
        .collect();
    assert_eq!(terminated.len(), 2, "{text}");
    for replica in &terminated {
        let signal = replica.signal_ms.expect("signalled");
        let removed = replica.endpoint_removed_ms.expect("left the pool");
        assert!(
            removed > signal,
            "{} left before its signal:\n{text}",
            replica.name
        );
    }
    for request in lossy.requests.iter().filter(|r| r.outcome != Outcome::Ok) {
        let replica = request.replica.as_deref().expect("attributed");
        assert!(
            terminated.iter().any(|r| r.name == replica),
            "a loss on {replica}, which was not terminated:\n{text}"
        );
        // Sent after the signal, or an instant before it and connected after the listener
        // closed (the signal's moment is the engine's event, the request's the harness's).
        let signal = terminated
            .iter()
            .find(|r| r.name == replica)
            .and_then(|r| r.signal_ms)
            .expect("signalled");
        assert!(
            request.sent_ms >= signal - 200
                || matches!(
                    request.phase,
                    RolloutPhase::Draining | RolloutPhase::StaleEndpoint
                ),
            "a loss {} ms before the signal ({:?}):\n{text}",
            signal - request.sent_ms,
            request.phase
        );
    }
}

#[tokio::test]
async fn without_a_swarm_the_cell_is_skipped_with_how_to_get_one() {
    let engine = podman().await;
    assert_eq!(
        engine.swarm_state().await.expect("Podman answers"),
        SwarmState::Inactive
    );
    let cells = named(&CELLS[..1]);
    let options = RunOptions::new(Some(workspace()));
    let results = shutdown_harness::run_scenarios(Some(&engine), &cells, &options, &mut ())
        .await
        .expect("the run completes");
    let result = &results.scenarios[0];
    assert!(result.skipped(), "{}", failed_report(&results));
    assert!(!result.passed());
    // Skipped is neither passed nor failed: the run is not an error, and it said why.
    assert!(results.passed() && !results.errored());
    let Some(error) = result.error.as_deref() else {
        panic!("a skipped cell says why");
    };
    assert!(
        matches!(
            error.as_error().downcast_ref(),
            Some(ScenarioError::NoSwarm { .. })
        ),
        "{error}"
    );
    let said = error.to_string();
    assert!(said.contains("not in a swarm"), "{said}");
    assert!(said.contains("shutdown-harness swarm init"), "{said}");
    let line = report::line::line(result, 0);
    assert!(line.starts_with("SKIP"), "{line}");
    let summary = report::human::summary_line(&results);
    assert!(
        summary.starts_with("0 passed, 0 failed, 1 skipped in "),
        "{summary}"
    );
}

#[test]
fn check_refuses_the_emulation_s_flags_on_a_swarm_rollout_naming_the_flag() {
    let output = assert_cmd::cargo::cargo_bin_cmd!("shutdown-harness")
        .args(["check", "--image", "any", "--port", "1202", "--rollout"])
        .args(["--orchestrator", "swarm", "--pre-stop-sleep", "2s"])
        .timeout(std::time::Duration::from_secs(30))
        .output()
        .expect("the binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--pre-stop-sleep"), "{stderr}");
    assert!(stderr.contains("no Swarm equivalent"), "{stderr}");
}

#[tokio::test]
async fn a_killed_swarm_rollout_is_reaped_with_its_service_and_network_by_clean() {
    let _swarm = swarm().await;
    let engine = engine().await;
    let events = std::env::temp_dir().join(format!("swarm-killed-{}.jsonl", std::process::id()));
    let scenarios = workspace().root().join("scenarios/swarm.toml");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin!("shutdown-harness"))
        .arg("run")
        .arg(&scenarios)
        .args(["--filter", "swarm/start-first", "--events"])
        .arg(&events)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the harness starts");
    let pid = child.id();
    // Killed once a task is in the balancer's pool: its service, network and balancer exist.
    let in_pool = async {
        loop {
            let text = tokio::fs::read_to_string(&events).await.unwrap_or_default();
            if text.contains("\"replica-in-pool\"") {
                return;
            }
            // A file has no notification here: read it again shortly (bounded below).
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(120), in_pool)
        .await
        .expect("a task entered the pool");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("killed");
    let _ = child.wait();
    let _ = std::fs::remove_file(&events);
    let owned_by = |labels: &std::collections::HashMap<String, String>| {
        labels
            .get(shutdown_harness::engine::LABEL_OWNER)
            .is_some_and(|o| o.contains(&format!("/{pid}/")))
    };
    let managed = shutdown_harness::engine::LABEL_MANAGED;
    let services = engine.labelled_services(managed).await.expect("lists");
    assert!(
        services.iter().any(|s| owned_by(&s.labels)),
        "a SIGKILLed run cannot clean up: {services:?}"
    );

    let clean = std::process::Command::new(assert_cmd::cargo::cargo_bin!("shutdown-harness"))
        .arg("clean")
        .output()
        .expect("clean runs");
    let stdout = String::from_utf8_lossy(&clean.stdout);
    assert!(
        clean.status.success(),
        "{}",
        String::from_utf8_lossy(&clean.stderr)
    );
    assert!(stdout.contains("1 Swarm service(s)"), "{stdout}");
    let services = engine.labelled_services(managed).await.expect("lists");
    assert!(
        !services.iter().any(|s| owned_by(&s.labels)),
        "{services:?}"
    );
    let networks = engine.labelled_networks(managed).await.expect("lists");
    assert!(
        !networks.iter().any(|n| owned_by(&n.labels)),
        "{networks:?}"
    );
    let containers = engine.labelled_containers(managed).await.expect("lists");
    assert!(
        !containers.iter().any(|c| owned_by(&c.labels)),
        "{containers:?}"
    );
}
