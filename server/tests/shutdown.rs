//! The server as a process: what each mode does when a signal arrives.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::time::{Duration, Instant};

use common::{DEADLINE, Server, code, connect, get, get_in_background, read_reply};
use nix::sys::signal::Signal;

#[test]
fn graceful_answers_in_flight_refuses_new_and_exits_zero() {
    let delay = Duration::from_millis(400);
    let mut server = Server::start(&["--delay", "400ms"]);
    let in_flight = get_in_background(server.addr, "/");
    server.expect_line("Receive Request... GET /");

    let signalled = Instant::now();
    server.signal(Signal::SIGTERM);
    server.expect_line("Close Server...");
    let refused = connect(server.addr).expect_err("connected after Close Server");
    assert_eq!(refused.kind(), ErrorKind::ConnectionRefused);

    let reply = in_flight.join().unwrap().expect("in-flight request cut");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, b"OK\n");
    assert_eq!(code(server.wait_exit(DEADLINE)), 0);
    assert!(signalled.elapsed() < delay + Duration::from_secs(1));

    let log = server.log();
    for line in [
        "Received SIGNAL: terminated",
        "Send Response... 200",
        "Drained: 1 request(s) answered",
        "Exit 0",
    ] {
        assert!(log.contains(line), "no {line:?} in log:\n{log}");
    }
}

#[test]
fn graceful_closes_idle_keep_alive_connections_promptly() {
    let mut server = Server::start(&[]);
    let mut idle = connect(server.addr).unwrap();
    write!(idle, "GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n").unwrap();
    assert_eq!(read_reply(&mut idle).unwrap().status, 200);

    let signalled = Instant::now();
    server.signal(Signal::SIGTERM);
    let mut rest = Vec::new();
    idle.read_to_end(&mut rest)
        .expect("idle connection not closed");
    assert!(rest.is_empty(), "unexpected bytes: {rest:?}");
    assert!(signalled.elapsed() < Duration::from_secs(1));
    assert_eq!(code(server.wait_exit(DEADLINE)), 0);
}

#[test]
fn drain_deadline_cuts_what_is_left_and_exits_one() {
    let mut server = Server::start(&["--delay", "5s", "--drain-timeout", "200ms"]);
    let in_flight = get_in_background(server.addr, "/");
    server.expect_line("Receive Request... GET /");

    server.signal(Signal::SIGTERM);
    assert_eq!(code(server.wait_exit(Duration::from_secs(2))), 1);
    assert!(
        in_flight.join().unwrap().is_err(),
        "cut request got a response"
    );
    let log = server.log();
    assert!(
        log.contains("Drain deadline hit: 1 request(s) cut"),
        "{log}"
    );
    assert!(log.contains("Exit 1"), "{log}");
}

#[test]
fn a_download_cut_by_the_deadline_is_truncated() {
    let mut server = Server::start(&["--drain-timeout", "300ms"]);
    let in_flight = get_in_background(server.addr, "/download?bytes=100000&rate=20000");
    server.expect_line("Send Response... 200");

    server.signal(Signal::SIGTERM);
    assert_eq!(code(server.wait_exit(Duration::from_secs(2))), 1);
    let reply = in_flight.join().unwrap().expect("response head");
    assert_eq!(reply.content_length(), 100_000);
    assert!(
        !reply.body.is_empty() && reply.body.len() < 100_000,
        "got {} bytes",
        reply.body.len()
    );
    assert!(
        server
            .log()
            .contains("Drain deadline hit: 1 request(s) cut")
    );
}

#[test]
fn a_second_signal_ends_the_drain_at_once() {
    let mut server = Server::start(&["--delay", "5s"]);
    let in_flight = get_in_background(server.addr, "/");
    server.expect_line("Receive Request... GET /");

    server.signal(Signal::SIGTERM);
    server.expect_line("Close Server...");
    server.signal(Signal::SIGINT);
    assert_eq!(code(server.wait_exit(Duration::from_secs(1))), 130);
    assert!(in_flight.join().unwrap().is_err());
    server.expect_line("Received second SIGNAL: interrupt, exiting now");
    server.expect_line("Exit 130");
}

