//! The JSON report: the stable contract CI and users parse (documented in the README).

use serde::Serialize;

use std::collections::BTreeMap;

use crate::model::engine_info::EngineInfo;
use crate::model::load::{ClientProfile, Connection, Phase};
use crate::model::observation::{
    Baseline, Class, Delivery, LoadObservation, Percentiles, PhaseCounts, RequestObservation,
    Second,
};
use crate::model::observation::{RolloutObservation, RolloutRequest};
use crate::model::outcome::Outcome;
use crate::model::pid1::Pid1;
use crate::model::results::{RunResults, ScenarioResult};
use crate::model::rollout::BalancerSettings;
use crate::model::rollout::PreStop;
use crate::model::streams::millis;
use crate::model::streams::{ConnectionObservation, Goaway, GoawaySequence, Protocol};
use crate::model::vantage::Vantage;
use crate::model::verdict::{Failure, NotDelivered, RequirementCheck, Untested};
use std::time::Duration;

/// The whole report.
#[derive(Debug, Serialize)]
pub struct JsonReport<'a> {
    /// Every scenario passed.
    pub passed: bool,
    /// Wall time of the scenarios, images already built.
    pub duration_ms: u64,
    /// Wall time of building the server and images first.
    pub build_ms: u64,
    /// The longest single scenario.
    pub longest_scenario_ms: u64,
    /// The engine the scenarios ran on (null when only processes ran).
    pub engine: Option<&'a EngineInfo>,
    /// Each scenario.
    pub scenarios: Vec<JsonScenario<'a>>,
}

/// A rolling update: what was asked, and what was seen.
#[derive(Debug, Serialize)]
pub struct JsonRollout<'a> {
    /// Who replaced the replicas: `emulated` (the harness, in Kubernetes' order) or `swarm`.
    pub orchestrator: &'static str,
    /// How many replicas serve (`replicas` lists every one, old and new).
    pub replica_count: u8,
    /// How many of them were replaced, one at a time.
    pub replaced: u8,
    /// The readiness probe a new replica passed before it entered the pool.
    pub readiness: JsonReadiness<'a>,
    /// Whether a new replica could be given a gone replica's address (the engine's own
    /// allocation); false: every replica had an address of its own.
    pub address_reuse: bool,
    /// The step before the signal.
    pub pre_stop: &'a PreStop,
    /// How long after termination began each replica left the balancer's pool.
    pub endpoint_lag_ms: u64,
    /// The grace period, from the start of termination.
    pub termination_grace_ms: u64,
    /// The balancer's settings.
    pub balancer: &'a BalancerSettings,
    /// The requests each terminated replica was expected to lose to its stale endpoint
    /// (rate x max(0, lag - preStop) / pool); null when the balancer redispatches or checks.
    pub expected_lost_per_replica: Option<f64>,
    /// Each replica's steps and what the stream lost.
    #[serde(flatten)]
    pub observed: &'a RolloutObservation,
    /// Every request of the stream with what the balancer did with it, with `--load-records`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requests: Option<&'a [RolloutRequest]>,
}

/// A readiness probe, as the report gives it.
#[derive(Debug, Serialize)]
pub struct JsonReadiness<'a> {
    /// The path probed.
    pub path: &'a str,
    /// `initialDelaySeconds`, in ms.
    pub initial_delay_ms: u64,
    /// `periodSeconds`, in ms.
    pub period_ms: u64,
    /// `timeoutSeconds`, in ms.
    pub timeout_ms: u64,
    /// `successThreshold`.
    pub success_threshold: u8,
}

