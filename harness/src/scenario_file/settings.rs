//! Settings with their places in the file: values as written, merged expectations, and the keys.

use std::collections::BTreeMap;

use super::doc::{BalancerDoc, ExpectDoc, LoadDoc, NumberOrWord, RequestDoc, RolloutDoc, Sp};
pub(super) use super::doc::{Setting, Val};

/// The settings a scenario or matrix cell is made of, as written in files (`requests` aside).
pub(super) const SETTING_KEYS: [&str; 17] = [
    "target",
    "runtime",
    "base",
    "variant",
    "init",
    "mode",
    "delay",
    "signals",
    "drain-timeout",
    "stop-signal",
    "stop-timeout",
    "stop-at",
    "client",
    "keep-alive",
    "linger",
    "idle-timeout",
    "protocol",
];

/// A cell's settings: one value per key.
pub(super) type Values = BTreeMap<&'static str, Val>;

/// The requests setting, as written.
pub(super) type RequestsDoc = Sp<Vec<Sp<RequestDoc>>>;

/// What a scenario sends, as written: its requests, its load, and (for a rolling update) its
/// rollout and balancer; what a table leaves out it inherits from `[defaults]`.
#[derive(Debug, Clone, Default)]
pub(super) struct TrafficDoc {
    pub(super) requests: Option<RequestsDoc>,
    pub(super) load: Option<Sp<LoadDoc>>,
    pub(super) rollout: Option<Sp<RolloutDoc>>,
    pub(super) balancer: Option<Sp<BalancerDoc>>,
}

impl TrafficDoc {
    /// A table's own traffic, each part falling back on `inherited`'s.
    pub(super) fn over(self, inherited: &TrafficDoc) -> TrafficDoc {
        TrafficDoc {
            requests: self.requests.or_else(|| inherited.requests.clone()),
            load: self.load.or_else(|| inherited.load.clone()),
            rollout: self.rollout.or_else(|| inherited.rollout.clone()),
            balancer: self.balancer.or_else(|| inherited.balancer.clone()),
        }
    }
}

/// Expectations merged from `expect` tables (a scenario's, or a matrix's and its rules').
#[derive(Debug, Clone, Default)]
pub(super) struct ExpectParts {
    pub(super) requests: Vec<(Sp<String>, Sp<String>)>,
    pub(super) exit_code: Option<Sp<NumberOrWord>>,
    pub(super) signal_received: Option<Sp<bool>>,
    pub(super) stop_at_least: Option<Sp<String>>,
    pub(super) stop_below: Option<Sp<String>>,
    pub(super) load: Vec<(Sp<String>, Sp<NumberOrWord>)>,
    pub(super) lost: Option<Sp<NumberOrWord>>,
    pub(super) pre_stop: Option<Sp<String>>,
    pub(super) close_code: Option<Sp<i64>>,
    pub(super) goaway: Option<Sp<String>>,
    pub(super) streams_cut: Option<Sp<NumberOrWord>>,
    pub(super) last_event: Option<Sp<String>>,
    pub(super) grpc_status: Option<Sp<String>>,
}

impl ExpectParts {
    /// Lays `doc` over these: its keys replace theirs, request by request.
    pub(super) fn merge(&mut self, doc: &ExpectDoc) {
        for (name, word) in doc.requests.iter().flatten() {
            self.requests.retain(|(n, _)| n.get_ref() != name.get_ref());
            self.requests.push((name.clone(), word.clone()));
        }
        if doc.exit_code.is_some() {
            self.exit_code = doc.exit_code.clone();
        }
        if doc.signal_received.is_some() {
            self.signal_received = doc.signal_received.clone();
        }
        if doc.stop_at_least.is_some() {
            self.stop_at_least = doc.stop_at_least.clone();
        }
        if doc.stop_below.is_some() {
            self.stop_below = doc.stop_below.clone();
        }
        if doc.lost.is_some() {
            self.lost = doc.lost.clone();
        }
        if doc.pre_stop.is_some() {
            self.pre_stop = doc.pre_stop.clone();
        }
        // The stream expectations: each key replaces the one before it.
        if doc.close_code.is_some() {
            self.close_code = doc.close_code.clone();
        }
        if doc.goaway.is_some() {
            self.goaway = doc.goaway.clone();
        }
        if doc.streams_cut.is_some() {
            self.streams_cut = doc.streams_cut.clone();
        }
        if doc.last_event.is_some() {
            self.last_event = doc.last_event.clone();
        }
        if doc.grpc_status.is_some() {
            self.grpc_status = doc.grpc_status.clone();
        }
        for (key, bound) in doc.load.iter().flatten() {
            self.load.retain(|(k, _)| k.get_ref() != key.get_ref());
            self.load.push((key.clone(), bound.clone()));
        }
    }
}
