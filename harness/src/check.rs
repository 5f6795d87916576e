//! Checking any HTTP server image or running container: requests in flight, `docker stop`, one
//! request after it, and the two requirements judged with their evidence.
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
    Bound, Limit, LoadExpectation, LoadSpec, LoadThreshold, LoadWhat, Phase, Quantile,
};
use crate::model::outcome::{Expected, Outcome};
use crate::model::readiness::Readiness;
use crate::model::results::ScenarioResult;
use crate::model::rollout::{RolloutExpectation, RolloutSpec};
use crate::model::scenario::{
    Expectations, FromPath, ImageSpec, Offset, RequestKind, RequestSpec, RunningSpec, Scenario,
    ServerSpec, StopSpec, Target,
};
use crate::model::variant::{ServerMode, StopSignal};
use crate::option_name::OptionName;
use crate::pipeline::{self, RunOptions};
use crate::report::Reporter;

/// What to check and how.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// The container port the server listens on.
    pub port: u16,
    /// The path requested (a slow one shows the drain best).
    pub path: String,
    /// How many requests are in flight when the stop is issued.
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

/// The scenario a check runs: `requests` requests sent as soon as the server answers, the stop
/// `stop_after` later, one more request `after_stop` after the stop; the requirements as
/// expectations.
pub fn scenario(image: &str, options: &CheckOptions, signal: StopSignal) -> Scenario {
    if let Some(rollout) = &options.rollout {
        return rollout_scenario(image, options, signal, rollout);
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
/// startup timeout.
fn readiness(options: &CheckOptions) -> Readiness {
    Readiness::HttpPath {
        path: options
            .ready_path
            .clone()
            .unwrap_or_else(|| options.path.clone()),
        within: options.startup_timeout,
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
