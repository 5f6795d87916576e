//! Folds a finished scenario's events into what was observed.

use crate::model::streams::NamedStream;
use tokio::time::Instant;

use std::collections::HashSet;

use server_contract::LogLine;

use super::fold_load::{self, Gathered, Moments};
use super::fold_rollout;
use crate::model::events::{Event, EventKind};
use crate::model::observation::{LoadObservation, Observation, RequestObservation, TimedEvent};
use crate::model::outcome::Outcome;
use crate::model::rollout::BalancerRecord;
use crate::server_log;

/// Folds `events` (of one scenario, in order). `reads_signal_log`: whether the server is
/// ours, whose log says when it got the signal.
pub fn fold(events: &[Event], reads_signal_log: bool) -> Observation {
    let mut folding = Folding::new(events);
    for event in events {
        if folding.take(event) {
            folding.record(event);
        }
    }
    let mut observation = folding.finish(reads_signal_log);
    if let (Some(first), Some(last)) = (events.first(), events.last()) {
        observation.duration = last.at - first.at;
    }
    observation
}

/// What the events have told so far, while they are read one by one.
struct Folding {
    /// When the server was ready (else the first event): the timeline's zero.
    ready_at: Option<Instant>,
    observation: Observation,
    stop_issued: Option<Instant>,
    exit_ms: Option<i64>,
    stream: Option<Gathered>,
    balanced: Vec<BalancerRecord>,
    received: HashSet<u32>,
    // Ids the server logged before it logged the signal: accepted while it still served, so
    // sent before the signal whatever the milliseconds say (its log stamps whole milliseconds).
    received_before_signal: HashSet<u32>,
}

impl Folding {
    /// Nothing told yet; the timeline's zero is found in `events` up front.
    fn new(events: &[Event]) -> Folding {
        let ready_at = events
            .iter()
            .find(|e| e.kind == EventKind::Ready)
            .map(|e| e.at)
            .or(events.first().map(|e| e.at));
        Folding {
            ready_at,
            observation: Observation::default(),
            stop_issued: None,
            exit_ms: None,
            stream: None,
            balanced: Vec::new(),
            received: HashSet::new(),
            received_before_signal: HashSet::new(),
        }
    }

    /// `at` in ms from ready (negative before it).
    fn ms(&self, at: Instant) -> i64 {
        match self.ready_at {
            Some(ready) if at >= ready => (at - ready).as_millis() as i64,
            Some(ready) => -((ready - at).as_millis() as i64),
            None => 0,
        }
    }

