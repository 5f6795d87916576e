//! The HTML report as a browser renders it: real results of the experiment's bare-process
//! scenarios (no engine needed), and a rollout judged from events made up here, rendered by
//! headless Chromium, asserted on its DOM and its screenshot.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use shutdown_harness::report::{Format, render};
use shutdown_harness::reproduce::{Timings, scenarios};
use shutdown_harness::{
    BalancerRecord, ClientProfile, Connection, Event, EventKind, LoadRecord, LoadSpec, Outcome,
    RolloutSpec, RunOptions, RunResults, Scenario, StopSignal, Target, Workspace, judge,
};

/// Chromium renders a small page in about two seconds here; past this it is stuck.
const CHROMIUM_DEADLINE: Duration = Duration::from_secs(60);

#[tokio::test]
async fn the_html_report_shows_each_scenario_s_timeline_in_a_browser() {
    let chromium = chromium();
    let results = process_results().await;
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("html_report");
    std::fs::create_dir_all(&dir).unwrap();
    let page = dir.join("report.html");
    std::fs::write(&page, render(&results, Format::Html)).unwrap();
    let url = format!("file://{}", page.display());

    let dom = run_chromium(&chromium, &["--dump-dom", &url]).await;
    let dom = String::from_utf8_lossy(&dom);
    assert_eq!(
        dom.matches(r#"class="timeline""#).count(),
        results.scenarios.len(),
        "one timeline per scenario in:\n{dom}"
    );
    assert_no_shape_is_left_open(&dom);
    for result in &results.scenarios {
        let name = &result.scenario.name;
        let section = section(&dom, name);
        assert_eq!(section.matches(r#"class="timeline""#).count(), 1, "{name}");
        // Every request is a bar carrying its outcome, with the outcome written beside it.
        for request in &result.observation.requests {
            let word = request.outcome.name();
            assert!(
                section.contains(&format!(r#"data-outcome="{word}""#)),
                "{name}: no bar for {} ({word}) in:\n{section}",
                request.name
            );
            assert!(
                section.contains(&format!(">{word}</text>")),
                "{name}: no label {word} in:\n{section}"
            );
        }
        // The stop and the exit are marked; the server's lines are there to hover.
        let code = result.observation.exit_code.unwrap();
        assert!(
            section.contains("SIGTERM sent</text>"),
            "{name}:\n{section}"
        );
        assert!(section.contains(&format!("exit {code}</text>")), "{name}");
        assert!(
            section.contains("Receive Request"),
            "{name}: server log missing"
        );
    }
    // The experiment's outcomes: the graceful server answers, the abrupt one cuts its request,
    // and nothing is served once the listener is closed.
    assert!(dom.contains(">ok</text>"));
    assert!(dom.contains(">refused</text>"));
    assert!(dom.contains(">empty-reply</text>") || dom.contains(">reset</text>"));

    let png = dir.join("report.png");
    let _ = std::fs::remove_file(&png);
    let screenshot = format!("--screenshot={}", png.display());
    run_chromium(
        &chromium,
        &[
            "--hide-scrollbars",
            "--window-size=1200,1600",
            &screenshot,
            &url,
        ],
    )
    .await;
    let bytes =
        std::fs::read(&png).unwrap_or_else(|e| panic!("no screenshot {}: {e}", png.display()));
    assert!(
        bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "{} is not a PNG",
        png.display()
    );
}

#[tokio::test]
async fn a_rollout_has_a_lane_per_replica_in_a_browser() {
    let chromium = chromium();
    let results = rollout_results();
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("html_report");
    std::fs::create_dir_all(&dir).unwrap();
    let page = dir.join("rollout.html");
    std::fs::write(&page, render(&results, Format::Html)).unwrap();
    let url = format!("file://{}", page.display());

    let dom = run_chromium(&chromium, &["--dump-dom", &url]).await;
    let dom = String::from_utf8_lossy(&dom);
    assert_no_shape_is_left_open(&dom);
    let result = &results.scenarios[0];
    let section = section(&dom, &result.scenario.name);
    let rollout = result
        .observation
        .rollout
        .as_ref()
        .expect("the fold saw a rollout");
    assert_eq!(
        rollout.replicas.len(),
        4,
        "two replicas and their replacements"
    );
    assert_eq!(section.matches(r#"class="rollout-lanes""#).count(), 1);
    assert_eq!(
        section.matches(r#"<g class="lane""#).count(),
        rollout.replicas.len(),
        "a lane per replica and none for unattributed requests: the balancer named a replica \
         for each"
    );
    for replica in &rollout.replicas {
        let lane = format!(
            r#"data-lane="{0}" data-replica="{0}" data-routed="{1}" data-lost="{2}""#,
            replica.name, replica.routed, replica.lost
        );
        assert!(section.contains(&lane), "no {lane} in:\n{section}");
    }
    // The old replicas lost what the balancer sent them after their exit: its 503s, drawn as
    // http-error, never as a reset.
    let (r1, r2) = (&rollout.replicas[0], &rollout.replicas[1]);
    assert!(r1.lost > 0 && r2.lost > 0, "{rollout:?}");
    let lanes = &section[section.find(r#"class="rollout-lanes""#).unwrap()..];
    assert!(lanes.contains(r#"class="bar o-http-error""#));
    assert!(!lanes.contains("o-reset"), "nothing was reset");
    // The balancer's state changes: a lane of the timeline, and ticks in the lanes they name.
    assert!(section.contains(">balancer log</text>"));
    assert_eq!(
        section.matches(r#"<g class="balancerline">"#).count(),
        2 * 6
    );
    assert!(section.contains("balancer: Server replicas/s1 is going DOWN"));

    let png = dir.join("rollout.png");
    let _ = std::fs::remove_file(&png);
    let screenshot = format!("--screenshot={}", png.display());
    run_chromium(
        &chromium,
        &[
            "--hide-scrollbars",
            "--window-size=1200,1000",
            &screenshot,
            &url,
        ],
    )
    .await;
    let bytes =
        std::fs::read(&png).unwrap_or_else(|e| panic!("no screenshot {}: {e}", png.display()));
    assert!(
        bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "{} is not a PNG",
        png.display()
    );
}

/// A shape left open would swallow what follows it, and the browser would draw none of it.
fn assert_no_shape_is_left_open(dom: &str) {
    for shape in ["rect", "line", "path"] {
        for (at, _) in dom.match_indices(&format!("<{shape} ")) {
            let rest = &dom[at..];
            let end = rest.find('>').unwrap();
            assert!(
                rest[end + 1..].starts_with(&format!("</{shape}>")),
                "an SVG {shape} holds other elements: {}",
                &rest[..rest.len().min(300)]
            );
        }
    }
}

/// A rolling update of two replicas behind the balancer, judged from events as the runner
/// would emit them: r3 replaces r1 from 1.2 s after ready, r4 replaces r2 from 2.5 s; each old
/// replica exits 0.3 s after its termination began and leaves the balancer's pool 1 s after
/// it. A stream of 100 requests/s for 4 s goes round robin over the pool; what the balancer
/// sends to a replica after its exit gets its 503.
fn rollout_results() -> RunResults {
    let mut scenario = scenarios(Timings::fast())
        .into_iter()
        .find(|s| s.name == "container/exec-form")
        .expect("the experiment has an exec-form container");
    scenario = Scenario {
        name: "rollout/synthetic".to_string(),
        requests: Vec::new(),
        load: Some(LoadSpec {
            rate: 100,
            duration: Duration::from_secs(4),
            path: "/?delay=100ms".to_string(),
            client: ClientProfile::Fresh,
            connections: None,
            vantage: None,
        }),
        rollout: Some(RolloutSpec {
            endpoint_lag: Duration::from_secs(1),
            ..RolloutSpec::default()
        }),
        expect: Default::default(),
        ..scenario
    };
    let started = tokio::time::Instant::now();
    // Ms from ready; the run starts 1 s before it.
    let event = |ms: i64, kind: EventKind| Event {
        scenario: 0,
        at: started + Duration::from_millis((1000 + ms) as u64),
        kind,
    };
    let mut events = vec![event(-1000, EventKind::Started { image: None })];
    let mut replica = |ms: i64, n: u8, step: &str| {
        let replica = format!("r{n}");
        let slot = format!("Server replicas/s{n}");
        let kinds = match step {
            "start" => vec![
                EventKind::ReplicaStarted {
                    replica: replica.clone(),
                },
                EventKind::ReplicaInPool {
                    replica,
                    address: [10, 0, 0, n].into(),
                },
                EventKind::BalancerLog {
                    line: format!("{slot} is UP/READY (leaving forced maintenance)."),
                },
            ],
            "terminate" => vec![
                EventKind::TerminationBegan {
                    replica: replica.clone(),
                },
                EventKind::ReplicaSignalled {
                    replica,
                    signal: StopSignal::Sigterm,
                },
            ],
            "exit" => vec![EventKind::ReplicaExited { replica, code: 0 }],
            _ => vec![
                EventKind::EndpointRemoved { replica },
                EventKind::BalancerLog {
                    line: format!("{slot} is going DOWN for maintenance. 2 active servers left."),
                },
            ],
        };
        events.extend(kinds.into_iter().map(|kind| event(ms, kind)));
    };
    replica(-300, 1, "start");
    replica(-20, 2, "start");
    for (old, new, from) in [(1, 3, 1200), (2, 4, 2500)] {
        replica(from, new, "start");
        replica(from + 10, old, "terminate");
        replica(from + 300, old, "exit");
        replica(from + 1010, old, "out");
    }
    events.push(event(0, EventKind::Ready));
    events.push(event(
        0,
        EventKind::LoadStarted {
            rate: 100,
            client: ClientProfile::Fresh,
            vantage: shutdown_harness::Vantage::Host,
        },
    ));
    let (records, balanced) = stream();
    events.push(event(4200, EventKind::LoadRecords(records)));
    events.push(event(4200, EventKind::BalancerRecords(balanced)));
    events.push(event(4300, EventKind::LoadEnded));
    events.sort_by_key(|e| e.at);
    let result = judge(&scenario, &events, None, started);
    RunResults {
        scenarios: vec![result],
        duration: Duration::from_millis(5300),
        build_duration: Duration::ZERO,
        engine: None,
    }
}

/// The stream's 400 requests, 10 ms apart from ready, and the balancer's record of each: round
/// robin over the replicas in its pool; a 503 after three connect retries for those sent to a
/// replica that had exited.
fn stream() -> (Vec<LoadRecord>, Vec<BalancerRecord>) {
    // (replica, in the pool from, until, exited at), ms from ready.
    let pool = [
        (1u8, -300, 2210, 1510),
        (2, -20, 3510, 2810),
        (3, 1200, i64::MAX, i64::MAX),
        (4, 2500, i64::MAX, i64::MAX),
    ];
    (0..400u32)
        .map(|id| {
            let ms = i64::from(id) * 10;
            let serving: Vec<_> = pool
                .iter()
                .filter(|(_, from, until, _)| (*from..*until).contains(&ms))
                .collect();
            let (n, _, _, exited) = serving[id as usize % serving.len()];
            let gone = ms >= *exited;
            let (outcome, status, took_ms) = if gone {
                (Outcome::HttpError, 503, 400)
            } else {
                (Outcome::Ok, 200, 100)
            };
            let us = id * 10_000;
            let record = LoadRecord {
                id,
                sent_us: us,
                started_us: us,
                done_us: us + took_ms * 1000,
                outcome,
                status,
                connection: Connection::New,
            };
            let balanced = BalancerRecord {
                id,
                replica: Some(*n),
                retries: if gone { 3 } else { 0 },
                redispatched: false,
                termination: if gone { *b"SC--" } else { *b"----" },
                status: Some(status),
                connect_ms: (!gone).then_some(0),
                total_ms: Some(took_ms),
            };
            (record, balanced)
        })
        .unzip()
}

/// The results of the experiment's bare-process scenarios: abrupt and graceful.
async fn process_results() -> RunResults {
    let workspace = Workspace::find_from(Path::new(env!("CARGO_MANIFEST_DIR")))
        .expect("the tests run inside the checkout");
    let scenarios: Vec<_> = scenarios(Timings::fast())
        .into_iter()
        .filter(|s| matches!(s.target, Target::Process))
        .collect();
    assert_eq!(
        scenarios.len(),
        2,
        "the experiment has two process scenarios"
    );
    let results = shutdown_harness::run_scenarios(
        None,
        &scenarios,
        &RunOptions::new(Some(workspace)),
        &mut (),
    )
    .await
    .expect("process scenarios need no engine");
    assert!(results.passed(), "{}", render(&results, Format::Table));
    results
}

/// Chromium, as Debian installs it.
fn chromium() -> PathBuf {
    let path = PathBuf::from("/usr/bin/chromium");
    assert!(
        path.is_file(),
        "headless Chromium renders the HTML report in this test and {} is missing: \
         apt-get install chromium",
        path.display()
    );
    path
}

/// Runs headless Chromium with `args`; its standard output. Killed, with its children, past the
/// deadline.
async fn run_chromium(chromium: &Path, args: &[&str]) -> Vec<u8> {
    let mut command = tokio::process::Command::new(chromium);
    command
        .args(["--headless", "--no-sandbox", "--disable-gpu"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group, so that a stuck browser is killed with its helpers.
        .process_group(0)
        .kill_on_drop(true);
    let child = command.spawn().expect("chromium starts");
    let group = child.id().map(|id| nix::unistd::Pid::from_raw(id as i32));
    match tokio::time::timeout(CHROMIUM_DEADLINE, child.wait_with_output()).await {
        Ok(output) => {
            let output = output.expect("chromium's output is read");
            assert!(
                output.status.success(),
                "chromium {args:?} failed ({}):\n{}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            );
            output.stdout
        }
        Err(_) => {
            if let Some(group) = group {
                let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
            }
            panic!("chromium {args:?} took more than {CHROMIUM_DEADLINE:?}: killed");
        }
    }
}

/// The rendered section of scenario `name`.
fn section<'a>(dom: &'a str, name: &str) -> &'a str {
    let marker = format!(r#"data-scenario="{name}""#);
    let start = dom
        .find(&marker)
        .unwrap_or_else(|| panic!("no section for {name} in:\n{dom}"));
    let rest = &dom[start..];
    let end = rest.find("</section>").unwrap_or(rest.len());
    &rest[..end]
}