#[test]
fn abrupt_cuts_in_flight_requests_and_exits_at_once() {
    let mut server = Server::start(&["--mode", "abrupt", "--delay", "5s"]);
    let in_flight = get_in_background(server.addr, "/");
    server.expect_line("Receive Request... GET /");

    server.signal(Signal::SIGTERM);
    assert_eq!(code(server.wait_exit(Duration::from_secs(1))), 2);
    assert!(in_flight.join().unwrap().is_err());
    let log = server.log();
    assert!(log.contains("Received SIGNAL: terminated"), "{log}");
    assert!(log.contains("Exit 2"), "{log}");
    assert!(!log.contains("Close Server..."), "{log}");
}

#[test]
fn unhandled_dies_of_the_signal() {
    let mut server = Server::start(&["--mode", "unhandled"]);
    assert_eq!(get(server.addr, "/healthz").unwrap().status, 200);
    server.signal(Signal::SIGTERM);
    assert_eq!(server.wait_exit(DEADLINE).signal(), Some(15));
    assert!(!server.log().contains("Received SIGNAL"));
}

#[test]
fn only_the_chosen_signals_begin_shutdown() {
    let mut server = Server::start(&["--signals", "usr1,SIGHUP"]);
    server.signal(Signal::SIGUSR1);
    assert_eq!(code(server.wait_exit(DEADLINE)), 0);
    server.expect_line("Received SIGNAL: user defined signal 1");
}

#[test]
fn settings_come_from_the_environment_too() {
    let mut server =
        Server::start_with_env(&[], &[("SERVER_MODE", "abrupt"), ("SERVER_SIGNALS", "HUP")]);
    server.expect_line("(mode abrupt)");
    server.signal(Signal::SIGHUP);
    assert_eq!(code(server.wait_exit(DEADLINE)), 2);
    server.expect_line("Received SIGNAL: hangup");
}

#[test]
fn json_log_reports_the_bound_port_and_events() {
    let mut server = Server::start(&["--log-format", "json", "--delay", "10ms"]);
    assert_ne!(server.addr.port(), 0);
    assert_eq!(get(server.addr, "/?delay=1").unwrap().status, 200);
    server.signal(Signal::SIGTERM);
    assert_eq!(code(server.wait_exit(DEADLINE)), 0);

    let events: Vec<serde_json::Value> = server
        .log()
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    let names: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "start",
            "request_received",
            "response_sent",
            "signal_received",
            "shutdown_begun",
            "drained",
            "exit"
        ]
    );
    assert_eq!(events[0]["addr"], server.addr.to_string());
    assert_eq!(events[1]["path"], "/?delay=1");
    assert_eq!(events[2]["status"], 200);
    assert_eq!(events[3]["signal"], "terminated");
    assert!(
        events
            .iter()
            .all(|e| e["ts"].as_str().is_some_and(|ts| ts.ends_with('Z')))
    );
}

#[test]
fn bad_input_does_not_take_it_down() {
    let mut server = Server::start(&[]);
    let idle: Vec<_> = (0..300).map(|_| connect(server.addr).unwrap()).collect();
    let mut garbage = connect(server.addr).unwrap();
    garbage.write_all(b"\x00\x01 NONSENSE \r\n\r\n").unwrap();
    let _ = garbage.read_to_end(&mut Vec::new());
    for path in [
        "/?delay=-1",
        "/?delay=99999999999999999999",
        "/download?bytes=1e9&rate=0",
        "/%zz?delay",
    ] {
        let status = get(server.addr, path).unwrap().status;
        assert!(status == 400 || status == 404, "{path}: {status}");
    }
    assert_eq!(get(server.addr, "/healthz").unwrap().status, 200);
    drop(idle);
    server.signal(Signal::SIGTERM);
    assert_eq!(code(server.wait_exit(DEADLINE)), 0);
}