/// One scenario. Times are ms from the moment the server was ready.
#[derive(Debug, Serialize)]
pub struct JsonScenario<'a> {
    /// The scenario's name.
    pub name: &'a str,
    /// Every expectation held and nothing failed.
    pub passed: bool,
    /// The load was not delivered as asked (its figures and the bounds): what depends on the
    /// requests was not judged, and `passed` is false. Null when it was, or without a load.
    pub not_delivered: Option<&'a NotDelivered>,
    /// The image run; null for processes.
    pub image: Option<&'a str>,
    /// The server's exit code.
    pub exit_code: Option<i64>,
    /// The grace period before SIGKILL.
    pub stop_timeout_ms: u64,
    /// When the stop was issued.
    pub stop_issued_ms: Option<i64>,
    /// How the stop's moment was measured from the path (`check`'s default); absent when the
    /// scenario set it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_moment: Option<&'a crate::model::observation::StopMoment>,
    /// How long the stop took to return.
    pub stop_duration_ms: Option<u64>,
    /// When the engine sent the stop signal (Docker's kill event; on Podman, when the state
    /// turned `stopping`); null for processes.
    pub signal_sent_ms: Option<i64>,
    /// Exit 137 after at least the grace period.
    pub killed_after_grace: bool,
    /// Whether the server logged the signal; null when its log cannot tell (not our server).
    pub signal_received: Option<bool>,
    /// What PID 1 was; null for processes or when /proc could not be read.
    pub pid1: Option<&'a Pid1>,
    /// From the scenario's first event to its last.
    pub duration_ms: u64,
    /// When its server started, from the start of the run (queueing in the engine included).
    pub started_ms: u64,
    /// Each request's outcome and times.
    pub requests: &'a [RequestObservation],
    /// Each long-lived stream as observed (times from ready); left out when there was none.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub streams: &'a [crate::model::streams::NamedStream],
    /// The HTTP/2 connections those streams used (h2c, gRPC), with the GOAWAY frames and pings
    /// each received; left out when there was none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub connections: Vec<JsonConnection<'a>>,
    /// The two requirements, with evidence.
    pub requirements: Vec<JsonRequirement<'a>>,
    /// One line per expectation that did not hold, the scenario's error first.
    pub failures: Vec<String>,
    /// The same, as data, one for one with `failures`: each with its `kind`, what was expected
    /// and what was seen.
    pub failed: Vec<JsonFailed<'a>>,
    /// Why the expectations are what they are.
    pub reason: Option<&'a str>,
    /// The load across the stop, when the scenario had one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load: Option<JsonLoad<'a>>,
    /// The rolling update: its settings, each replica's steps, and what the stream lost by
    /// phase; null when the scenario was not one.
    pub rollout: Option<JsonRollout<'a>>,
}

/// One HTTP/2 connection of a scenario's streams: its frames, its streams by id (each stream
/// itself is in `streams`). Times in ms from ready, as the streams' own.
#[derive(Debug, Serialize)]
pub struct JsonConnection<'a> {
    /// `h2c`, or `grpc` for a gRPC client's connection.
    pub protocol: Protocol,
    /// When the client began to connect.
    #[serde(rename = "opened_ms", with = "millis")]
    pub opened: Duration,
    /// The shape of its GOAWAY frames: `none`, `single` or `two-step`.
    pub goaway: GoawaySequence,
    /// Each GOAWAY frame, in the order it arrived.
    pub goaways: &'a [Goaway],
    /// When each PING from the server arrived.
    #[serde(rename = "pings_ms", with = "millis::list")]
    pub pings: &'a [Duration],
    /// When the client saw the connection end; null if it had not when observing stopped.
    #[serde(rename = "closed_ms", with = "millis::option")]
    pub closed: Option<Duration>,
    /// The HTTP/2 stream ids of its streams, in the order they were opened (null: the stream
    /// never got one).
    pub stream_ids: Vec<Option<u32>>,
}

impl<'a> From<&'a ConnectionObservation> for JsonConnection<'a> {
    fn from(connection: &'a ConnectionObservation) -> Self {
        JsonConnection {
            protocol: connection.protocol,
            opened: connection.opened,
            goaway: connection.goaway_sequence(),
            goaways: &connection.goaways,
            pings: &connection.pings,
            closed: connection.closed,
            stream_ids: connection.streams.iter().map(|s| s.stream_id).collect(),
        }
    }
}

