//! Waiting until a started server is ready, on facts: what its [`Readiness`] names (its start
//! line, an HTTP path answering, its port accepting), or a readiness probe passing as the kubelet
//! runs it; and failing fast when the container exits first.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::sync::{oneshot, watch};
use tokio::time::Instant;

use crate::client;
use crate::model::readiness::Readiness;
use crate::model::rollout::ReadinessProbe;
use crate::run::error::ScenarioError;

/// Between two probes of a port that does not answer yet.
const PROBE_INTERVAL: Duration = Duration::from_millis(50);
/// How long a connection to a port must stay open to prove a server behind it: docker-proxy
/// accepts for a container whose server does not listen yet, then closes the connection as
/// soon as its own connect is refused (measured: grpcio "ready" 0.9 s before it listened).
const HELD_OPEN: Duration = Duration::from_millis(200);

/// Waits until the server at `addr` is ready as `readiness` says: its start line (signalled on
/// `started`), its path answering 2xx, or its port accepting; fails when it exits first.
pub(super) async fn until_ready(
    readiness: &Readiness,
    addr: SocketAddr,
    started: oneshot::Receiver<()>,
    exited: watch::Receiver<Option<i64>>,
    what: &str,
) -> Result<(), ScenarioError> {
    match readiness {
        Readiness::LogLine { within } => logged_start(started, *within, exited, what).await,
        Readiness::HttpPath { path, within } => answers(addr, path, *within, exited, what).await,
        Readiness::TcpPort { within } => accepts(addr, *within, exited, what).await,
    }
}

/// Waits for graceful-server's start line (signalled on `started`).
async fn logged_start(
    started: oneshot::Receiver<()>,
    limit: Duration,
    exited: watch::Receiver<Option<i64>>,
    what: &str,
) -> Result<(), ScenarioError> {
    tokio::select! {
        outcome = tokio::time::timeout(limit, started) => match outcome {
            Ok(Ok(())) => Ok(()),
            _ => Err(not_ready(what, limit, "the server logged no start line".to_string())),
        },
        code = exit_code(exited) => Err(exited_early(what, code)),
    }
}

/// Polls `GET path` until any complete response arrives; a non-2xx answer is an error (the
/// path would not tell a served request from a failing one).
pub(crate) async fn answers(
    addr: SocketAddr,
    path: &str,
    limit: Duration,
    exited: watch::Receiver<Option<i64>>,
    what: &str,
) -> Result<(), ScenarioError> {
    let deadline = Instant::now() + limit;
    let probe = async {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let response = client::get(addr, path, left, None, || {}).await;
            if let Some(status) = response.status {
                return Ok(status);
            }
            if Instant::now() + PROBE_INTERVAL >= deadline {
                return Err(response.outcome);
            }
            // Through docker-proxy a port that is not listening yet still accepts, then drops
            // the connection: only a response proves the server is up, so poll for one.
            tokio::time::sleep(PROBE_INTERVAL).await;
        }
    };
    tokio::select! {
        probed = probe => match probed {
            Ok(status) if (200..300).contains(&status) => Ok(()),
            Ok(status) => Err(ScenarioError::NotOk {
                what: what.to_string(),
                path: path.to_string(),
                status,
            }),
            Err(outcome) => Err(ScenarioError::NoResponse {
                what: what.to_string(),
                waited: limit,
                path: path.to_string(),
                last: outcome.to_string(),
            }),
        },
        code = exit_code(exited) => Err(exited_early(what, code)),
    }
}

/// Polls a TCP connect to `addr` until one is accepted and held open.
async fn accepts(
    addr: SocketAddr,
    limit: Duration,
    exited: watch::Receiver<Option<i64>>,
    what: &str,
) -> Result<(), ScenarioError> {
    let poll = async {
        loop {
            if let Ok(mut tcp) = tokio::net::TcpStream::connect(addr).await {
                let mut first = [0u8; 1];
                match tokio::time::timeout(HELD_OPEN, tcp.read(&mut first)).await {
                    // Held open (the server awaits the client's first bytes), or the server
                    // spoke first (an HTTP/2 server's SETTINGS): something listens.
                    Err(_) | Ok(Ok(1..)) => return,
                    // Closed or reset at once: docker-proxy found nothing listening behind.
                    Ok(_) => {}
                }
            }
            tokio::time::sleep(PROBE_INTERVAL).await;
        }
    };
    tokio::select! {
        outcome = tokio::time::timeout(limit, poll) => outcome.map_err(|_| {
            not_ready(what, limit, format!("{addr} held no connection open"))
        }),
        code = exit_code(exited) => Err(exited_early(what, code)),
    }
}

/// Runs `probe` on `addr` as the kubelet runs a readiness probe: the first `GET path` after its
/// initial delay, then one every period, each with its timeout; ready once `success_threshold`
/// probes in a row answered 2xx. Gives up after `limit`.
pub(super) async fn probe_passes(
    addr: SocketAddr,
    path: &str,
    probe: &ReadinessProbe,
    limit: Duration,
    what: &str,
) -> Result<(), ScenarioError> {
    let deadline = Instant::now() + limit;
    tokio::time::sleep(probe.initial_delay).await;
    let mut passed = 0;
    let mut last = String::from("no probe ran");
    loop {
        let started = Instant::now();
        let response = client::get(addr, path, probe.timeout, None, || {}).await;
        match response.status {
            Some(status) if (200..300).contains(&status) => {
                passed += 1;
                if passed >= probe.success_threshold.max(1) {
                    return Ok(());
                }
            }
            Some(status) => {
                passed = 0;
                last = format!("GET {path} answered {status}");
            }
            None => {
                passed = 0;
                last = format!("GET {path}: {}", response.outcome);
            }
        }
        let next = started + probe.period;
        if next >= deadline {
            return Err(not_ready(
                what,
                limit,
                format!("its readiness probe never passed ({last})"),
            ));
        }
        tokio::time::sleep_until(next).await;
    }
}

async fn exit_code(mut exited: watch::Receiver<Option<i64>>) -> i64 {
    let code = exited
        .wait_for(Option::is_some)
        .await
        .map(|code| code.unwrap_or(-1));
    match code {
        Ok(code) => code,
        // The watcher is gone without an exit: never resolve, let the other branch decide.
        Err(_) => std::future::pending().await,
    }
}

fn not_ready(what: &str, limit: Duration, reason: String) -> ScenarioError {
    ScenarioError::NotReady {
        what: what.to_string(),
        waited: limit,
        reason,
    }
}

fn exited_early(what: &str, code: i64) -> ScenarioError {
    ScenarioError::ExitedEarly {
        what: what.to_string(),
        code,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A listener that accepts and drops every connection, as docker-proxy does while nothing
    /// listens behind it, is not ready; one that holds its connections open is.
    #[tokio::test]
    async fn a_port_is_ready_when_it_holds_a_connection_open() {
        let (_exit_tx, exited) = watch::channel(None);
        let dropping = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = dropping.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = dropping.accept().await {
                drop(tcp);
            }
        });
        let limit = Duration::from_millis(600);
        let dropped = accepts(addr, limit, exited.clone(), "proxy").await;
        assert!(dropped.is_err(), "{dropped:?}");

        let holding = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = holding.local_addr().unwrap();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((tcp, _)) = holding.accept().await {
                held.push(tcp);
            }
        });
        accepts(addr, limit, exited, "server").await.unwrap();
    }
}
