//! The command line as a user runs it: exit codes, the JSON contract, environment errors.

#[path = "../../harness/tests/common/mod.rs"]
mod common;

use assert_cmd::cargo::cargo_bin_cmd;
use serde_json::Value;

#[test]
fn reproduce_fast_json_follows_the_contract() {
    let output = cargo_bin_cmd!("shutdown-harness")
        .args(["reproduce", "--fast", "--format", "json"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "stdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_str(&stdout).expect("stdout is JSON");
    assert_eq!(report["passed"], true);
    assert!(report["duration_ms"].as_u64().unwrap() > 0);
    let scenarios = report["scenarios"].as_array().unwrap();
    let names: Vec<_> = scenarios
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "process/abrupt",
            "process/graceful",
            "container/shell-form",
            "container/exec-form"
        ]
    );
    for scenario in scenarios {
        for key in [
            "name",
            "passed",
            "image",
            "exit_code",
            "stop_timeout_ms",
            "stop_issued_ms",
            "stop_duration_ms",
            "signal_received",
            "pid1",
            "duration_ms",
            "requests",
            "failures",
        ] {
            assert!(scenario.get(key).is_some(), "{key} missing in {scenario}");
        }
        for request in scenario["requests"].as_array().unwrap() {
            for key in ["name", "outcome", "status", "bytes", "sent_ms", "done_ms"] {
                assert!(request.get(key).is_some(), "{key} missing in {request}");
            }
        }
    }
    let by_name = |name: &str| scenarios.iter().find(|s| s["name"] == name).unwrap();
    let outcome =
        |name: &str, request: usize| by_name(name)["requests"][request]["outcome"].clone();
    let shell = by_name("container/shell-form");
    assert_eq!(outcome("container/shell-form", 1), "ok");
    assert_eq!(shell["exit_code"], 137);
    assert_eq!(shell["signal_received"], false);
    assert_eq!(shell["pid1"]["command"], "/bin/sh -c server");
    let exec = by_name("container/exec-form");
    assert_eq!(outcome("container/exec-form", 0), "ok");
    let after_stop = outcome("container/exec-form", 1);
    assert!(
        ["empty-reply", "reset", "refused"].contains(&after_stop.as_str().unwrap()),
        "{after_stop}"
    );
    assert_eq!(exec["exit_code"], 0);
    assert_eq!(exec["signal_received"], true);
    assert_eq!(by_name("process/abrupt")["image"], Value::Null);
    assert_eq!(by_name("process/abrupt")["pid1"], Value::Null);
}

#[test]
fn unreachable_engine_exits_2_with_one_line_saying_what_to_do() {
    let output = cargo_bin_cmd!("shutdown-harness")
        .args(["reproduce", "--fast"])
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("cannot reach the container engine"),
        "{stderr}"
    );
    assert!(stderr.contains("DOCKER_HOST"), "{stderr}");
    assert!(output.stdout.is_empty());
}

/// A reader that goes away (`list | head -1`) is no crash: the rest of the output is dropped
/// and the command ends as it would have. The pipe is closed before the command has read its
/// scenario files, so its first write already finds no reader.
#[test]
fn a_closed_stdout_is_no_panic() {
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin!("shutdown-harness"))
        .arg("list")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the binary starts");
    drop(child.stdout.take());
    let output = child.wait_with_output().expect("it ends");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn unknown_subcommand_is_a_usage_error() {
    cargo_bin_cmd!("shutdown-harness")
        .arg("reproduse")
        .assert()
        .code(2)
        .stderr(predicates::str::contains("unrecognized subcommand"));
}

