//! Checking any HTTP server image or running container: requests in flight, `docker stop`, one
//! request after it, and the two requirements judged with their evidence. The requests are
//! HTTP/1.1, or long-lived streams of another protocol (h2c, gRPC, WebSocket, server-sent
//! events), each judged by the requirements read per stream.
//!
//! The same checks the CLI's `check` runs are callable from a user's own tests, on an image
//! ([`check_image`]) or on a container they already started, with testcontainers for example
//! ([`check_container`], [`check_testcontainer`]).
//!
//! What a check does is plain data, so it can be looked at before anything runs:
//!
//! ```
//! use std::sync::Arc;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::engine::{Engine, MAX_STOP_TIMEOUT};
use crate::error::{Error, Result};
use crate::model::load::{
    Bound, ClientProfile, Limit, LoadExpectation, LoadSpec, LoadThreshold, LoadWhat, Phase,
    Quantile,
};
use crate::model::outcome::{Expected, Outcome};
use crate::model::readiness::Readiness;
use crate::model::results::ScenarioResult;
use crate::model::rollout::{RolloutExpectation, RolloutSpec};
use crate::model::scenario::{
    Expectations, FromPath, ImageSpec, Offset, RequestKind, RequestSpec, RunningSpec, Scenario,
    ServerSpec, StopSpec, Target,
};
use crate::model::stream_expect::StreamExpectations;
use crate::model::streams::{Protocol, StreamRoutes, StreamWhat, grpc_method_problem};
use crate::model::variant::{ServerMode, StopSignal};
use crate::option_name::OptionName;
use crate::pipeline::{self, RunOptions};
use crate::report::Reporter;

/// What to check and how.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// The container port the server listens on.
    pub port: u16,
    /// What the requests speak: HTTP/1.1 requests (the default), or long-lived streams of
    /// another protocol, opened before the stop and held across it, and one more opened after
    /// the signal, each judged by the two requirements read per stream.
    pub protocol: Protocol,
    /// The path requested (a slow one shows the drain best); for a stream protocol the
    /// endpoint's (`/ws`), for gRPC the method's, `/package.Service/Method` ([`default_path`]
    /// says each protocol's usual one).
    pub path: String,
    /// How many requests are in flight when the stop is issued (streams held open, for a stream
    /// protocol).
    pub requests: usize,
    /// `docker stop`'s grace period (whole seconds).
    pub stop_timeout: Duration,
    /// The stop signal; None: the image's `STOPSIGNAL`, else SIGTERM.
    pub signal: Option<StopSignal>,
    /// `docker run --init` (for [`check_image`]).
    pub init: bool,
    /// How long after the in-flight requests are sent the stop is issued. None (the default):
    /// measured from the path, half its median latency over a few warm-up requests, so that the
    /// requests are surely in flight (a rollout starts its first replacement a second in).
    pub stop_after: Option<Duration>,
    /// How long after the stop the late request is sent.
    pub after_stop: Duration,
    /// How long the server may take to answer after the container started.
    pub startup_timeout: Duration,
    /// The path polled until the server answers 2xx (None: `path`; a fast one saves waiting).
    /// For a stream protocol, None waits for the port to hold a connection open instead.
    pub ready_path: Option<String>,
    /// The run id the check's container carries (label `shutdown-harness.run`), so that the
    /// invoking command's cleanup finds it.
    pub run_id: String,
    /// Cancel it to stop the check at once; its container is removed.
    pub cancel: CancellationToken,
    /// A steady stream of requests across the stop, besides the requests in flight.
    pub load: Option<LoadSpec>,
    /// Instead of one stop, a rolling update of replicas of the image behind HAProxy, under
    /// the stream (`load`, or 100 requests/s of `path`).
    pub rollout: Option<RolloutSpec>,
    /// The most of the stream that may be lost (a count, or a share of what was sent): for one
    /// stop, of the requests sent before the signal (those sent after it are refused by a
    /// server that shuts down correctly); for a rollout, of the whole stream.
    pub max_lost: Option<Limit>,
    /// The most of the stream that may be cut (accepted, then not completed).
    pub max_cut: Option<Limit>,
    /// The longest the 99th percentile of the stream's latency may be, over every request
    /// answered across the stop (those sent while the server drains are refused by a server
    /// that drains correctly, so their phase alone would have nothing to measure).
    pub max_p99: Option<Duration>,
    /// The project checkout the load generator is built from, for a stream from inside the
    /// container's network namespace (None: the stream runs from the host).
    pub workspace: Option<crate::workspace::Workspace>,
}