    /// Takes in what `event` tells; false when it is counted elsewhere and stays off the
    /// timeline (a stream's records and request lines, the balancer's records).
    fn take(&mut self, event: &Event) -> bool {
        let ms = self.ms(event.at);
        let observation = &mut self.observation;
        match &event.kind {
            EventKind::Started { image } => observation.image.clone_from(image),
            EventKind::Ready => observation.ready = true,
            EventKind::ServerLog { line } => return self.server_log(ms, line),
            EventKind::LoadStarted {
                rate,
                client,
                vantage,
            } => {
                self.stream = Some(Gathered {
                    rate: *rate,
                    client: *client,
                    vantage: *vantage,
                    started_ms: ms,
                    started_at: event.at,
                    records: Vec::new(),
                });
            }
            EventKind::LoadRecords(records) => {
                if let Some(stream) = &mut self.stream {
                    stream.records.extend_from_slice(records);
                }
                return false;
            }
            EventKind::LoadEnded => {}
            EventKind::BalancerRecords(records) => {
                self.balanced.extend_from_slice(records);
                return false;
            }
            EventKind::BalancerLog { .. } => {}
            EventKind::Pid1(pid1) => observation.pid1 = Some(pid1.clone()),
            EventKind::RequestSent { name } => self.request_sent(ms, name),
            EventKind::RequestDone {
                name,
                outcome,
                status,
                bytes,
                connected,
            } => {
                if let Some(request) = observation.requests.iter_mut().find(|r| &r.name == name) {
                    request.outcome = *outcome;
                    request.status = *status;
                    request.bytes = *bytes;
                    request.connected = *connected;
                    request.done_ms = ms;
                }
            }
            EventKind::StreamObserved {
                name,
                stream,
                connections,
            } => {
                observation.streams.push(NamedStream {
                    name: name.clone(),
                    stream: (**stream).clone(),
                });
                observation.connections.extend_from_slice(connections);
                // It stays on the timeline: the only place that still says which connections
                // were this stream's (`Observation::stream_connections`).
            }
            EventKind::StopMomentMeasured {
                median, stop_after, ..
            } => {
                observation.stop_moment = Some(crate::model::observation::StopMoment {
                    path_latency_ms: median.map(|m| m.as_millis() as u64),
                    stop_after_ms: stop_after.as_millis() as u64,
                });
            }
            EventKind::StopIssued { .. } => {
                self.stop_issued = Some(event.at);
                observation.stop_issued_ms = Some(ms);
            }
            EventKind::SignalSent { .. } | EventKind::StopBegan { .. } => {
                observation.signal_sent_ms.get_or_insert(ms);
            }
            EventKind::StopReturned => {
                observation.stop_duration = self.stop_issued.map(|issued| event.at - issued);
            }
            EventKind::Exited { code } => {
                observation.exit_code = Some(*code);
                self.exit_ms.get_or_insert(ms);
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
        true
    }

    /// A server's log `line` at `ms`: the signal's receipt, and during a stream the ids it
    /// received; false for a stream's request lines, which stay off the timeline.
    fn server_log(&mut self, ms: i64, line: &str) -> bool {
        // A rollout's replicas log under their names: any of them counts.
        let said = server_log::without_replica(line);
        if server_log::is_signal_received(said) && self.observation.signal_logged_ms.is_none() {
            self.observation.signal_logged_ms = Some(ms);
        }
        // A stream's requests are counted in its summary, not listed one by one.
        if self.stream.is_none() {
            return true;
        }
        match LogLine::parse(line) {
            Some(LogLine::RequestReceived { id: Some(id), .. }) => {
                if let Ok(id) = id.parse() {
                    self.received.insert(id);
                    if self.observation.signal_logged_ms.is_none() {
                        self.received_before_signal.insert(id);
                    }
                }
                false
            }
            Some(LogLine::ResponseSent { .. }) => false,
            _ => true,
        }
    }

    /// A named request went out at `ms`: a timeout until its outcome is heard.
    fn request_sent(&mut self, ms: i64, name: &str) {
        self.observation.requests.push(RequestObservation {
            name: name.to_string(),
            outcome: Outcome::Timeout,
            status: None,
            bytes: 0,
            connected: false,
            sent_ms: ms,
            done_ms: ms,
            // Until the stop is seen, every request went out before it.
            sent_before_stop: self.stop_issued.is_none(),
        });
    }

    /// Puts `event` on the timeline.
    fn record(&mut self, event: &Event) {
        let ms = self.ms(event.at);
        self.observation.timeline.push(TimedEvent {
            ms,
            kind: event.kind.clone(),
        });
    }

    /// The observation, once every event is in: the timeline in order, the signal's receipt,
    /// then the rollout and the stream observed from it all.
    fn finish(mut self, reads_signal_log: bool) -> Observation {
        // Events arrive in the order they were heard; some are stamped by the engine, earlier
        // than they arrive (its kill events): a timeline reads in the order things happened.
        self.observation.timeline.sort_by_key(|event| event.ms);
        self.observation.signal_received =
            reads_signal_log.then_some(self.observation.signal_logged_ms.is_some());
        let (records, stream_started_ms) = self
            .stream
            .as_ref()
            .map_or((&[][..], 0), |s| (&s.records[..], s.started_ms));
        self.observation.rollout = fold_rollout::observe(
            &self.observation.timeline,
            records,
            &self.balanced,
            stream_started_ms,
        );
        if let Some(stream) = self.stream.take() {
            self.observation.load = Some(self.observe_stream(stream, reads_signal_log));
        }
        self.observation
    }

    /// The stream's observation, split by the moments the rest of the events told.
    fn observe_stream(&self, stream: Gathered, reads_signal_log: bool) -> LoadObservation {
        let observation = &self.observation;
        let moments = Moments {
            // A rollout's replicas stop one after the other: no single stop splits its stream.
            one_stop: observation.rollout.is_none(),
            // The server's own word for when it got the signal is the closest fact; else the
            // engine's kill event (stamped after the kill), else the stop's issue. Both stamps
            // are the engine's, taken when it read them, and lag under load; from inside the
            // namespace a connect refused after the stop went out is a fact too (the listener
            // was closed), and bounds the moment from above.
            signal_ms: observation
                .signal_logged_ms
                .or(observation.signal_sent_ms)
                .or(observation.stop_issued_ms)
                .map(|ms| {
                    let refused = observation
                        .stop_issued_ms
                        .and_then(|issued| fold_load::first_refusal_from_netns(&stream, issued));
                    refused.map_or(ms, |refused| ms.min(refused))
                }),
            stop_issued_us: self.stop_issued.map(|issued| {
                issued
                    .saturating_duration_since(stream.started_at)
                    .as_micros() as u64
            }),
            exit_ms: self.exit_ms,
            // Only our server logs request ids on receipt.
            received: reads_signal_log.then_some(&self.received),
            // Only when the server logged the signal is "before it" a fact (a shell form's server
            // never hears it).
            received_before_signal: (reads_signal_log && observation.signal_logged_ms.is_some())
                .then_some(&self.received_before_signal),
        };
        fold_load::observe(stream, &moments)
    }
}
