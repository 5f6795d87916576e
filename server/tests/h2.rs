//! HTTP/2 on the HTTP port: with prior knowledge and by HTTP/1.1 `Upgrade: h2c`, and what a
//! shutdown does to an HTTP/2 connection: in graceful mode two GOAWAY frames (the first naming
//! stream 2^31-1, the second, after a PING round trip, the last stream processed) while the
//! streams in flight are finished; in abrupt mode a cut with no GOAWAY.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use axum::http::Request;
use common::frames::{
    ACK, DATA, END_STREAM, Frame, GOAWAY, HEADERS, MAX_STREAM_ID, PING, PREFACE, Recorder,
    SETTINGS, read_frame, write_frame,
};
use common::{DEADLINE, Server, code, connect, runtime, within_deadline};
use nix::sys::signal::Signal;
use tokio::net::TcpStream;

/// A real HTTP/2 client (the h2 crate) on a connection whose frames from the server are
/// recorded; the connection is driven in the background until it ends.
struct Client {
    send: h2::client::SendRequest<bytes::Bytes>,
    connection: tokio::task::JoinHandle<Result<(), h2::Error>>,
    frames: mpsc::Receiver<Frame>,
    local: SocketAddr,
}

async fn client(addr: SocketAddr) -> Client {
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let local = tcp.local_addr().unwrap();
    let (record, frames) = mpsc::channel();
    let (send, connection) = h2::client::handshake(Recorder::new(tcp, record))
        .await
        .expect("HTTP/2 handshake");
    Client {
        send,
        connection: tokio::spawn(connection),
        frames,
        local,
    }
}

/// Sends `GET path` (with request id `id`) on a new stream.
async fn send(
    send: &h2::client::SendRequest<bytes::Bytes>,
    path: &str,
    id: &str,
) -> h2::client::ResponseFuture {
    let request = Request::get(format!("http://test{path}"))
        .header("x-request-id", id)
        .body(())
        .unwrap();
    let mut ready = send.clone().ready().await.expect("connection ready");
    let (response, _) = ready.send_request(request, true).expect("send request");
    response
}

/// The stream's status and body, or the error that ended it.
async fn answer(response: h2::client::ResponseFuture) -> Result<(u16, Vec<u8>), h2::Error> {
    let response = response.await?;
    let status = response.status().as_u16();
    let mut body = response.into_body();
    let mut bytes = Vec::new();
    while let Some(chunk) = body.data().await {
        let chunk = chunk?;
        let _ = body.flow_control().release_capacity(chunk.len());
        bytes.extend_from_slice(&chunk);
    }
    Ok((status, bytes))
}

#[test]
fn prior_knowledge_and_http1_share_the_port() {
    let mut server = Server::start(&[]);
    let runtime = runtime();
    let (status, body) = within_deadline(&runtime, async {
        let client = client(server.addr).await;
        answer(send(&client.send, "/healthz", "h2").await).await
    })
    .expect("HTTP/2 request");
    assert_eq!((status, body.as_slice()), (200, &b"OK\n"[..]));
    assert_eq!(common::get(server.addr, "/healthz").unwrap().status, 200);
    server.signal(Signal::SIGTERM);
    assert_eq!(code(server.wait_exit(DEADLINE)), 0);
}

