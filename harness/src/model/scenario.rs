//! The scenario model: what to run, when to stop it, which requests to send, what to expect.
//!
//! A scenario is plain data. The `reproduce` module builds the experiment's scenarios in code and
//! scenario files are parsed into the same structs; the runner only ever sees these.

use std::time::Duration;

use super::stream_expect::StreamExpectations;
use super::streams::{Protocol, StreamRoutes, StreamWhat};
use server_contract::KeepAliveDrain;
use server_contract::env as server_env;

use super::load::{Bound, LoadExpectation, LoadSpec, LoadThreshold};
use super::outcome::Expected;
use super::readiness::{Readiness, START_WAIT};
use super::rollout::{RolloutExpectation, RolloutSpec};
use super::runtime::{HTTP_PORT, Runtime};
use super::vantage::Vantage;
use super::variant::{Base, ServerMode, StopSignal, Variant};

/// One experiment: a server, a stop, requests around the stop, and expectations.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// Unique name, such as `container/exec-form` or `dash/shell-form/graceful`.
    pub name: String,
    /// Where the server runs.
    pub target: Target,
    /// How the server under test is configured.
    pub server: ServerSpec,
    /// How and when it is stopped.
    pub stop: StopSpec,
    /// The requests sent around the stop.
    pub requests: Vec<RequestSpec>,
    /// A steady stream of requests across the stop, if any.
    pub load: Option<LoadSpec>,
    /// A rolling update of the server behind a load balancer, instead of one stop: the stop's
    /// signal is what each replica gets, its time the rollout's start.
    pub rollout: Option<RolloutSpec>,
    /// What must be observed for the scenario to pass.
    pub expect: Expectations,
    /// One line on why the expectations are what they are.
    pub reason: Option<String>,
}

/// Where the server under test runs.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// The static server as a bare process on 127.0.0.1; the stop is a signal sent to it.
    Process,
    /// The server in a container built from a variant Dockerfile on a base; the stop is `docker stop`.
    Container(ContainerSpec),
    /// Any image already present locally (the user's own), run as it is; the stop is `docker stop`.
    Image(ImageSpec),
    /// A runtime people ship (nginx, node, gunicorn...), imaged by the harness from host
    /// packages with the scenario's settings baked in, then run as an image; the stop is
    /// `docker stop`.
    Runtime(RuntimeSpec),
    /// A container someone else started and will remove (with testcontainers, say): the harness
    /// drives and stops it, and leaves it stopped.
    Running(RunningSpec),
}

/// A container that is already running, and how to know its server answers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RunningSpec {
    /// Its id or name.
    pub container: String,
    /// The image it runs, for reports.
    pub image: String,
    /// The container port the server listens on (it must be published).
    pub port: u16,
    /// What proves its server ready, and how long it may take.
    pub readiness: Readiness,
}

/// A user's image: whatever server it runs, whatever its PID 1.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImageSpec {
    /// The image reference; it must be present locally (nothing is pulled).
    pub image: String,
    /// The container port the server listens on.
    pub port: u16,
    /// `docker run --init`.
    pub init: bool,
    /// What proves its server ready after the container started, and how long it may take.
    pub readiness: Readiness,
}

/// A runtime's container: which runtime, and whether docker's init runs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RuntimeSpec {
    /// The runtime, started the way its users start it.
    pub runtime: Runtime,
    /// `docker run --init`: docker's own init (tini) as PID 1.
    pub init: bool,
}

/// The image and container settings of a container scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ContainerSpec {
    /// The Dockerfile variant.
    pub variant: Variant,
    /// The base image the variant is built on.
    pub base: Base,
    /// `docker run --init`: docker's own init (tini) as PID 1.
    pub init: bool,
}

