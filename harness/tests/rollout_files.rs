//! The `rollout` and `balancer` tables of scenario files: every key reaches the rollout's model
//! with Kubernetes' and HAProxy's meanings, the usual values fill in what is left out, and each
//! mistake is one located line that says what to write. No engine needed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use shutdown_harness::UpdateOrder;
use shutdown_harness::scenario_file::parse;
use shutdown_harness::{Orchestrator, PreStop, Reuse, RolloutSpec, ScenarioFileError};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the harness is in the workspace")
        .to_path_buf()
}

const HEAD: &str = r#"[defaults]
base = "busybox"
variant = "exec-form"
delay = "100ms"
load = { rate = 100, duration = "1s", path = "/?delay=100ms" }
"#;

/// The rollout of the one scenario `body` describes.
fn rollout(body: &str) -> RolloutSpec {
    let text = format!("{HEAD}\n[[scenario]]\nname = \"r\"\nreason = \"x\"\n{body}");
    let path = workspace().join("scenarios/test.toml");
    let scenarios = parse(&workspace(), &path, &text).unwrap_or_else(|e| panic!("{e}"));
    scenarios[0].rollout.clone().expect("a rollout")
}

/// The error lines of the one scenario `body` describes.
fn errors(body: &str) -> Vec<String> {
    let text = format!("{HEAD}\n[[scenario]]\nname = \"r\"\nreason = \"x\"\n{body}");
    let path = workspace().join("scenarios/test.toml");
    match parse(&workspace(), &path, &text) {
        Ok(_) => panic!("expected errors in:\n{body}"),
        Err(ScenarioFileError::Invalid { diagnostics }) => {
            diagnostics.iter().map(ToString::to_string).collect()
        }
        Err(other) => panic!("expected diagnostics, got {other:?}"),
    }
}

fn assert_one(lines: &[String], mentions: &[&str]) {
    assert_eq!(lines.len(), 1, "expected one error, got {lines:#?}");
    assert!(
        lines[0].starts_with("scenarios/test.toml:"),
        "{:?} is not located",
        lines[0]
    );
    for m in mentions {
        assert!(lines[0].contains(m), "{:?} should mention {m:?}", lines[0]);
    }
}

#[test]
fn the_defaults_are_kubernetes_endpoint_model_and_haproxys_usual_values() {
    let spec = rollout("rollout = { replicas = 2 }\nexpect = { lost = 0 }");
    assert_eq!((spec.replicas, spec.replace), (2, 2));
    assert!(
        !spec.address_reuse,
        "every replica gets an address of its own"
    );
    assert_eq!(
        spec.balancer.checks, None,
        "no checks: only the orchestrator removes"
    );
    assert_eq!(spec.balancer.connect_timeout, Duration::from_secs(5));
    assert_eq!(spec.balancer.retries, 3);
    assert_eq!(spec.balancer.retry_on.keywords(), "conn-failure");
    assert_eq!(spec.balancer.reuse, Reuse::Safe);
    assert_eq!(spec.readiness.path, None);
    assert_eq!(spec.readiness.success_threshold, 1);
}

#[test]
fn every_key_reaches_the_model() {
    let spec = rollout(
        r#"rollout = { replicas = 3, replace = 1, pre-stop = { sleep = "2s" }, endpoint-lag = "1s", termination-grace = "5s", address-reuse = true, readiness = { path = "/healthz", initial-delay = "100ms", period = "250ms", timeout = "2s", success-threshold = 2 } }
balancer = { retries = 1, redispatch = true, retry-on = "conn-failure empty-response", reuse = "always", connect-timeout = "1s", keep-alive-timeout = "30s", checks = { inter = "200ms", fall = 2, rise = 1 } }
expect = { lost = "<= 3" }"#,
    );
    assert_eq!((spec.replicas, spec.replace), (3, 1));
    assert_eq!(spec.pre_stop, PreStop::Sleep(Duration::from_secs(2)));
    assert!(spec.address_reuse);
    assert_eq!(spec.readiness.path.as_deref(), Some("/healthz"));
    assert_eq!(spec.readiness.initial_delay, Duration::from_millis(100));
    assert_eq!(spec.readiness.period, Duration::from_millis(250));
    assert_eq!(spec.readiness.timeout, Duration::from_secs(2));
    assert_eq!(spec.readiness.success_threshold, 2);
    let balancer = spec.balancer;
    assert_eq!((balancer.retries, balancer.redispatch), (1, true));
    assert_eq!(balancer.retry_on.keywords(), "conn-failure empty-response");
    assert_eq!(balancer.reuse, Reuse::Always);
    assert_eq!(balancer.connect_timeout, Duration::from_secs(1));
    assert_eq!(balancer.keep_alive_timeout, Duration::from_secs(30));
    let checks = balancer.checks.expect("checks");
    assert_eq!(
        (checks.inter, checks.fall, checks.rise),
        (Duration::from_millis(200), 2, 1)
    );
    // `checks = true` is HAProxy's own timings.
    let on =
        rollout("rollout = { replicas = 2 }\nbalancer = { checks = true }\nexpect = { lost = 0 }");
    assert_eq!(on.balancer.checks.map(|c| c.fall), Some(3));
    // The balancer alone, with a latency to its replicas.
    let alone = rollout(
        "rollout = { replicas = 2, replace = 0 }\nbalancer = { latency = \"10ms\" }\nexpect = { lost = 0 }",
    );
    assert_eq!(alone.replace, 0);
    assert_eq!(alone.balancer.latency, Duration::from_millis(10));
}