impl CheckOptions {
    /// Checks `GET path` on `port` with one request in flight, 10 s grace (docker's default).
    pub fn new(port: u16, path: impl Into<String>) -> Self {
        CheckOptions {
            port,
            protocol: Protocol::Http1,
            path: path.into(),
            requests: 1,
            stop_timeout: Duration::from_secs(10),
            signal: None,
            init: false,
            stop_after: None,
            after_stop: Duration::from_secs(1),
            startup_timeout: Duration::from_secs(30),
            ready_path: None,
            run_id: crate::engine::new_run_id(),
            cancel: CancellationToken::new(),
            load: None,
            rollout: None,
            max_lost: None,
            max_cut: None,
            workspace: None,
            max_p99: None,
        }
    }

    /// The thresholds the options set, as count bounds and thresholds on the stream.
    fn limits(&self) -> (Vec<LoadExpectation>, Vec<LoadThreshold>) {
        let mut counts = Vec::new();
        let mut thresholds = Vec::new();
        // One stop: what the server should have answered is what was sent before the signal.
        let lost_phase = self.rollout.is_none().then_some(Phase::BeforeSignal);
        for (limit, what, phase) in [
            (self.max_lost, LoadWhat::Lost, lost_phase),
            (self.max_cut, LoadWhat::Cut, None),
        ] {
            if let Some(limit) = limit {
                let (count, share) = limit.on(what, phase);
                counts.extend(count);
                thresholds.extend(share);
            }
        }
        if let Some(at_most) = self.max_p99 {
            thresholds.push(LoadThreshold::Latency {
                quantile: Quantile::P99,
                phase: None,
                at_most,
            });
        }
        (counts, thresholds)
    }
}

/// When the stop goes out after the in-flight requests when the path's latency is not measured:
/// a rollout's first replacement, a second into its stream.
pub const DEFAULT_STOP_AFTER: Duration = Duration::from_secs(1);

/// When the stop goes out after the streams were opened (a stream has no latency to measure):
/// long enough for any server to have taken them on and begun sending.
pub const DEFAULT_STREAM_STOP_AFTER: Duration = Duration::from_secs(1);

/// The path a check of `protocol` asks for unless told: `/` over HTTP/1.1 and h2c, the
/// WebSocket and event stream of graceful-server's contract (`/ws`, `/events`), and for gRPC
/// the standard health service's `Watch`, a long-lived stream nearly every gRPC framework
/// serves.
pub fn default_path(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::Http1 | Protocol::H2c => "/",
        Protocol::Websocket => server_contract::stream::WS_PATH,
        Protocol::Sse => server_contract::stream::EVENTS_PATH,
        Protocol::Grpc => server_contract::stream::GRPC_HEALTH_WATCH_PATH,
    }
}
/// How many warm-up requests measure the path's latency at most.
pub const WARMUP_REQUESTS: u8 = 3;

/// The most requests a check sends in flight at once.
pub const MAX_REQUESTS: usize = 1000;

