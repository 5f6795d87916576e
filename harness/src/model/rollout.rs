//! Rolling updates, as data: how many replicas sit behind the balancer, how each is terminated
//! (Kubernetes' order: the `preStop` hook, the endpoint leaving the pool after a lag, the stop
//! signal, the grace period, SIGKILL), the balancer's settings (with HAProxy's defaults), and
//! what a rollout is expected to lose.

use std::time::Duration;

use serde::Serialize;

use super::load::Bound;

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
    /// How long the step is meant to last: the orchestrator's wait, or an exec hook's
    /// `sleep N` (zero for any other command, which cannot be read).
    pub fn nominal(&self) -> Duration {
        match self {
            PreStop::None => Duration::ZERO,
            PreStop::Sleep(pause) => *pause,
            PreStop::Exec(command) => match command.as_slice() {
                [sleep, seconds] if sleep == "sleep" => seconds
                    .parse::<f64>()
                    .ok()
                    .filter(|s| s.is_finite() && *s >= 0.0 && *s <= 3600.0)
                    .map_or(Duration::ZERO, Duration::from_secs_f64),
                _ => Duration::ZERO,
            },
        }
    }

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
/// scenario's load, `replace` of them replaced one at a time (max surge 1, max unavailable 0):
/// the new one starts and enters the pool once its readiness probe passes, then the old one is
/// terminated. With `replace = 0` nothing is replaced: the stream only goes through the
/// balancer to the replicas (its steady state, the keep-alive race between them).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RolloutSpec {
    /// How many replicas serve (1 to [`MAX_REPLICAS`]).
    pub replicas: u8,
    /// How many of them are replaced, in the order they started (0 to `replicas`).
    pub replace: u8,
    /// The step before the signal.
    pub pre_stop: PreStop,
    /// How long after termination begins the replica leaves the balancer's pool (endpoint
    /// propagation; zero: at once). The only way a replica leaves the pool, as in Kubernetes,
    /// whose Services and most ingress controllers do no checks of their own.
    pub endpoint_lag: Duration,
    /// The grace period, counted from the start of termination (`terminationGracePeriodSeconds`):
    /// past it, SIGKILL.
    pub termination_grace: Duration,
    /// The probe a new replica must pass before it enters the pool (the kubelet's readiness
    /// probe).
    pub readiness: ReadinessProbe,
    /// Whether a new replica may be given an address a replica of the run had before, as the
    /// engine's own allocation does within seconds. Off (the default), every replica gets an
    /// address of its own, as pods in a cluster do: requests still trying a gone replica's
    /// address then fail, instead of reaching its successor.
    pub address_reuse: bool,
    /// The balancer's settings.
    pub balancer: BalancerSettings,
    /// Who replaces the replicas: the harness in Kubernetes' order, or Docker Swarm.
    pub orchestrator: Orchestrator,
}

/// Who runs a rollout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "kebab-case", tag = "name")]
pub enum Orchestrator {
    /// The harness, in an emulation of Kubernetes' order of termination on single containers.
    #[default]
    Emulated,
    /// Docker Swarm: the replicas are a service's tasks, replaced by `docker service update
    /// --force` in Swarm's own order, found by the balancer through the engine's DNS.
    Swarm {
        /// `--update-order`.
        order: UpdateOrder,
        /// `--update-parallelism`: how many tasks are replaced at once.
        parallelism: u8,
    },
}

/// In which order Swarm replaces a task (`--update-order`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum UpdateOrder {
    /// The new task starts, then the old one stops (max surge 1).
    StartFirst,
    /// The old task stops, then the new one starts (Swarm's default).
    StopFirst,
}

impl UpdateOrder {
    /// The word in scenario files and in `docker service update --update-order`.
    pub fn name(self) -> &'static str {
        match self {
            UpdateOrder::StartFirst => "start-first",
            UpdateOrder::StopFirst => "stop-first",
        }
    }

    /// Parses `start-first` or `stop-first`.
    pub fn parse(text: &str) -> Option<UpdateOrder> {
        [UpdateOrder::StartFirst, UpdateOrder::StopFirst]
            .into_iter()
            .find(|o| o.name() == text.trim())
    }
}

