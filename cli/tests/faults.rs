//! Faults on the real engine, as a user meets them: the harness stopped by SIGINT, SIGTERM or
//! SIGHUP at a dozen moments of a run, killed outright, a container removed or killed from
//! outside, the engine's connection cut mid-run. Each asserts what the user gets (exit code,
//! one clear line) and that nothing labelled `shutdown-harness.managed` is left.
//!
//! The moments are facts, not times: the harness writes its events as they happen
//! (`--events FILE`), and the signal goes out when the wanted one is there.

#[path = "../../harness/tests/common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;
use shutdown_harness::engine::{LABEL_MANAGED, LABEL_OWNER, LabelledContainer, Owner};
use shutdown_harness::images::build_variant_images;
use shutdown_harness::{Base, Variant};
use tokio::net::{UnixListener, UnixStream};
use tokio::process::{Child, Command};
use tokio::task::JoinSet;

use common::engine;

/// One fault at a time: each asserts that nothing managed is left anywhere.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
/// The longest a moment may take to come, or the harness to exit.
const LIMIT: Duration = Duration::from_secs(120);

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/faults")
        .join(name)
}

/// A file of this test process's own, in the temporary directory.
fn temp_file(stem: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    std::env::temp_dir().join(format!(
        "shutdown-harness-faults-{}-{n}-{stem}",
        std::process::id()
    ))
}

/// The harness running in the background, writing its events to a file.
struct Harness {
    child: Child,
    events: PathBuf,
}

impl Harness {
    /// `shutdown-harness run <fixture> --events FILE <args>` with `env`.
    fn run(fixture_name: &str, args: &[&str], env: &[(&str, &str)]) -> Harness {
        let fixture = fixture(fixture_name);
        let mut all = vec!["run", fixture.to_str().unwrap_or_default()];
        all.extend_from_slice(args);
        Harness::spawn(&all, env)
    }

    /// `shutdown-harness <args> --events FILE` with `env`.
    fn spawn(args: &[&str], env: &[(&str, &str)]) -> Harness {
        let events = temp_file("events.jsonl");
        let child = Command::new(assert_cmd::cargo::cargo_bin!("shutdown-harness"))
            .args(args)
            .arg("--events")
            .arg(&events)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("the harness starts");
        Harness { child, events }
    }

    fn pid(&self) -> u32 {
        self.child.id().expect("it runs")
    }

