//! The command line: help, and clear refusals of bad values (exit 2).

use assert_cmd::cargo::cargo_bin_cmd;

fn refused(args: &[&str], expected: &str) {
    let output = cargo_bin_cmd!("server").args(args).output().unwrap();
    assert_eq!(output.status.code(), Some(2), "{args:?}");
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains(expected), "{args:?}: {stderr}");
}

#[test]
fn help_lists_every_flag_and_its_variable() {
    let output = cargo_bin_cmd!("server").arg("--help").output().unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for flag in [
        "--listen",
        "--mode",
        "--delay",
        "--drain-timeout",
        "--signals",
        "--log-format",
        "--keep-alive-drain",
        "--linger",
        "--idle-timeout",
        "SERVER_LISTEN",
        "SERVER_SIGNALS",
        "SERVER_KEEP_ALIVE_DRAIN",
        "SERVER_LINGER",
        "SERVER_IDLE_TIMEOUT",
    ] {
        assert!(help.contains(flag), "no {flag} in help:\n{help}");
    }
}

#[test]
fn bad_mode_is_refused() {
    refused(&["--mode", "polite"], "use graceful, abrupt or unhandled");
}

#[test]
fn bad_delay_is_refused() {
    refused(&["--delay", "soon"], "use e.g. 250ms, 2s or 1500");
    refused(&["--delay", "1h"], "maximum of 10m");
}

#[test]
fn bad_keep_alive_drain_is_refused() {
    refused(
        &["--keep-alive-drain", "politely"],
        "use close-idle or linger",
    );
}

#[test]
fn bad_linger_is_refused() {
    refused(&["--linger", "soon"], "use e.g. 250ms, 2s or 1500");
    refused(&["--linger", "2m"], "maximum of 60s");
}

#[test]
fn bad_idle_timeout_is_refused() {
    refused(&["--idle-timeout", "soon"], "use e.g. 250ms, 2s or 1500");
    refused(&["--idle-timeout", "0"], "minimum of 1ms; use 1ms or more");
    refused(&["--idle-timeout", "500us"], "minimum of 1ms");
    refused(&["--idle-timeout", "11m"], "maximum of 10m");
}

#[test]
fn bad_signal_is_refused() {
    refused(
        &["--signals", "SIGTERM,SIGKILL"],
        "unknown signal \"SIGKILL\"",
    );
}

#[test]
fn bad_listen_address_is_refused() {
    refused(&["--listen", "localhost"], "invalid socket address");
}

#[test]
fn bad_values_from_the_environment_are_refused() {
    let output = cargo_bin_cmd!("server")
        .env("SERVER_MODE", "polite")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    for (variable, value, expected) in [
        (
            "SERVER_KEEP_ALIVE_DRAIN",
            "politely",
            "use close-idle or linger",
        ),
        ("SERVER_LINGER", "61s", "maximum of 60s"),
        ("SERVER_IDLE_TIMEOUT", "0ms", "minimum of 1ms"),
    ] {
        let output = cargo_bin_cmd!("server")
            .env(variable, value)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{variable}={value}");
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert!(stderr.contains(expected), "{variable}={value}: {stderr}");
    }
}

#[test]
fn an_address_in_use_is_an_environment_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    refused(&["--listen", &addr], "cannot listen on");
}