/// A requirement: `met` true, false, or null when untested, and then why.
#[derive(Debug, Serialize)]
pub struct JsonRequirement<'a> {
    /// The requirement, whether it was met, and its evidence.
    #[serde(flatten)]
    pub check: &'a RequirementCheck,
    /// Why it was not tested (`none-in-flight`, ...); absent when it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub untested: Option<Untested>,
}

/// One failure of a scenario, as data: its error, or an expectation that did not hold.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum JsonFailed<'a> {
    /// The error that cut the scenario short.
    Error {
        /// Always `error`.
        kind: &'static str,
        /// The error in words.
        message: String,
    },
    /// An expectation that did not hold (its `kind`, what was expected, what was seen).
    Expectation(&'a Failure),
}

/// A scenario's load: its headline, by phase, latencies, requests per second, and (with
/// `--load-records`) every request.
#[derive(Debug, Serialize)]
pub struct JsonLoad<'a> {
    /// Requests per second asked for.
    pub rate: u32,
    /// `fresh` or `pooled`.
    pub client: ClientProfile,
    /// Where the client stood: `host` (through the published port) or `netns` (inside the
    /// container's network namespace).
    pub vantage: Vantage,
    /// When the stream started, ms from ready.
    pub started_ms: i64,
    /// Whether cut and not-served could be told apart (the server logs request ids).
    pub told_apart: bool,
    /// Counts over the whole stream.
    pub total: &'a PhaseCounts,
    /// Counts by phase.
    pub phases: BTreeMap<&'static str, &'a PhaseCounts>,
    /// Latencies of the requests answered in full, before the signal and during the drain.
    pub latency_ms: BTreeMap<&'static str, Option<&'a Percentiles>>,
    /// How late the requests left, every one of them (`started_ms - sent_ms`): p50, p99 and
    /// max; null without any request.
    pub departure_lag_ms: Option<&'a Percentiles>,
    /// Whether the stream went out as asked (its departure lag within the bounds it states):
    /// when not, nothing that depends on the load was judged.
    pub delivery: &'a Delivery,
    /// The requests whose outcome came before the signal and those in flight at it, each with
    /// its losses: the path's baseline and what the stop changed. Null in a rollout.
    pub baseline: Option<&'a Baseline>,
    /// Requests sent in each second of the stream, ok and failed.
    pub per_second: &'a [Second],
    /// Every request, with `--load-records`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub records: Option<Vec<JsonRecord>>,
}

/// One request of a stream.
#[derive(Debug, Serialize)]
pub struct JsonRecord {
    /// Its id (its `x-request-id`).
    pub id: u32,
    /// When it was due, ms from ready.
    pub sent_ms: f64,
    /// When it really went out, ms from ready (its phase).
    pub started_ms: f64,
    /// When its outcome was known, ms from ready.
    pub done_ms: f64,
    /// `before-signal`, `draining` or `after-exit`; null in a rollout, which has no single
    /// stop (`rollout.requests` gives each request's phase in its replica's termination).
    pub phase: Option<Phase>,
    /// `new` or `reused`.
    pub connection: Connection,
    /// The outcome, in the vocabulary.
    pub outcome: Outcome,
    /// What it means: ok, cut, not-served, cut-or-not-served, http-error, timeout.
    pub class: Class,
    /// The status, when headers arrived.
    pub status: Option<u16>,
}

impl<'a> JsonReport<'a> {
    /// The report of `results`; every request of each load only with `records`.
    pub fn new(results: &'a RunResults) -> Self {
        Self::with_records(results, false)
    }

    /// The report of `results`, with every request of each load when `records`.
    pub fn with_records(results: &'a RunResults, records: bool) -> Self {
        JsonReport {
            passed: results.passed(),
            duration_ms: results.duration.as_millis() as u64,
            build_ms: results.build_duration.as_millis() as u64,
            longest_scenario_ms: results.longest_scenario().as_millis() as u64,
            engine: results.engine.as_ref(),
            scenarios: results
                .scenarios
                .iter()
                .map(|s| JsonScenario::new(s, records))
                .collect(),
        }
    }
}