    /// Waits until an event matching `wanted` was written; returns it.
    async fn event(&self, what: &str, wanted: impl Fn(&Value) -> bool) -> Value {
        let found = async {
            loop {
                let text = tokio::fs::read_to_string(&self.events)
                    .await
                    .unwrap_or_default();
                if let Some(event) = text
                    .lines()
                    .filter_map(|line| serde_json::from_str::<Value>(line).ok())
                    .find(|event| wanted(event))
                {
                    return event;
                }
                // A file has no notification here: read it again shortly (bounded by LIMIT).
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        tokio::time::timeout(LIMIT, found)
            .await
            .unwrap_or_else(|_| panic!("no `{what}` event within {LIMIT:?}"))
    }

    fn signal(&self, signal: Signal) {
        kill(Pid::from_raw(self.pid() as i32), signal).expect("the signal is sent");
    }

    /// Waits for the exit: (code, stdout, stderr).
    async fn finish(self) -> (Option<i32>, String, String) {
        let output = tokio::time::timeout(LIMIT, self.child.wait_with_output())
            .await
            .expect("the harness exits in time")
            .expect("its output is read");
        let _ = std::fs::remove_file(&self.events);
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }
}

/// Every container labelled managed, whichever run made it.
async fn managed() -> Vec<LabelledContainer> {
    engine()
        .await
        .labelled_containers(LABEL_MANAGED)
        .await
        .expect("listing containers works")
}

/// The managed containers made by process `pid`.
async fn made_by(pid: u32) -> Vec<LabelledContainer> {
    managed()
        .await
        .into_iter()
        .filter(|c| {
            c.labels
                .get(LABEL_OWNER)
                .and_then(|o| Owner::parse(o))
                .is_some_and(|o| o.pid == pid)
        })
        .collect()
}

/// Asserts that nothing managed is left, removing it if it is (so one failure does not spill
/// into the next test).
async fn assert_nothing_left(context: &str) {
    let engine = engine().await;
    let left = managed().await;
    if !left.is_empty() {
        let _ = engine.remove_labelled_containers(LABEL_MANAGED).await;
    }
    let networks = engine
        .labelled_networks(LABEL_MANAGED)
        .await
        .expect("listing networks works");
    if !networks.is_empty() {
        let _ = engine.remove_labelled_networks(LABEL_MANAGED).await;
    }
    let names: Vec<&str> = left.iter().map(|c| c.name.as_str()).collect();
    assert!(left.is_empty(), "{context}: left behind: {names:?}");
    let names: Vec<&str> = networks.iter().map(|n| n.name.as_str()).collect();
    assert!(
        networks.is_empty(),
        "{context}: networks left behind: {names:?}"
    );
}

/// The moments of a run a signal is sent at, each the first event of that kind.
const MOMENTS: [&str; 12] = [
    "server-building",
    "image-started",
    "run-started",
    "scenario-started",
    "started",
    "ready",
    "request-sent",
    "server-log",
    "stop-issued",
    "signal-sent",
    "exited",
    "scenario-finished",
];

/// Stops a run of three scenarios (one at a time, so that each moment has a run after it)
/// with `signal` at `moment`, and checks what the user gets.
async fn stop_at(moment: &str, signal: Signal) {
    let json = temp_file("report.json");
    let harness = Harness::run(
        "three.toml",
        &[
            "--jobs",
            "1",
            "--json-output",
            json.to_str().unwrap_or_default(),
        ],
        &[],
    );
    harness.event(moment, |e| e["event"] == moment).await;
    harness.signal(signal);
    let (code, stdout, stderr) = harness.finish().await;
    let _ = std::fs::remove_file(&json);
    let context = format!("{signal} at {moment}:\nstdout:\n{stdout}\nstderr:\n{stderr}");
    assert_eq!(code, Some(128 + signal as i32), "{context}");
    let name = signal.as_str();
    assert!(stderr.contains(&format!("{name}: stopping")), "{context}");
    assert!(
        stderr.contains(&format!("{name}: removed"))
            || stderr.contains(&format!("{name}: nothing")),
        "{context}"
    );
    assert!(!stderr.contains("panicked"), "{context}");
    assert_nothing_left(&context).await;
}

#[tokio::test]
async fn sigint_at_four_moments_removes_everything() {
    let _serial = SERIAL.lock().await;
    for moment in &MOMENTS[0..4] {
        stop_at(moment, Signal::SIGINT).await;
    }
}

#[tokio::test]
async fn sigterm_at_four_moments_removes_everything() {
    let _serial = SERIAL.lock().await;
    for moment in &MOMENTS[4..8] {
        stop_at(moment, Signal::SIGTERM).await;
    }
}

#[tokio::test]
async fn sighup_at_four_moments_removes_everything() {
    let _serial = SERIAL.lock().await;
    for moment in &MOMENTS[8..12] {
        stop_at(moment, Signal::SIGHUP).await;
    }
}

#[tokio::test]
async fn check_interrupted_with_requests_in_flight_removes_its_container() {
    let _serial = SERIAL.lock().await;
    let pair = (Variant::ExecForm, Base::Dash);
    let images = build_variant_images(&engine().await, &common::workspace(), &[pair])
        .await
        .expect("the image builds");
    let harness = Harness::spawn(
        &[
            "check",
            "--image",
            &images[&pair],
            "--port",
            "1202",
            "--path",
            "/?delay=5s",
        ],
        &[],
    );
    harness
        .event("request-sent", |e| e["event"] == "request-sent")
        .await;
    harness.signal(Signal::SIGINT);
    let (code, stdout, stderr) = harness.finish().await;
    assert_eq!(code, Some(130), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(
        stderr.contains("SIGINT: removed 1 container(s)"),
        "{stderr}"
    );
    assert_nothing_left(&stderr).await;
}

#[tokio::test]
async fn a_rollout_stopped_mid_termination_removes_its_balancer_replicas_and_network() {
    let _serial = SERIAL.lock().await;
    let harness = Harness::run("rollout.toml", &[], &[]);
    harness
        .event("termination-began", |e| e["event"] == "termination-began")
        .await;
    harness.signal(Signal::SIGTERM);
    let (code, stdout, stderr) = harness.finish().await;
    assert_eq!(code, Some(143), "stdout:\n{stdout}\nstderr:\n{stderr}");
    // The balancer, the two replicas and the first replacement.
    assert!(
        stderr.contains("SIGTERM: removed 4 container(s)"),
        "{stderr}"
    );
    assert_nothing_left(&stderr).await;
}

#[tokio::test]
async fn a_killed_rollout_is_reaped_with_its_network_by_the_next_invocation() {
    let _serial = SERIAL.lock().await;
    let harness = Harness::run("rollout.toml", &[], &[]);
    harness
        .event("replica-in-pool", |e| e["event"] == "replica-in-pool")
        .await;
    let pid = harness.pid();
    harness.signal(Signal::SIGKILL);
    let (code, _, _) = harness.finish().await;
    assert_eq!(code, None, "killed by a signal");
    assert!(
        !made_by(pid).await.is_empty(),
        "a SIGKILLed run cannot clean up"
    );

    let clean = std::process::Command::new(assert_cmd::cargo::cargo_bin!("shutdown-harness"))
        .arg("clean")
        .output()
        .expect("clean runs");
    let stdout = String::from_utf8_lossy(&clean.stdout);
    let stderr = String::from_utf8_lossy(&clean.stderr);
    assert!(clean.status.success(), "{stderr}");
    assert!(stdout.contains("1 network(s)"), "{stdout}");
    assert!(made_by(pid).await.is_empty());
    assert_nothing_left(&stderr).await;
}

#[tokio::test]
async fn a_second_signal_during_the_cleanup_exits_at_once_and_names_clean() {
    let _serial = SERIAL.lock().await;
    // The long scenario's container is in its 8 s request: the cleanup has a stop to wait for.
    let harness = Harness::run("long.toml", &[], &[]);
    harness.event("ready", |e| e["event"] == "ready").await;
    harness.signal(Signal::SIGTERM);
    harness.signal(Signal::SIGTERM);
    let pid = harness.pid();
    let (code, _, stderr) = harness.finish().await;
    assert_eq!(code, Some(143), "{stderr}");
    // Whether the cleanup won the race or the second signal did, the user is told what to do
    // when something may be left.
    if stderr.contains("again: exiting at once") {
        assert!(stderr.contains("shutdown-harness clean"), "{stderr}");
        // What was left belongs to a process that is gone: the next invocation reaps it.
        let clean = std::process::Command::new(assert_cmd::cargo::cargo_bin!("shutdown-harness"))
            .arg("clean")
            .output()
            .expect("clean runs");
        assert!(clean.status.success());
    }
    assert!(made_by(pid).await.is_empty(), "{stderr}");
    assert_nothing_left(&stderr).await;
}

#[tokio::test]
async fn killed_with_sigkill_its_containers_are_reaped_by_the_next_invocation() {
    let _serial = SERIAL.lock().await;
    let harness = Harness::run("long.toml", &[], &[]);
    harness.event("ready", |e| e["event"] == "ready").await;
    let pid = harness.pid();
    harness.signal(Signal::SIGKILL);
    let (code, _, _) = harness.finish().await;
    assert_eq!(code, None, "killed by a signal");
    let left = made_by(pid).await;
    assert_eq!(left.len(), 1, "a SIGKILLed run cannot clean up: {left:?}");

    let clean = std::process::Command::new(assert_cmd::cargo::cargo_bin!("shutdown-harness"))
        .arg("clean")
        .output()
        .expect("clean runs");
    let stderr = String::from_utf8_lossy(&clean.stderr);
    assert!(clean.status.success(), "{stderr}");
    assert!(stderr.contains("whose process is gone"), "{stderr}");
    assert!(made_by(pid).await.is_empty());
    assert_nothing_left(&stderr).await;
}

#[tokio::test]
async fn a_live_run_is_never_reaped() {
    let _serial = SERIAL.lock().await;
    let harness = Harness::run("long.toml", &[], &[]);
    harness.event("ready", |e| e["event"] == "ready").await;
    let pid = harness.pid();

    let clean = std::process::Command::new(assert_cmd::cargo::cargo_bin!("shutdown-harness"))
        .arg("clean")
        .output()
        .expect("clean runs");
    assert!(clean.status.success());
    assert_eq!(made_by(pid).await.len(), 1, "clean left the live run alone");

    let (code, stdout, stderr) = harness.finish().await;
    assert_eq!(
        code,
        Some(0),
        "the live run went on and passed:\n{stdout}\n{stderr}"
    );
    assert_nothing_left(&stdout).await;
}

/// Runs the three scenarios at once and does `fault` to the first one's container once it is
/// ready; returns the exit code and the JSON report.
async fn fault_one_container(fault: &str) -> (Option<i32>, Value, String) {
    let harness = Harness::run("three.toml", &["--format", "json"], &[]);
    harness
        .event("ready of faults/one", |e| {
            e["event"] == "ready" && e["scenario"] == "faults/one"
        })
        .await;
    let engine = engine().await;
    let container = made_by(harness.pid())
        .await
        .into_iter()
        // Plan order is file order: faults/one is scenario 0.
        .find(|c| c.name.ends_with("-0"))
        .expect("faults/one's container exists");
    match fault {
        "remove" => {
            engine
                .remove_container(&container.id)
                .await
                .expect("removed");
        }
        _ => engine
            .kill_container(&container.id, "SIGKILL")
            .await
            .expect("killed"),
    }
    let (code, stdout, stderr) = harness.finish().await;
    let report: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("stdout is JSON ({e}):\n{stdout}\n{stderr}"));
    (code, report, stderr)
}

fn scenario<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["scenarios"]
        .as_array()
        .and_then(|all| all.iter().find(|s| s["name"] == name))
        .unwrap_or_else(|| panic!("no {name} in {report}"))
}

#[tokio::test]
async fn a_container_removed_from_outside_fails_its_scenario_and_the_others_go_on() {
    let _serial = SERIAL.lock().await;
    let (code, report, stderr) = fault_one_container("remove").await;
    let one = scenario(&report, "faults/one");
    assert_eq!(one["passed"], false, "{report}");
    let failures = one["failures"].to_string();
    assert!(
        failures.contains("removed") || failures.contains("gone"),
        "{failures}"
    );
    for other in ["faults/two", "faults/three"] {
        assert_eq!(scenario(&report, other)["passed"], true, "{report}");
    }
    // A scenario that could not run to its end is an environment error.
    assert_eq!(code, Some(2), "{stderr}");
    assert_nothing_left(&stderr).await;
}

#[tokio::test]
async fn a_container_killed_from_outside_fails_its_scenario_and_the_others_go_on() {
    let _serial = SERIAL.lock().await;
    let (code, report, stderr) = fault_one_container("kill").await;
    let one = scenario(&report, "faults/one");
    assert_eq!(one["passed"], false, "{report}");
    let failures = one["failures"].to_string();
    assert!(failures.contains("before the stop"), "{failures}");
    for other in ["faults/two", "faults/three"] {
        assert_eq!(scenario(&report, other)["passed"], true, "{report}");
    }
    assert_eq!(code, Some(1), "{stderr}");
    assert_nothing_left(&stderr).await;
}

/// A Unix-socket relay in front of the engine's socket, which the test can cut.
struct Relay {
    path: PathBuf,
    tasks: Arc<std::sync::Mutex<JoinSet<()>>>,
}

impl Relay {
    /// Relays `path` to the engine's socket until cut.
    fn start(path: &Path) -> Relay {
        let _ = std::fs::remove_file(path);
        let listener = UnixListener::bind(path).expect("the relay binds");
        let tasks = Arc::new(std::sync::Mutex::new(JoinSet::new()));
        let accepting = Arc::clone(&tasks);
        tasks.lock().expect("not poisoned").spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let relay = async move {
                    if let Ok(mut engine) = UnixStream::connect("/var/run/docker.sock").await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut engine).await;
                    }
                };
                accepting.lock().expect("not poisoned").spawn(relay);
            }
        });
        Relay {
            path: path.to_path_buf(),
            tasks,
        }
    }

    /// Closes the socket and every connection through it.
    fn cut(self) {
        self.tasks.lock().expect("not poisoned").abort_all();
        let _ = std::fs::remove_file(&self.path);
    }

    fn docker_host(&self) -> String {
        format!("unix://{}", self.path.display())
    }
}

