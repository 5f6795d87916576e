//! A rollout's events, stream and balancer log, folded: each replica's steps, and each request
//! of the stream joined (by its id) with what the balancer's log says of it: the replica it
//! went to, its retries, its termination state. Each request is placed in the phase of *that*
//! replica's termination when it went out (steady, pre-stop, draining, stale endpoint), and
//! losses are counted by replica and by phase from those facts.

use std::collections::{BTreeMap, HashMap};

use crate::model::events::EventKind;
use crate::model::load::LoadRecord;
use crate::model::observation::{
    ReplicaObservation, RolloutObservation, RolloutPhaseCounts, RolloutRequest, TimedEvent,
};
use crate::model::outcome::Outcome;
use crate::model::rollout::{BalancerRecord, RolloutPhase, replica_name};

/// The rollout seen in `timeline` (ms from ready), the stream's `records` (their times µs from
/// `stream_started_ms`) and the balancer's `balanced` records; None when the timeline holds no
/// replica.
pub(super) fn observe(
    timeline: &[TimedEvent],
    records: &[LoadRecord],
    balanced: &[BalancerRecord],
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
    let by_id: HashMap<u32, &BalancerRecord> = balanced.iter().map(|b| (b.id, b)).collect();
    let mut sent = BTreeMap::new();
    let mut lost = BTreeMap::new();
    let mut by_outcome: BTreeMap<Outcome, u64> = BTreeMap::new();
    let mut records: Vec<&LoadRecord> = records.iter().collect();
    records.sort_by_key(|r| r.id);
    for record in records {
        let ms = |us: u32| stream_started_ms + i64::from(us / 1000);
        // Placed by when it really went out, as a stream's phases are.
        let went_ms = ms(record.started_us);
        let balancer = by_id.get(&record.id).copied();
        let index = balancer.and_then(|b| b.replica).and_then(|n| {
            let name = replica_name(n);
            observation.replicas.iter().position(|r| r.name == name)
        });
        let phase = match index {
            Some(index) => phase_of(&observation.replicas[index], went_ms),
            None => RolloutPhase::Unattributed,
        };
        let is_lost = record.outcome != Outcome::Ok;
        *sent.entry(phase).or_insert(0u64) += 1;
        observation.sent += 1;
        if let Some(index) = index {
            observation.replicas[index].routed += 1;
        } else {
            observation.unattributed += 1;
        }
        if is_lost {
            *lost.entry(phase).or_insert(0u64) += 1;
            *by_outcome.entry(record.outcome).or_default() += 1;
            observation.lost += 1;
            if let Some(index) = index {
                observation.replicas[index].lost += 1;
            }
        }
        observation.requests.push(RolloutRequest {
            id: record.id,
            replica: index.map(|i| observation.replicas[i].name.clone()),
            phase,
            retries: balancer.map_or(0, |b| b.retries),
            redispatched: balancer.is_some_and(|b| b.redispatched),
            termination_state: balancer.map(|b| b.termination_state().to_string()),
            outcome: record.outcome,
            status: (record.status > 0).then_some(record.status),
            sent_ms: went_ms,
            done_ms: ms(record.done_us),
        });
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
            | EventKind::ReplicaInPool { replica, .. }
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
            EventKind::ReplicaInPool { address, .. } => {
                replica.in_pool_ms = Some(ms);
                replica.address = Some(*address);
            }
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

/// The phase of `replica`'s termination at `ms`: steady before it began, pre-stop until its
/// signal (or SIGKILL), draining until it exited, stale endpoint after (the balancer still
/// sending to it).
fn phase_of(replica: &ReplicaObservation, ms: i64) -> RolloutPhase {
    match replica.termination_ms {
        Some(began) if ms >= began => {}
        _ => return RolloutPhase::Steady,
    }
    if replica.exit_ms.is_some_and(|exit| ms >= exit) {
        return RolloutPhase::StaleEndpoint;
    }
    match replica.signal_ms.or(replica.killed_ms) {
        Some(signal) if ms >= signal => RolloutPhase::Draining,
        _ => RolloutPhase::PreStop,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::load::Connection;
    use crate::model::rollout::HookOutcome;
    use crate::model::variant::StopSignal;

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
                    address: [10, 0, 0, 3].into(),
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
                    address: [10, 0, 0, 4].into(),
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

    fn routed(id: u32, replica: u8, termination: &[u8; 4]) -> BalancerRecord {
        BalancerRecord {
            id,
            replica: Some(replica),
            retries: 0,
            redispatched: false,
            termination: *termination,
            status: Some(200),
            connect_ms: Some(0),
            total_ms: Some(10),
        }
    }

    #[test]
    fn requests_fall_in_the_phase_of_the_replica_they_went_to() {
        let records = [
            record(0, 900, Outcome::Ok),
            record(1, 1500, Outcome::Ok),
            record(2, 2100, Outcome::HttpError),
            record(3, 2700, Outcome::HttpError),
            // Sent while r1 was gone, but to r2: steady, and not r1's loss.
            record(4, 2800, Outcome::Ok),
            record(5, 3100, Outcome::Ok),
            // The balancer never logged it.
            record(6, 3200, Outcome::Reset),
        ];
        let balanced = [
            routed(0, 1, b"----"),
            routed(1, 1, b"----"),
            routed(2, 1, b"SC--"),
            routed(3, 1, b"SC--"),
            routed(4, 2, b"----"),
            routed(5, 2, b"----"),
        ];
        let rollout = observe(&timeline(), &records, &balanced, 0).expect("replicas were seen");
        assert_eq!(rollout.replicas.len(), 2);
        let (r1, r2) = (&rollout.replicas[0], &rollout.replicas[1]);
        assert_eq!(r1.name, "r1");
        assert_eq!(r1.pre_stop, Some(HookOutcome::Done));
        assert_eq!(
            (r1.signal_ms, r1.exit_ms, r1.exit_code),
            (Some(2000), Some(2500), Some(0))
        );
        assert_eq!((r1.routed, r1.lost), (4, 2));
        assert_eq!((r2.routed, r2.lost), (2, 0));
        assert_eq!(
            (rollout.sent, rollout.lost, rollout.unattributed),
            (7, 3, 1)
        );
        let counts = |phase| {
            let c = rollout.by_phase.iter().find(|c| c.phase == phase).unwrap();
            (c.sent, c.lost)
        };
        assert_eq!(counts(RolloutPhase::Steady), (3, 0));
        assert_eq!(counts(RolloutPhase::PreStop), (1, 0));
        assert_eq!(counts(RolloutPhase::Draining), (1, 1));
        assert_eq!(counts(RolloutPhase::StaleEndpoint), (1, 1));
        assert_eq!(counts(RolloutPhase::Unattributed), (1, 1));
        assert_eq!(rollout.lost_by_outcome[0], (Outcome::HttpError, 2));
        let third = &rollout.requests[2];
        assert_eq!(third.replica.as_deref(), Some("r1"));
        assert_eq!(third.termination_state.as_deref(), Some("SC--"));
        assert_eq!(rollout.requests[6].termination_state, None);
    }

    #[test]
    fn a_timeline_without_replicas_is_no_rollout() {
        assert_eq!(observe(&[at(0, EventKind::Ready)], &[], &[], 0), None);
    }
}
