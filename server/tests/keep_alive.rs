//! Keep-alive connections across the stop: `--keep-alive-drain close-idle` closes idle ones at
//! once, `linger` serves them a while longer with `Connection: close`.

mod common;

use std::io::{self, ErrorKind};
use std::thread;
use std::time::{Duration, Instant};

use common::{
    DEADLINE, Reply, Server, code, connect, expect_closed, idle_connection, read_reply, send,
};
use nix::sys::signal::Signal;

fn assert_closes_after(reply: &Reply) {
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, b"OK\n");
    assert_eq!(reply.header("connection"), Some("close"), "{reply:?}");
}

#[test]
fn close_idle_closes_an_idle_connection_at_once_and_a_request_on_it_is_lost() {
    let mut server = Server::start(&["--keep-alive-drain", "close-idle"]);
    let mut idle = idle_connection(server.addr);

    let signalled = Instant::now();
    server.signal(Signal::SIGTERM);
    server.expect_line("Close Server...");
    // The server's FIN is the fact to wait for; a peek leaves it to be read again below.
    assert_eq!(
        idle.peek(&mut [0; 1]).expect("idle connection not closed"),
        0
    );
    assert!(signalled.elapsed() < Duration::from_secs(1));

    // What a pooled client that reuses the connection now gets: no response (EOF or reset).
    let _ = send(&mut idle, "/");
    let lost = read_reply(&mut idle).expect_err("a request on a closed connection was answered");
    assert!(
        matches!(
            lost.kind(),
            ErrorKind::UnexpectedEof | ErrorKind::ConnectionReset
        ),
        "{lost:?}"
    );
    assert_eq!(code(server.wait_exit(DEADLINE)), 0);
    let log = server.log();
    assert!(!log.contains("Linger"), "{log}");
    assert!(!log.contains("Receive Request"), "{log}");
}

#[test]
fn linger_serves_a_request_on_an_idle_connection_with_connection_close() {
    let mut server = Server::start(&[
        "--keep-alive-drain",
        "linger",
        "--linger",
        "10s",
        "--delay",
        "10ms",
    ]);
    let mut idle = idle_connection(server.addr);

    server.signal(Signal::SIGTERM);
    server.expect_line("Linger 10s: open connections served with Connection: close");
    let refused = connect(server.addr).expect_err("connected during the linger");
    assert_eq!(refused.kind(), ErrorKind::ConnectionRefused);

    send(&mut idle, "/").unwrap();
    let reply = read_reply(&mut idle).expect("request during the linger not answered");
    assert_closes_after(&reply);
    expect_closed(&mut idle);

    // With no connection left the linger ends early: well before its 10 s.
    assert_eq!(code(server.wait_exit(Duration::from_secs(3))), 0);
    let log = server.log();
    for line in [
        "Receive Request... GET /",
        "Send Response... 200",
        "Drained: 1 request(s) answered",
        "Exit 0",
    ] {
        assert!(log.contains(line), "no {line:?} in log:\n{log}");
    }
}

#[test]
fn linger_closes_idle_connections_once_the_linger_is_over() {
    let linger = Duration::from_millis(300);
    let mut server = Server::start(&["--keep-alive-drain", "linger", "--linger", "300ms"]);
    let mut idle = idle_connection(server.addr);

    let signalled = Instant::now();
    server.signal(Signal::SIGTERM);
    server.expect_line("Linger 300ms");
    expect_closed(&mut idle);
    let closed_after = signalled.elapsed();
    assert!(closed_after >= linger, "closed after {closed_after:?}");

    assert_eq!(code(server.wait_exit(DEADLINE)), 0);
    let exited_after = signalled.elapsed();
    assert!(
        exited_after < linger + Duration::from_secs(1),
        "exited after {exited_after:?}"
    );
    server.expect_line("Drained: 0 request(s) answered");
}

#[test]
fn in_flight_responses_carry_connection_close_in_both_drains() {
    for drain in ["close-idle", "linger"] {
        let mut server = Server::start(&["--keep-alive-drain", drain, "--delay", "300ms"]);
        let addr = server.addr;
        let in_flight = thread::spawn(move || {
            let mut stream = connect(addr)?;
            send(&mut stream, "/")?;
            let reply = read_reply(&mut stream)?;
            expect_closed(&mut stream);
            Ok::<_, io::Error>(reply)
        });
        server.expect_line("Receive Request... GET /");

        server.signal(Signal::SIGTERM);
        let reply = in_flight.join().unwrap().expect("in-flight request cut");
        assert_closes_after(&reply);
        assert_eq!(code(server.wait_exit(DEADLINE)), 0, "{drain}");
        server.expect_line("Drained: 1 request(s) answered");
    }
}

#[test]
fn the_drain_timeout_bounds_the_linger() {
    let mut server = Server::start(&[
        "--keep-alive-drain",
        "linger",
        "--linger",
        "10s",
        "--drain-timeout",
        "300ms",
    ]);
    let _idle = idle_connection(server.addr);

    server.signal(Signal::SIGTERM);
    server.expect_line("Linger 10s");
    assert_eq!(code(server.wait_exit(Duration::from_secs(2))), 1);
    server.expect_line("Drain deadline hit: 0 request(s) cut");
}

#[test]
fn the_drain_and_linger_come_from_the_environment_too() {
    let mut server = Server::start_with_env(
        &[],
        &[
            ("SERVER_KEEP_ALIVE_DRAIN", "linger"),
            ("SERVER_LINGER", "200"),
        ],
    );
    server.signal(Signal::SIGTERM);
    server.expect_line("Linger 200ms");
    assert_eq!(code(server.wait_exit(DEADLINE)), 0);
}