impl Orchestrator {
    /// `emulated` or `swarm`.
    pub fn name(self) -> &'static str {
        match self {
            Orchestrator::Emulated => "emulated",
            Orchestrator::Swarm { .. } => "swarm",
        }
    }

    /// Swarm's rolling update with its defaults for a rollout (start-first, one at a time, as
    /// the emulation replaces replicas).
    pub fn swarm() -> Orchestrator {
        Orchestrator::Swarm {
            order: UpdateOrder::StartFirst,
            parallelism: 1,
        }
    }

    /// Whether Swarm runs it.
    pub fn is_swarm(self) -> bool {
        matches!(self, Orchestrator::Swarm { .. })
    }
}

impl Default for RolloutSpec {
    /// Two replicas, both replaced, no hook, the endpoint leaving at once, Kubernetes' 30 s
    /// grace, the default readiness probe, no address reuse, HAProxy's usual settings.
    fn default() -> Self {
        RolloutSpec {
            replicas: 2,
            replace: 2,
            pre_stop: PreStop::None,
            endpoint_lag: Duration::ZERO,
            termination_grace: Duration::from_secs(30),
            readiness: ReadinessProbe::default(),
            address_reuse: false,
            balancer: BalancerSettings::default(),
            orchestrator: Orchestrator::Emulated,
        }
    }
}

impl RolloutSpec {
    /// `swarm: 2 task(s), update start-first 1 at a time, stop grace period 5s; the balancer
    /// resolves them every 1s and keeps a vanished one 0s`: for reports.
    pub fn describe_swarm(&self) -> String {
        let (order, parallelism) = match self.orchestrator {
            Orchestrator::Swarm { order, parallelism } => (order.name(), parallelism),
            Orchestrator::Emulated => ("none", 0),
        };
        format!(
            "swarm: {} task(s), update {order} {parallelism} at a time, stop grace period {}; the balancer resolves them every {} and keeps a vanished one {}",
            self.replicas,
            crate::duration::format(self.termination_grace),
            crate::duration::format(self.balancer.resolve_every),
            crate::duration::format(self.balancer.hold_obsolete),
        )
    }

    /// The requests a terminated replica is expected to lose to the stale endpoint, at `rate`
    /// requests/s: from its signal until it leaves the pool the balancer still sends it its
    /// share of the stream (its listener is closed, then it is gone), and nothing retries them
    /// elsewhere: rate x max(0, lag - preStop) / pool, the pool being the replicas and the one
    /// new replica beside them. None when the balancer redispatches or checks (both shorten
    /// the window by amounts this formula does not know).
    pub fn expected_lost_per_replica(&self, rate: u32) -> Option<f64> {
        if self.balancer.redispatch || self.balancer.checks.is_some() {
            return None;
        }
        // An exec hook that cannot run (no `sleep` in the image) waits nothing: the caller knows.
        let window = self
            .endpoint_lag
            .saturating_sub(self.pre_stop.nominal())
            .as_secs_f64();
        let pool = f64::from(self.replicas) + 1.0;
        Some(f64::from(rate) * window / pool)
    }
}

/// The kubelet's readiness probe, with Kubernetes' names: an HTTP GET every `period` from
/// `initial_delay` after the container started, each answered 2xx within `timeout`;
/// `success_threshold` in a row make the replica ready, and only then does it enter the pool.
/// A probe gates entry only: a replica leaves the pool by the orchestrator's step alone.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ReadinessProbe {
    /// The path probed (None: `/healthz` on our server, the load's path on any other).
    pub path: Option<String>,
    /// `initialDelaySeconds`.
    pub initial_delay: Duration,
    /// `periodSeconds` (Kubernetes: 10 s; here 500 ms by default, which only shortens each
    /// replacement, not what the rollout loses).
    pub period: Duration,
    /// `timeoutSeconds` (Kubernetes: 1 s).
    pub timeout: Duration,
    /// `successThreshold` (Kubernetes: 1).
    pub success_threshold: u8,
}

