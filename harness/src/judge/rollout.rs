//! A rollout's events and stream, folded: each replica's steps, and each request of the stream
//! placed in the termination in progress when it went out (pre-stop, draining, stale endpoint,
//! or steady), counted as lost or not.

use std::collections::BTreeMap;

use crate::events::EventKind;
use crate::observation::{ReplicaObservation, RolloutObservation, RolloutPhaseCounts, TimedEvent};
use crate::outcome::Outcome;
use crate::rollout::RolloutPhase;
use crate::traffic::LoadRecord;

/// The rollout seen in `timeline` (ms from ready) and the stream's `records` (their times µs
/// from `stream_started_ms`); None when the timeline holds no replica.
pub(super) fn observe(
    timeline: &[TimedEvent],
    records: &[LoadRecord],
    stream_started_ms: i64,
) -> Option<RolloutObservation> {
    let replicas = replicas(timeline);
    if replicas.is_empty() {
        return None;
    }
    let mut observation = RolloutObservation {
        replicas,
        ..RolloutObservation::default()
    };
    let mut sent = BTreeMap::new();
    let mut lost = BTreeMap::new();
    let mut by_outcome: BTreeMap<Outcome, u64> = BTreeMap::new();
    for record in records {
        // Placed by when it really went out, as a stream's phases are.
        let went_ms = stream_started_ms + i64::from(record.started_us / 1000);
        let (phase, replica) = place(&observation.replicas, went_ms);
        *sent.entry(phase).or_insert(0u64) += 1;
        observation.sent += 1;
        if record.outcome != Outcome::Ok {
            *lost.entry(phase).or_insert(0u64) += 1;
            *by_outcome.entry(record.outcome).or_default() += 1;
            observation.lost += 1;
            if let Some(index) = replica {
                observation.replicas[index].lost += 1;
            }
        }
    }
    observation.by_phase = RolloutPhase::ALL
        .into_iter()
        .map(|phase| RolloutPhaseCounts {
            phase,
            sent: sent.get(&phase).copied().unwrap_or(0),
            lost: lost.get(&phase).copied().unwrap_or(0),
        })
        .collect();
    let mut by_outcome: Vec<(Outcome, u64)> = by_outcome.into_iter().collect();
    by_outcome.sort_by_key(|entry| std::cmp::Reverse(entry.1));
    observation.lost_by_outcome = by_outcome;
    Some(observation)
}

/// Each replica's steps, in the order the replicas started.
fn replicas(timeline: &[TimedEvent]) -> Vec<ReplicaObservation> {
    let mut replicas: Vec<ReplicaObservation> = Vec::new();
    let mut of = |name: &str| -> usize {
        match replicas.iter().position(|r| r.name == name) {
            Some(index) => index,
            None => {
                replicas.push(ReplicaObservation {
                    name: name.to_string(),
                    ..ReplicaObservation::default()
                });
                replicas.len() - 1
            }
        }
    };
    let mut steps: Vec<(usize, i64, &EventKind)> = Vec::new();
    for event in timeline {
        let replica = match &event.kind {
            EventKind::ReplicaStarted { replica }
            | EventKind::ReplicaInPool { replica }
            | EventKind::TerminationBegan { replica }
            | EventKind::PreStopEnded { replica, .. }
            | EventKind::EndpointRemoved { replica }
            | EventKind::ReplicaSignalled { replica, .. }
            | EventKind::ReplicaKilled { replica }
            | EventKind::ReplicaExited { replica, .. } => replica,
            _ => continue,
        };
        steps.push((of(replica), event.ms, &event.kind));
    }
    for (index, ms, kind) in steps {
        let replica = &mut replicas[index];
        match kind {
            EventKind::ReplicaStarted { .. } => replica.started_ms = Some(ms),
            EventKind::ReplicaInPool { .. } => replica.in_pool_ms = Some(ms),
            EventKind::TerminationBegan { .. } => replica.termination_ms = Some(ms),
            EventKind::PreStopEnded { outcome, .. } => {
                replica.pre_stop = Some(outcome.clone());
                replica.pre_stop_ended_ms = Some(ms);
            }
            EventKind::EndpointRemoved { .. } => replica.endpoint_removed_ms = Some(ms),
            EventKind::ReplicaSignalled { .. } => replica.signal_ms = Some(ms),
            EventKind::ReplicaKilled { .. } => replica.killed_ms = Some(ms),
            EventKind::ReplicaExited { code, .. } => {
                replica.exit_ms = Some(ms);
                replica.exit_code = Some(*code);
            }
            _ => {}
        }
    }
    replicas
}

