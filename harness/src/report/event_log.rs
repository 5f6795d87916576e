//! The run's events as JSON lines (`--events FILE`), written and flushed as they happen: a
//! reporter like the others, for tools that follow a run while it goes on (and for the fault
//! tests, which stop the harness at chosen moments). Each line is one object: `event` (its
//! kind), `ms` (since the log was opened) and the kind's own fields; the names are a contract.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::Instant;

use serde_json::{Value, json};

use super::reporter::{Reporter, RunEvent};
use crate::model::events::{BuildEvent, EventKind};

/// A reporter writing one JSON line per event to `W` (the events file, unless told).
pub struct EventLog<W: Write = BufWriter<File>> {
    out: W,
    started: Instant,
}

impl EventLog {
    /// Creates (or truncates) `path`.
    pub fn create(path: &Path) -> std::io::Result<EventLog> {
        Ok(EventLog::new(BufWriter::new(File::create(path)?)))
    }
}

impl<W: Write> EventLog<W> {
    /// Writes to `out`; `ms` counts from now.
    pub fn new(out: W) -> EventLog<W> {
        EventLog {
            out,
            started: Instant::now(),
        }
    }

    /// Writes one line for `event`, flushed at once. A write that fails is dropped: the events
    /// file is a witness, it must not stop the run.
    pub fn write(&mut self, event: &RunEvent<'_>) {
        let mut line = describe(event);
        line["ms"] = json!(self.started.elapsed().as_millis() as u64);
        let _ = writeln!(self.out, "{line}").and_then(|()| self.out.flush());
    }
}

impl<W: Write> Reporter for EventLog<W> {
    fn report(&mut self, event: RunEvent<'_>) {
        self.write(&event);
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
            let (kind, detail) = kind_and_detail(&event.kind);
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

/// A scenario's event: its name in the log, and its `detail`.
fn kind_and_detail(kind: &EventKind) -> (&'static str, Value) {
    match kind {
        EventKind::Started { image } => ("started", json!(image)),
        EventKind::Ready => ("ready", Value::Null),
        EventKind::ServerLog { line } => ("server-log", json!(line)),
        EventKind::Pid1(pid1) => ("pid1", json!(pid1.command)),
        EventKind::RequestSent { name } => ("request-sent", json!(name)),
        EventKind::RequestDone {
            name,
            outcome,
            connected,
            ..
        } => (
            "request-done",
            json!({"request": name, "outcome": outcome, "connected": connected}),
        ),
        EventKind::StreamObserved { name, stream, .. } => (
            "stream-observed",
            json!({"request": name, "protocol": stream.protocol, "end": stream.end.name()}),
        ),
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
        EventKind::LoadStarted {
            rate,
            client,
            vantage,
        } => (
            "load-started",
            json!({"rate": rate, "client": client, "vantage": vantage}),
        ),
        EventKind::LoadRecords(records) => ("load-records", json!(records.len())),
        EventKind::LoadEnded => ("load-ended", Value::Null),
        EventKind::BalancerRecords(records) => ("balancer-records", json!(records.len())),
        EventKind::BalancerLog { line } => ("balancer-log", json!(line)),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::model::events::Event;
    use crate::model::outcome::Outcome;
    use crate::reproduce::{Timings, scenarios};

    /// The lines `events` make, parsed, each without its `ms` (checked to be there).
    fn lines(events: &[RunEvent<'_>]) -> Vec<Value> {
        let mut out = Vec::new();
        let mut log = EventLog::new(&mut out);
        for event in events {
            log.report(*event);
        }
        String::from_utf8(out)
            .expect("the log is text")
            .lines()
            .map(|line| {
                let mut value: Value = serde_json::from_str(line).expect("each line is JSON");
                let ms = value.as_object_mut().and_then(|object| object.remove("ms"));
                assert!(ms.is_some_and(|ms| ms.is_u64()), "{line} has its ms");
                value
            })
            .collect()
    }

    #[test]
    fn each_event_is_one_json_line_with_the_contracts_names() {
        let plan = scenarios(Timings::fast());
        let scenario = &plan[0];
        let event = |kind| Event {
            scenario: 0,
            at: tokio::time::Instant::now(),
            kind,
        };
        let done = event(EventKind::RequestDone {
            name: "in-flight".to_string(),
            outcome: Outcome::Ok,
            status: Some(200),
            bytes: 2,
            connected: true,
        });
        let measured = event(EventKind::StopMomentMeasured {
            warmups: 3,
            median: None,
            stop_after: Duration::from_millis(250),
        });
        let image = BuildEvent::ImageFinished {
            name: "base:dash".to_string(),
            built: false,
        };
        let lines = lines(&[
            RunEvent::Build(&BuildEvent::ServerBuilding),
            RunEvent::Build(&image),
            RunEvent::RunStarted {
                scenarios: &plan,
                jobs: 4,
            },
            RunEvent::ScenarioStarted { index: 0, scenario },
            RunEvent::Event {
                scenario,
                event: &done,
            },
            RunEvent::Event {
                scenario,
                event: &measured,
            },
        ]);
        let name = &scenario.name;
        assert_eq!(
            lines,
            [
                json!({"event": "server-building"}),
                json!({"event": "image-finished", "image": "base:dash", "built": false}),
                json!({"event": "run-started", "scenarios": plan.len(), "jobs": 4}),
                json!({"event": "scenario-started", "scenario": name}),
                json!({"event": "request-done", "scenario": name,
                       "detail": {"request": "in-flight", "outcome": Outcome::Ok, "connected": true}}),
                json!({"event": "stop-moment-measured", "scenario": name,
                       "detail": {"warmups": 3, "median_ms": null, "stop_after_ms": 250}}),
            ]
        );
    }
}