#[tokio::test]
async fn the_engine_lost_mid_run_is_one_line_and_the_next_invocation_leaves_nothing() {
    let _serial = SERIAL.lock().await;
    assert_nothing_left("before the test").await;
    let socket = temp_file("engine.sock");
    let relay = Relay::start(&socket);
    let host = relay.docker_host();
    let harness = Harness::run("three.toml", &[], &[("DOCKER_HOST", host.as_str())]);
    harness.event("ready", |e| e["event"] == "ready").await;
    let pid = harness.pid();
    relay.cut();
    let (code, stdout, stderr) = harness.finish().await;
    let context = format!("stdout:\n{stdout}\nstderr:\n{stderr}");
    assert_eq!(code, Some(2), "{context}");
    assert_eq!(stderr.trim().lines().count(), 1, "{context}");
    assert!(stderr.contains("lost the container engine"), "{context}");
    assert!(stderr.contains("shutdown-harness clean"), "{context}");
    assert!(
        !made_by(pid).await.is_empty(),
        "the engine never heard the stop"
    );

    // The engine is reachable again: the next invocation removes what the lost run left.
    // Asynchronously: the relay is served by this test's own runtime.
    let relay = Relay::start(&socket);
    let clean = Command::new(assert_cmd::cargo::cargo_bin!("shutdown-harness"))
        .arg("clean")
        .env("DOCKER_HOST", relay.docker_host())
        .output();
    let clean = tokio::time::timeout(LIMIT, clean)
        .await
        .expect("clean ends in time")
        .expect("clean runs");
    relay.cut();
    let clean_stderr = String::from_utf8_lossy(&clean.stderr);
    assert!(clean.status.success(), "{clean_stderr}");
    assert!(made_by(pid).await.is_empty(), "{clean_stderr}");
    assert_nothing_left(&context).await;
}
