//! Rolling updates, as data: how many replicas sit behind the balancer, how each is terminated
//! (Kubernetes' order: the `preStop` hook, the endpoint leaving the pool after a lag, the stop
//! signal, the grace period, SIGKILL), and what a rollout is expected to lose.

use std::time::Duration;

use serde::Serialize;

use crate::balancer::BalancerSettings;
use crate::traffic::Bound;

/// The most replicas a rollout may have (the balancer has a slot for each and its replacement).
pub const MAX_REPLICAS: u8 = 4;

/// The step before the stop signal (a pod's `lifecycle.preStop`). In JSON: `"none"`,
/// `{"exec": ["sleep", "2"]}` or `{"sleep_ms": 2000}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PreStop {
    /// None: the signal goes out at once.
    None,
    /// A command run in the container, as an exec hook (`preStop.exec.command`): `sleep 2`.
    /// It needs the image to have the command (and its shell, if it names one).
    Exec(Vec<String>),
    /// The orchestrator waits on its own (`preStop.sleep.seconds`): nothing runs in the image.
    Sleep(Duration),
}

impl Serialize for PreStop {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            PreStop::None => serializer.serialize_str("none"),
            PreStop::Exec(command) => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("exec", command)?;
                map.end()
            }
            PreStop::Sleep(pause) => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("sleep_ms", &(pause.as_millis() as u64))?;
                map.end()
            }
        }
    }
}

impl PreStop {
    /// `exec sleep 2`, `sleep 2s` or `none`: for reports.
    pub fn describe(&self) -> String {
        match self {
            PreStop::None => "none".to_string(),
            PreStop::Exec(command) => format!("exec {}", command.join(" ")),
            PreStop::Sleep(d) => format!("sleep {}", crate::duration::format(*d)),
        }
    }
}

/// A rolling update of a scenario's server: `replicas` behind the balancer under the
/// scenario's load, replaced one at a time (max surge 1, max unavailable 0): the new one
/// starts and enters the pool, then the old one is terminated.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RolloutSpec {
    /// How many replicas serve (1 to [`MAX_REPLICAS`]).
    pub replicas: u8,
    /// The step before the signal.
    pub pre_stop: PreStop,
    /// How long after termination begins the replica leaves the balancer's pool (endpoint
    /// propagation; zero: at once).
    pub endpoint_lag: Duration,
    /// The grace period, counted from the start of termination (`terminationGracePeriodSeconds`):
    /// past it, SIGKILL.
    pub termination_grace: Duration,
    /// The balancer's settings.
    pub balancer: BalancerSettings,
}

impl Default for RolloutSpec {
    /// Two replicas, no hook, the endpoint leaving at once, Kubernetes' 30 s grace, HAProxy's
    /// defaults.
    fn default() -> Self {
        RolloutSpec {
            replicas: 2,
            pre_stop: PreStop::None,
            endpoint_lag: Duration::ZERO,
            termination_grace: Duration::from_secs(30),
            balancer: BalancerSettings::default(),
        }
    }
}

/// What became of a `preStop` hook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "outcome", content = "detail")]
pub enum HookOutcome {
    /// It ran to its end with status 0 (or the orchestrator's wait ended).
    Done,
    /// It could not run or failed: why (the engine's or the command's words). Kubernetes goes
    /// on to the signal, and so does the harness.
    Failed(String),
    /// The grace period ended first.
    CutByGrace,
}

impl HookOutcome {
    /// `done`, `failed: ...`, `cut by the grace period`.
    pub fn describe(&self) -> String {
        match self {
            HookOutcome::Done => "done".to_string(),
            HookOutcome::Failed(why) => format!("failed: {why}"),
            HookOutcome::CutByGrace => "cut by the grace period".to_string(),
        }
    }
}

/// Where in a replica's termination a request of the stream went out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RolloutPhase {
    /// No replica is terminating (or the one that was is gone and out of the pool).
    Steady,
    /// Termination began; the stop signal is not sent yet (the `preStop` step).
    PreStop,
    /// The signal was sent; the replica has not exited.
    Draining,
    /// The replica exited but the balancer still has it in its pool (the endpoint lags).
    StaleEndpoint,
}

impl RolloutPhase {
    /// Every phase, in time order.
    pub const ALL: [RolloutPhase; 4] = [
        RolloutPhase::Steady,
        RolloutPhase::PreStop,
        RolloutPhase::Draining,
        RolloutPhase::StaleEndpoint,
    ];

    /// The phase's name in reports.
    pub fn name(self) -> &'static str {
        match self {
            RolloutPhase::Steady => "steady",
            RolloutPhase::PreStop => "pre-stop",
            RolloutPhase::Draining => "draining",
            RolloutPhase::StaleEndpoint => "stale-endpoint",
        }
    }
}

/// What a rollout must show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RolloutExpectation {
    /// Requests of the stream lost during the whole rollout (errors from the balancer, resets,
    /// empty replies, truncated bodies, timeouts).
    pub lost: Option<Bound>,
    /// Whether every `preStop` hook ran to its end.
    pub hook_done: Option<bool>,
}