#[test]
fn graceful_sends_two_goaways_and_finishes_the_streams_in_flight() {
    let mut server = Server::start(&[]);
    let runtime = runtime();
    let client = within_deadline(&runtime, client(server.addr));
    let (first, second) = within_deadline(&runtime, async {
        let first = send(&client.send, "/?delay=400ms", "a").await;
        let second = send(&client.send, "/?delay=400ms", "b").await;
        (runtime.spawn(answer(first)), runtime.spawn(answer(second)))
    });
    server.expect_line("Receive Request... GET /?delay=400ms id=a");
    server.expect_line("Receive Request... GET /?delay=400ms id=b");

    server.signal(Signal::SIGTERM);
    server.expect_line("Close Server...");
    let refused = connect(server.addr).expect_err("connected after Close Server");
    assert_eq!(refused.kind(), ErrorKind::ConnectionRefused);

    // Both streams in flight are answered in full.
    for stream in [first, second] {
        let (status, body) = within_deadline(&runtime, stream)
            .unwrap()
            .expect("stream in flight cut");
        assert_eq!((status, body.as_slice()), (200, &b"OK\n"[..]));
    }
    // Then the server closes the connection, and the client's side ends cleanly.
    drop(client.send);
    within_deadline(&runtime, client.connection)
        .unwrap()
        .expect("connection ended with an error");

    let frames: Vec<Frame> = client.frames.try_iter().collect();
    let goaways: Vec<(u32, u32)> = frames.iter().filter_map(Frame::goaway).collect();
    // Stream ids 1 and 3: the final GOAWAY names 3, the last one the server processed.
    assert_eq!(goaways, [(MAX_STREAM_ID, 0), (3, 0)], "{frames:#?}");
    let at = |wanted: &dyn Fn(&Frame) -> bool| frames.iter().position(wanted).unwrap();
    let first_goaway = at(&|f| f.goaway() == Some((MAX_STREAM_ID, 0)));
    let ping = at(&|f| f.is_ping());
    let final_goaway = at(&|f| f.goaway() == Some((3, 0)));
    let last_data = frames
        .iter()
        .rposition(|f| f.kind == DATA && f.flags & END_STREAM != 0)
        .expect("no stream ended");
    // GOAWAY(2^31-1), PING, (the client's PING ACK), GOAWAY(3), then the responses.
    assert!(first_goaway < ping && ping < final_goaway, "{frames:#?}");
    assert!(final_goaway < last_data, "{frames:#?}");

    assert_eq!(code(server.wait_exit(DEADLINE)), 0);
    server.expect_line(&format!(
        "GOAWAY sent... shutdown to {}, 2 stream(s) in flight",
        client.local
    ));
    server.expect_line("Drained: 2 request(s) answered");
}

#[test]
fn abrupt_cuts_http2_streams_without_goaway() {
    let mut server = Server::start(&["--mode", "abrupt"]);
    let runtime = runtime();
    let client = within_deadline(&runtime, client(server.addr));
    let response = within_deadline(&runtime, send(&client.send, "/?delay=5s", "a"));
    let in_flight = runtime.spawn(answer(response));
    server.expect_line("Receive Request... GET /?delay=5s id=a");

    server.signal(Signal::SIGTERM);
    assert_eq!(code(server.wait_exit(Duration::from_secs(1))), 2);
    let cut = within_deadline(&runtime, in_flight).unwrap();
    assert!(cut.is_err(), "a stream was answered: {cut:?}");
    let frames: Vec<Frame> = client.frames.try_iter().collect();
    assert!(frames.iter().all(|f| f.kind != GOAWAY), "{frames:#?}");
    assert!(!server.log().contains("GOAWAY"));
}

#[test]
fn an_idle_http2_connection_is_sent_goaway_after_the_idle_timeout() {
    let mut server = Server::start(&["--idle-timeout", "100ms"]);
    let runtime = runtime();
    let client = within_deadline(&runtime, client(server.addr));
    let answered = within_deadline(&runtime, async {
        answer(send(&client.send, "/healthz", "idle").await).await
    });
    assert_eq!(answered.unwrap().0, 200);
    // The client keeps its handle (dropping it would close the connection from its side): the
    // connection ends all the same, the server's way, with a GOAWAY. (With no stream open, the
    // h2 client closes the connection at the first GOAWAY instead of waiting for the second.)
    let _keep = client.send;
    within_deadline(&runtime, client.connection)
        .unwrap()
        .expect("connection ended with an error");
    let goaways: Vec<(u32, u32)> = client
        .frames
        .try_iter()
        .filter_map(|f| f.goaway())
        .collect();
    assert_eq!(goaways.first(), Some(&(MAX_STREAM_ID, 0)), "{goaways:?}");
    server.expect_line(&format!(
        "GOAWAY sent... idle to {}, 0 stream(s) in flight",
        client.local
    ));
    server.signal(Signal::SIGTERM);
    assert_eq!(code(server.wait_exit(DEADLINE)), 0);
}

