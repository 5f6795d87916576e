//! Scenarios over other protocols than HTTP/1.1: `protocol = "websocket" | "sse" | "grpc" |
//! "h2c"` and `stream = { every, for }` requests, read from scenario files with their errors,
//! and run against graceful-server as a host process (no engine needed).

use std::path::{Path, PathBuf};
use std::time::Duration;

use shutdown_harness::protocol::{Protocol, StreamEnd, StreamWhat};
use shutdown_harness::scenario_file::parse;
use shutdown_harness::{Outcome, RequestKind, RunOptions, Scenario, ScenarioFileError, Workspace};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the harness is in the workspace")
        .to_path_buf()
}

/// The scenarios of `text`, read as `scenarios/test.toml`.
fn scenarios(text: &str) -> Vec<Scenario> {
    let root = workspace();
    parse(&root, &root.join("scenarios/test.toml"), text).unwrap_or_else(|e| panic!("{e}"))
}

/// The error lines of reading `text` as `scenarios/test.toml`.
fn errors(text: &str) -> Vec<String> {
    let root = workspace();
    match parse(&root, &root.join("scenarios/test.toml"), text) {
        Ok(scenarios) => panic!("expected errors, got {} scenarios", scenarios.len()),
        Err(ScenarioFileError::Invalid { diagnostics }) => {
            diagnostics.iter().map(ToString::to_string).collect()
        }
        Err(other) => panic!("expected diagnostics, got {other:?}"),
    }
}

/// A process scenario with `protocol` and `requests` (one, named `s`), in graceful mode.
fn file(protocol: &str, requests: &str) -> String {
    format!(
        "[[scenario]]\nname = \"t\"\ntarget = \"process\"\ndelay = \"1s\"\nprotocol = \"{protocol}\"\nrequests = [{requests}]\nexpect = {{ requests = {{ s = \"ok\" }} }}\n"
    )
}

#[test]
fn streams_and_requests_of_each_protocol_are_read() {
    let every = |ms| StreamWhat::Stream {
        every: Duration::from_millis(ms),
        lasting: None,
    };
    let cases = [
        (
            "websocket",
            r#"{ name = "s", at = "-300ms", stream = { every = "50ms" } }"#,
            Protocol::Websocket,
            every(50),
        ),
        (
            "sse",
            r#"{ name = "s", at = "-300ms", stream = { every = "20ms", for = "1m" } }"#,
            Protocol::Sse,
            StreamWhat::Stream {
                every: Duration::from_millis(20),
                lasting: Some(Duration::from_secs(60)),
            },
        ),
        (
            "grpc",
            r#"{ name = "s", at = "-300ms", delay = "1s" }"#,
            Protocol::Grpc,
            StreamWhat::Request {
                delay: Duration::from_secs(1),
            },
        ),
        (
            "h2c",
            r#"{ name = "s", at = "-300ms", stream = {} }"#,
            Protocol::H2c,
            every(100),
        ),
    ];
    for (name, request, protocol, what) in cases {
        let scenarios = scenarios(&file(name, request));
        assert_eq!(
            scenarios[0].requests[0].kind,
            RequestKind::Stream {
                protocol,
                what,
                routes: Default::default(),
            },
            "{name}"
        );
    }
    // Without a protocol, requests are HTTP/1.1 as ever.
    let plain = scenarios(
        "[[scenario]]\nname = \"t\"\ntarget = \"process\"\ndelay = \"1s\"\nrequests = [{ name = \"a\", at = \"-1s\" }]\nexpect = { requests = { a = \"ok\" } }\n",
    );
    assert_eq!(plain[0].requests[0].kind, RequestKind::Slow { delay: None });
}

#[test]
fn a_matrix_can_make_the_protocol_an_axis() {
    let text = r#"
[[matrix]]
name = "{protocol}"
target = "process"
delay = "1s"
protocol = ["websocket", "sse", "grpc", "h2c"]
requests = [{ name = "s", at = "-300ms", stream = { every = "50ms" } }]
expect = { requests = { s = "ok" } }
"#;
    let names: Vec<String> = scenarios(text).into_iter().map(|s| s.name).collect();
    assert_eq!(names, ["websocket", "sse", "grpc", "h2c"]);
}