/// The server under test's configuration, passed as `SERVER_*` environment variables (the shell
/// form ignores CMD arguments, so the environment is the one channel every variant honours).
#[derive(Debug, Clone, PartialEq)]
pub struct ServerSpec {
    /// `--mode`.
    pub mode: ServerMode,
    /// `--delay`: the default handler duration.
    pub delay: Duration,
    /// `--signals`: which signals begin shutdown (None: the server's default).
    pub signals: Option<Vec<StopSignal>>,
    /// `--drain-timeout` (None: the server's default).
    pub drain_timeout: Option<Duration>,
    /// `--keep-alive-drain`: close idle keep-alive connections at once, or linger (None: the
    /// server's default, close-idle).
    pub keep_alive: Option<KeepAliveDrain>,
    /// `--linger` (None: the server's default).
    pub linger: Option<Duration>,
    /// `--idle-timeout`: how long an idle keep-alive connection is kept (None: the server's
    /// default, 5 s).
    pub idle_timeout: Option<Duration>,
}

impl ServerSpec {
    /// The environment variables that configure the server this way.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut env = vec![
            (server_env::MODE.to_string(), self.mode.name().to_string()),
            (
                server_env::DELAY.to_string(),
                format!("{}ms", self.delay.as_millis()),
            ),
        ];
        if let Some(signals) = &self.signals {
            let names: Vec<_> = signals.iter().map(|s| s.name()).collect();
            env.push((server_env::SIGNALS.to_string(), names.join(",")));
        }
        if let Some(keep_alive) = self.keep_alive {
            env.push((
                server_env::KEEP_ALIVE_DRAIN.to_string(),
                keep_alive.name().to_string(),
            ));
        }
        if let Some(idle) = self.idle_timeout {
            env.push((
                server_env::IDLE_TIMEOUT.to_string(),
                format!("{}ms", idle.as_millis()),
            ));
        }
        if let Some(linger) = self.linger {
            env.push((
                server_env::LINGER.to_string(),
                format!("{}ms", linger.as_millis()),
            ));
        }
        if let Some(drain) = self.drain_timeout {
            env.push((
                server_env::DRAIN_TIMEOUT.to_string(),
                format!("{}ms", drain.as_millis()),
            ));
        }
        env
    }
}

/// How the server is stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StopSpec {
    /// The first signal: the container's stop signal, or the one sent to a process.
    /// For containers it is set at create (API 1.41 has no per-call stop signal).
    pub signal: StopSignal,
    /// The grace period before SIGKILL (`docker stop -t`).
    pub timeout: Duration,
    /// When the stop is issued, counted from the moment the server was ready.
    pub at: Duration,
    /// Whether `at` is measured from the path instead: the stop then goes out half the path's
    /// measured latency after the requests meant to be in flight were sent (`check`'s default).
    pub from_path: Option<FromPath>,
}

/// The stop's moment measured from the path: `warmups` requests to the in-flight requests' path
/// after the server is ready (fewer when one takes long), then the in-flight requests, and the
/// stop half their median latency later, when they are surely in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FromPath {
    /// How many warm-up requests at most.
    pub warmups: u8,
}

/// One request sent around the stop.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestSpec {
    /// Its name in expectations and reports (`in-flight`, `after-stop`).
    pub name: String,
    /// When it is sent, relative to the stop: negative before it, positive after it.
    pub at: Offset,
    /// What is asked of the server.
    pub kind: RequestKind,
}

/// What a request asks of the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestKind {
    /// `GET /`, answered after the server's delay, or this one when given.
    Slow {
        /// The handler's duration for this request (None: the server's delay).
        delay: Option<Duration>,
    },
    /// `GET /download`: `bytes` bytes at about `rate` bytes/s.
    Download {
        /// The body's length.
        bytes: u64,
        /// Bytes per second.
        rate: u64,
    },
    /// `GET <path>` on any server.
    Get {
        /// The path and query.
        path: String,
    },
    /// A long-lived stream, or a request over another protocol than HTTP/1.1 (h2c, gRPC,
    /// WebSocket, server-sent events), observed per stream by the protocol observers.
    Stream {
        /// Its protocol (never `http1`: the scenario file refuses it).
        protocol: Protocol,
        /// A request answered after a delay, or a stream of numbered messages.
        what: StreamWhat,
        /// Whose routes it asks them of (graceful-server's, a runtime's, or the path given).
        routes: StreamRoutes,
    },
}

