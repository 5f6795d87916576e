//! The `rollout` and `balancer` tables into a [`RolloutSpec`]: how many replicas and how many of
//! them are replaced, how each is terminated (pod spec: `preStop`,
//! `terminationGracePeriodSeconds`; the endpoint's lag), the readiness probe a new one passes,
//! whether addresses may be reused, and the balancer's settings, with HAProxy's usual values for
//! what is left out.

use std::ops::Range;
use std::time::Duration;

use crate::client::path_problem;
use crate::model::rollout::UpdateOrder;
use crate::model::rollout::{
    BalancerSettings, HealthChecks, MAX_REPLICAS, Orchestrator, PreStop, ReadinessProbe, RetryOn,
    Reuse, RolloutSpec,
};

use super::doc::{BalancerDoc, ChecksDoc, ReadinessDoc, RolloutDoc, Sp};
use super::file::{Context, FileCx};
use super::values::parse_duration;

/// The most retries a balancer may be given.
const MAX_RETRIES: u8 = 10;
/// The bounds of a count in a probe or a check (`fall`, `rise`, `success-threshold`).
const COUNTS: std::ops::RangeInclusive<i64> = 1..=100;

impl FileCx<'_> {
    /// The rollout of `doc` with `balancer`'s settings: Some(None) without one, None when it is
    /// wrong (reported).
    pub(super) fn rollout(
        &mut self,
        cx: &Context,
        doc: Option<&Sp<RolloutDoc>>,
        balancer: Option<&Sp<BalancerDoc>>,
        has_load: bool,
    ) -> Option<Option<RolloutSpec>> {
        let Some(doc) = doc else {
            if let Some(balancer) = balancer {
                self.error(
                    balancer.span().start,
                    format!(
                        "{} has `balancer` settings but no `rollout`: the balancer stands in front of a rollout's replicas (add rollout = {{ replicas = 2 }}, or rollout = {{ replicas = 2, replace = 0 }} for the balancer alone)",
                        cx.what
                    ),
                );
                return None;
            }
            return Some(None);
        };
        let errors_before = self.errors.len();
        let at = doc.span().start;
        let table = doc.get_ref();
        let defaults = RolloutSpec::default();
        if !has_load {
            self.error(
                at,
                format!(
                    "{} is a rollout without a `load`: a rollout is judged by the steady stream through the balancer (add load = {{ rate = 100, duration = \"1s\", path = \"/?delay=100ms\" }})",
                    cx.what
                ),
            );
        }
        let replicas = self
            .count(
                "rollout `replicas`",
                table.replicas.as_ref(),
                1..=i64::from(MAX_REPLICAS),
            )
            .unwrap_or(defaults.replicas);
        let replace = self
            .count(
                "rollout `replace`",
                table.replace.as_ref(),
                0..=i64::from(replicas),
            )
            .unwrap_or(replicas);
        let endpoint_lag = self.duration_or(
            "rollout",
            "endpoint-lag",
            table.endpoint_lag.as_ref(),
            defaults.endpoint_lag,
        );
        let termination_grace = self.duration_or(
            "rollout",
            "termination-grace",
            table.termination_grace.as_ref(),
            defaults.termination_grace,
        );
        let pre_stop = match &table.pre_stop {
            None => PreStop::None,
            Some(hook) => {
                let hook_at = hook.span().start;
                match (&hook.get_ref().exec, &hook.get_ref().sleep) {
                    (Some(command), None) if !command.get_ref().is_empty() => PreStop::Exec(
                        command
                            .get_ref()
                            .iter()
                            .map(|w| w.get_ref().clone())
                            .collect(),
                    ),
                    (None, Some(pause)) => match parse_duration("sleep", pause.get_ref()) {
                        Ok(d) => PreStop::Sleep(d),
                        Err(message) => {
                            self.error(pause.span().start, format!("pre-stop {message}"));
                            PreStop::None
                        }
                    },
                    _ => {
                        self.error(
                            hook_at,
                            "`pre-stop` takes one of `exec` (a command run in the container, like exec = [\"sleep\", \"2\"]) or `sleep` (the orchestrator waits, like sleep = \"2s\")",
                        );
                        PreStop::None
                    }
                }
            }
        };
        let readiness = self.readiness(table.readiness.as_ref());
        let address_reuse = table
            .address_reuse
            .as_ref()
            .is_some_and(|reuse| *reuse.get_ref());
        let balancer_at = balancer.map_or(at, |b| b.span().start);
        let balancer = self.balancer(balancer);
        if !balancer.latency.is_zero() && (replace > 0 || address_reuse) {
            self.error(
                balancer_at,
                format!(
                    "{}: a balancer `latency` goes through a relay, which accepts every connection itself, so a replica being replaced would read as reset instead of refused: use it with rollout `replace = 0` (the balancer and its replicas alone) and without `address-reuse`",
                    cx.what
                ),
            );
        }
        let orchestrator = self.orchestrator(cx, doc, balancer_at, &balancer);
        if self.errors.len() > errors_before {
            return None;
        }
        Some(Some(RolloutSpec {
            replicas,
            replace,
            pre_stop,
            endpoint_lag,
            termination_grace,
            readiness,
            address_reuse,
            balancer,
            orchestrator,
        }))
    }

    /// Who runs the rollout (`orchestrator`, with Swarm's `update-order` and `parallelism`).
    /// A Swarm rollout refuses every key Swarm has no equivalent of, saying why.
    fn orchestrator(
        &mut self,
        cx: &Context,
        doc: &Sp<RolloutDoc>,
        balancer_at: usize,
        balancer: &BalancerSettings,
    ) -> Orchestrator {
        let table = doc.get_ref();
        let swarm = match table
            .orchestrator
            .as_ref()
            .map(|o| (o.get_ref().as_str(), o))
        {
            None | Some(("emulated", _)) => false,
            Some(("swarm", _)) => true,
            Some((other, o)) => {
                self.error(
                    o.span().start,
                    format!("unknown rollout `orchestrator` {other:?}: write \"emulated\" (the harness, in Kubernetes' order) or \"swarm\" (a Docker Swarm rolling update)"),
                );
                return Orchestrator::Emulated;
            }
        };
        if !swarm {
            for (key, given) in [
                (
                    "update-order",
                    table.update_order.as_ref().map(|v| v.span().start),
                ),
                (
                    "parallelism",
                    table.parallelism.as_ref().map(|v| v.span().start),
                ),
            ] {
                if let Some(key_at) = given {
                    self.error(
                        key_at,
                        format!("{}: rollout `{key}` is Swarm's (`docker service update --update-{key}`): add orchestrator = \"swarm\", or leave it out", cx.what),
                    );
                }
            }
            return Orchestrator::Emulated;
        }
        // Swarm has nothing of these: a run would silently test something else.
        let refused: [(&str, Option<usize>, &str); 5] = [
            (
                "pre-stop",
                table.pre_stop.as_ref().map(|v| v.span().start),
                "Swarm runs no hook before the stop signal (it waits 2 s on its own after taking a task out of DNS)",
            ),
            (
                "endpoint-lag",
                table.endpoint_lag.as_ref().map(|v| v.span().start),
                "Swarm takes a task out of DNS on its own timing; the balancer's delay in noticing is balancer `resolve-every`",
            ),
            (
                "address-reuse",
                table.address_reuse.as_ref().map(|v| v.span().start),
                "Swarm's overlay allocates task addresses itself",
            ),
            (
                "readiness",
                table.readiness.as_ref().map(|v| v.span().start),
                "a task is in DNS once it runs; Swarm's health checks are not modelled here",
            ),
            (
                "replace",
                table.replace.as_ref().map(|v| v.span().start),
                "`docker service update --force` replaces every task",
            ),
        ];
        for (key, given, why) in refused {
            if let Some(key_at) = given {
                self.error(
                    key_at,
                    format!("{}: rollout `{key}` has no Swarm equivalent ({why}): leave it out with orchestrator = \"swarm\"", cx.what),
                );
            }
        }
        if balancer.checks.is_some() || !balancer.latency.is_zero() {
            self.error(
                balancer_at,
                format!("{}: balancer `checks` and `latency` are not available with orchestrator = \"swarm\" (the balancer finds the tasks through DNS alone)", cx.what),
            );
        }
        let order = match &table.update_order {
            None => UpdateOrder::StartFirst,
            Some(o) => UpdateOrder::parse(o.get_ref()).unwrap_or_else(|| {
                self.error(
                    o.span().start,
                    format!("unknown rollout `update-order` {:?}: write \"start-first\" or \"stop-first\"", o.get_ref()),
                );
                UpdateOrder::StartFirst
            }),
        };
        let parallelism = self
            .count(
                "rollout `parallelism`",
                table.parallelism.as_ref(),
                1..=i64::from(MAX_REPLICAS),
            )
            .unwrap_or(1);
        Orchestrator::Swarm { order, parallelism }
    }

    /// The readiness probe, Kubernetes' meaning and the harness's defaults for what `doc`
    /// leaves out.
    fn readiness(&mut self, doc: Option<&Sp<ReadinessDoc>>) -> ReadinessProbe {
        let defaults = ReadinessProbe::default();
        let Some(doc) = doc else {
            return defaults;
        };
        let table = doc.get_ref();
        let path = table
            .path
            .as_ref()
            .and_then(|path| match path_problem(path.get_ref()) {
                Some(problem) => {
                    self.error(path.span().start, format!("readiness `path`: {problem}"));
                    None
                }
                None => Some(path.get_ref().clone()),
            });
        let period = self.duration_or(
            "readiness",
            "period",
            table.period.as_ref(),
            defaults.period,
        );
        let timeout = self.duration_or(
            "readiness",
            "timeout",
            table.timeout.as_ref(),
            defaults.timeout,
        );
        for (key, value) in [("period", &table.period), ("timeout", &table.timeout)] {
            if let Some(value) = value
                && crate::duration::parse(value.get_ref()) == Some(Duration::ZERO)
            {
                self.error(
                    value.span().start,
                    format!("readiness `{key}` must be longer than zero (Kubernetes' least is 1s; write 100ms or more)"),
                );
            }
        }
        ReadinessProbe {
            path,
            initial_delay: self.duration_or(
                "readiness",
                "initial-delay",
                table.initial_delay.as_ref(),
                defaults.initial_delay,
            ),
            period,
            timeout,
            success_threshold: self
                .count(
                    "readiness `success-threshold`",
                    table.success_threshold.as_ref(),
                    COUNTS,
                )
                .unwrap_or(defaults.success_threshold),
        }
    }

    /// The balancer's settings, HAProxy's usual values for what `doc` leaves out.
    fn balancer(&mut self, doc: Option<&Sp<BalancerDoc>>) -> BalancerSettings {
        let mut settings = BalancerSettings::default();
        let Some(doc) = doc else {
            return settings;
        };
        let table = doc.get_ref();
        if let Some(retries) = self.count(
            "balancer `retries`",
            table.retries.as_ref(),
            0..=i64::from(MAX_RETRIES),
        ) {
            settings.retries = retries;
        }
        if let Some(redispatch) = &table.redispatch {
            settings.redispatch = *redispatch.get_ref();
        }
        if let Some(retry_on) = &table.retry_on {
            match RetryOn::parse(retry_on.get_ref()) {
                Ok(set) => settings.retry_on = set,
                Err(message) => self.error(retry_on.span().start, format!("balancer {message}")),
            }
        }
        if let Some(reuse) = &table.reuse {
            match Reuse::parse(reuse.get_ref()) {
                Some(r) => settings.reuse = r,
                None => self.error(
                    reuse.span().start,
                    format!(
                        "unknown balancer `reuse` {:?}: write one of {} (HAProxy's http-reuse)",
                        reuse.get_ref(),
                        Reuse::ALL.map(Reuse::name).join(", ")
                    ),
                ),
            }
        }
        settings.connect_timeout = self.duration_or(
            "balancer",
            "connect-timeout",
            table.connect_timeout.as_ref(),
            settings.connect_timeout,
        );
        settings.keep_alive_timeout = self.duration_or(
            "balancer",
            "keep-alive-timeout",
            table.keep_alive_timeout.as_ref(),
            settings.keep_alive_timeout,
        );
        settings.resolve_every = self.duration_or(
            "balancer",
            "resolve-every",
            table.resolve_every.as_ref(),
            settings.resolve_every,
        );
        settings.hold_obsolete = self.duration_or(
            "balancer",
            "hold-obsolete",
            table.hold_obsolete.as_ref(),
            settings.hold_obsolete,
        );
        if settings.resolve_every.is_zero() {
            self.error(
                doc.span().start,
                "balancer `resolve-every` must be longer than zero (HAProxy's usual is 1s)",
            );
        }
        if settings.connect_timeout.is_zero() {
            self.error(
                doc.span().start,
                "balancer `connect-timeout` must be longer than zero (HAProxy's usual is 5s)",
            );
        }
        if let Some(checks) = &table.checks {
            settings.checks = self.checks(checks.get_ref(), checks.span());
        }
        settings.latency = self.duration_or(
            "balancer",
            "latency",
            table.latency.as_ref(),
            settings.latency,
        );
        settings
    }

    /// `checks = true | false | { inter, fall, rise }`.
    fn checks(&mut self, doc: &ChecksDoc, span: Range<usize>) -> Option<HealthChecks> {
        let table = match doc {
            ChecksDoc::On(false) => return None,
            ChecksDoc::On(true) => return Some(HealthChecks::default()),
            ChecksDoc::Table(table) => table,
        };
        let mut checks = HealthChecks::default();
        if let Some(inter) = &table.inter {
            match parse_duration("inter", inter) {
                Ok(d) if !d.is_zero() => checks.inter = d,
                Ok(_) => self.error(
                    span.start,
                    "balancer checks `inter` must be longer than zero (HAProxy's is 2s)",
                ),
                Err(message) => self.error(span.start, format!("balancer checks {message}")),
            }
        }
        for (key, value, slot) in [
            ("fall", table.fall, &mut checks.fall),
            ("rise", table.rise, &mut checks.rise),
        ] {
            match value.map(u8::try_from) {
                None => {}
                Some(Ok(n)) if COUNTS.contains(&i64::from(n)) => *slot = n,
                Some(_) => self.error(
                    span.start,
                    format!("balancer checks `{key}` is out of range: 1 to 100"),
                ),
            }
        }
        Some(checks)
    }

    /// A count within `range`, reported when outside it; None when absent or wrong.
    fn count(
        &mut self,
        what: &str,
        value: Option<&Sp<i64>>,
        range: std::ops::RangeInclusive<i64>,
    ) -> Option<u8> {
        let value = value?;
        match u8::try_from(*value.get_ref()) {
            Ok(n) if range.contains(value.get_ref()) => Some(n),
            _ => {
                self.error(
                    value.span().start,
                    format!(
                        "{what} = {} is out of range: {} to {}",
                        value.get_ref(),
                        range.start(),
                        range.end()
                    ),
                );
                None
            }
        }
    }

    /// The duration `key` of `table`, or `default` when absent or wrong (reported).
    fn duration_or(
        &mut self,
        table: &str,
        key: &str,
        value: Option<&Sp<String>>,
        default: Duration,
    ) -> Duration {
        match value {
            None => default,
            Some(text) => match parse_duration(key, text.get_ref()) {
                Ok(d) => d,
                Err(message) => {
                    self.error(text.span().start, format!("{table} {message}"));
                    default
                }
            },
        }
    }
}