impl Default for ReadinessProbe {
    fn default() -> Self {
        ReadinessProbe {
            path: None,
            initial_delay: Duration::ZERO,
            period: Duration::from_millis(500),
            timeout: Duration::from_secs(1),
            success_threshold: 1,
        }
    }
}

impl ReadinessProbe {
    /// `GET /healthz every 500ms, 1 success`: for reports.
    pub fn describe(&self, default_path: &str) -> String {
        format!(
            "GET {} every {}, {} success{}",
            self.path.as_deref().unwrap_or(default_path),
            crate::duration::format(self.period),
            self.success_threshold,
            if self.success_threshold == 1 {
                ""
            } else {
                "es"
            },
        )
    }
}

/// The balancer's environment on a Swarm rollout: `settings`' and the service whose tasks it
/// resolves (`tasks.<service>:<port>`).
pub fn swarm_balancer_env(
    settings: &BalancerSettings,
    service: &str,
    port: u16,
) -> Vec<(String, String)> {
    let mut env = settings.env();
    env.push(("BALANCER_SERVICE".to_string(), service.to_string()));
    env.push(("BALANCER_SERVICE_PORT".to_string(), port.to_string()));
    env
}

/// The name of the `n`th replica of a rollout (`r1`, `r2`, ...): the first ones, then their
/// replacements, and the balancer's server slot of the same number (`s1`, ...).
pub fn replica_name(n: u8) -> String {
    format!("r{n}")
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

/// Where in the termination of the replica it was sent to a request of the stream went out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RolloutPhase {
    /// Its replica was not terminating.
    Steady,
    /// Its replica's termination began; the stop signal is not sent yet (the `preStop` step).
    PreStop,
    /// Its replica got the signal and has not exited.
    Draining,
    /// The replica exited but the balancer still has it in its pool (the endpoint lags).
    StaleEndpoint,
    /// The balancer's log names no replica for the request (it found none in its pool, or the
    /// request never reached it): its phase is not known.
    Unattributed,
}

impl RolloutPhase {
    /// Every phase, in time order.
    pub const ALL: [RolloutPhase; 5] = [
        RolloutPhase::Steady,
        RolloutPhase::PreStop,
        RolloutPhase::Draining,
        RolloutPhase::StaleEndpoint,
        RolloutPhase::Unattributed,
    ];

    /// The phase's name in reports.
    pub fn name(self) -> &'static str {
        match self {
            RolloutPhase::Steady => "steady",
            RolloutPhase::PreStop => "pre-stop",
            RolloutPhase::Draining => "draining",
            RolloutPhase::StaleEndpoint => "stale-endpoint",
            RolloutPhase::Unattributed => "unattributed",
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

/// What the balancer's log says of one request of the stream: which replica it went to, how
/// many times it was tried, how the session ended (HAProxy's termination state) and its timers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BalancerRecord {
    /// The request's id (its `x-request-id`).
    pub id: u32,
    /// The number of the replica it went to last (`s3` is `r3`); None when the balancer found
    /// no server for it.
    pub replica: Option<u8>,
    /// Connection retries (HAProxy's `%rc`).
    pub retries: u8,
    /// Whether it was redispatched to another server after its retries (the log's `+`); the
    /// replica named is then the last one tried.
    pub redispatched: bool,
    /// HAProxy's termination state (`----` for a normal end; `SC--`: the server refused or
    /// never answered the connection; `SH--`: it closed before its headers).
    pub termination: [u8; 4],
    /// The status the balancer sent or passed on (None: none was).
    pub status: Option<u16>,
    /// Ms spent connecting (`%Tc`; None when no connection was made).
    pub connect_ms: Option<u32>,
    /// Ms from the request to the end (`%Ta`).
    pub total_ms: Option<u32>,
}

impl BalancerRecord {
    /// The termination state as text.
    pub fn termination_state(&self) -> &str {
        std::str::from_utf8(&self.termination).unwrap_or("????")
    }
}

/// When HAProxy tries a failed request again (`retry-on`): a set of its keywords.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct RetryOn(u8);

impl RetryOn {
    /// Every keyword, in HAProxy's order, with its bit.
    const KEYWORDS: [(&'static str, u8); 4] = [
        ("conn-failure", 1),
        ("empty-response", 2),
        ("junk-response", 4),
        ("response-timeout", 8),
    ];

    /// HAProxy's default: only a connection that could not be made is tried again.
    pub const CONN_FAILURE: RetryOn = RetryOn(1);

    /// Parses a space-separated list of keywords (`"conn-failure empty-response"`), or `none`.
    pub fn parse(text: &str) -> Result<RetryOn, String> {
        let mut set = RetryOn(0);
        for word in text.split_whitespace() {
            if word == "none" {
                continue;
            }
            let Some((_, bit)) = RetryOn::KEYWORDS.iter().find(|(name, _)| *name == word) else {
                return Err(format!(
                    "unknown retry-on keyword {word:?}: write `none` or any of {}",
                    RetryOn::KEYWORDS.map(|(name, _)| name).join(", ")
                ));
            };
            set.0 |= bit;
        }
        Ok(set)
    }

    /// The keywords, as HAProxy's `retry-on` takes them (`none` for the empty set).
    pub fn keywords(self) -> String {
        let words: Vec<&str> = RetryOn::KEYWORDS
            .iter()
            .filter(|(_, bit)| self.0 & bit != 0)
            .map(|(name, _)| *name)
            .collect();
        if words.is_empty() {
            "none".to_string()
        } else {
            words.join(" ")
        }
    }
}

impl Serialize for RetryOn {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.keywords())
    }
}