impl RequestKind {
    /// The request's path and query on our server.
    pub fn path(&self) -> String {
        match self {
            RequestKind::Slow { delay: None } => "/".to_string(),
            RequestKind::Slow { delay: Some(d) } => format!("/?delay={}ms", d.as_millis()),
            RequestKind::Download { bytes, rate } => {
                format!("/download?bytes={bytes}&rate={rate}")
            }
            RequestKind::Get { path } => path.clone(),
            RequestKind::Stream {
                protocol,
                what,
                routes,
            } => routes
                .path(*protocol, *what)
                .unwrap_or_else(|| "/".to_string()),
        }
    }
}

/// A signed offset from the stop, in milliseconds (`-1s` is 1 s before it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Offset(pub i64);

impl Offset {
    /// Parses `-1s`, `+250ms`, `1.5s`, `0`; at most an hour either way.
    pub fn parse(text: &str) -> Option<Offset> {
        let text = text.trim();
        let (sign, magnitude) = match text.as_bytes().first()? {
            b'-' => (-1, &text[1..]),
            b'+' => (1, &text[1..]),
            _ => (1, text),
        };
        if magnitude.trim() == "0" {
            return Some(Offset(0));
        }
        let magnitude = crate::duration::parse(magnitude).filter(|d| *d <= crate::duration::MAX)?;
        Some(Offset(sign * i64::try_from(magnitude.as_millis()).ok()?))
    }

    /// Whether the request is sent before the stop.
    pub fn before_stop(self) -> bool {
        self.0 < 0
    }
}

/// What must be observed for a scenario to pass. `None` fields are not checked.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Expectations {
    /// Per request name, its expected outcome.
    pub requests: Vec<(String, Expected)>,
    /// The exit code of the server (container or process).
    pub exit_code: Option<i64>,
    /// Whether the server logged the signal.
    pub signal_received: Option<bool>,
    /// The stop took at least this long.
    pub stop_at_least: Option<Duration>,
    /// The stop took less than this.
    pub stop_below: Option<Duration>,
    /// Bounds on the counts of the load's requests.
    pub load: Vec<LoadExpectation>,
    /// Thresholds on the load: shares of its requests, latency percentiles.
    pub thresholds: Vec<LoadThreshold>,
    /// A bound on the stream's requests in flight at the signal lost to the stop: beyond what
    /// the path's own failures before the stop account for (`check`'s default: none).
    pub load_in_flight: Option<Bound>,
    /// What the rollout must show.
    pub rollout: Option<RolloutExpectation>,
    /// What the long-lived streams must show (`close-code`, `goaway`, ...).
    pub streams: StreamExpectations,
}

impl Scenario {
    /// The vantage this scenario's stream runs from: `netns` where it can (a single container
    /// the engine runs, a client the load generator runs), `host` for a process (no namespace
    /// of its own), a rollout (its stream goes to the balancer, across replicas) and the
    /// `pooled` and `reqwest` clients, whatever was asked.
    pub fn vantage(&self) -> Vantage {
        let Some(load) = &self.load else {
            return Vantage::Host;
        };
        let netns_works =
            self.rollout.is_none() && self.target != Target::Process && load.client.runs_in_netns();
        match load.vantage {
            _ if !netns_works => Vantage::Host,
            Some(asked) => asked,
            None => Vantage::Netns,
        }
    }
    /// The variant and base of a scenario whose image the harness builds.
    pub fn container(&self) -> Option<ContainerSpec> {
        match &self.target {
            Target::Container(spec) => Some(*spec),
            Target::Process | Target::Image(_) | Target::Running(_) | Target::Runtime(_) => None,
        }
    }