impl<'a> JsonScenario<'a> {
    fn new(result: &'a ScenarioResult, records: bool) -> Self {
        let observation = &result.observation;
        let mut failures: Vec<String> = result.error.iter().map(|e| e.to_string()).collect();
        failures.extend(result.verdict.failures.iter().map(ToString::to_string));
        let mut failed: Vec<JsonFailed<'a>> = result
            .error
            .iter()
            .map(|e| JsonFailed::Error {
                kind: "error",
                message: e.to_string(),
            })
            .collect();
        failed.extend(result.verdict.failures.iter().map(JsonFailed::Expectation));
        JsonScenario {
            name: &result.scenario.name,
            passed: result.passed(),
            not_delivered: result.verdict.not_delivered.as_ref(),
            image: observation.image.as_deref(),
            exit_code: observation.exit_code,
            stop_timeout_ms: result.scenario.stop.timeout.as_millis() as u64,
            stop_issued_ms: observation.stop_issued_ms,
            stop_moment: observation.stop_moment.as_ref(),
            stop_duration_ms: observation.stop_duration.map(|d| d.as_millis() as u64),
            signal_sent_ms: observation.signal_sent_ms,
            killed_after_grace: observation.killed_after_grace(result.scenario.stop.timeout),
            signal_received: observation.signal_received,
            pid1: observation.pid1.as_ref(),
            duration_ms: observation.duration.as_millis() as u64,
            started_ms: result.started.as_millis() as u64,
            requests: &observation.requests,
            streams: &observation.streams,
            connections: observation
                .connections
                .iter()
                .map(JsonConnection::from)
                .collect(),
            requirements: result
                .verdict
                .requirements
                .iter()
                .map(|check| JsonRequirement {
                    check,
                    untested: check.met.untested(),
                })
                .collect(),
            failures,
            failed,
            reason: result.scenario.reason.as_deref(),
            load: observation.load.as_ref().map(|l| JsonLoad::new(l, records)),
            rollout: result
                .scenario
                .rollout
                .as_ref()
                .zip(observation.rollout.as_ref())
                .map(|(spec, observed)| JsonRollout {
                    orchestrator: spec.orchestrator.name(),
                    replica_count: spec.replicas,
                    replaced: spec.replace,
                    readiness: JsonReadiness {
                        path: spec
                            .readiness
                            .path
                            .as_deref()
                            .unwrap_or(result.scenario.ready_path()),
                        initial_delay_ms: millis(spec.readiness.initial_delay),
                        period_ms: millis(spec.readiness.period),
                        timeout_ms: millis(spec.readiness.timeout),
                        success_threshold: spec.readiness.success_threshold,
                    },
                    address_reuse: spec.address_reuse,
                    expected_lost_per_replica: result
                        .scenario
                        .load
                        .as_ref()
                        .and_then(|load| spec.expected_lost_per_replica(load.rate)),
                    requests: records.then_some(&observed.requests[..]),
                    pre_stop: &spec.pre_stop,
                    endpoint_lag_ms: spec.endpoint_lag.as_millis() as u64,
                    termination_grace_ms: spec.termination_grace.as_millis() as u64,
                    balancer: &spec.balancer,
                    observed,
                }),
        }
    }
}