impl CheckOptions {
    /// Refuses options no check can run with, naming the option and what to write instead.
    pub fn validate(&self) -> Result<()> {
        let invalid = |option, reason: String| Err(Error::InvalidOption { option, reason });
        for (option, path) in [
            (OptionName::Path, Some(&self.path)),
            (OptionName::ReadyPath, self.ready_path.as_ref()),
        ] {
            if let Some(problem) = path.and_then(|p| crate::client::path_problem(p)) {
                return invalid(option, problem);
            }
        }
        if self.protocol == Protocol::Grpc
            && let Some(problem) = grpc_method_problem(&self.path)
        {
            return invalid(
                OptionName::Path,
                format!("{:?} is not a gRPC method: {problem}", self.path),
            );
        }
        self.validate_protocol()?;
        if self.stop_timeout > MAX_STOP_TIMEOUT || self.stop_timeout.subsec_nanos() != 0 {
            return invalid(
                OptionName::StopTimeout,
                format!(
                    "{} is not whole seconds from 0 to {}: docker stop takes its grace period in seconds",
                    crate::duration::format(self.stop_timeout),
                    MAX_STOP_TIMEOUT.as_secs()
                ),
            );
        }
        for (option, duration) in [
            (OptionName::StopAfter, self.stop_after.unwrap_or_default()),
            (OptionName::AfterStop, self.after_stop),
            (OptionName::StartupTimeout, self.startup_timeout),
        ] {
            if duration > crate::duration::MAX {
                return invalid(
                    option,
                    format!(
                        "{} is longer than the longest allowed, {}",
                        crate::duration::format(duration),
                        crate::duration::format(crate::duration::MAX)
                    ),
                );
            }
        }
        if let Some(load) = &self.load {
            if let Some(problem) = crate::client::path_problem(&load.path) {
                return invalid(OptionName::LoadPath, problem);
            }
            if !(1..=crate::model::load::MAX_RATE).contains(&load.rate) {
                return invalid(
                    OptionName::LoadRate,
                    format!("{} requests/s is out of range", load.rate),
                );
            }
            if load.duration.is_zero() || load.duration > crate::duration::MAX {
                return invalid(
                    OptionName::LoadDuration,
                    "it must be longer than 0 and at most an hour".to_string(),
                );
            }
            if load.vantage == Some(crate::model::vantage::Vantage::Netns)
                && !load.client.runs_in_netns()
            {
                return invalid(
                    OptionName::Vantage,
                    format!(
                        "netns runs the load generator, which is client fresh, fixed or h2c: the {} client runs on the host only",
                        load.client.name()
                    ),
                );
            }
        }
        // A threshold judges the stream: a rollout always has one, a single stop only with a load.
        for (option, set) in [
            (OptionName::MaxLost, self.max_lost.is_some()),
            (OptionName::MaxCut, self.max_cut.is_some()),
            (OptionName::MaxP99, self.max_p99.is_some()),
        ] {
            if set && self.load.is_none() && self.rollout.is_none() {
                return Err(Error::ThresholdWithoutLoad { option });
            }
        }
        if let Some(rollout) = &self.rollout
            && !(1..=crate::model::rollout::MAX_REPLICAS).contains(&rollout.replicas)
        {
            return invalid(
                OptionName::Replicas,
                format!(
                    "{} is not from 1 to {}",
                    rollout.replicas,
                    crate::model::rollout::MAX_REPLICAS
                ),
            );
        }
        if !(1..=MAX_REQUESTS).contains(&self.requests) {
            return invalid(
                OptionName::Requests,
                format!("{} is not from 1 to {MAX_REQUESTS}", self.requests),
            );
        }
        Ok(())
    }
}