#[test]
fn mistakes_are_located_and_say_what_to_write() {
    assert_one(
        &errors("rollout = { replicas = 2, replace = 3 }\nexpect = { lost = 0 }"),
        &["`replace` = 3", "0 to 2"],
    );
    assert_one(
        &errors(
            "rollout = { replicas = 2 }\nbalancer = { retry-on = \"503\" }\nexpect = { lost = 0 }",
        ),
        &["retry-on", "conn-failure"],
    );
    assert_one(
        &errors(
            "rollout = { replicas = 2 }\nbalancer = { checks = { fall = 0 } }\nexpect = { lost = 0 }",
        ),
        &["`fall`", "1 to 100"],
    );
    assert_one(
        &errors(
            "rollout = { replicas = 2, readiness = { period = \"0s\" } }\nexpect = { lost = 0 }",
        ),
        &["`period`", "longer than zero"],
    );
    assert_one(
        &errors(
            "rollout = { replicas = 2, readiness = { path = \"healthz\" } }\nexpect = { lost = 0 }",
        ),
        &["readiness `path`", "/"],
    );
    assert_one(
        &errors(
            "rollout = { replicas = 2 }\nbalancer = { connect-timeout = \"0s\" }\nexpect = { lost = 0 }",
        ),
        &["connect-timeout", "5s"],
    );
    assert_one(
        &errors(
            "rollout = { replicas = 2 }\nbalancer = { latency = \"10ms\" }\nexpect = { lost = 0 }",
        ),
        &["latency", "replace = 0"],
    );
    assert_one(
        &errors("rollout = { replicas = 2 }\nexpect = { lost = 0, load = { lost-draining = 0 } }"),
        &["lost-draining", "rollout"],
    );
    assert_one(
        &errors(
            "rollout = { replicas = 2, readiness = { every = \"1s\" } }\nexpect = { lost = 0 }",
        ),
        &["every"],
    );
}

#[test]
fn a_swarm_rollout_takes_swarm_s_keys_and_the_balancer_s_resolution() {
    let spec = rollout(
        "rollout = { replicas = 3, termination-grace = \"2s\", orchestrator = \"swarm\", update-order = \"stop-first\", parallelism = 2 }\nbalancer = { resolve-every = \"3s\", hold-obsolete = \"4s\" }\nexpect = { lost = 0 }",
    );
    assert_eq!(
        spec.orchestrator,
        Orchestrator::Swarm {
            order: UpdateOrder::StopFirst,
            parallelism: 2
        }
    );
    assert_eq!(spec.replicas, 3);
    assert_eq!(spec.termination_grace, Duration::from_secs(2));
    assert_eq!(spec.balancer.resolve_every, Duration::from_secs(3));
    assert_eq!(spec.balancer.hold_obsolete, Duration::from_secs(4));
    let defaults =
        rollout("rollout = { replicas = 2, orchestrator = \"swarm\" }\nexpect = { lost = 0 }");
    assert_eq!(defaults.orchestrator, Orchestrator::swarm());
    assert_eq!(defaults.balancer.resolve_every, Duration::from_secs(1));
    assert_eq!(
        rollout("rollout = { replicas = 2 }\nexpect = { lost = 0 }").orchestrator,
        Orchestrator::Emulated
    );
}

#[test]
fn a_swarm_rollout_refuses_what_swarm_has_no_equivalent_of_saying_why() {
    for (key, why) in [
        ("endpoint-lag = \"1s\"", "out of DNS"),
        ("pre-stop = { sleep = \"2s\" }", "no hook"),
        ("address-reuse = true", "allocates task addresses"),
        ("readiness = { period = \"1s\" }", "once it runs"),
        ("replace = 1", "replaces every task"),
    ] {
        let lines = errors(&format!(
            "rollout = {{ replicas = 2, orchestrator = \"swarm\", {key} }}\nexpect = {{ lost = 0 }}"
        ));
        assert_one(
            &lines,
            &["no Swarm equivalent", why, "orchestrator = \"swarm\""],
        );
    }
    let lines =
        errors("rollout = { replicas = 2, update-order = \"start-first\" }\nexpect = { lost = 0 }");
    assert_one(&lines, &["update-order", "orchestrator = \"swarm\""]);
    let lines =
        errors("rollout = { replicas = 2, orchestrator = \"nomad\" }\nexpect = { lost = 0 }");
    assert_one(&lines, &["nomad", "emulated", "swarm"]);
    let lines = errors(
        "rollout = { replicas = 2, orchestrator = \"swarm\" }\nbalancer = { checks = true }\nexpect = { lost = 0 }",
    );
    assert_one(&lines, &["checks", "swarm"]);
}
