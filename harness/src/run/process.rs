//! Runs a scenario against the server as a bare process on 127.0.0.1 (the experiment's phase 1).

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::{oneshot, watch};
use tokio::time::Instant;

use crate::model::events::EventKind;
use crate::model::scenario::Scenario;
use crate::run::error::ScenarioError;
use crate::run::schedule::{self, Stopper};
use crate::run::sink::EventSink;
use crate::server_log;

/// How long a freshly spawned server may take to log its start line.
const START_WAIT: Duration = Duration::from_secs(10);

/// Runs `scenario` against `server` (the graceful-server binary) as a child process.
pub(super) async fn run_process(
    scenario: &Scenario,
    server: &Path,
    budget: Duration,
    sink: &EventSink,
) -> Result<(), ScenarioError> {
    let what = format!("{} ({})", server.display(), scenario.name);
    let mut child = Command::new(server)
        .envs(scenario.server.env())
        .env(server_contract::env::LISTEN, "127.0.0.1:0")
        .env(server_contract::env::LOG_FORMAT, "text")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| ScenarioError::Start {
            what: what.clone(),
            reason: e.to_string(),
        })?;
    sink.emit(EventKind::Started { image: None });

    let Some(stdout) = child.stdout.take() else {
        return Err(ScenarioError::Start {
            what,
            reason: "its standard output could not be read".to_string(),
        });
    };
    let (addr_tx, addr_rx) = oneshot::channel();
    let (received_tx, received_rx) = watch::channel(0usize);
    let log_sink = sink.clone();
    let logs = tokio::spawn(async move {
        let mut addr_tx = Some(addr_tx);
        let mut lines = BufReader::new(stdout).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(addr) = server_log::started_on(&line) {
                if let Some(tx) = addr_tx.take() {
                    let _ = tx.send(addr);
                }
            }
            if server_log::is_request_received(&line) {
                received_tx.send_modify(|n| *n += 1);
            }
            log_sink.emit(EventKind::ServerLog { line });
        }
    });

    let addr = match tokio::time::timeout(START_WAIT, addr_rx).await {
        Ok(Ok(addr)) => addr,
        outcome => {
            let reason = match outcome {
                Ok(Err(_)) => "it exited before logging its start line".to_string(),
                _ => "no start line was logged".to_string(),
            };
            return Err(ScenarioError::NotReady {
                what,
                waited: START_WAIT,
                reason,
            });
        }
    };
    let ready = Instant::now();
    sink.emit(EventKind::Ready);

    let (exit_tx, exit_rx) = watch::channel(None);
    let mut stopper = ProcessStopper {
        child: &mut child,
        scenario,
        sink,
        what: &what,
        exited: exit_tx,
    };
    // kill(2) delivers at once: the stop's issue is its delivery.
    let facts = schedule::Facts {
        received: Some(received_rx),
        delivered: None,
        exited: exit_rx,
        netns: None,
    };
    schedule::drive(scenario, budget, addr, ready, facts, &mut stopper, sink).await?;
    // The pipe closes when the process is gone: every line has been read.
    let _ = logs.await;
    Ok(())
}

/// Sends the stop signal, then waits like `docker stop`: SIGKILL after the grace period.
struct ProcessStopper<'a> {
    child: &'a mut Child,
    scenario: &'a Scenario,
    sink: &'a EventSink,
    what: &'a str,
    exited: watch::Sender<Option<i64>>,
}

impl Stopper for ProcessStopper<'_> {
    async fn stop(&mut self) -> Result<(), ScenarioError> {
        let pid = self
            .child
            .id()
            .ok_or_else(|| self.error("it already exited"))?;
        let signal = Signal::try_from(self.scenario.stop.signal.number())
            .map_err(|e| self.error(&e.to_string()))?;
        kill(Pid::from_raw(pid as i32), signal).map_err(|e| self.error(&e.to_string()))?;
        let status =
            match tokio::time::timeout(self.scenario.stop.timeout, self.child.wait()).await {
                Ok(status) => status,
                Err(_grace_over) => {
                    self.child
                        .start_kill()
                        .map_err(|e| self.error(&e.to_string()))?;
                    self.child.wait().await
                }
            }
            .map_err(|e| self.error(&e.to_string()))?;
        let code = exit_code(status);
        self.sink.emit(EventKind::Exited { code });
        self.exited.send_replace(Some(code));
        Ok(())
    }
}

impl ProcessStopper<'_> {
    fn error(&self, reason: &str) -> ScenarioError {
        ScenarioError::Stop {
            what: self.what.to_string(),
            reason: reason.to_string(),
        }
    }
}

/// The exit code as a shell reports it: the code, or 128 + the signal that killed the process.
fn exit_code(status: std::process::ExitStatus) -> i64 {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => i64::from(code),
        (None, Some(signal)) => 128 + i64::from(signal),
        (None, None) => -1,
    }
}
