//! Results with long-lived streams for the reporters' tests, judged from events made up here as
//! the runner emits them (times exact to the millisecond): a WebSocket closed with 1001 and
//! one refused after the stop, a gRPC call through a two-step GOAWAY, and an event stream of
//! hundreds of events.

use std::path::Path;
use std::time::Duration;

use tokio::time::Instant;

use crate::judge::judge;
use crate::model::events::{Event, EventKind};
use crate::model::results::{RunResults, ScenarioResult};
use crate::model::streams::{
    ConnectionObservation, Goaway, Item, MAX_STREAM_ID, Protocol, Received, StreamEnd,
    StreamObservation,
};
use crate::model::variant::StopSignal;

const FILE: &str = r#"
[defaults]
target = "process"
delay = "1s"

[[scenario]]
name = "ws/graceful"
protocol = "websocket"
requests = [
  { name = "open", at = "-300ms", stream = { every = "50ms" } },
  { name = "late", at = "+300ms", stream = { every = "50ms" } },
]
expect = { requests = { open = "ok", late = "not-served" }, close-code = 1001 }

[[scenario]]
name = "grpc/graceful"
protocol = "grpc"
requests = [
  { name = "open", at = "-300ms", delay = "1500ms" },
  { name = "late", at = "+300ms", delay = "300ms" },
]
expect = { requests = { open = "ok", late = "not-served" }, goaway = "two-step", grpc-status = "OK" }

[[scenario]]
name = "sse/busy"
protocol = "sse"
requests = [{ name = "busy", at = "-1s", stream = { every = "2ms" } }]
expect = { requests = { busy = "ok" }, last-event = "going-away" }
"#;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A stream of `protocol` from `opened` to `ended` ms (from ready).
fn stream(
    protocol: Protocol,
    opened: u64,
    received: Vec<Received>,
    end: StreamEnd,
    ended: u64,
) -> StreamObservation {
    StreamObservation {
        protocol,
        target: "/".to_string(),
        stream_id: None,
        opened: ms(opened),
        received,
        end,
        ended: ms(ended),
        detail: String::new(),
    }
}

fn received(at: u64, item: Item) -> Received {
    Received { at: ms(at), item }
}

/// What the runner emits for one scenario, its times in ms from ready: the server ready, the
/// `streams` (name, what was seen, its connections) sent and observed, `docker stop` at 300 ms
/// and the exit at `exit`.
fn events(
    streams: Vec<(&str, StreamObservation, Vec<ConnectionObservation>)>,
    exit: u64,
) -> Vec<Event> {
    let ready = Instant::now();
    let event = |at: u64, kind| Event {
        scenario: 0,
        at: ready + ms(at),
        kind,
    };
    let mut events = vec![
        event(0, EventKind::Started { image: None }),
        event(0, EventKind::Ready),
        event(
            300,
            EventKind::StopIssued {
                signal: StopSignal::Sigterm,
                timeout_ms: 5000,
            },
        ),
        event(exit, EventKind::StopReturned),
        event(exit, EventKind::Exited { code: 0 }),
    ];
    for (name, stream, connections) in streams {
        let opened = stream.opened.as_millis() as u64;
        // The observation comes once its connections closed; the outcome right after it.
        let heard = connections
            .iter()
            .filter_map(|c| c.closed)
            .chain([stream.ended])
            .max()
            .map_or(opened, |at| at.as_millis() as u64);
        let done = EventKind::RequestDone {
            name: name.to_string(),
            outcome: stream.outcome(),
            status: stream.status(),
            bytes: stream.bytes(),
            connected: true,
        };
        events.extend([
            event(
                opened,
                EventKind::RequestSent {
                    name: name.to_string(),
                },
            ),
            event(
                heard,
                EventKind::StreamObserved {
                    name: name.to_string(),
                    stream: Box::new(stream),
                    connections,
                },
            ),
            event(heard, done),
        ]);
    }
    events.sort_by_key(|e| e.at);
    events
}