/// `run` on the blog pair: one line per scenario and a summary, none wider than 100 columns;
/// with `--format json`, stdout is only the JSON. Standard error is not a terminal here, so it
/// stays empty (no progress display).
#[test]
fn run_prints_one_line_per_scenario_and_json_stays_byte_clean() {
    let human = cargo_bin_cmd!("shutdown-harness")
        .args(["run", "--filter", "blog/*"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&human.stdout);
    assert_eq!(human.status.code(), Some(0), "{stdout}");
    assert!(
        human.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&human.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert!(lines.iter().all(|l| l.chars().count() <= 100), "{stdout}");
    assert!(
        lines[..2].iter().all(|l| l.starts_with("PASS ")),
        "{stdout}"
    );
    assert!(lines[2].starts_with("2 passed, 0 failed"), "{stdout}");

    let json = cargo_bin_cmd!("shutdown-harness")
        .args(["run", "--filter", "blog/*", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(json.status.code(), Some(0));
    assert!(
        json.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&json.stderr)
    );
    let report: Value = serde_json::from_slice(&json.stdout).expect("stdout is only JSON");
    assert_eq!(report["scenarios"].as_array().map(Vec::len), Some(2));
    assert_eq!(report["engine"]["kind"], "docker");
}

/// Bad input is refused before anything runs: exit 2, one line naming the flag and what to
/// write, no panic. No engine is needed to refuse it.
#[test]
fn bad_input_is_one_line_naming_the_flag() {
    let cases: [(&[&str], &str); 7] = [
        (
            &[
                "check",
                "--image",
                "x",
                "--port",
                "1",
                "--startup-timeout",
                "1e20s",
            ],
            "--startup-timeout",
        ),
        (
            &[
                "check",
                "--image",
                "x",
                "--port",
                "1",
                "--stop-timeout",
                "4294967295",
            ],
            "--stop-timeout",
        ),
        (
            &["check", "--image", "x", "--port", "1", "--path", "/a b"],
            "--path",
        ),
        (
            &["check", "--image", "x", "--port", "1", "--path", "slow"],
            "--path",
        ),
        (&["check", "--image", "x", "--port", "70000"], "--port"),
        (
            &[
                "check", "--image", "x", "--port", "1", "--signal", "SIGKILL",
            ],
            "--signal",
        ),
        (
            &["explain", "--image", "x", "--port", "1", "--path", "/a b"],
            "--path",
        ),
    ];
    for (args, flag) in cases {
        let output = cargo_bin_cmd!("shutdown-harness")
            .args(args)
            // No engine at all: the input is refused before any connection.
            .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(flag), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(output.stdout.is_empty(), "{args:?}");
    }
}

/// The library names options in its own words; the command prints the flag to change.
#[test]
fn the_librarys_errors_name_the_flag() {
    // A threshold with no stream: refused by the library, once the engine answers.
    let output = cargo_bin_cmd!("shutdown-harness")
        .args(["check", "--image", "x", "--port", "1", "--max-lost", "5"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--max-lost: a threshold judges the steady stream"),
        "{stderr}"
    );
    assert!(stderr.contains("(--load 200/s)"), "{stderr}");

    // No scenario files named and no checkout to find them in.
    let outside = std::env::temp_dir();
    let output = cargo_bin_cmd!("shutdown-harness")
        .arg("list")
        .current_dir(&outside)
        .env_remove("SHUTDOWN_HARNESS_WORKSPACE")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("or pass --workspace"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

/// `run --html` on two cells of `scenarios/protocols.toml` on the engine: each stream is a lane
/// showing what its client saw, as the JSON report says it: our server's WebSocket closed with
/// 1001, grpcio's call answered through its two-step GOAWAY. About 5 s once the images exist.
#[test]
fn the_html_report_draws_each_stream_as_observed_on_the_engine() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("stream_lanes");
    std::fs::create_dir_all(&dir).unwrap();
    let page = dir.join("report.html");
    let _ = std::fs::remove_file(&page);
    let output = cargo_bin_cmd!("shutdown-harness")
        .args([
            "run",
            "../scenarios/protocols.toml",
            "--filter",
            "{protocols/websocket/graceful,grpcio/exec-form/graceful}",
            "--format",
            "json",
            "--html",
        ])
        .arg(&page)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    let report: Value = serde_json::from_str(&stdout).expect("stdout is JSON");
    let html = std::fs::read_to_string(&page).expect("the HTML report was written");
    let scenarios = report["scenarios"].as_array().unwrap();
    assert_eq!(scenarios.len(), 2, "{stdout}");
    for scenario in scenarios {
        let name = scenario["name"].as_str().unwrap();
        let start = html
            .find(&format!(r#"data-scenario="{name}""#))
            .unwrap_or_else(|| panic!("no section {name}"));
        let section = &html[start..];
        let section = &section[..section.find("</section>").unwrap()];
        let lanes = &section[section
            .find(r#"<svg class="stream-lanes""#)
            .unwrap_or_else(|| panic!("{name}: no stream lanes in:\n{section}"))..];
        // A lane per stream the client observed, with its protocol, end and item count.
        let streams = scenario["streams"].as_array().unwrap();
        assert_eq!(streams.len(), 2, "{name}");
        for stream in streams {
            let lane = format!(
                r#"data-stream="{}" data-protocol="{}" data-end="{}""#,
                stream["name"].as_str().unwrap(),
                stream["protocol"].as_str().unwrap(),
                stream["end"].as_str().unwrap()
            );
            let at = lanes
                .find(&lane)
                .unwrap_or_else(|| panic!("{name}: no {lane}"));
            let received = stream["received"].as_array().unwrap().len();
            assert!(
                lanes[at..].contains(&format!(r#"data-received="{received}""#)),
                "{name}: {lane}"
            );
        }
        let open = streams.iter().find(|s| s["name"] == "open").unwrap();
        let written = {
            let text = &lanes[lanes
                .find(r#"<text class="outcome" data-stream="open""#)
                .unwrap_or_else(|| panic!("{name}: no end written for open"))..];
            let text = &text[..text.find("</text>").unwrap()];
            text[text.find('>').unwrap() + 1..].to_string()
        };
        let lane = &lanes[lanes.find(r#"data-stream="open""#).unwrap()..];
        let lane = &lane[..lane.find(r#"data-stream="late""#).unwrap_or(lane.len())];
        match name {
            "protocols/websocket/graceful" => {
                assert_eq!(open["end"], "closed");
                assert_eq!(open["code"], 1001);
                assert_eq!(written, "close 1001");
                assert!(lane.contains(r#"<g class="smark ending""#), "{lane}");
                assert!(lane.contains("WebSocket close frame at"), "{lane}");
                assert!(lane.contains(": code 1001"), "{lane}");
            }
            _ => {
                assert_eq!(open["status"], "OK");
                assert_eq!(written, "status OK");
                // The cell expects the two steps: the warning, then the GOAWAY naming the call.
                assert_eq!(
                    lane.matches(r#"<g class="smark goaway first""#).count(),
                    1,
                    "{lane}"
                );
                assert!(lane.contains(">GOAWAY 2^31-1</text>"), "{lane}");
                assert!(lane.contains(r#"<g class="smark goaway final""#), "{lane}");
                assert!(
                    lane.contains("the server says streams above it were not processed"),
                    "{lane}"
                );
            }
        }
    }
}
