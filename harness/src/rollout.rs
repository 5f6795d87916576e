//! Rolling updates, as data: how many replicas sit behind the balancer, how each is terminated
//! (Kubernetes' order: the `preStop` hook, the endpoint leaving the pool after a lag, the stop
//! signal, the grace period, SIGKILL), the balancer's settings (with HAProxy's defaults), and
//! what a rollout is expected to lose.

use std::time::Duration;

use serde::Serialize;

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

/// How HAProxy reuses idle server-side connections (`http-reuse`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reuse {
    /// A new server connection per request.
    Never,
    /// HAProxy's default: an idle connection serves the next request of another client, but a
    /// client's first request always gets a connection known to be alive.
    Safe,
    /// Idle connections are reused for first requests too, if they have been used before.
    Aggressive,
    /// Idle connections are reused for any request.
    Always,
}

impl Reuse {
    /// Every value, in documentation order.
    pub const ALL: [Reuse; 4] = [Reuse::Never, Reuse::Safe, Reuse::Aggressive, Reuse::Always];

    /// The word in scenario files and in HAProxy's configuration.
    pub fn name(self) -> &'static str {
        match self {
            Reuse::Never => "never",
            Reuse::Safe => "safe",
            Reuse::Aggressive => "aggressive",
            Reuse::Always => "always",
        }
    }

    /// Parses one of [`Reuse::ALL`]'s names.
    pub fn parse(text: &str) -> Option<Reuse> {
        Reuse::ALL.into_iter().find(|r| r.name() == text.trim())
    }
}

impl std::fmt::Display for Reuse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The balancer's settings that decide the outcome of a rollout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct BalancerSettings {
    /// `retries`: how many times a failed connection to a server is tried again (HAProxy: 3).
    pub retries: u8,
    /// `option redispatch`: the last retry goes to another server (HAProxy: off).
    pub redispatch: bool,
    /// `http-reuse` (HAProxy: safe).
    pub reuse: Reuse,
    /// Health checks on the replicas (`check`, every 200 ms, down after 2 failures; HAProxy:
    /// none unless asked).
    pub checks: bool,
}

impl Default for BalancerSettings {
    /// HAProxy's own defaults.
    fn default() -> Self {
        BalancerSettings {
            retries: 3,
            redispatch: false,
            reuse: Reuse::Safe,
            checks: false,
        }
    }
}

impl BalancerSettings {
    /// The environment HAProxy's configuration reads them from (a flag is set or absent).
    pub fn env(&self) -> Vec<(String, String)> {
        let mut env = vec![
            ("BALANCER_RETRIES".to_string(), self.retries.to_string()),
            ("BALANCER_REUSE".to_string(), self.reuse.name().to_string()),
        ];
        if self.redispatch {
            env.push(("BALANCER_REDISPATCH".to_string(), "1".to_string()));
        }
        if self.checks {
            env.push(("BALANCER_CHECKS".to_string(), "1".to_string()));
        }
        env
    }

    /// `retries 3, no redispatch, reuse safe, no checks`: for reports.
    pub fn describe(&self) -> String {
        format!(
            "retries {}, {}redispatch, reuse {}, {}checks",
            self.retries,
            if self.redispatch { "" } else { "no " },
            self.reuse,
            if self.checks { "" } else { "no " },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_haproxys_and_reach_its_environment() {
        let defaults = BalancerSettings::default();
        assert_eq!(
            defaults.describe(),
            "retries 3, no redispatch, reuse safe, no checks"
        );
        let env = defaults.env();
        assert!(env.contains(&("BALANCER_RETRIES".to_string(), "3".to_string())));
        assert!(!env.iter().any(|(k, _)| k == "BALANCER_REDISPATCH"));
        let on = BalancerSettings {
            redispatch: true,
            checks: true,
            ..defaults
        };
        assert!(on.env().iter().any(|(k, _)| k == "BALANCER_CHECKS"));
        assert_eq!(Reuse::parse("never"), Some(Reuse::Never));
        assert_eq!(Reuse::parse("sometimes"), None);
    }
}