impl<'a> JsonLoad<'a> {
    fn new(load: &'a LoadObservation, records: bool) -> Self {
        let summary = &load.summary;
        let ms = |us: u32| load.started_ms as f64 + f64::from(us) / 1000.0;
        JsonLoad {
            rate: load.rate,
            client: load.client,
            vantage: load.vantage,
            started_ms: load.started_ms,
            told_apart: summary.told_apart,
            total: &summary.total,
            phases: summary
                .phases
                .iter()
                .map(|(phase, counts)| (phase.name(), counts))
                .collect(),
            latency_ms: BTreeMap::from([
                ("before-signal", summary.latency_before_signal.as_ref()),
                ("draining", summary.latency_draining.as_ref()),
                ("all", summary.latency_all.as_ref()),
            ]),
            departure_lag_ms: summary.departure_lag.as_ref(),
            delivery: &summary.delivery,
            baseline: summary.baseline.as_ref(),
            per_second: &summary.per_second,
            records: records.then(|| {
                load.requests
                    .iter()
                    .map(|r| JsonRecord {
                        id: r.record.id,
                        sent_ms: ms(r.record.sent_us),
                        started_ms: ms(r.record.started_us),
                        done_ms: ms(r.record.done_us),
                        phase: r.phase,
                        connection: r.record.connection,
                        outcome: r.record.outcome,
                        class: r.class,
                        status: (r.record.status > 0).then_some(r.record.status),
                    })
                    .collect()
            }),
        }
    }
}