impl CheckOptions {
    /// Refuses a stream protocol with what cannot carry its streams: a rollout (its stream goes
    /// through HAProxy as HTTP/1.1 requests) and a load, but for h2c, whose load is h2c streams
    /// (the `h2c` client) beside the streams held across the stop.
    fn validate_protocol(&self) -> Result<()> {
        if self.protocol == Protocol::Http1 {
            return Ok(());
        }
        let name = self.protocol.name();
        let conflict = |other, reason: String| {
            Err(Error::OptionsConflict {
                option: OptionName::Protocol,
                other,
                reason,
            })
        };
        if self.rollout.is_some() {
            return conflict(
                OptionName::Rollout,
                format!(
                    "a rollout's traffic is short HTTP/1.1 requests through HAProxy, which carries no {name} streams here: check the {name} streams across one stop, and the rollout with HTTP/1.1 requests, in two checks"
                ),
            );
        }
        if let Some(load) = &self.load {
            if self.protocol != Protocol::H2c {
                return conflict(
                    OptionName::LoadRate,
                    format!(
                        "a load is a steady stream of short HTTP/1.1 requests (or h2c streams), and {name} streams are long-lived, observed one by one: check the {name} streams without it, and the load in a check of its own"
                    ),
                );
            }
            if load.client != ClientProfile::H2c {
                return conflict(
                    OptionName::LoadClient,
                    format!(
                        "with h2c streams the load's requests are h2c streams too, not the {} client's HTTP/1.1: leave the client out or name h2c",
                        load.client
                    ),
                );
            }
        }
        Ok(())
    }
}

/// The scenario a check runs: `requests` requests sent as soon as the server answers, the stop
/// `stop_after` later, one more request `after_stop` after the stop; the requirements as
/// expectations.
pub fn scenario(image: &str, options: &CheckOptions, signal: StopSignal) -> Scenario {
    if let Some(rollout) = &options.rollout {
        return rollout_scenario(image, options, signal, rollout);
    }
    if options.protocol != Protocol::Http1 {
        return stream_scenario(image, options, signal);
    }
    let (limit_counts, thresholds) = options.limits();
    // Measured from the path unless set: the in-flight requests then go out at once and the
    // stop half their latency later; the lead here is a placeholder the runner replaces.
    let stop_after = options.stop_after.unwrap_or(DEFAULT_STOP_AFTER);
    let lead = Offset(-millis(stop_after));
    let get = RequestKind::Get {
        path: options.path.clone(),
    };
    let mut requests: Vec<RequestSpec> = (1..=options.requests.max(1))
        .map(|i| RequestSpec {
            name: format!("in-flight-{i}"),
            at: lead,
            kind: get.clone(),
        })
        .collect();
    requests.push(RequestSpec {
        name: "after-stop".to_string(),
        at: Offset(millis(options.after_stop)),
        kind: get,
    });
    let expect = Expectations {
        requests: requests
            .iter()
            .map(|r| {
                let expected = if r.at.before_stop() {
                    Expected::Is(Outcome::Ok)
                } else {
                    Expected::NotServed
                };
                (r.name.clone(), expected)
            })
            .collect(),
        // Every request of the stream in flight at the signal is answered, unless the user says
        // how many may be lost, but for what the path in front of the server loses under this
        // load before any stop (its baseline, reported apart); what comes after the signal is
        // reported, not judged (through docker-proxy a user's server that closed its listener
        // cannot be told from one that cut a request), unless the user set thresholds.
        load: limit_counts,
        load_in_flight: options
            .load
            .as_ref()
            .filter(|_| options.max_lost.is_none())
            .map(|_| Bound::Exactly(0)),
        thresholds,
        ..Expectations::default()
    };
    Scenario {
        name: format!("check/{image}"),
        target: Target::Image(ImageSpec {
            image: image.to_string(),
            port: options.port,
            init: options.init,
            readiness: readiness(options),
        }),
        // Not our server: nothing is configured through it; the delay bounds the waits.
        server: ServerSpec {
            mode: ServerMode::Graceful,
            delay: options.stop_timeout,
            signals: None,
            drain_timeout: None,
            keep_alive: None,
            linger: None,
            idle_timeout: None,
        },
        stop: StopSpec {
            signal,
            timeout: options.stop_timeout,
            at: stop_after,
            from_path: options.stop_after.is_none().then_some(FromPath {
                warmups: WARMUP_REQUESTS,
            }),
        },
        requests,
        load: options.load.clone(),
        rollout: None,
        expect,
        reason: None,
    }
}

