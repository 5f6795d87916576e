//! `GET /ws`: a WebSocket that sends `tick N` every `every` and echoes what it gets; at a
//! graceful shutdown a close frame 1001 (going away), a wait of at most a second for the
//! client's close, then the end of the connection; in abrupt mode a cut.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{DEADLINE, Server, code, runtime, within_deadline};
use futures_util::{SinkExt, StreamExt};
use nix::sys::signal::Signal;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{ClientRequestBuilder, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

async fn open(addr: SocketAddr, path: &str) -> Socket {
    let uri = format!("ws://{addr}{path}").parse().unwrap();
    let request = ClientRequestBuilder::new(uri).with_header("x-request-id", "ws-1");
    let (socket, response) = tokio_tungstenite::connect_async(request)
        .await
        .expect("WebSocket handshake");
    assert_eq!(response.status().as_u16(), 101);
    socket
}

/// The next text message.
async fn text(socket: &mut Socket) -> String {
    match socket.next().await {
        Some(Ok(Message::Text(text))) => text.to_string(),
        other => panic!("expected a text message, got {other:?}"),
    }
}

#[test]
fn ticks_are_numbered_and_messages_echoed() {
    let mut server = Server::start(&[]);
    let runtime = runtime();
    within_deadline(&runtime, async {
        let mut socket = open(server.addr, "/ws?every=20ms").await;
        assert_eq!(text(&mut socket).await, "tick 1");
        assert_eq!(text(&mut socket).await, "tick 2");
        socket.send(Message::text("hello")).await.unwrap();
        // The echo comes between ticks; the ticks go on numbered.
        let mut seen = Vec::new();
        while !seen.contains(&"hello".to_string()) {
            seen.push(text(&mut socket).await);
        }
        let ticks: Vec<&String> = seen.iter().filter(|m| m.starts_with("tick ")).collect();
        for (at, tick) in ticks.iter().enumerate() {
            assert_eq!(**tick, format!("tick {}", at + 3));
        }
        socket.close(None).await.unwrap();
        // The server answers the close; the stream then ends.
        while let Some(Ok(_)) = socket.next().await {}
    });
    server.expect_line("Stream opened... ws #1 /ws?every=20ms id=ws-1");
    server.expect_line("Stream closed... ws #1 closed-by-client, ");
    server.signal(Signal::SIGTERM);
    assert_eq!(code(server.wait_exit(DEADLINE)), 0);
}

#[test]
fn graceful_sends_close_1001_and_waits_for_the_clients_close() {
    let mut server = Server::start(&[]);
    let runtime = runtime();
    let mut socket = within_deadline(&runtime, open(server.addr, "/ws?every=50ms"));
    assert_eq!(within_deadline(&runtime, text(&mut socket)), "tick 1");

    let signalled = Instant::now();
    server.signal(Signal::SIGTERM);
    let close = within_deadline(&runtime, async {
        loop {
            match socket.next().await {
                Some(Ok(Message::Text(text))) => assert!(text.starts_with("tick "), "{text}"),
                Some(Ok(Message::Close(frame))) => break frame,
                other => panic!("expected ticks then a close frame, got {other:?}"),
            }
        }
    })
    .expect("a close frame with a code");
    assert_eq!(close.code, CloseCode::Away);
    assert_eq!(u16::from(close.code), 1001);
    assert_eq!(close.reason.as_str(), "server shutting down");
    // Reading on sends the client's close (tungstenite answers by itself); then the server
    // ends the connection, and the stream ends cleanly.
    within_deadline(&runtime, async {
        assert!(socket.next().await.is_none(), "more after the close");
    });

    assert_eq!(code(server.wait_exit(DEADLINE)), 0);
    // The client answered at once: the server did not wait out its second.
    assert!(signalled.elapsed() < Duration::from_millis(900));
    server.expect_line("Close frame sent... ws #1 1001 server shutting down");
    server.expect_line("Stream closed... ws #1 going-away, ");
}

#[test]
fn a_client_that_never_answers_the_close_is_let_go_after_a_second() {
    let mut server = Server::start(&[]);
    let runtime = runtime();
    let mut socket = within_deadline(&runtime, open(server.addr, "/ws?every=10s"));
    assert_eq!(within_deadline(&runtime, text(&mut socket)), "tick 1");

    // The client reads nothing more, so it never answers the server's close.
    let signalled = Instant::now();
    server.signal(Signal::SIGTERM);
    assert_eq!(code(server.wait_exit(DEADLINE)), 0);
    let waited = signalled.elapsed();
    assert!(
        waited >= Duration::from_secs(1) && waited < Duration::from_secs(3),
        "exited {waited:?} after the signal"
    );
    // What it would have read: the close frame, then the end.
    let close = within_deadline(&runtime, socket.next());
    assert!(
        matches!(&close, Some(Ok(Message::Close(Some(frame)))) if frame.code == CloseCode::Away),
        "{close:?}"
    );
    server.expect_line("Stream closed... ws #1 going-away, 1 message(s) sent");
}

#[test]
fn abrupt_cuts_the_websocket() {
    let mut server = Server::start(&["--mode", "abrupt"]);
    let runtime = runtime();
    let mut socket = within_deadline(&runtime, open(server.addr, "/ws?every=50ms"));
    assert_eq!(within_deadline(&runtime, text(&mut socket)), "tick 1");

    server.signal(Signal::SIGTERM);
    assert_eq!(code(server.wait_exit(Duration::from_secs(1))), 2);
    within_deadline(&runtime, async {
        loop {
            match socket.next().await {
                Some(Ok(Message::Text(_))) => {}
                Some(Ok(Message::Close(frame))) => panic!("a close frame: {frame:?}"),
                // Reset, or EOF without a closing handshake.
                Some(Err(_)) | None => break,
                Some(Ok(other)) => panic!("unexpected {other:?}"),
            }
        }
    });
    assert!(!server.log().contains("Close frame sent"));
}
