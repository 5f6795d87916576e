//! The long-lived protocol runtimes (nginx over h2c, WebSocket servers on python3-websockets
//! and on node's ws, a gRPC server on python3-grpcio) on the real engine: each image is forged,
//! starts, is found ready as its runtime says, answers its protocol, and meets the stop as it
//! was measured on the host: one cell per way the stop goes.
//!
//! Timings measured here (2 cores): 9-11 s once the images exist; 29 s when the seven were
//! forged first (node, Python's standard library, grpcio and its 49 libraries).

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

use shutdown_harness::engine::{ContainerConfig, run_labels};
use shutdown_harness::images::{HTTP_PORT, NGINX_SLOW_PATH, RuntimeImage, runtime_image};
use shutdown_harness::protocol::{
    GoawaySequence, GrpcClient, H2cConnection, StreamEnd, StreamObservation, open_websocket,
};
use shutdown_harness::{Engine, Readiness, Runtime, ServerMode, StopSignal, new_run_id};

use common::{assert_run_left_nothing, engine};

/// How long a started server may take to answer its protocol once found ready (a few attempts
/// at most: ready means listening, not yet serving).
const ANSWER_WAIT: Duration = Duration::from_secs(20);

/// The grace period of every stop here: long enough for each graceful drain measured (grpcio's
/// 1.5 s call, nginx's 4 s download), short enough that an ignored signal costs little.
const GRACE: Duration = Duration::from_secs(3);

/// One cell: a runtime, its mode, `--init`, the stop signal.
#[derive(Debug, Clone, Copy)]
struct Cell {
    runtime: Runtime,
    mode: ServerMode,
    init: bool,
    signal: StopSignal,
    grace: Duration,
}

impl Cell {
    fn new(runtime: Runtime, mode: ServerMode) -> Cell {
        Cell {
            runtime,
            mode,
            init: false,
            signal: StopSignal::Sigterm,
            grace: GRACE,
        }
    }
}

/// A started container of a cell, ready.
struct Started {
    engine: Engine,
    id: String,
    addr: SocketAddr,
    start: Instant,
}

/// What the stop did: when it began (from the start), how long `docker stop` took, the code.
struct Stopped {
    signal_at: Duration,
    took: Duration,
    exit_code: Option<i64>,
}

/// Forges the cell's image, starts it under `run_id`'s labels and waits until its runtime's
/// readiness holds.
async fn start(cell: Cell, run_id: &str) -> Started {
    let engine = engine().await;
    let image = RuntimeImage::new(cell.runtime, cell.mode, Duration::from_secs(1), None);
    let tag = runtime_image(&engine, &image)
        .await
        .unwrap_or_else(|e| panic!("forging {}: {e}", image.short_name()))
        .tag;
    let config = ContainerConfig {
        image: tag,
        labels: run_labels(run_id),
        publish: vec![HTTP_PORT],
        init: cell.init,
        stop_signal: Some(cell.signal),
        stop_timeout: Some(cell.grace),
        ..ContainerConfig::default()
    };
    let id = engine.create_container(&config).await.expect("created");
    engine.start_container(&id).await.expect("started");
    let state = engine.inspect_container(&id).await.expect("inspected");
    let addr = state.published(HTTP_PORT).expect("the port is published");
    let start = Instant::now();
    until_ready(&cell.runtime.readiness(), addr).await;
    Started {
        engine,
        id,
        addr,
        start,
    }
}