/// The scenario of `check --protocol`: `requests` streams opened as soon as the server is ready
/// (`open`, or `open-1`, `open-2`...) and held across the stop `stop_after` later, one more
/// (`late`) `after_stop` after the signal; the two requirements read per stream are its
/// expectations (which imply that no stream is cut). A close code, a GOAWAY or a gRPC status is
/// evidence, not demanded: a correct server may close with 1000, 1001 or 1012, end a call with OK or
/// UNAVAILABLE.
fn stream_scenario(image: &str, options: &CheckOptions, signal: StopSignal) -> Scenario {
    let mut scenario = scenario(
        image,
        &CheckOptions {
            protocol: Protocol::Http1,
            ..options.clone()
        },
        signal,
    );
    let stop_after = options.stop_after.unwrap_or(DEFAULT_STREAM_STOP_AFTER);
    let kind = RequestKind::Stream {
        protocol: options.protocol,
        // Asked of the path as it is: the pace and the length are the server's.
        what: StreamWhat::Stream {
            every: server_contract::stream::DEFAULT_EVERY,
            lasting: None,
        },
        routes: StreamRoutes::Given {
            path: options.path.clone(),
        },
    };
    let open = |i: usize| match options.requests {
        0 | 1 => "open".to_string(),
        _ => format!("open-{i}"),
    };
    scenario.name = format!("check-{}/{image}", options.protocol.name());
    scenario.target = Target::Image(ImageSpec {
        image: image.to_string(),
        port: options.port,
        init: options.init,
        readiness: readiness(options),
    });
    scenario.requests = (1..=options.requests.max(1))
        .map(|i| RequestSpec {
            name: open(i),
            at: Offset(-millis(stop_after)),
            kind: kind.clone(),
        })
        .collect();
    scenario.requests.push(RequestSpec {
        name: "late".to_string(),
        at: Offset(millis(options.after_stop)),
        kind,
    });
    scenario.stop.at = stop_after;
    scenario.stop.from_path = None;
    // The load's own expectations (h2c only) stay; the requests' give way to the streams'.
    scenario.expect = Expectations {
        streams: StreamExpectations {
            requirements: true,
            ..StreamExpectations::default()
        },
        load: std::mem::take(&mut scenario.expect.load),
        load_in_flight: scenario.expect.load_in_flight.take(),
        thresholds: std::mem::take(&mut scenario.expect.thresholds),
        ..Expectations::default()
    };
    scenario
}

/// The scenario of `check --rollout`: the stream through the balancer from a second after the
/// replicas are in its pool, every request of it answered.
fn rollout_scenario(
    image: &str,
    options: &CheckOptions,
    signal: StopSignal,
    rollout: &RolloutSpec,
) -> Scenario {
    let rollout = rollout.clone();
    let load = options.load.clone().unwrap_or_else(|| LoadSpec {
        rate: 100,
        duration: Duration::from_secs(1),
        path: options.path.clone(),
        client: crate::model::load::ClientProfile::Fresh,
        connections: None,
        vantage: None,
    });
    let mut scenario = scenario(
        image,
        &CheckOptions {
            rollout: None,
            load: Some(load),
            ..options.clone()
        },
        signal,
    );
    scenario.name = format!("check-rollout/{image}");
    scenario.requests = Vec::new();
    scenario.stop.at = options.stop_after.unwrap_or(DEFAULT_STOP_AFTER);
    scenario.stop.from_path = None;
    scenario.stop.timeout = rollout.termination_grace;
    scenario.rollout = Some(rollout);
    // Nothing lost, unless the user allows some: a count bounds the rollout's losses, a share
    // is a threshold on its stream.
    let (counts, thresholds) = options.limits();
    let lost = match options.max_lost {
        Some(Limit::Count(n)) => Some(Bound::AtMost(n)),
        Some(Limit::Share(_)) => None,
        None => Some(Bound::Exactly(0)),
    };
    scenario.expect = Expectations {
        rollout: Some(RolloutExpectation {
            lost,
            hook_done: None,
        }),
        load: counts
            .into_iter()
            .filter(|c| c.what != LoadWhat::Lost)
            .collect(),
        thresholds,
        ..Expectations::default()
    };
    scenario
}

