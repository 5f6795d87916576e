//! Folds a finished scenario's events into what was observed.

use tokio::time::Instant;

use std::collections::HashSet;

use server_contract::LogLine;

use super::load::{self, Gathered, Moments};
use super::rollout;
use crate::events::{Event, EventKind};
use crate::observation::{Observation, RequestObservation, TimedEvent};
use crate::outcome::Outcome;
use crate::server_log;

/// Folds `events` (of one scenario, in order). `reads_signal_log`: whether the server is
/// ours, whose log says when it got the signal.
pub fn fold(events: &[Event], reads_signal_log: bool) -> Observation {
    let first = events.first().map(|e| e.at);
    let ready_at = events
        .iter()
        .find(|e| e.kind == EventKind::Ready)
        .map(|e| e.at)
        .or(first);
    let ms = |at: Instant| match ready_at {
        Some(ready) if at >= ready => (at - ready).as_millis() as i64,
        Some(ready) => -((ready - at).as_millis() as i64),
        None => 0,
    };

    let mut observation = Observation::default();
    let mut stop_issued = None;
    let mut exit_ms = None;
    let mut stream: Option<Gathered> = None;
    let mut balanced = Vec::new();
    let mut received: HashSet<u32> = HashSet::new();
    // Ids the server logged before it logged the signal: accepted while it still served, so
    // sent before the signal whatever the milliseconds say (its log stamps whole milliseconds).
    let mut received_before_signal: HashSet<u32> = HashSet::new();
    for event in events {
        match &event.kind {
            EventKind::Started { image } => observation.image.clone_from(image),
            EventKind::Ready => observation.ready = true,
            EventKind::ServerLog { line } => {
                // A rollout's replicas log under their names: any of them counts.
                let said = server_log::without_replica(line);
                if server_log::is_signal_received(said) && observation.signal_logged_ms.is_none() {
                    observation.signal_logged_ms = Some(ms(event.at));
                }
                // A stream's requests are counted in its summary, not listed one by one.
                if stream.is_some() {
                    match LogLine::parse(line) {
                        Some(LogLine::RequestReceived { id: Some(id), .. }) => {
                            if let Ok(id) = id.parse() {
                                received.insert(id);
                                if observation.signal_logged_ms.is_none() {
                                    received_before_signal.insert(id);
                                }
                            }
                            continue;
                        }
                        Some(LogLine::ResponseSent { .. }) => continue,
                        _ => {}
                    }
                }
            }
            EventKind::LoadStarted { rate, client } => {
                stream = Some(Gathered {
                    rate: *rate,
                    client: *client,
                    started_ms: ms(event.at),
                    records: Vec::new(),
                });
            }
            EventKind::LoadRecords(records) => {
                if let Some(stream) = &mut stream {
                    stream.records.extend_from_slice(records);
                }
                continue;
            }
            EventKind::LoadEnded => {}
            EventKind::BalancerRecords(records) => {
                balanced.extend_from_slice(records);
                continue;
            }
            EventKind::BalancerLog { .. } => {}
            EventKind::Pid1(pid1) => observation.pid1 = Some(pid1.clone()),
            EventKind::RequestSent { name } => {
                observation.requests.push(RequestObservation {
                    name: name.clone(),
                    outcome: Outcome::Timeout,
                    status: None,
                    bytes: 0,
                    sent_ms: ms(event.at),
                    done_ms: ms(event.at),
                    // Until the stop is seen, every request went out before it.
                    sent_before_stop: stop_issued.is_none(),
                });
            }
            EventKind::RequestDone {
                name,
                outcome,
                status,
                bytes,
            } => {
                if let Some(request) = observation.requests.iter_mut().find(|r| &r.name == name) {
                    request.outcome = *outcome;
                    request.status = *status;
                    request.bytes = *bytes;
                    request.done_ms = ms(event.at);
                }
            }
            EventKind::StopMomentMeasured {
                median, stop_after, ..
            } => {
                observation.stop_moment = Some(crate::observation::StopMoment {
                    path_latency_ms: median.map(|m| m.as_millis() as u64),
                    stop_after_ms: stop_after.as_millis() as u64,
                });
            }
            EventKind::StopIssued { .. } => {
                stop_issued = Some(event.at);
                observation.stop_issued_ms = Some(ms(event.at));
            }
            EventKind::SignalSent { .. } | EventKind::StopBegan { .. } => {
                observation.signal_sent_ms.get_or_insert(ms(event.at));
            }
            EventKind::StopReturned => {
                observation.stop_duration = stop_issued.map(|issued| event.at - issued);
            }
            EventKind::Exited { code } => {
                observation.exit_code = Some(*code);
                exit_ms.get_or_insert(ms(event.at));
            }
            // A rollout's steps: folded from the timeline once it is complete.
            EventKind::ReplicaStarted { .. }
            | EventKind::ReplicaInPool { .. }
            | EventKind::TerminationBegan { .. }
            | EventKind::PreStopEnded { .. }
            | EventKind::EndpointRemoved { .. }
            | EventKind::ReplicaSignalled { .. }
            | EventKind::ReplicaKilled { .. }
            | EventKind::ReplicaExited { .. } => {}
        }
        observation.timeline.push(TimedEvent {
            ms: ms(event.at),
            kind: event.kind.clone(),
        });
    }
    // Events arrive in the order they were heard; some are stamped by the engine, earlier than
    // they arrive (its kill events): a timeline reads in the order things happened.
    observation.timeline.sort_by_key(|event| event.ms);
    observation.signal_received =
        reads_signal_log.then_some(observation.signal_logged_ms.is_some());
    let (records, stream_started_ms) = stream
        .as_ref()
        .map_or((&[][..], 0), |s| (&s.records[..], s.started_ms));
    observation.rollout =
        rollout::observe(&observation.timeline, records, &balanced, stream_started_ms);
    if let Some(stream) = stream {
        let moments = Moments {
            // A rollout's replicas stop one after the other: no single stop splits its stream.
            one_stop: observation.rollout.is_none(),
            // The server's own word for when it got the signal is the closest fact; else the
            // engine's kill event (stamped after the kill), else the stop's issue.
            signal_ms: observation
                .signal_logged_ms
                .or(observation.signal_sent_ms)
                .or(observation.stop_issued_ms),
            exit_ms,
            // Only our server logs request ids on receipt.
            received: reads_signal_log.then_some(&received),
            // Only when the server logged the signal is "before it" a fact (a shell form's server
            // never hears it).
            received_before_signal: (reads_signal_log && observation.signal_logged_ms.is_some())
                .then_some(&received_before_signal),
        };
        observation.load = Some(load::observe(stream, &moments));
    }
    if let (Some(first), Some(last)) = (first, events.last()) {
        observation.duration = last.at - first;
    }
    observation
}