/// A WebSocket open at the stop, ticking every 50 ms until the server's close frame 1001 at
/// 386 ms, and one refused at 600 ms.
fn websocket() -> Vec<Event> {
    let mut items = vec![received(1, Item::Head { status: 101 })];
    items.extend((1..=7).map(|n| {
        received(
            n * 50,
            Item::Message {
                number: Some(n),
                text: format!("tick {n}"),
            },
        )
    }));
    let open = stream(
        Protocol::Websocket,
        0,
        items,
        StreamEnd::Closed {
            code: 1001,
            reason: "server shutting down".to_string(),
        },
        386,
    );
    let mut late = stream(
        Protocol::Websocket,
        600,
        Vec::new(),
        StreamEnd::Refused,
        600,
    );
    late.detail = "Connection refused (os error 111)".to_string();
    events(
        vec![("open", open, Vec::new()), ("late", late, Vec::new())],
        700,
    )
}

/// A gRPC call in flight across grpcio's two-step GOAWAY (2^31-1 at 320 ms, then 1 at 322 ms,
/// a PING between), answered OK at 1500 ms; a call after the stop whose connection is reset.
fn grpc() -> Vec<Event> {
    let goaway = |at, last_stream_id| Goaway {
        at: ms(at),
        last_stream_id,
        error_code: 0,
        debug: String::new(),
    };
    let open = stream(
        Protocol::Grpc,
        0,
        vec![
            received(1500, Item::Head { status: 200 }),
            received(
                1500,
                Item::Message {
                    number: None,
                    text: "SlowReply { waited_ms: 1500 }".to_string(),
                },
            ),
        ],
        StreamEnd::grpc_status(0, ""),
        1500,
    );
    let connection = ConnectionObservation {
        protocol: Protocol::Grpc,
        opened: ms(0),
        goaways: vec![goaway(320, MAX_STREAM_ID), goaway(322, 1)],
        pings: vec![ms(2), ms(321)],
        closed: Some(ms(1516)),
        streams: Vec::new(),
    };
    let mut late = stream(Protocol::Grpc, 615, Vec::new(), StreamEnd::EmptyReply, 616);
    late.detail = "transport error: connection reset".to_string();
    let late_connection = ConnectionObservation {
        protocol: Protocol::Grpc,
        opened: ms(615),
        goaways: Vec::new(),
        pings: Vec::new(),
        closed: Some(ms(624)),
        streams: Vec::new(),
    };
    events(
        vec![
            ("open", open, vec![connection]),
            ("late", late, vec![late_connection]),
        ],
        1600,
    )
}

/// An event stream of 500 events, one every 2 ms from ready, then the server's `going-away`.
fn sse() -> Vec<Event> {
    let mut items = vec![received(0, Item::Head { status: 200 })];
    items.extend((1..=500).map(|n| {
        received(
            n * 2,
            Item::Event {
                id: Some(n.to_string()),
                event: None,
                data: n.to_string(),
            },
        )
    }));
    items.push(received(
        1003,
        Item::Event {
            id: None,
            event: Some("going-away".to_string()),
            data: "server shutting down".to_string(),
        },
    ));
    let busy = stream(Protocol::Sse, 0, items, StreamEnd::GoingAway, 1004);
    events(vec![("busy", busy, Vec::new())], 1100)
}

/// The three scenarios judged, in the file's order.
pub(crate) fn results() -> RunResults {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the harness is in the workspace");
    let scenarios = crate::scenario_file::parse(root, &root.join("scenarios/test.toml"), FILE)
        .unwrap_or_else(|e| panic!("{e}"));
    let run_started = Instant::now();
    let scenarios: Vec<ScenarioResult> = scenarios
        .iter()
        .zip([websocket(), grpc(), sse()])
        .map(|(scenario, events)| judge(scenario, &events, None, run_started))
        .collect();
    RunResults {
        scenarios,
        duration: Duration::from_secs(2),
        build_duration: Duration::ZERO,
        engine: None,
    }
}

/// The scenario `name` of [`results`].
pub(crate) fn scenario(name: &str) -> ScenarioResult {
    results()
        .scenarios
        .into_iter()
        .find(|s| s.scenario.name == name)
        .unwrap_or_else(|| panic!("no {name}"))
}