/// Waits until `readiness` holds at `addr`: an HTTP/1.1 path answering 200, or the port
/// accepting.
async fn until_ready(readiness: &Readiness, addr: SocketAddr) {
    let deadline = Instant::now() + readiness.within();
    loop {
        let ready = match readiness {
            Readiness::HttpPath { path, .. } => http_status(addr, path).await == Some(200),
            Readiness::TcpPort { .. } => held_open(addr).await,
            Readiness::LogLine { .. } => panic!("no runtime logs graceful-server's start line"),
        };
        if ready {
            return;
        }
        assert!(Instant::now() < deadline, "{addr} not ready: {readiness:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Whether a connection to `addr` stays open (or the server speaks first): as the runner
/// reads a TCP-port readiness, since docker-proxy accepts and drops while nothing listens.
async fn held_open(addr: SocketAddr) -> bool {
    let Ok(mut tcp) = tokio::net::TcpStream::connect(addr).await else {
        return false;
    };
    let mut first = [0u8; 1];
    match tokio::time::timeout(Duration::from_millis(200), tcp.read(&mut first)).await {
        Err(_) => true,
        Ok(read) => matches!(read, Ok(1..)),
    }
}

/// The status of `GET path` over HTTP/1.1 (websockets answers no other version), if one came.
async fn http_status(addr: SocketAddr, path: &str) -> Option<u16> {
    let mut tcp = tokio::net::TcpStream::connect(addr).await.ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    tcp.write_all(request.as_bytes()).await.ok()?;
    let mut head = [0u8; 12];
    tcp.read_exact(&mut head).await.ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

impl Started {
    /// `docker stop` with the cell's grace; what it did.
    async fn stop(&self, grace: Duration) -> Stopped {
        let signal_at = self.start.elapsed();
        let began = Instant::now();
        self.engine
            .stop_container(&self.id, grace)
            .await
            .expect("stopped");
        let took = began.elapsed();
        let exit_code = self
            .engine
            .inspect_container(&self.id)
            .await
            .expect("inspected")
            .exit_code;
        Stopped {
            signal_at,
            took,
            exit_code,
        }
    }

    async fn remove(self) {
        self.engine
            .remove_container(&self.id)
            .await
            .expect("removed");
    }
}

/// A WebSocket cell: one `/ws` open at the stop. Returns the socket's observation.
async fn websocket_cell(cell: Cell, run_id: &str) -> (StreamObservation, Stopped) {
    let started = start(cell, run_id).await;
    // Ready by its HTTP path: the first upgrade is answered.
    let mut ws = open_websocket(
        started.addr,
        "/ws?every=100ms",
        "ws",
        started.start,
        Duration::from_secs(15),
    )
    .expect("a valid request");
    // The 101 and two ticks.
    assert!(ws.until_received(3).await, "{:?}: no ticks", cell.runtime);
    let stopped = started.stop(cell.grace).await;
    let seen = ws.finish().await.expect("observed");
    started.remove().await;
    (seen, stopped)
}

#[tokio::test]
async fn the_protocol_runtimes_answer_their_protocols_and_stop_as_measured() {
    let run_id = new_run_id();
    let run = run_id.as_str();
    let with_init = Cell {
        init: true,
        ..Cell::new(Runtime::NodeWs, ServerMode::Unhandled)
    };
    let nginx = |signal| Cell {
        signal,
        grace: Duration::from_secs(8),
        ..Cell::new(Runtime::NginxH2c, ServerMode::Graceful)
    };
    let (ws_graceful, ws_unhandled, ws_shell, node_graceful, node_init, grpc, quit, term) = tokio::join!(
        websocket_cell(
            Cell::new(Runtime::PythonWebsockets, ServerMode::Graceful),
            run
        ),
        websocket_cell(
            Cell::new(Runtime::PythonWebsockets, ServerMode::Unhandled),
            run
        ),
        websocket_cell(
            Cell::new(Runtime::PythonWebsocketsShellForm, ServerMode::Graceful),
            run
        ),
        websocket_cell(Cell::new(Runtime::NodeWs, ServerMode::Graceful), run),
        websocket_cell(with_init, run),
        grpc_cell(Cell::new(Runtime::Grpcio, ServerMode::Graceful), run),
        h2c_cell(nginx(StopSignal::Sigquit), run),
        h2c_cell(nginx(StopSignal::Sigterm), run),
    );
    assert_run_left_nothing(run).await;

    // A graceful handler in exec form: the socket closes with 1001 at once, exit 0.
    for (name, (seen, stopped)) in [("python", &ws_graceful), ("node", &node_graceful)] {
        assert!(
            matches!(seen.end, StreamEnd::Closed { code: 1001, .. }),
            "{name}: {seen:?}"
        );
        assert_eq!(stopped.exit_code, Some(0), "{name}");
        assert!(
            stopped.took < Duration::from_secs(2),
            "{name}: {:?}",
            stopped.took
        );
    }
    // No handler in exec form (Python's default disposition is dropped for PID 1), or a
    // handler behind dash in shell form (dash forks the server and passes nothing on): the
    // server serves on until SIGKILL cuts the socket without a close frame (1006).
    for (name, (seen, stopped)) in [("unhandled", &ws_unhandled), ("shell form", &ws_shell)] {
        assert_eq!(seen.end, StreamEnd::Cut, "{name}: {seen:?}");
        assert_eq!(stopped.exit_code, Some(137), "{name}");
        assert!(
            seen.received_after(stopped.signal_at) >= 10,
            "{name}: ticks after the signal: {seen:?}"
        );
    }
    // Under --init node is PID 2: its own default handler's re-raise kills it at once.
    let (seen, stopped) = &node_init;
    assert_eq!(seen.end, StreamEnd::Cut, "{seen:?}");
    assert_eq!(stopped.exit_code, Some(143));
    assert!(stopped.took < Duration::from_secs(2), "{:?}", stopped.took);

    // grpcio's stop(grace): the call in flight finishes OK, one made after the signal is not
    // served, and the connection gets RFC 9113's two GOAWAY frames; exit 0.
    let (in_flight, after, goaways, stopped) = &grpc;
    assert!(
        matches!(in_flight.end, StreamEnd::Status { code: 0, .. }),
        "{in_flight:?}"
    );
    assert!(
        !matches!(after.end, StreamEnd::Status { code: 0, .. }),
        "served after the stop: {after:?}"
    );
    assert_eq!(*goaways, GoawaySequence::TwoStep);
    assert_eq!(stopped.exit_code, Some(0));

    // nginx over h2c: SIGQUIT sends one GOAWAY at once and finishes the download; SIGTERM (its
    // fast shutdown, docker's default) sends none and cuts it. Both exit 0.
    let (download, goaways, stopped) = &quit;
    assert_eq!(download.end, StreamEnd::Complete, "SIGQUIT: {download:?}");
    assert_eq!(*goaways, GoawaySequence::Single, "SIGQUIT");
    assert_eq!(stopped.exit_code, Some(0));
    let (download, goaways, stopped) = &term;
    assert!(download.end.is_cut(), "SIGTERM: {download:?}");
    assert_eq!(*goaways, GoawaySequence::None, "SIGTERM");
    assert_eq!(stopped.exit_code, Some(0));
}

/// A gRPC cell: `Slow(1500ms)` in flight at the stop, another call 300 ms after. Returns both
/// calls, the first connection's GOAWAY shape, and the stop.
async fn grpc_cell(
    cell: Cell,
    run_id: &str,
) -> (
    StreamObservation,
    StreamObservation,
    GoawaySequence,
    Stopped,
) {
    let started = start(cell, run_id).await;
    let deadline = Instant::now() + ANSWER_WAIT;
    // Found ready by its port held open: a call answers.
    loop {
        let mut probe = GrpcClient::new(started.addr, started.start).expect("a client");
        probe
            .slow(Duration::from_millis(1), "probe", Duration::from_secs(2))
            .expect("a call");
        let seen = probe.finish().await.expect("observed");
        if matches!(seen.calls[0].end, StreamEnd::Status { code: 0, .. }) {
            break;
        }
        assert!(Instant::now() < deadline, "grpcio never answered: {seen:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut client = GrpcClient::new(started.addr, started.start).expect("a client");
    client
        .slow(
            Duration::from_millis(1500),
            "in-flight",
            Duration::from_secs(10),
        )
        .expect("a call");
    // Give the call time to reach the server's handler.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let stopping = started.stop(cell.grace);
    let late = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        client
            .slow(
                Duration::from_millis(100),
                "after-stop",
                Duration::from_secs(5),
            )
            .expect("a call");
        client
    };
    let (stopped, client) = tokio::join!(stopping, late);
    let seen = client.finish().await.expect("observed");
    started.remove().await;
    let goaways = seen.connections[0].goaway_sequence();
    let mut calls = seen.calls.into_iter();
    let in_flight = calls.next().expect("the call in flight");
    let after = calls.next().expect("the call after the stop");
    (in_flight, after, goaways, stopped)
}

/// nginx over h2c: the 4 s download in flight at the stop (sent with prior knowledge, the only
/// way nginx speaks HTTP/2 on a cleartext port). Returns it, the GOAWAY shape, the stop.
async fn h2c_cell(cell: Cell, run_id: &str) -> (StreamObservation, GoawaySequence, Stopped) {
    let started = start(cell, run_id).await;
    let deadline = Instant::now() + ANSWER_WAIT;
    // Found ready by its port held open: `GET /` over h2c answers 200.
    loop {
        if let Ok(mut probe) = H2cConnection::connect(started.addr, started.start).await {
            probe
                .request("/", "probe", Duration::from_secs(2))
                .expect("a request");
            let seen = probe.finish().await.expect("observed");
            if seen.streams[0].end == StreamEnd::Complete && seen.streams[0].status() == Some(200) {
                break;
            }
        }
        assert!(Instant::now() < deadline, "nginx never answered over h2c");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut connection = H2cConnection::connect(started.addr, started.start)
        .await
        .expect("connected");
    let download = connection
        .request(NGINX_SLOW_PATH, "in-flight", Duration::from_secs(10))
        .expect("a request");
    // The head and the first data.
    assert!(connection.until_received(download, 2).await);
    let stopped = started.stop(cell.grace).await;
    let seen = connection.finish().await.expect("observed");
    started.remove().await;
    let goaways = seen.goaway_sequence();
    let download = seen.streams.into_iter().next().expect("the download");
    (download, goaways, stopped)
}
