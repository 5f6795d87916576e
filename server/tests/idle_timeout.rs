//! `--idle-timeout`: how long the server keeps an idle keep-alive connection before closing it.
//! A connection left idle longer is closed (the client reads end of file); one used within it
//! stays open; a new connection still has 5 s for its first request.

mod common;

use std::thread;
use std::time::{Duration, Instant};

use common::{
    DEADLINE, Server, code, connect, expect_closed, get, idle_connection, read_reply, send,
};
use nix::sys::signal::Signal;

#[test]
fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let idle = Duration::from_millis(100);
    let by_flag = Server::start(&["--idle-timeout", "100ms"]);
    let by_variable = Server::start_with_env(&[], &[("SERVER_IDLE_TIMEOUT", "100")]);
    for mut server in [by_flag, by_variable] {
        let mut stream = idle_connection(server.addr);
        let answered = Instant::now();
        expect_closed(&mut stream);
        let closed_after = answered.elapsed();
        // The server counts from the end of its response, a moment before the client read it.
        assert!(
            closed_after >= idle - Duration::from_millis(20),
            "closed after {closed_after:?}"
        );
        assert!(
            closed_after < Duration::from_secs(2),
            "closed after {closed_after:?}, not after the idle timeout"
        );

        // Only that connection was closed: the server still serves new ones.
        assert_eq!(get(server.addr, "/healthz").unwrap().status, 200);
        server.signal(Signal::SIGTERM);
        assert_eq!(code(server.wait_exit(DEADLINE)), 0);
    }
}

#[test]
fn a_keep_alive_connection_used_within_the_idle_timeout_stays_open() {
    let idle = Duration::from_millis(500);
    let server = Server::start(&["--idle-timeout", "500ms"]);
    let mut stream = idle_connection(server.addr);

    // Requests a fifth of the idle timeout apart, for longer than the idle timeout in all: each
    // response starts the count again, so the connection is never closed between them.
    let first = Instant::now();
    while first.elapsed() < 2 * idle {
        thread::sleep(idle / 5);
        send(&mut stream, "/healthz").expect("connection closed while in use");
        let reply = read_reply(&mut stream).expect("connection closed while in use");
        assert_eq!(reply.status, 200);
        assert_eq!(reply.header("connection"), None, "{reply:?}");
    }

    // Left alone now, it is closed after all.
    expect_closed(&mut stream);
}

#[test]
fn a_new_connection_has_five_seconds_for_its_first_request_whatever_the_idle_timeout() {
    let idle = Duration::from_millis(1);
    let server = Server::start(&["--idle-timeout", "1ms"]);
    let mut stream = connect(server.addr).unwrap();
    // Far longer than the idle timeout, far shorter than the first request's 5 s.
    thread::sleep(200 * idle);
    send(&mut stream, "/healthz").unwrap();
    let reply = read_reply(&mut stream).expect("new connection closed before its first request");
    assert_eq!(reply.status, 200);
    // Once answered, the connection is idle and the 1 ms applies.
    expect_closed(&mut stream);
}

#[test]
fn the_idle_timeout_ends_a_linger_early() {
    let mut server = Server::start(&[
        "--keep-alive-drain",
        "linger",
        "--linger",
        "10s",
        "--idle-timeout",
        "200ms",
    ]);
    let mut idle = idle_connection(server.addr);

    let signalled = Instant::now();
    server.signal(Signal::SIGTERM);
    server.expect_line("Linger 10s");
    // The idle timeout closes the connection during the linger; with no connection left the
    // linger ends, long before its 10 s.
    expect_closed(&mut idle);
    assert_eq!(code(server.wait_exit(Duration::from_secs(3))), 0);
    assert!(signalled.elapsed() < Duration::from_secs(3));
    server.expect_line("Drained: 0 request(s) answered");
}