/// The balancer's active health checks on its servers (`check inter .. fall .. rise ..`), which
/// HAProxy Ingress and Traefik run and kube-proxy does not: a server that fails `fall` checks in
/// a row leaves the pool whatever the orchestrator says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct HealthChecks {
    /// Time between two checks of a server (HAProxy: 2 s).
    #[serde(serialize_with = "as_millis", rename = "inter_ms")]
    pub inter: Duration,
    /// Failed checks in a row that take a server out (HAProxy: 3).
    pub fall: u8,
    /// Passed checks in a row that bring it back (HAProxy: 2).
    pub rise: u8,
}

impl Default for HealthChecks {
    /// HAProxy's own.
    fn default() -> Self {
        HealthChecks {
            inter: Duration::from_secs(2),
            fall: 3,
            rise: 2,
        }
    }
}

impl HealthChecks {
    /// Parses `inter=200ms,fall=2,rise=1` (any of them; HAProxy's own for the others).
    pub fn parse(text: &str) -> Result<HealthChecks, String> {
        let mut checks = HealthChecks::default();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = part.split_once('=').ok_or_else(|| {
                format!("{part:?} is not key=value: write inter=2s,fall=3,rise=2")
            })?;
            let count = || {
                value
                    .trim()
                    .parse::<u8>()
                    .ok()
                    .filter(|n| (1..=100).contains(n))
                    .ok_or_else(|| format!("{key} = {value:?} is not a count from 1 to 100"))
            };
            match key.trim() {
                "inter" => {
                    checks.inter = crate::duration::parse(value)
                        .filter(|d| !d.is_zero())
                        .ok_or_else(|| {
                            format!(
                                "inter = {value:?} is not a duration above zero, like 2s or 200ms"
                            )
                        })?;
                }
                "fall" => checks.fall = count()?,
                "rise" => checks.rise = count()?,
                other => {
                    return Err(format!(
                        "unknown check setting {other:?}: write inter, fall or rise"
                    ));
                }
            }
        }
        Ok(checks)
    }
}