/// The phase a request sent at `ms` falls in, and the replica terminating then (by index).
/// A termination lasts until the replica has both exited and left the pool.
fn place(replicas: &[ReplicaObservation], ms: i64) -> (RolloutPhase, Option<usize>) {
    for (index, replica) in replicas.iter().enumerate() {
        let Some(began) = replica.termination_ms else {
            continue;
        };
        let exited = replica.exit_ms.unwrap_or(i64::MAX);
        let removed = replica.endpoint_removed_ms.unwrap_or(i64::MAX);
        if ms < began || ms >= exited.max(removed) {
            continue;
        }
        let phase = match replica.signal_ms.or(replica.killed_ms) {
            _ if ms >= exited => RolloutPhase::StaleEndpoint,
            Some(signal) if ms >= signal => RolloutPhase::Draining,
            _ => RolloutPhase::PreStop,
        };
        return (phase, Some(index));
    }
    (RolloutPhase::Steady, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rollout::HookOutcome;
    use crate::traffic::Connection;
    use crate::variant::StopSignal;

    fn at(ms: i64, kind: EventKind) -> TimedEvent {
        TimedEvent { ms, kind }
    }

    fn replica(name: &str) -> String {
        name.to_string()
    }

    fn record(id: u32, started_ms: u32, outcome: Outcome) -> LoadRecord {
        LoadRecord {
            id,
            sent_us: started_ms * 1000,
            started_us: started_ms * 1000,
            done_us: started_ms * 1000 + 10_000,
            outcome,
            status: if outcome == Outcome::Ok { 200 } else { 0 },
            connection: Connection::New,
        }
    }

    /// r1 terminates from 1000: signal at 2000, exit at 2500, endpoint removed at 3000.
    fn timeline() -> Vec<TimedEvent> {
        vec![
            at(
                0,
                EventKind::ReplicaStarted {
                    replica: replica("r1"),
                },
            ),
            at(
                10,
                EventKind::ReplicaInPool {
                    replica: replica("r1"),
                },
            ),
            at(
                500,
                EventKind::ReplicaStarted {
                    replica: replica("r2"),
                },
            ),
            at(
                600,
                EventKind::ReplicaInPool {
                    replica: replica("r2"),
                },
            ),
            at(
                1000,
                EventKind::TerminationBegan {
                    replica: replica("r1"),
                },
            ),
            at(
                2000,
                EventKind::PreStopEnded {
                    replica: replica("r1"),
                    outcome: HookOutcome::Done,
                },
            ),
            at(
                2000,
                EventKind::ReplicaSignalled {
                    replica: replica("r1"),
                    signal: StopSignal::Sigterm,
                },
            ),
            at(
                2500,
                EventKind::ReplicaExited {
                    replica: replica("r1"),
                    code: 0,
                },
            ),
            at(
                3000,
                EventKind::EndpointRemoved {
                    replica: replica("r1"),
                },
            ),
        ]
    }

    #[test]
    fn requests_fall_in_the_phase_of_the_termination_in_progress() {
        let records = [
            record(0, 900, Outcome::Ok),
            record(1, 1500, Outcome::Ok),
            record(2, 2100, Outcome::Reset),
            record(3, 2700, Outcome::HttpError),
            record(4, 2800, Outcome::HttpError),
            record(5, 3100, Outcome::Ok),
        ];
        let rollout = observe(&timeline(), &records, 0).expect("replicas were seen");
        assert_eq!(rollout.replicas.len(), 2);
        let r1 = &rollout.replicas[0];
        assert_eq!(r1.name, "r1");
        assert_eq!(r1.pre_stop, Some(HookOutcome::Done));
        assert_eq!(
            (r1.signal_ms, r1.exit_ms, r1.exit_code),
            (Some(2000), Some(2500), Some(0))
        );
        assert_eq!(r1.lost, 3);
        assert_eq!((rollout.sent, rollout.lost), (6, 3));
        let counts = |phase| {
            let c = rollout.by_phase.iter().find(|c| c.phase == phase).unwrap();
            (c.sent, c.lost)
        };
        assert_eq!(counts(RolloutPhase::Steady), (2, 0));
        assert_eq!(counts(RolloutPhase::PreStop), (1, 0));
        assert_eq!(counts(RolloutPhase::Draining), (1, 1));
        assert_eq!(counts(RolloutPhase::StaleEndpoint), (2, 2));
        assert_eq!(rollout.lost_by_outcome[0], (Outcome::HttpError, 2));
    }

    #[test]
    fn a_timeline_without_replicas_is_no_rollout() {
        assert_eq!(observe(&[at(0, EventKind::Ready)], &[], 0), None);
    }
}
