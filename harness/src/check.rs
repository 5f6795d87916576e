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
//! use std::time::Duration;
//! use shutdown_harness::check::{scenario, CheckOptions};
//! use shutdown_harness::{Expected, Outcome, StopSignal};
//!
//! let options = CheckOptions { requests: 2, ..CheckOptions::new(8080, "/slow") };
//! let plan = scenario("my-api:latest", &options, StopSignal::Sigterm);
//! let names: Vec<_> = plan.requests.iter().map(|r| r.name.as_str()).collect();
//! assert_eq!(names, ["in-flight-1", "in-flight-2", "after-stop"]);
//! // The two requirements, as expectations: in flight answered in full, late ones not served.
//! assert_eq!(plan.expect.requests[0].1, Expected::Is(Outcome::Ok));
//! assert_eq!(plan.expect.requests[2].1, Expected::NotServed);
//! assert_eq!(plan.stop.timeout, Duration::from_secs(10));
//! ```
//!
//! On a container started with testcontainers (see `examples/check_testcontainer.rs`):
//!
//! ```no_run
//! # async fn demo(container: testcontainers::ContainerAsync<testcontainers::GenericImage>) -> shutdown_harness::Result<()> {
//! use shutdown_harness::check::{check_testcontainer, CheckOptions};
//! use shutdown_harness::Requirement;
//!
//! let report = check_testcontainer(&container, &CheckOptions::new(1202, "/?delay=2s")).await?;
//! assert_eq!(report.requirement(Requirement::AnswersInFlight), Some(true));
//! assert_eq!(report.requirement(Requirement::RefusesNew), Some(true));
//! # Ok(()) }
//! ```

use std::time::Duration;

use bollard::Docker;
use tokio::sync::mpsc;

use crate::docker;
use crate::error::{Error, Result};
use crate::observation::Observation;
use crate::outcome::Expected;
use crate::results::ScenarioResult;
use crate::run::{self, EventKind, EventSink, RunOptions};
use crate::scenario::{
    Expectations, ImageSpec, Offset, RequestKind, RequestSpec, Scenario, ServerSpec, StopSpec,
    Target,
};
use crate::variant::{ServerMode, StopSignal};
use crate::verdict::judge;

/// What to check and how.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    /// How long after the server answers the in-flight requests are sent and the stop issued.
    pub stop_after: Duration,
    /// How long after the stop the late request is sent.
    pub after_stop: Duration,
    /// How long the server may take to answer after the container started.
    pub startup_timeout: Duration,
    /// The path polled until the server answers 2xx (None: `path`; a fast one saves waiting).
    pub ready_path: Option<String>,
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
            stop_after: Duration::from_secs(1),
            after_stop: Duration::from_secs(1),
            startup_timeout: Duration::from_secs(30),
            ready_path: None,
        }
    }
}

/// The scenario a check runs: `requests` requests sent as soon as the server answers, the stop
/// `stop_after` later, one more request `after_stop` after the stop; the requirements as
/// expectations.
pub fn scenario(image: &str, options: &CheckOptions, signal: StopSignal) -> Scenario {
    let lead = Offset(-(options.stop_after.as_millis() as i64));
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
        at: Offset(options.after_stop.as_millis() as i64),
        kind: get,
    });
    let expect = Expectations {
        requests: requests
            .iter()
            .map(|r| {
                let expected = if r.at.before_stop() {
                    Expected::Is(crate::Outcome::Ok)
                } else {
                    Expected::NotServed
                };
                (r.name.clone(), expected)
            })
            .collect(),
        ..Expectations::default()
    };
    Scenario {
        name: format!("check/{image}"),
        target: Target::Image(ImageSpec {
            image: image.to_string(),
            port: options.port,
            init: options.init,
            ready_path: options
                .ready_path
                .clone()
                .unwrap_or_else(|| options.path.clone()),
            ready_within: options.startup_timeout,
        }),
        // Not our server: nothing is configured through it; the delay bounds the waits.
        server: ServerSpec {
            mode: ServerMode::Graceful,
            delay: options.stop_timeout,
            signals: None,
            drain_timeout: None,
        },
        stop: StopSpec {
            signal,
            timeout: options.stop_timeout,
            at: options.stop_after,
        },
        requests,
        expect,
        reason: None,
    }
}

/// Runs `image` (present locally; never pulled) and checks it; the container is removed after.
pub async fn check_image(
    docker: &Docker,
    image: &str,
    options: &CheckOptions,
) -> Result<ScenarioResult> {
    let signal = match options.signal {
        Some(signal) => signal,
        None => image_stop_signal(docker, image).await?,
    };
    let scenario = scenario(image, options, signal);
    let results = run::run(
        Some(docker),
        std::slice::from_ref(&scenario),
        &RunOptions::default(),
    )
    .await?;
    let result = results
        .scenarios
        .into_iter()
        .next()
        .expect("one scenario in, one result out");
    match &result.error {
        // Could not even be checked (no port, exited at once, 404): an environment error.
        Some(error) if !result.observation.ready => Err(Error::StartServer {
            what: image.to_string(),
            reason: error.clone(),
        }),
        _ => Ok(result),
    }
}

/// Checks a container that is already running, such as one started with testcontainers; its
/// own stop signal applies and it is left stopped, for its owner to remove.
pub async fn check_container(
    docker: &Docker,
    id: &str,
    options: &CheckOptions,
) -> Result<ScenarioResult> {
    let inspect = docker::inspect_container(docker, id).await?;
    let config = inspect.config.unwrap_or_default();
    let image = config.image.unwrap_or_else(|| id.to_string());
    let signal = match options.signal {
        Some(signal) => signal,
        None => parse_stop_signal(config.stop_signal.as_deref(), &image)?,
    };
    let scenario = scenario(&image, options, signal);

    let (tx, mut rx) = mpsc::unbounded_channel();
    let sink = EventSink::new(0, tx);
    sink.emit(EventKind::Started {
        image: Some(image.clone()),
    });
    let driven =
        run::container::drive(&scenario, docker, id, &format!("container {id}"), &sink).await;
    drop(sink);
    let mut events = Vec::new();
    while let Some(event) = rx.recv().await {
        events.push(event);
    }
    driven?;
    let observation = Observation::from_events(&events, false);
    let verdict = judge(&scenario, &observation);
    Ok(ScenarioResult {
        scenario,
        observation,
        verdict,
        error: None,
        started: Duration::ZERO,
    })
}

/// [`check_container`] on a testcontainers container, connecting to the engine itself.
pub async fn check_testcontainer<I: testcontainers::Image>(
    container: &testcontainers::ContainerAsync<I>,
    options: &CheckOptions,
) -> Result<ScenarioResult> {
    let docker = docker::connect().await?;
    check_container(&docker, container.id(), options).await
}

/// The image's `STOPSIGNAL`, or SIGTERM when it has none.
pub async fn image_stop_signal(docker: &Docker, image: &str) -> Result<StopSignal> {
    let inspect = docker::inspect_image(docker, image).await?;
    let signal = inspect.config.and_then(|c| c.stop_signal);
    parse_stop_signal(signal.as_deref(), image)
}

fn parse_stop_signal(signal: Option<&str>, image: &str) -> Result<StopSignal> {
    match signal.filter(|s| !s.is_empty()) {
        None => Ok(StopSignal::Sigterm),
        Some(name) => StopSignal::parse(name).ok_or_else(|| Error::StartServer {
            what: image.to_string(),
            reason: format!("its STOPSIGNAL {name} is not one the harness knows; pass --signal"),
        }),
    }
}