fn millis(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// Renders `results` as pretty-printed JSON.
pub fn render(results: &RunResults) -> String {
    render_with_records(results, false)
}

/// Renders `results` as pretty-printed JSON, with every request of each load when `records`.
pub fn render_with_records(results: &RunResults, records: bool) -> String {
    serde_json::to_string_pretty(&JsonReport::with_records(results, records))
        .unwrap_or_else(|e| format!("{{\"error\": \"the report did not serialise: {e}\"}}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::load::ClientProfile;
    use crate::model::observation::LoadSummary;

    fn load(departure_lag: Option<Percentiles>) -> LoadObservation {
        LoadObservation {
            rate: 1000,
            client: ClientProfile::Fixed,
            vantage: crate::model::vantage::Vantage::Host,
            started_ms: 0,
            requests: Vec::new(),
            summary: LoadSummary {
                total: PhaseCounts::default(),
                phases: Vec::new(),
                told_apart: true,
                latency_before_signal: None,
                latency_draining: None,
                latency_all: None,
                departure_lag,
                delivery: Default::default(),
                baseline: None,
                per_second: Vec::new(),
            },
        }
    }

    #[test]
    fn a_loads_departure_lag_is_in_the_report() {
        let lag = Percentiles {
            p50_ms: 0.1,
            p99_ms: 2.5,
            max_ms: 12.0,
        };
        let observed = load(Some(lag));
        let json = serde_json::to_value(JsonLoad::new(&observed, false)).expect("serialises");
        assert_eq!(json["client"], "fixed");
        assert_eq!(
            json["departure_lag_ms"],
            serde_json::json!({ "p50_ms": 0.1, "p99_ms": 2.5, "max_ms": 12.0 })
        );
        let none = load(None);
        let json = serde_json::to_value(JsonLoad::new(&none, false)).expect("serialises");
        assert!(json["departure_lag_ms"].is_null(), "{json}");
    }

    /// The fast exec-form scenario whose server exited 137 and whose request in flight was
    /// answered before the signal, cut short by `error` if any.
    fn failed(error: Option<crate::run::ScenarioError>) -> RunResults {
        use crate::reproduce::{Timings, scenarios};
        let scenario = scenarios(Timings::fast())[3].clone();
        let observation = crate::model::observation::Observation {
            exit_code: Some(137),
            stop_issued_ms: Some(300),
            signal_sent_ms: Some(1100),
            stop_duration: Some(std::time::Duration::from_millis(900)),
            signal_received: Some(true),
            requests: vec![
                RequestObservation {
                    name: "in-flight".to_string(),
                    outcome: Outcome::Ok,
                    status: Some(200),
                    bytes: 3,
                    connected: true,
                    sent_ms: 0,
                    done_ms: 1000,
                    sent_before_stop: true,
                },
                RequestObservation {
                    name: "after-stop".to_string(),
                    outcome: Outcome::Reset,
                    status: None,
                    bytes: 0,
                    connected: true,
                    sent_ms: 620,
                    done_ms: 621,
                    sent_before_stop: false,
                },
            ],
            ..Default::default()
        };
        let verdict = crate::judge::verdict(&scenario, &observation);
        RunResults {
            scenarios: vec![ScenarioResult {
                scenario,
                observation,
                verdict,
                error: error.map(|e| {
                    std::sync::Arc::new(e)
                        as std::sync::Arc<dyn crate::model::results::ScenarioFault>
                }),
                started: std::time::Duration::ZERO,
            }],
            duration: std::time::Duration::ZERO,
            build_duration: std::time::Duration::ZERO,
            engine: None,
        }
    }

    #[test]
    fn each_failure_is_a_sentence_and_beside_it_the_same_as_data() {
        let error = crate::run::ScenarioError::Start {
            what: "the container".to_string(),
            reason: "no such image".to_string(),
        };
        let json: serde_json::Value =
            serde_json::from_str(&render(&failed(Some(error)))).expect("the report is JSON");
        let scenario = &json["scenarios"][0];
        let sentences = scenario["failures"].as_array().expect("failures");
        let failed = scenario["failed"].as_array().expect("failed");
        assert_eq!(sentences.len(), failed.len(), "{scenario}");
        assert_eq!(failed[0]["kind"], "error");
        assert_eq!(failed[0]["message"], sentences[0]);
        let exit = failed
            .iter()
            .find(|f| f["kind"] == "exit-code")
            .expect("the exit code failed");
        assert_eq!((&exit["expected"], &exit["seen"]), (&0.into(), &137.into()));
        assert!(
            sentences.contains(&"exit code: expected 0, got 137".into()),
            "{scenario}"
        );
        let never = failed
            .iter()
            .find(|f| f["kind"] == "never-in-flight")
            .expect("the request was answered before the signal");
        assert_eq!(never["signal_ms"], 1100);
        assert_eq!(never["remedy"], "longer-delay");
    }

    #[test]
    fn an_untested_requirement_is_met_null_and_says_why() {
        let json: serde_json::Value =
            serde_json::from_str(&render(&failed(None))).expect("the report is JSON");
        let requirements = &json["scenarios"][0]["requirements"];
        assert_eq!(requirements[0]["requirement"], "answers-in-flight");
        assert_eq!(requirements[0]["met"], serde_json::Value::Null);
        assert_eq!(requirements[0]["untested"], "none-in-flight");
        assert!(
            requirements[0]["evidence"]
                .as_str()
                .is_some_and(|e| e.starts_with("not tested")),
            "{requirements}"
        );
        // A tested requirement has no `untested`.
        assert_eq!(requirements[1]["met"], true);
        assert_eq!(requirements[1].get("untested"), None, "{requirements}");
    }

    #[test]
    fn a_connection_shows_its_frames_and_its_streams_ids_not_the_streams_again() {
        use crate::model::streams::{MAX_STREAM_ID, StreamEnd, StreamObservation};
        let ms = Duration::from_millis;
        let stream = StreamObservation {
            protocol: Protocol::H2c,
            target: "/?delay=1s".to_string(),
            stream_id: Some(1),
            opened: ms(1),
            received: Vec::new(),
            end: StreamEnd::Complete,
            ended: ms(1000),
            detail: String::new(),
        };
        let goaway = |at, last_stream_id| Goaway {
            at: ms(at),
            last_stream_id,
            error_code: 0,
            debug: String::new(),
        };
        let connection = ConnectionObservation {
            protocol: Protocol::H2c,
            opened: ms(1),
            goaways: vec![goaway(300, MAX_STREAM_ID), goaway(301, 1)],
            pings: vec![ms(300)],
            closed: Some(ms(1020)),
            streams: vec![stream],
        };
        let json = serde_json::to_value(JsonConnection::from(&connection)).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "protocol": "h2c",
                "opened_ms": 1.0,
                "goaway": "two-step",
                "goaways": [
                    {"at_ms": 300.0, "last_stream_id": MAX_STREAM_ID, "error_code": 0},
                    {"at_ms": 301.0, "last_stream_id": 1, "error_code": 0},
                ],
                "pings_ms": [300.0],
                "closed_ms": 1020.0,
                "stream_ids": [1],
            })
        );
    }
}