/// A checked server is ready when its ready path (else its request path) answers 2xx within the
/// startup timeout; for a stream protocol, without a ready path, when its port holds a
/// connection open (an endpoint that upgrades or streams does not answer a plain GET).
fn readiness(options: &CheckOptions) -> Readiness {
    let within = options.startup_timeout;
    match (&options.ready_path, options.protocol) {
        (Some(path), _) => Readiness::HttpPath {
            path: path.clone(),
            within,
        },
        (None, Protocol::Http1) => Readiness::HttpPath {
            path: options.path.clone(),
            within,
        },
        (None, _) => Readiness::TcpPort { within },
    }
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// Runs `image` (present locally; never pulled) and checks it; the container is removed after.
/// `reporter` hears the check as it goes (`&mut ()` hears nothing).
pub async fn check_image(
    engine: &Engine,
    image: &str,
    options: &CheckOptions,
    reporter: &mut dyn Reporter,
) -> Result<ScenarioResult> {
    options.validate()?;
    let signal = match options.signal {
        Some(signal) => signal,
        None => stop_signal(engine.require_image(image).await?.stop_signal, image)?,
    };
    run_one(engine, scenario(image, options, signal), options, reporter).await
}

/// Checks a container that is already running, such as one started with testcontainers; its
/// own stop signal applies and it is left stopped, for its owner to remove.
pub async fn check_container(
    engine: &Engine,
    id: &str,
    options: &CheckOptions,
    reporter: &mut dyn Reporter,
) -> Result<ScenarioResult> {
    options.validate()?;
    if options.rollout.is_some() {
        return Err(Error::InvalidOption {
            option: OptionName::Rollout,
            reason: "a rollout starts replicas of an image; check the image instead".to_string(),
        });
    }
    let state = engine.inspect_container(id).await?;
    let image = if state.image.is_empty() {
        id.to_string()
    } else {
        state.image.clone()
    };
    let signal = match options.signal {
        Some(signal) => signal,
        None => stop_signal(state.stop_signal, &image)?,
    };
    let mut plan = scenario(&image, options, signal);
    plan.target = Target::Running(RunningSpec {
        container: id.to_string(),
        image,
        port: options.port,
        readiness: readiness(options),
    });
    run_one(engine, plan, options, reporter).await
}

/// [`check_container`] on a testcontainers container, connecting to the engine itself.
#[cfg(feature = "testcontainers")]
pub async fn check_testcontainer<I: testcontainers::Image>(
    container: &testcontainers::ContainerAsync<I>,
    options: &CheckOptions,
) -> Result<ScenarioResult> {
    let engine = Engine::connect().await?;
    check_container(&engine, container.id(), options, &mut ()).await
}

/// Runs the one scenario of a check through the pipeline. A check that could not even start
/// (no port, exited at once, a 404) is an error, not a verdict.
async fn run_one(
    engine: &Engine,
    scenario: Scenario,
    options: &CheckOptions,
    reporter: &mut dyn Reporter,
) -> Result<ScenarioResult> {
    let run = RunOptions {
        jobs: 1,
        run_id: options.run_id.clone(),
        workspace: options.workspace.clone(),
        cancel: options.cancel.clone(),
    };
    let results = pipeline::run_scenarios(
        Some(engine),
        std::slice::from_ref(&scenario),
        &run,
        reporter,
    )
    .await?;
    let Some(result) = results.scenarios.into_iter().next() else {
        return Err(Error::Scenario(Arc::new(
            crate::run::ScenarioError::NotPrepared {
                scenario: scenario.name,
            },
        )));
    };
    match &result.error {
        Some(error) if !result.observation.ready => Err(Error::Scenario(Arc::clone(error))),
        _ => Ok(result),
    }
}

/// The stop signal an image or container names, or SIGTERM when it names none.
fn stop_signal(signal: Option<String>, image: &str) -> Result<StopSignal> {
    match signal.filter(|s| !s.is_empty()) {
        None => Ok(StopSignal::Sigterm),
        Some(name) => StopSignal::parse(&name).ok_or_else(|| Error::UnknownStopSignal {
            image: image.to_string(),
            signal: name,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_options_name_the_option() {
        let bad = |change: fn(&mut CheckOptions)| {
            let mut options = CheckOptions::new(8080, "/");
            change(&mut options);
            match options.validate() {
                Err(Error::InvalidOption { option, .. }) => Some(option),
                _ => None,
            }
        };
        assert_eq!(bad(|o| o.path = "/a b".into()), Some(OptionName::Path));
        assert_eq!(
            bad(|o| o.ready_path = Some("health".into())),
            Some(OptionName::ReadyPath)
        );
        assert_eq!(
            bad(|o| o.stop_timeout = Duration::from_secs(4_294_967_295)),
            Some(OptionName::StopTimeout)
        );
        assert_eq!(
            bad(|o| o.startup_timeout = Duration::MAX),
            Some(OptionName::StartupTimeout)
        );
        assert_eq!(bad(|o| o.requests = 0), Some(OptionName::Requests));
        assert!(CheckOptions::new(8080, "/slow?x=1").validate().is_ok());
    }

    fn streams(protocol: Protocol) -> CheckOptions {
        CheckOptions {
            protocol,
            ..CheckOptions::new(8080, default_path(protocol))
        }
    }

    fn conflict(options: &CheckOptions) -> Option<(OptionName, OptionName, String)> {
        match options.validate() {
            Err(Error::OptionsConflict {
                option,
                other,
                reason,
            }) => Some((option, other, reason)),
            _ => None,
        }
    }

    #[test]
    fn each_protocol_has_a_default_path_its_check_accepts() {
        for protocol in Protocol::ALL {
            assert!(streams(protocol).validate().is_ok(), "{protocol}");
        }
        assert_eq!(default_path(Protocol::Grpc), "/grpc.health.v1.Health/Watch");
        assert_eq!(default_path(Protocol::Websocket), "/ws");
        assert_eq!(default_path(Protocol::Sse), "/events");
        assert_eq!(default_path(Protocol::H2c), "/");
    }

    #[test]
    fn a_grpc_path_must_be_a_method() {
        let options = CheckOptions {
            path: "/healthz".to_string(),
            ..streams(Protocol::Grpc)
        };
        let Err(Error::InvalidOption { option, reason }) = options.validate() else {
            panic!("a path that is no method was accepted");
        };
        assert_eq!(option, OptionName::Path);
        assert!(reason.contains("/package.Service/Method"), "{reason}");
        // The same path is fine for the other protocols.
        let websocket = CheckOptions {
            path: "/healthz".to_string(),
            ..streams(Protocol::Websocket)
        };
        assert!(websocket.validate().is_ok());
    }

    #[test]
    fn streams_refuse_what_cannot_carry_them_and_say_what_to_do() {
        let load = LoadSpec {
            rate: 10,
            duration: Duration::from_secs(1),
            path: "/".to_string(),
            client: crate::model::load::ClientProfile::Fresh,
            connections: None,
            vantage: None,
        };
        for protocol in [Protocol::Websocket, Protocol::Sse, Protocol::Grpc] {
            let options = CheckOptions {
                load: Some(load.clone()),
                ..streams(protocol)
            };
            let (option, other, reason) = conflict(&options).expect("refused");
            assert_eq!(
                (option, other),
                (OptionName::Protocol, OptionName::LoadRate)
            );
            assert!(reason.contains("in a check of its own"), "{reason}");
        }
        // Over h2c the load is h2c streams: with that client it goes, with another it does not.
        let h2c = CheckOptions {
            load: Some(LoadSpec {
                client: ClientProfile::H2c,
                ..load.clone()
            }),
            ..streams(Protocol::H2c)
        };
        assert!(h2c.validate().is_ok());
        let scenario = scenario("image", &h2c, StopSignal::Sigterm);
        assert_eq!(
            scenario.load.as_ref().map(|l| l.client),
            Some(ClientProfile::H2c)
        );
        assert_eq!(scenario.expect.load_in_flight, Some(Bound::Exactly(0)));
        assert!(scenario.expect.streams.requirements);
        let fresh = CheckOptions {
            load: Some(load.clone()),
            ..streams(Protocol::H2c)
        };
        let (option, other, reason) = conflict(&fresh).expect("refused");
        assert_eq!(
            (option, other),
            (OptionName::Protocol, OptionName::LoadClient)
        );
        assert!(reason.contains("name h2c"), "{reason}");
        let rollout = CheckOptions {
            rollout: Some(RolloutSpec::default()),
            ..streams(Protocol::Grpc)
        };
        let error = rollout.validate().unwrap_err();
        let flagged = error.message_with(&|option| format!("<{option:?}>"));
        assert!(
            flagged.starts_with("<Protocol> does not go with <Rollout>: "),
            "{flagged}"
        );
        // HTTP/1.1 takes both, as before.
        let http1 = CheckOptions {
            load: Some(load),
            ..CheckOptions::new(8080, "/")
        };
        assert!(http1.validate().is_ok());
    }

    #[test]
    fn a_stream_check_holds_streams_across_the_stop_and_opens_one_after() {
        let options = CheckOptions {
            requests: 2,
            ..streams(Protocol::Websocket)
        };
        let plan = scenario("img", &options, StopSignal::Sigterm);
        assert_eq!(plan.name, "check-websocket/img");
        let names: Vec<&str> = plan.requests.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["open-1", "open-2", "late"]);
        assert!(plan.requests[0].at.before_stop() && !plan.requests[2].at.before_stop());
        assert_eq!(plan.requests[0].kind.path(), "/ws");
        assert_eq!(plan.stop.at, DEFAULT_STREAM_STOP_AFTER);
        assert_eq!(plan.stop.from_path, None);
        // Judged per stream: the requirements, nothing asked of a close code or an outcome.
        assert!(plan.expect.requests.is_empty());
        assert_eq!(
            plan.expect.streams,
            StreamExpectations {
                requirements: true,
                ..StreamExpectations::default()
            }
        );
        // Ready when the port holds a connection open, unless a ready path is given.
        assert_eq!(
            plan.readiness(),
            Readiness::TcpPort {
                within: options.startup_timeout
            }
        );
        let with_path = CheckOptions {
            ready_path: Some("/healthz".to_string()),
            ..options
        };
        let plan = scenario("img", &with_path, StopSignal::Sigterm);
        assert_eq!(plan.readiness().path(), Some("/healthz"));
        // One stream is named as protocols.toml names it.
        let plan = scenario("img", &streams(Protocol::Grpc), StopSignal::Sigterm);
        let names: Vec<&str> = plan.requests.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["open", "late"]);
        assert_eq!(plan.requests[0].kind.path(), "/grpc.health.v1.Health/Watch");
    }

    #[test]
    fn messages_name_options_in_the_library_words_or_a_front_ends() {
        let mut options = CheckOptions::new(8080, "/");
        options.load = Some(LoadSpec {
            rate: 0,
            duration: Duration::from_secs(1),
            path: "/".to_string(),
            client: crate::model::load::ClientProfile::Fresh,
            connections: None,
            vantage: None,
        });
        let error = options.validate().unwrap_err();
        assert!(
            error.to_string().starts_with("the load's rate: "),
            "{error}"
        );
        let flagged = error.message_with(&|option| format!("<{option:?}>"));
        assert!(flagged.starts_with("<LoadRate>: "), "{flagged}");

        let options = CheckOptions {
            max_lost: Some(Limit::Count(0)),
            ..CheckOptions::new(8080, "/")
        };
        let error = options.validate().unwrap_err();
        let flagged = error.message_with(&|option| format!("<{option:?}>"));
        assert!(flagged.starts_with("<MaxLost>: a threshold"), "{flagged}");
        assert!(flagged.ends_with("(<LoadRate> 200/s)"), "{flagged}");
    }
}
