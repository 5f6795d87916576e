//! The protocol observers against the real graceful-server, as a host process: streams open at
//! SIGTERM, in graceful and abrupt mode, observed per stream and per frame. No engine needed.
//! Each test waits for facts (log lines, a stream's first message, a GOAWAY), never for sleeps.

mod server_process;

use std::time::Duration;

use nix::sys::signal::Signal;
use server_contract::stream::{GOING_AWAY_REASON, SSE_GOING_AWAY_EVENT, WS_GOING_AWAY_CODE};
use shutdown_harness::protocol::{
    GoawaySequence, GrpcClient, H2cConnection, Item, MAX_STREAM_ID, Protocol, StreamEnd,
    StreamExpectations, StreamObservation, StreamRequest, StreamSet, StreamWhat,
    StreamsObservation, WS_ABNORMAL_CLOSURE, open_sse, open_websocket,
};
use shutdown_harness::{
    Bound, check_streams, is_cut, no_new_stream_accepted, open_streams_end_cleanly,
};
use tokio::time::Instant;

use server_process::{DEADLINE, Server};

/// How long a test's stream may stay open before its observer gives up.
const STREAM_DEADLINE: Duration = Duration::from_secs(5);

/// Sends SIGTERM and returns its time on the test's timeline.
fn sigterm(server: &Server, start: Instant) -> Duration {
    let at = start.elapsed();
    server.signal(Signal::SIGTERM);
    at
}

