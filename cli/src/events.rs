//! `--events FILE`: the run's events as JSON lines, written and flushed as they happen, for
//! tools that follow a run while it goes on (and for the fault tests, which stop the harness at
//! chosen moments).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::Instant;

use serde_json::{Value, json};
use shutdown_harness::{BuildEvent, EventKind, RunEvent};

/// The open events file.
pub struct EventLog {
    out: BufWriter<File>,
    started: Instant,
}

impl EventLog {
    /// Creates (or truncates) `path`.
    pub fn create(path: &Path) -> std::io::Result<EventLog> {
        Ok(EventLog {
            out: BufWriter::new(File::create(path)?),
            started: Instant::now(),
        })
    }

    /// Writes one line for `event`, flushed at once. A write that fails is dropped: the events
    /// file is a witness, it must not stop the run.
    pub fn write(&mut self, event: &RunEvent<'_>) {
        let mut line = describe(event);
        line["ms"] = json!(self.started.elapsed().as_millis() as u64);
        let _ = writeln!(self.out, "{line}").and_then(|()| self.out.flush());
    }
}

/// `{"event": "...", ...}` for one run event.
fn describe(event: &RunEvent<'_>) -> Value {
    match event {
        RunEvent::Build(build) => match build {
            BuildEvent::ServerBuilding => json!({"event": "server-building"}),
            BuildEvent::ServerReady => json!({"event": "server-ready"}),
            BuildEvent::ImageStarted { name } => json!({"event": "image-started", "image": name}),
            BuildEvent::ImageFinished { name, built } => {
                json!({"event": "image-finished", "image": name, "built": built})
            }
        },
        RunEvent::RunStarted { scenarios, jobs } => {
            json!({"event": "run-started", "scenarios": scenarios.len(), "jobs": jobs})
        }
        RunEvent::ScenarioStarted { scenario, .. } => {
            json!({"event": "scenario-started", "scenario": scenario.name})
        }
        RunEvent::Event { scenario, event } => {
            let (kind, detail) = match &event.kind {
                EventKind::Started { image } => ("started", json!(image)),
                EventKind::Ready => ("ready", Value::Null),
                EventKind::ServerLog { line } => ("server-log", json!(line)),
                EventKind::Pid1(pid1) => ("pid1", json!(pid1.command)),
                EventKind::RequestSent { name } => ("request-sent", json!(name)),
                EventKind::RequestDone { name, outcome, .. } => {
                    ("request-done", json!({"request": name, "outcome": outcome}))
                }
                EventKind::StopMomentMeasured {
                    warmups,
                    median,
                    stop_after,
                } => (
                    "stop-moment-measured",
                    json!({
                        "warmups": warmups,
                        "median_ms": median.map(|m| m.as_millis() as u64),
                        "stop_after_ms": stop_after.as_millis() as u64,
                    }),
                ),
                EventKind::StopIssued { signal, .. } => ("stop-issued", json!(signal)),
                EventKind::SignalSent { signal } => ("signal-sent", json!(signal)),
                EventKind::StopBegan { signal } => ("stop-began", json!(signal)),
                EventKind::ReplicaStarted { replica } => ("replica-started", json!(replica)),
                EventKind::ReplicaInPool { replica, address } => (
                    "replica-in-pool",
                    json!({"replica": replica, "address": address}),
                ),
                EventKind::TerminationBegan { replica } => ("termination-began", json!(replica)),
                EventKind::PreStopEnded { replica, outcome } => (
                    "pre-stop-ended",
                    json!({"replica": replica, "outcome": outcome}),
                ),
                EventKind::EndpointRemoved { replica } => ("endpoint-removed", json!(replica)),
                EventKind::ReplicaSignalled { replica, signal } => (
                    "replica-signalled",
                    json!({"replica": replica, "signal": signal}),
                ),
                EventKind::ReplicaKilled { replica } => ("replica-killed", json!(replica)),
                EventKind::ReplicaExited { replica, code } => {
                    ("replica-exited", json!({"replica": replica, "code": code}))
                }
                EventKind::StopReturned => ("stop-returned", Value::Null),
                EventKind::Exited { code } => ("exited", json!(code)),
                EventKind::LoadStarted { rate, client } => {
                    ("load-started", json!({"rate": rate, "client": client}))
                }
                EventKind::LoadRecords(records) => ("load-records", json!(records.len())),
                EventKind::LoadEnded => ("load-ended", Value::Null),
                EventKind::BalancerRecords(records) => ("balancer-records", json!(records.len())),
                EventKind::BalancerLog { line } => ("balancer-log", json!(line)),
            };
            json!({"event": kind, "scenario": scenario.name, "detail": detail})
        }
        RunEvent::ScenarioFinished { result, .. } => json!({
            "event": "scenario-finished",
            "scenario": result.scenario.name,
            "passed": result.passed(),
        }),
        RunEvent::CleanupFailed(error) => {
            json!({"event": "cleanup-failed", "detail": error.to_string()})
        }
        RunEvent::RunFinished { results } => {
            json!({"event": "run-finished", "passed": results.passed()})
        }
    }
}