    /// The container port the server listens on (graceful-server's, or the image's).
    pub fn port(&self) -> u16 {
        match &self.target {
            Target::Image(spec) => spec.port,
            Target::Running(spec) => spec.port,
            Target::Runtime(_) => HTTP_PORT,
            Target::Process | Target::Container(_) => server_env::DEFAULT_PORT,
        }
    }

    /// The path that answers 2xx once the server is ready: graceful-server's `/healthz`, a
    /// runtime's own, the one given for an image (`/` when its readiness is not a path).
    pub fn ready_path(&self) -> &str {
        match &self.target {
            Target::Image(ImageSpec { readiness, .. })
            | Target::Running(RunningSpec { readiness, .. }) => readiness.path().unwrap_or("/"),
            Target::Runtime(spec) => spec.runtime.ready_path(),
            Target::Process | Target::Container(_) => "/healthz",
        }
    }

    /// What proves the server ready once started: our server's start line, a runtime's own
    /// path, or what was given for an image or a running container.
    pub fn readiness(&self) -> Readiness {
        match &self.target {
            Target::Image(ImageSpec { readiness, .. })
            | Target::Running(RunningSpec { readiness, .. }) => readiness.clone(),
            Target::Runtime(spec) => spec.runtime.readiness(),
            Target::Process | Target::Container(_) => Readiness::LogLine { within: START_WAIT },
        }
    }

    /// Whether the server is graceful-server, whose log tells when it got the signal and which
    /// is configured through `SERVER_*` variables.
    pub fn runs_our_server(&self) -> bool {
        matches!(self.target, Target::Process | Target::Container(_))
    }

    /// The longest the scenario can take once the server is ready: the stop, its grace period,
    /// and the last request's deadline. Used to bound every wait.
    pub fn budget(&self) -> Duration {
        let last_request = self
            .requests
            .iter()
            .map(|r| {
                let after_stop = Duration::from_millis(r.at.0.max(0) as u64);
                let work = match &r.kind {
                    RequestKind::Slow { delay } => delay.unwrap_or(self.server.delay),
                    RequestKind::Download { bytes, rate } => {
                        Duration::from_millis(bytes.saturating_mul(1000) / (*rate).max(1))
                    }
                    RequestKind::Get { .. } => self.server.delay,
                    RequestKind::Stream {
                        what: StreamWhat::Request { delay },
                        ..
                    } => *delay,
                    // A stream lasts until the server ends it, at the latest at the stop's
                    // grace period (the budget's floor) or its own `for`.
                    RequestKind::Stream {
                        what: StreamWhat::Stream { lasting, .. },
                        ..
                    } => lasting.unwrap_or_default(),
                };
                after_stop + work
            })
            .max()
            .unwrap_or_default();
        self.stop.at + self.stop.timeout.max(last_request) + Duration::from_secs(5)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_signed_milliseconds() {
        assert_eq!(Offset::parse("-1s"), Some(Offset(-1000)));
        assert_eq!(Offset::parse("+250ms"), Some(Offset(250)));
        assert_eq!(Offset::parse("2s"), Some(Offset(2000)));
        assert_eq!(Offset::parse("0"), Some(Offset(0)));
        assert_eq!(Offset::parse("soon"), None);
    }

    #[test]
    fn server_spec_becomes_environment() {
        let spec = ServerSpec {
            mode: ServerMode::Abrupt,
            delay: Duration::from_millis(1500),
            signals: Some(vec![StopSignal::Sigint]),
            drain_timeout: None,
            keep_alive: None,
            linger: None,
            idle_timeout: None,
        };
        assert_eq!(
            spec.env(),
            [
                ("SERVER_MODE".into(), "abrupt".into()),
                ("SERVER_DELAY".into(), "1500ms".into()),
                ("SERVER_SIGNALS".into(), "SIGINT".into()),
            ]
        );
    }
}