/// The number of messages and events a stream received (heads and body bytes aside).
fn messages(stream: &StreamObservation) -> usize {
    stream
        .received
        .iter()
        .filter(|r| matches!(r.item, Item::Message { .. } | Item::Event { .. }))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2c_graceful_two_goaways_streams_in_flight_complete_and_a_late_stream_is_refused() {
    let mut server = Server::start(&[]).await;
    let start = Instant::now();
    let mut connection = H2cConnection::connect(server.addr, start).await.unwrap();
    connection
        .request("/?delay=400ms", "a", STREAM_DEADLINE)
        .unwrap();
    connection
        .request("/?delay=400ms", "b", STREAM_DEADLINE)
        .unwrap();
    server
        .expect_line("Receive Request... GET /?delay=400ms id=a")
        .await;
    server
        .expect_line("Receive Request... GET /?delay=400ms id=b")
        .await;

    let signal = sigterm(&server, start);
    assert!(
        connection.until_goaways(2, DEADLINE).await,
        "no second GOAWAY"
    );
    // A stream opened once the final GOAWAY has arrived: never processed.
    let late = connection
        .request("/?delay=10ms", "late", STREAM_DEADLINE)
        .unwrap();
    assert!(!connection.until_received(late, 1).await);
    let seen = connection.finish().await.unwrap();

    assert_eq!(seen.goaway_sequence(), GoawaySequence::TwoStep, "{seen:#?}");
    let steps: Vec<(u32, u32)> = seen
        .goaways
        .iter()
        .map(|g| (g.last_stream_id, g.error_code))
        .collect();
    // Streams 1 and 3 were in flight: the final GOAWAY names 3.
    assert_eq!(steps, [(MAX_STREAM_ID, 0), (3, 0)], "{seen:#?}");
    assert!(seen.goaways.iter().all(|g| g.at >= signal), "{seen:#?}");
    // The server timed its final GOAWAY with a PING between the two.
    let (first, last) = (seen.goaways[0].at, seen.goaways[1].at);
    assert!(
        seen.pings
            .iter()
            .any(|ping| first <= *ping && *ping <= last),
        "{seen:#?}"
    );
    for stream in &seen.streams[..2] {
        assert_eq!(stream.end, StreamEnd::Complete, "{stream:#?}");
        assert_eq!(stream.status(), Some(200));
        assert!(stream.ended > seen.goaways[1].at, "{stream:#?}");
    }
    let late = &seen.streams[2];
    assert_eq!(late.end, StreamEnd::RefusedByGoaway, "{late:#?}");
    assert!(late.end.never_processed());
    // The h2 crate opens no stream once any GOAWAY has arrived: it never had an id.
    assert_eq!(late.stream_id, None, "{late:#?}");
    assert!(seen.closed.is_some(), "the connection never ended");
    assert_eq!(server.exit_code().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2c_abrupt_cuts_the_stream_in_flight_without_goaway() {
    let mut server = Server::start(&["--mode", "abrupt"]).await;
    let start = Instant::now();
    let mut connection = H2cConnection::connect(server.addr, start).await.unwrap();
    connection
        .request("/?delay=5s", "a", STREAM_DEADLINE)
        .unwrap();
    server
        .expect_line("Receive Request... GET /?delay=5s id=a")
        .await;

    let signal = sigterm(&server, start);
    let seen = connection.finish().await.unwrap();
    assert_eq!(seen.goaway_sequence(), GoawaySequence::None, "{seen:#?}");
    assert!(seen.closed.is_some(), "{seen:#?}");
    // In flight, no response yet: an empty reply, which the signal's time makes a cut.
    let stream = &seen.streams[0];
    assert_eq!(stream.end, StreamEnd::EmptyReply, "{seen:#?}");
    assert!(!stream.end.never_processed());
    assert!(is_cut(stream, signal));
    assert_eq!(server.exit_code().await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_graceful_closes_with_1001() {
    let mut server = Server::start(&[]).await;
    let start = Instant::now();
    let mut ws =
        open_websocket(server.addr, "/ws?every=50ms", "ws", start, STREAM_DEADLINE).unwrap();
    // The 101, then tick 1.
    assert!(ws.until_received(2).await, "no first message");

    let signal = sigterm(&server, start);
    let seen = ws.finish().await.unwrap();
    assert_eq!(
        seen.end,
        StreamEnd::Closed {
            code: WS_GOING_AWAY_CODE,
            reason: GOING_AWAY_REASON.to_string()
        },
        "{seen:#?}"
    );
    assert_eq!(seen.close_code(), Some(1001));
    assert_eq!(seen.status(), Some(101));
    assert!(seen.last_number() >= Some(1), "{seen:#?}");
    // No tick after the goodbye; at most one already on its way when the signal went out.
    assert!(seen.received_after(signal) <= 1, "{seen:#?}");
    assert_eq!(server.exit_code().await, 0);
    server
        .expect_line("Stream closed... ws #1 going-away")
        .await;
    assert!(server.log().await.contains("/ws?every=50ms id=ws"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_abrupt_ends_without_a_close_frame() {
    let mut server = Server::start(&["--mode", "abrupt"]).await;
    let start = Instant::now();
    let mut ws =
        open_websocket(server.addr, "/ws?every=50ms", "ws", start, STREAM_DEADLINE).unwrap();
    assert!(ws.until_received(2).await, "no first message");

    sigterm(&server, start);
    let seen = ws.finish().await.unwrap();
    assert_eq!(seen.end, StreamEnd::Cut, "{seen:#?}");
    assert_eq!(seen.close_code(), Some(WS_ABNORMAL_CLOSURE));
    assert_eq!(server.exit_code().await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sse_graceful_ends_after_the_going_away_event() {
    let mut server = Server::start(&[]).await;
    let start = Instant::now();
    let mut events = open_sse(
        server.addr,
        "/events?every=50ms&for=10s",
        "sse",
        start,
        STREAM_DEADLINE,
    )
    .unwrap();
    // The head, then event 1.
    assert!(events.until_received(2).await, "no first event");

    let signal = sigterm(&server, start);
    let seen = events.finish().await.unwrap();
    assert_eq!(seen.end, StreamEnd::GoingAway, "{seen:#?}");
    assert_eq!(seen.last_event_name(), Some(SSE_GOING_AWAY_EVENT));
    let last_id: u64 = seen.last_event_id().unwrap().parse().unwrap();
    assert!(last_id >= 1);
    // Numbered 1, 2, ... with none missing, then the goodbye.
    assert_eq!(messages(&seen), usize::try_from(last_id).unwrap() + 1);
    assert!(seen.ended >= signal);
    assert_eq!(server.exit_code().await, 0);
    assert!(
        server
            .log()
            .await
            .contains("/events?every=50ms&for=10s id=sse")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sse_abrupt_is_cut_mid_stream() {
    let mut server = Server::start(&["--mode", "abrupt"]).await;
    let start = Instant::now();
    let mut events = open_sse(
        server.addr,
        "/events?every=50ms&for=10s",
        "sse",
        start,
        STREAM_DEADLINE,
    )
    .unwrap();
    assert!(events.until_received(2).await, "no first event");

    sigterm(&server, start);
    let seen = events.finish().await.unwrap();
    assert_eq!(seen.end, StreamEnd::Cut, "{seen:#?}");
    assert_ne!(seen.last_event_name(), Some(SSE_GOING_AWAY_EVENT));
    assert!(seen.last_event_id().is_some());
    assert_eq!(server.exit_code().await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_graceful_answers_the_call_in_flight_and_refuses_a_new_one() {
    let mut server = Server::start(&[]).await;
    let start = Instant::now();
    let mut grpc = GrpcClient::new(server.addr, start).unwrap();
    let slow = grpc
        .slow(Duration::from_millis(500), "slow", STREAM_DEADLINE)
        .unwrap();
    let tick = grpc
        .tick(
            Duration::from_millis(50),
            Duration::from_secs(60),
            "tick",
            STREAM_DEADLINE,
        )
        .unwrap();
    server
        .expect_line("Receive Request... POST /shutdown.v1.Probe/Slow id=slow")
        .await;
    // The head, then tick 1.
    assert!(grpc.until_received(tick, 2).await, "no first tick");

    sigterm(&server, start);
    assert!(grpc.until_goaways(2, DEADLINE).await, "no second GOAWAY");
    let late = grpc
        .slow(Duration::from_millis(10), "late", STREAM_DEADLINE)
        .unwrap();
    assert!(!grpc.until_received(late, 1).await);
    let seen = grpc.finish().await.unwrap();

    let (slow, tick, late) = (&seen.calls[slow], &seen.calls[tick], &seen.calls[late]);
    assert_eq!(slow.end, StreamEnd::grpc_status(0, ""), "{slow:#?}");
    assert!(slow.ended_with_trailers());
    // A 60 s stream cannot finish within the drain: the server ends it, cleanly.
    assert_eq!(
        tick.end,
        StreamEnd::grpc_status(14, GOING_AWAY_REASON),
        "{tick:#?}"
    );
    assert!(tick.ended_with_trailers());
    assert!(tick.last_number() >= Some(1));
    // The new call never reached the server.
    assert!(late.end.never_processed(), "{late:#?}");
    assert_eq!(
        seen.connections[0].goaway_sequence(),
        GoawaySequence::TwoStep,
        "{seen:#?}"
    );
    assert!(seen.connections[0].closed.is_some(), "{seen:#?}");
    assert_eq!(server.exit_code().await, 0);
    assert!(!server.log().await.contains("id=late"));
}

/// Any method by its path, with an empty request and opaque replies: the standard health
/// service's `Watch` says SERVING, then NOT_SERVING and UNAVAILABLE at SIGTERM; a path the server
/// answers as plain HTTP (404) is a complete exchange, not a cut.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_calls_any_method_and_keeps_its_replies_as_bytes() {
    let mut server = Server::start(&[]).await;
    let start = Instant::now();
    let mut grpc = GrpcClient::new(server.addr, start).unwrap();
    // A path that is no method is refused before anything is sent.
    assert!(grpc.call("/healthz", "bad", STREAM_DEADLINE).is_err());
    let missing = grpc
        .call("/no.Such/Method", "missing", STREAM_DEADLINE)
        .unwrap();
    let watch = grpc
        .call("/grpc.health.v1.Health/Watch", "watch", STREAM_DEADLINE)
        .unwrap();
    // The head, then SERVING.
    assert!(grpc.until_received(watch, 2).await, "no first status");
    assert!(!grpc.until_received(missing, 2).await);

    sigterm(&server, start);
    let seen = grpc.finish().await.unwrap();
    let (missing, watch) = (&seen.calls[missing], &seen.calls[watch]);
    assert_eq!(missing.end, StreamEnd::Complete, "{missing:#?}");
    assert_eq!(missing.status(), Some(404), "{missing:#?}");
    assert!(
        missing.detail.contains("not a gRPC response"),
        "{missing:#?}"
    );
    let replies: Vec<&str> = watch
        .received
        .iter()
        .filter_map(|r| match &r.item {
            Item::Message { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(replies, ["2 bytes: 0801", "2 bytes: 0802"], "{watch:#?}");
    assert_eq!(
        watch.end,
        StreamEnd::grpc_status(14, GOING_AWAY_REASON),
        "{watch:#?}"
    );
    assert_eq!(server.exit_code().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_abrupt_cuts_the_calls_without_a_status() {
    let mut server = Server::start(&["--mode", "abrupt"]).await;
    let start = Instant::now();
    let mut grpc = GrpcClient::new(server.addr, start).unwrap();
    let slow = grpc
        .slow(Duration::from_secs(5), "slow", STREAM_DEADLINE)
        .unwrap();
    let tick = grpc
        .tick(
            Duration::from_millis(50),
            Duration::from_secs(60),
            "tick",
            STREAM_DEADLINE,
        )
        .unwrap();
    server
        .expect_line("Receive Request... POST /shutdown.v1.Probe/Slow id=slow")
        .await;
    assert!(grpc.until_received(tick, 2).await, "no first tick");

    let signal = sigterm(&server, start);
    let seen = grpc.finish().await.unwrap();
    let (slow, tick) = (&seen.calls[slow], &seen.calls[tick]);
    // The unary call had no reply yet; the stream had begun.
    assert_eq!(slow.end, StreamEnd::EmptyReply, "{slow:#?}");
    assert_eq!(tick.end, StreamEnd::Cut, "{tick:#?}");
    for call in [slow, tick] {
        assert!(!call.ended_with_trailers());
        assert!(is_cut(call, signal));
    }
    assert_eq!(seen.connections[0].goaway_sequence(), GoawaySequence::None);
    assert_eq!(server.exit_code().await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deadline_and_a_refused_connect_are_observations_not_errors() {
    let mut server = Server::start(&[]).await;
    let start = Instant::now();
    // A 10 s stream watched for 200 ms: ended by the observer, with what it had received.
    let mut events = open_sse(
        server.addr,
        "/events?every=20ms&for=10s",
        "sse",
        start,
        Duration::from_millis(200),
    )
    .unwrap();
    assert!(events.until_received(2).await, "no first event");
    let seen = events.finish().await.unwrap();
    assert_eq!(seen.end, StreamEnd::TimedOut, "{seen:#?}");
    assert!(seen.last_event_id().is_some(), "{seen:#?}");
    assert!(seen.detail.contains("deadline"), "{seen:#?}");

    sigterm(&server, start);
    assert_eq!(server.exit_code().await, 0);
    // Nothing listens any more.
    let ws = open_websocket(server.addr, "/ws", "ws", start, STREAM_DEADLINE).unwrap();
    assert_eq!(ws.finish().await.unwrap().end, StreamEnd::Refused);
    let events = open_sse(server.addr, "/events", "sse", start, STREAM_DEADLINE).unwrap();
    assert_eq!(events.finish().await.unwrap().end, StreamEnd::Refused);
    let mut grpc = GrpcClient::new(server.addr, start).unwrap();
    grpc.slow(Duration::from_millis(1), "after", STREAM_DEADLINE)
        .unwrap();
    let seen = grpc.finish().await.unwrap();
    assert_eq!(seen.calls[0].end, StreamEnd::Refused, "{seen:#?}");
    let refused = H2cConnection::connect(server.addr, start)
        .await
        .unwrap_err();
    assert!(refused.is_refused(), "{refused}");

    // Bad input is refused with what to write instead, before anything is sent.
    let bad = open_websocket(server.addr, "ws", "ws", start, STREAM_DEADLINE).unwrap_err();
    assert!(bad.to_string().contains("starting with '/'"), "{bad}");
    let bad = open_sse(server.addr, "/events", "new\nline", start, STREAM_DEADLINE).unwrap_err();
    assert!(bad.to_string().contains("visible ASCII"), "{bad}");
    let bad = GrpcClient::new(server.addr, start)
        .unwrap()
        .slow(Duration::ZERO, "new\nline", STREAM_DEADLINE)
        .unwrap_err();
    assert!(bad.to_string().contains("visible ASCII"), "{bad}");
}

/// The streams every protocol opens at once in the stream-set tests.
const EVERY_PROTOCOL: [&str; 6] = [
    "ws",
    "sse",
    "h2-events",
    "h2-request",
    "grpc-tick",
    "grpc-call",
];

/// Streams opened once the server has closed its listener, on connections of their own.
const LATE: [&str; 2] = ["late-ws", "late-sse"];

/// Opens a stream of every protocol on a server started with `args`, sends SIGTERM once each is
/// known to be open, opens [`LATE`] once the listener is closed, and returns what was seen, the
/// signal's time and the exit code.
async fn every_protocol_across_the_stop(args: &[&str]) -> (StreamsObservation, Duration, i32) {
    let abrupt = args.contains(&"abrupt");
    let mut server = Server::start(args).await;
    let start = Instant::now();
    // Longer than the drain (10 s): a gRPC tick stream that could finish within it is finished.
    let every = StreamWhat::Stream {
        every: Duration::from_millis(50),
        lasting: Some(Duration::from_secs(60)),
    };
    let delay = StreamWhat::Request {
        delay: Duration::from_millis(300),
    };
    let protocols = [
        (Protocol::Websocket, every),
        (Protocol::Sse, every),
        (Protocol::H2c, every),
        (Protocol::H2c, delay),
        (Protocol::Grpc, every),
        (Protocol::Grpc, delay),
    ];
    let mut set = StreamSet::new(server.addr, start, STREAM_DEADLINE);
    for (name, (protocol, what)) in EVERY_PROTOCOL.into_iter().zip(protocols) {
        let request = StreamRequest {
            name: name.to_string(),
            protocol,
            what,
            routes: Default::default(),
        };
        set.open(&request).await.unwrap();
    }
    for name in ["ws", "sse", "h2-events", "grpc-tick"] {
        assert!(
            set.until_received(name, 2).await,
            "{name}: no first message"
        );
    }
    server
        .expect_line("Receive Request... GET /?delay=300ms id=h2-request")
        .await;
    server
        .expect_line("Receive Request... POST /shutdown.v1.Probe/Slow id=grpc-call")
        .await;

    let signal = sigterm(&server, start);
    // The listener is closed: at once in graceful mode, with the process in abrupt mode.
    let mut exit_code = None;
    if abrupt {
        exit_code = Some(server.exit_code().await);
    } else {
        server.expect_line("Close Server...").await;
    }
    for (name, protocol) in LATE.into_iter().zip([Protocol::Websocket, Protocol::Sse]) {
        let request = StreamRequest {
            name: name.to_string(),
            protocol,
            what: every,
            routes: Default::default(),
        };
        set.open(&request).await.unwrap();
    }
    let seen = set.finish().await.unwrap();
    let names: Vec<&str> = seen.streams.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, [&EVERY_PROTOCOL[..], &LATE[..]].concat());
    let exit_code = match exit_code {
        Some(code) => code,
        None => server.exit_code().await,
    };
    (seen, signal, exit_code)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_set_sees_every_protocol_end_cleanly_across_one_graceful_stop() {
    let (seen, signal, exit_code) = every_protocol_across_the_stop(&[]).await;
    assert_eq!(exit_code, 0);
    let open = open_streams_end_cleanly(&seen, signal);
    assert_eq!(open.len(), EVERY_PROTOCOL.len(), "{seen:#?}");
    assert!(open.iter().all(|check| check.met), "{open:#?}");
    let expect = StreamExpectations {
        close_code: Some(1001),
        goaway: Some(GoawaySequence::TwoStep),
        streams_cut: Some(Bound::Exactly(0)),
        last_event: Some(SSE_GOING_AWAY_EVENT.to_string()),
        grpc_status: None,
        requirements: false,
    };
    let checks = check_streams(&expect, &seen, signal);
    // The event stream over h2c said goodbye as the one over HTTP/1.1 did.
    assert_eq!(
        seen.streams[2].stream.end,
        StreamEnd::GoingAway,
        "{seen:#?}"
    );
    let last_events = checks.iter().filter(|c| c.what == "last-event").count();
    assert_eq!(last_events, 2, "{checks:#?}");
    // One h2c connection and one gRPC connection, each told to go away in two steps.
    assert_eq!(checks.iter().filter(|c| c.what == "goaway").count(), 2);
    assert!(checks.iter().all(|check| check.met), "{checks:#?}");
    // The streams opened once the listener had closed were refused.
    let late = no_new_stream_accepted(&seen, signal);
    assert_eq!(late.len(), LATE.len(), "{seen:#?}");
    assert!(late.iter().all(|check| check.met), "{late:#?}");
    assert!(
        late.iter().all(|check| check.seen == "refused"),
        "{late:#?}"
    );
    let json = serde_json::to_value(&seen).unwrap();
    assert_eq!(json["streams"][0]["name"], "ws");
    assert_eq!(json["streams"][0]["end"], "closed");
    assert_eq!(json["streams"][0]["code"], 1001);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_set_sees_every_protocol_cut_by_an_abrupt_stop() {
    let (seen, signal, exit_code) = every_protocol_across_the_stop(&["--mode", "abrupt"]).await;
    assert_eq!(exit_code, 2);
    let open = open_streams_end_cleanly(&seen, signal);
    assert_eq!(open.len(), EVERY_PROTOCOL.len(), "{seen:#?}");
    assert!(open.iter().all(|check| !check.met), "{open:#?}");
    let cut = check_streams(
        &StreamExpectations {
            streams_cut: Some(Bound::Exactly(0)),
            ..StreamExpectations::default()
        },
        &seen,
        signal,
    );
    assert_eq!(cut[0].seen, EVERY_PROTOCOL.len().to_string(), "{cut:#?}");
    let late = no_new_stream_accepted(&seen, signal);
    assert!(
        late.iter().all(|check| check.seen == "refused"),
        "{late:#?}"
    );
    assert!(
        seen.connections
            .iter()
            .all(|c| c.goaway_sequence() == GoawaySequence::None)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_that_accepts_and_drops_gives_empty_replies() {
    // What a client sees through docker-proxy once the server's listener has closed: the
    // proxy accepts, then closes the connection before any byte of an answer.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let dropper = tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            drop(socket);
        }
    });
    let start = Instant::now();
    let mut set = StreamSet::new(addr, start, STREAM_DEADLINE);
    let every = StreamWhat::Stream {
        every: Duration::from_millis(50),
        lasting: None,
    };
    let delay = StreamWhat::Request {
        delay: Duration::from_millis(10),
    };
    let requests = [
        ("ws", Protocol::Websocket, every),
        ("sse", Protocol::Sse, every),
        ("h2-request", Protocol::H2c, delay),
        ("grpc-call", Protocol::Grpc, delay),
    ];
    for (name, protocol, what) in requests {
        let request = StreamRequest {
            name: name.to_string(),
            protocol,
            what,
            routes: Default::default(),
        };
        set.open(&request).await.unwrap();
    }
    let seen = set.finish().await.unwrap();
    dropper.abort();
    for named in &seen.streams {
        assert_eq!(named.stream.end, StreamEnd::EmptyReply, "{named:#?}");
        // Opened "after the signal" (at 0): not served, not cut.
        assert!(!is_cut(&named.stream, Duration::ZERO), "{named:#?}");
    }
    assert_eq!(seen.streams.len(), requests.len());
}