#[test]
fn mistakes_are_reported_with_what_to_write() {
    let cases = [
        (
            file("http1", r#"{ name = "s", at = "-1s", stream = { every = "50ms" } }"#),
            "a `stream` needs a protocol that streams",
        ),
        (
            file("grpc", r#"{ name = "s", at = "-1s", path = "/x" }"#),
            "`path` is an HTTP/1.1 request, and this scenario's protocol is grpc",
        ),
        (
            file("websocket", r#"{ name = "s", at = "-1s", delay = "1s" }"#),
            "a websocket request takes a stream",
        ),
        (
            file("h2c", r#"{ name = "s", at = "-1s" }"#),
            "with protocol = \"h2c\" a request has `delay`",
        ),
        (
            file(
                "grpc",
                r#"{ name = "s", at = "-1s", delay = "1s", stream = {} }"#,
            ),
            "either `delay` (one answer after it) or `stream`",
        ),
        (
            file("sse", r#"{ name = "s", at = "-1s", stream = { every = "0ms" } }"#),
            "stream `every` must be from 1ms to 10m",
        ),
        (
            file("sse", r#"{ name = "s", at = "-1s", stream = { each = "1s" } }"#),
            "each",
        ),
        (
            file("quic", r#"{ name = "s", at = "-1s" }"#),
            "unknown protocol \"quic\" (expected one of: http1, h2c, grpc, websocket, sse)",
        ),
        (
            "[[scenario]]\nname = \"t\"\ntarget = \"process\"\nprotocol = \"sse\"\nload = { rate = 10, duration = \"1s\" }\n".to_string(),
            "a `load` is sent over HTTP/1.1",
        ),
        (
            "[[scenario]]\nname = \"t\"\ntarget = \"runtime\"\nruntime = \"nginx\"\nprotocol = \"websocket\"\nrequests = [{ name = \"s\", at = \"-1s\", stream = {} }]\n".to_string(),
            "asks graceful-server's routes",
        ),
        (
            "[[scenario]]\nname = \"t\"\ntarget = \"runtime\"\nruntime = \"grpcio\"\nprotocol = \"websocket\"\nrequests = [{ name = \"s\", at = \"-1s\", stream = {} }]\n".to_string(),
            "runtime grpcio speaks grpc: write protocol = \"grpc\"",
        ),
        (
            "[[scenario]]\nname = \"t\"\ntarget = \"runtime\"\nruntime = \"nginx-h2c\"\nprotocol = \"sse\"\nrequests = [{ name = \"s\", at = \"-1s\", stream = {} }]\n".to_string(),
            "runtime nginx-h2c speaks h2c",
        ),
        (
            "[[scenario]]\nname = \"t\"\ntarget = \"process\"\nprotocol = \"grpc\"\nrequests = [{ name = \"s\", at = \"-1s\", delay = \"1s\" }]\nexpect = { requests = { s = \"ok\" }, grpc-status = \"Unavailable\" }\n".to_string(),
            "grpc-status \"Unavailable\" is not a gRPC status: write one of OK",
        ),
        (
            "[[scenario]]\nname = \"t\"\ntarget = \"process\"\nprotocol = \"h2c\"\nrequests = [{ name = \"s\", at = \"-1s\", delay = \"1s\" }]\nexpect = { requests = { s = \"ok\" }, goaway = \"twice\" }\n".to_string(),
            "write \"two-step\", \"single\" or \"none\"",
        ),
        (
            "[[scenario]]\nname = \"t\"\ntarget = \"process\"\nprotocol = \"websocket\"\nrequests = [{ name = \"s\", at = \"-1s\", stream = {} }]\nexpect = { requests = { s = \"ok\" }, close-code = 99 }\n".to_string(),
            "close-code 99 is not a WebSocket close code",
        ),
    ];
    for (text, wanted) in cases {
        let errors = errors(&text);
        assert!(
            errors.iter().any(|e| e.contains(wanted)),
            "wanted {wanted:?} in {errors:#?}\nfor\n{text}"
        );
        assert!(
            errors.iter().all(|e| e.contains("scenarios/test.toml:")),
            "{errors:#?}"
        );
    }
}

#[tokio::test]
async fn a_websocket_scenario_runs_and_reports_its_stream() {
    let text = r#"
[[scenario]]
name = "ws-graceful"
target = "process"
delay = "1s"
protocol = "websocket"
stop-timeout = "5s"
requests = [
  { name = "ws", at = "-300ms", stream = { every = "50ms" } },
  { name = "late", at = "+300ms", stream = { every = "50ms" } },
]
expect = { exit-code = 0, requests = { ws = "ok", late = "not-served" } }
"#;
    let scenarios = scenarios(text);
    let workspace = Workspace::find_from(&workspace()).expect("a checkout");
    let mut reporter = |_: shutdown_harness::RunEvent<'_>| {};
    let results = shutdown_harness::run_scenarios(
        None,
        &scenarios,
        &RunOptions::new(Some(workspace)),
        &mut reporter,
    )
    .await
    .expect("the run completes");
    let result = &results.scenarios[0];
    assert!(results.passed(), "{result:#?}");
    let streams = &result.observation.streams;
    assert_eq!(streams.len(), 2, "{streams:#?}");
    let ws = streams.iter().find(|s| s.name == "ws").unwrap();
    assert_eq!(ws.stream.close_code(), Some(1001), "{ws:#?}");
    assert_eq!(ws.stream.outcome(), Outcome::Ok);
    let late = streams.iter().find(|s| s.name == "late").unwrap();
    assert_eq!(late.stream.end, StreamEnd::Refused, "{late:#?}");
    // The JSON report carries the streams.
    let json = shutdown_harness::report::render(&results, shutdown_harness::report::Format::Json);
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    let stream = &json["scenarios"][0]["streams"][0];
    assert_eq!(
        (&stream["name"], &stream["end"]),
        (&"ws".into(), &"closed".into()),
        "{json:#}"
    );
}

#[tokio::test]
async fn every_protocol_runs_from_one_matrix_across_a_graceful_stop() {
    // Streams longer than the drain: the server ends each with its protocol's goodbye.
    let text = r#"
[[matrix]]
name = "{protocol}"
target = "process"
delay = "1s"
stop-timeout = "5s"
protocol = ["websocket", "sse", "grpc", "h2c"]
requests = [
  { name = "open", at = "-300ms", stream = { every = "50ms", for = "1m" } },
  { name = "late", at = "+300ms", stream = { every = "50ms", for = "1m" } },
]
expect = { requests = { open = "ok", late = "not-served" }, exit-code = 0 }

[[matrix.rule]]
when = { protocol = "grpc" }
reason = "a draining server ends a gRPC stream it cannot finish with UNAVAILABLE, in trailers"
expect = { requests = { open = "http-error" } }
"#;
    let scenarios = scenarios(text);
    let workspace = Workspace::find_from(&workspace()).expect("a checkout");
    let mut reporter = |_: shutdown_harness::RunEvent<'_>| {};
    let results = shutdown_harness::run_scenarios(
        None,
        &scenarios,
        &RunOptions::new(Some(workspace)),
        &mut reporter,
    )
    .await
    .expect("the run completes");
    assert!(results.passed(), "{:#?}", results.scenarios);
    for result in &results.scenarios {
        let open = &result.observation.streams.iter().find(|s| s.name == "open");
        let open = open.unwrap_or_else(|| panic!("{result:#?}"));
        let clean = match open.stream.protocol {
            Protocol::Websocket => open.stream.close_code() == Some(1001),
            Protocol::Sse | Protocol::H2c => open.stream.end == StreamEnd::GoingAway,
            Protocol::Grpc => open.stream.end == StreamEnd::grpc_status(14, "server shutting down"),
            Protocol::Http1 => false,
        };
        assert!(clean, "{open:#?}");
    }
}