fn as_millis<S: serde::Serializer>(d: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The balancer's settings that decide the outcome of a rollout, HAProxy's usual values by
/// default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct BalancerSettings {
    /// `retries`: how many times a failed request is tried again (HAProxy: 3).
    pub retries: u8,
    /// `option redispatch`: the last retry goes to another server (HAProxy: off).
    pub redispatch: bool,
    /// `retry-on`: which failures are tried again (HAProxy: `conn-failure`).
    pub retry_on: RetryOn,
    /// `http-reuse` (HAProxy: safe).
    pub reuse: Reuse,
    /// `timeout connect`: how long a connection to a server may take (5 s, the value HAProxy's
    /// own examples and most configurations use). A gone replica's address answers nothing, so
    /// each try waits this long.
    #[serde(serialize_with = "as_millis", rename = "connect_timeout_ms")]
    pub connect_timeout: Duration,
    /// How long idle connections to the servers are kept (`pool-purge-delay`: every interval
    /// half of them are closed; HAProxy: 5 s).
    #[serde(serialize_with = "as_millis", rename = "keep_alive_timeout_ms")]
    pub keep_alive_timeout: Duration,
    /// Active health checks (HAProxy: none unless asked).
    pub checks: Option<HealthChecks>,
    /// A delay each way on the path between the balancer and its replicas (zero: none): the
    /// round trip of a real network, which a local bridge's tenth of a millisecond hides. A
    /// relay of the harness carries it (this kernel has no netem); a relay accepts every
    /// connection itself, so it is only for replicas that are not replaced.
    #[serde(serialize_with = "as_millis", rename = "latency_ms")]
    pub latency: Duration,
    /// How often the balancer resolves a Swarm service's tasks through the engine's DNS
    /// (HAProxy's `timeout resolve` and `hold valid`; 1 s).
    #[serde(serialize_with = "as_millis", rename = "resolve_every_ms")]
    pub resolve_every: Duration,
    /// How long the balancer keeps a task that vanished from DNS (HAProxy's `hold obsolete`;
    /// 0 s: it leaves at the first answer without it).
    #[serde(serialize_with = "as_millis", rename = "hold_obsolete_ms")]
    pub hold_obsolete: Duration,
}

impl Default for BalancerSettings {
    /// HAProxy's own defaults, with its usual `timeout connect 5s`.
    fn default() -> Self {
        BalancerSettings {
            retries: 3,
            redispatch: false,
            retry_on: RetryOn::CONN_FAILURE,
            reuse: Reuse::Safe,
            connect_timeout: Duration::from_secs(5),
            keep_alive_timeout: Duration::from_secs(5),
            checks: None,
            latency: Duration::ZERO,
            resolve_every: Duration::from_secs(1),
            hold_obsolete: Duration::ZERO,
        }
    }
}

impl BalancerSettings {
    /// The environment HAProxy's configuration reads them from (a flag is set or absent).
    pub fn env(&self) -> Vec<(String, String)> {
        let ms = |d: Duration| format!("{}ms", d.as_millis());
        let mut env = vec![
            ("BALANCER_RETRIES".to_string(), self.retries.to_string()),
            ("BALANCER_RETRY_ON".to_string(), self.retry_on.keywords()),
            ("BALANCER_REUSE".to_string(), self.reuse.name().to_string()),
            (
                "BALANCER_CONNECT_TIMEOUT".to_string(),
                ms(self.connect_timeout),
            ),
            (
                "BALANCER_POOL_PURGE_DELAY".to_string(),
                ms(self.keep_alive_timeout),
            ),
        ];
        env.push(("BALANCER_RESOLVE_EVERY".to_string(), ms(self.resolve_every)));
        env.push(("BALANCER_HOLD_OBSOLETE".to_string(), ms(self.hold_obsolete)));
        if self.redispatch {
            env.push(("BALANCER_REDISPATCH".to_string(), "1".to_string()));
        }
        if let Some(checks) = self.checks {
            env.push(("BALANCER_CHECKS".to_string(), "1".to_string()));
            env.push(("BALANCER_CHECK_INTER".to_string(), ms(checks.inter)));
            env.push(("BALANCER_CHECK_FALL".to_string(), checks.fall.to_string()));
            env.push(("BALANCER_CHECK_RISE".to_string(), checks.rise.to_string()));
        }
        env
    }