/// Sends an HTTP/1.1 request asking to upgrade to h2c and reads the `101` head.
fn upgrade(addr: SocketAddr, path: &str) -> std::net::TcpStream {
    let mut stream = connect(addr).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: test\r\nConnection: Upgrade, HTTP2-Settings\r\n\
         Upgrade: h2c\r\nHTTP2-Settings: AAMAAABk\r\nx-request-id: up\r\n\r\n"
    )
    .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(stream.read(&mut byte).unwrap(), 1, "closed before the 101");
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    assert!(head.to_ascii_lowercase().contains("upgrade: h2c"), "{head}");
    // The client's connection preface and its (empty) SETTINGS.
    stream.write_all(PREFACE).unwrap();
    write_frame(&mut stream, SETTINGS, 0, 0, &[]).unwrap();
    stream
}

/// Reads frames until the connection ends, answering SETTINGS and PINGs as a client must.
fn frames_until_closed(stream: &mut std::net::TcpStream) -> Vec<Frame> {
    let mut frames = Vec::new();
    loop {
        match read_frame(stream) {
            Ok(frame) => {
                if frame.kind == SETTINGS && frame.flags & ACK == 0 {
                    write_frame(stream, SETTINGS, ACK, 0, &[]).unwrap();
                }
                if frame.is_ping() {
                    write_frame(stream, PING, ACK, 0, &frame.payload).unwrap();
                }
                frames.push(frame);
            }
            Err(e) if e.kind() == ErrorKind::UnexpectedEof => return frames,
            Err(e) => panic!("connection ended with {e}; frames so far: {frames:#?}"),
        }
    }
}

/// The body of stream 1, and whether its status was 200 (HPACK's static entry 8 is `:status 200`).
fn stream_1(frames: &[Frame]) -> (bool, Vec<u8>) {
    let ok = frames
        .iter()
        .any(|f| f.kind == HEADERS && f.stream == 1 && f.payload.first() == Some(&0x88));
    let body = frames
        .iter()
        .filter(|f| f.kind == DATA && f.stream == 1)
        .flat_map(|f| f.payload.clone())
        .collect();
    (ok, body)
}

#[test]
fn an_h2c_upgrade_serves_the_request_as_stream_1() {
    let mut server = Server::start(&[]);
    let mut stream = upgrade(server.addr, "/?delay=10ms");
    server.expect_line("Receive Request... GET /?delay=10ms id=up");
    // Read until stream 1 has ended; then the client says goodbye itself.
    let mut frames = Vec::new();
    while !frames
        .iter()
        .any(|f: &Frame| f.stream == 1 && f.flags & END_STREAM != 0)
    {
        let frame = read_frame(&mut stream).expect("stream 1 not answered");
        if frame.kind == SETTINGS && frame.flags & ACK == 0 {
            write_frame(&mut stream, SETTINGS, ACK, 0, &[]).unwrap();
        }
        frames.push(frame);
    }
    assert_eq!(stream_1(&frames), (true, b"OK\n".to_vec()), "{frames:#?}");
    server.signal(Signal::SIGTERM);
    let frames = frames_until_closed(&mut stream);
    let goaways: Vec<(u32, u32)> = frames.iter().filter_map(Frame::goaway).collect();
    assert_eq!(goaways, [(MAX_STREAM_ID, 0), (1, 0)], "{frames:#?}");
    assert_eq!(code(server.wait_exit(DEADLINE)), 0);
}

#[test]
fn an_upgraded_connection_is_drained_like_any_http2_connection() {
    let mut server = Server::start(&[]);
    let mut stream = upgrade(server.addr, "/?delay=400ms");
    server.expect_line("Receive Request... GET /?delay=400ms id=up");

    let signalled = Instant::now();
    server.signal(Signal::SIGTERM);
    let frames = frames_until_closed(&mut stream);
    let goaways: Vec<(u32, u32)> = frames.iter().filter_map(Frame::goaway).collect();
    assert_eq!(goaways, [(MAX_STREAM_ID, 0), (1, 0)], "{frames:#?}");
    assert_eq!(stream_1(&frames), (true, b"OK\n".to_vec()), "{frames:#?}");
    assert_eq!(code(server.wait_exit(DEADLINE)), 0);
    assert!(signalled.elapsed() < Duration::from_secs(2));
    server.expect_line("GOAWAY sent... shutdown to 127.0.0.1:");
    server.expect_line("Drained: 1 request(s) answered");
}