    /// `retries 3 on conn-failure, no redispatch, reuse safe, connect timeout 5s, idle server
    /// connections 5s, no checks`: for reports.
    pub fn describe(&self) -> String {
        let checks = match self.checks {
            None => "no checks".to_string(),
            Some(c) => format!(
                "checks every {} (fall {}, rise {})",
                crate::duration::format(c.inter),
                c.fall,
                c.rise
            ),
        };
        let latency = if self.latency.is_zero() {
            String::new()
        } else {
            format!(
                ", {} each way to the replicas",
                crate::duration::format(self.latency)
            )
        };
        format!(
            "retries {} on {}, {}redispatch, reuse {}, connect timeout {}, idle server connections {}, {checks}{latency}",
            self.retries,
            self.retry_on.keywords(),
            if self.redispatch { "" } else { "no " },
            self.reuse,
            crate::duration::format(self.connect_timeout),
            crate::duration::format(self.keep_alive_timeout),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_orders_read_as_swarm_writes_them() {
        assert_eq!(
            UpdateOrder::parse("start-first"),
            Some(UpdateOrder::StartFirst)
        );
        assert_eq!(
            UpdateOrder::parse("stop-first"),
            Some(UpdateOrder::StopFirst)
        );
        assert_eq!(UpdateOrder::parse("random"), None);
    }

    #[test]
    fn defaults_are_haproxys_and_reach_its_environment() {
        let defaults = BalancerSettings::default();
        assert_eq!(
            defaults.describe(),
            "retries 3 on conn-failure, no redispatch, reuse safe, connect timeout 5s, idle server connections 5s, no checks"
        );
        let env = defaults.env();
        assert!(env.contains(&("BALANCER_RETRIES".to_string(), "3".to_string())));
        assert!(env.contains(&("BALANCER_CONNECT_TIMEOUT".to_string(), "5000ms".to_string())));
        assert!(!env.iter().any(|(k, _)| k == "BALANCER_REDISPATCH"));
        assert!(!env.iter().any(|(k, _)| k == "BALANCER_CHECKS"));
        let on = BalancerSettings {
            redispatch: true,
            checks: Some(HealthChecks::default()),
            ..defaults
        };
        assert!(on.env().iter().any(|(k, _)| k == "BALANCER_CHECKS"));
        assert!(
            on.env()
                .contains(&("BALANCER_CHECK_FALL".to_string(), "3".to_string()))
        );
        assert_eq!(Reuse::parse("never"), Some(Reuse::Never));
        assert_eq!(Reuse::parse("sometimes"), None);
    }

    #[test]
    fn checks_parse_from_one_flag() {
        assert_eq!(HealthChecks::parse(""), Ok(HealthChecks::default()));
        let fast = HealthChecks::parse("inter=200ms, fall=2,rise=1").expect("parses");
        assert_eq!(
            (fast.inter, fast.fall, fast.rise),
            (Duration::from_millis(200), 2, 1)
        );
        for bad in ["inter", "inter=0s", "fall=0", "rise=x", "every=1s"] {
            assert!(HealthChecks::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn retry_on_takes_haproxys_keywords() {
        assert_eq!(RetryOn::default().keywords(), "none");
        assert_eq!(RetryOn::CONN_FAILURE.keywords(), "conn-failure");
        let both = RetryOn::parse("empty-response  conn-failure").expect("parses");
        assert_eq!(both.keywords(), "conn-failure empty-response");
        assert_eq!(RetryOn::parse("none"), Ok(RetryOn::default()));
        assert!(RetryOn::parse("503").unwrap_err().contains("conn-failure"));
    }

    #[test]
    fn the_stale_window_loses_the_rate_times_the_lag_over_the_pool() {
        let spec = RolloutSpec {
            endpoint_lag: Duration::from_secs(2),
            ..RolloutSpec::default()
        };
        let expected = spec.expected_lost_per_replica(100).expect("no checks");
        assert!((expected - 200.0 / 3.0).abs() < 1e-9, "{expected}");
        let covered = RolloutSpec {
            pre_stop: PreStop::Exec(vec!["sleep".to_string(), "3".to_string()]),
            ..spec.clone()
        };
        assert_eq!(covered.expected_lost_per_replica(100), Some(0.0));
        let checked = RolloutSpec {
            balancer: BalancerSettings {
                checks: Some(HealthChecks::default()),
                ..BalancerSettings::default()
            },
            ..spec
        };
        assert_eq!(checked.expected_lost_per_replica(100), None);
    }
}
