//! The `rollout` and `balancer` tables into a [`RolloutSpec`]: how many replicas, how each is
//! terminated (pod spec: `preStop`, `terminationGracePeriodSeconds`; the endpoint's lag), and
//! the balancer's settings, with HAProxy's defaults for what is left out.

use std::time::Duration;

use crate::rollout::{BalancerSettings, Reuse};
use crate::rollout::{MAX_REPLICAS, PreStop, RolloutSpec};

use super::doc::{BalancerDoc, RolloutDoc, Sp};
use super::file::{Context, FileCx};
use super::values::parse_duration;

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
                        "{} has `balancer` settings but no `rollout`: the balancer stands in front of a rollout's replicas (add rollout = {{ replicas = 2 }})",
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
        let replicas = match &table.replicas {
            None => defaults.replicas,
            Some(n) if (1..=i64::from(MAX_REPLICAS)).contains(n.get_ref()) => {
                u8::try_from(*n.get_ref()).unwrap_or(defaults.replicas)
            }
            Some(n) => {
                self.error(
                    n.span().start,
                    format!(
                        "rollout `replicas` = {} is out of range: 1 to {MAX_REPLICAS}",
                        n.get_ref()
                    ),
                );
                defaults.replicas
            }
        };
        let mut duration = |key: &str, value: &Option<Sp<String>>, default: Duration| match value {
            None => default,
            Some(text) => match parse_duration(key, text.get_ref()) {
                Ok(d) => d,
                Err(message) => {
                    self.error(text.span().start, format!("rollout {message}"));
                    default
                }
            },
        };
        let endpoint_lag = duration("endpoint-lag", &table.endpoint_lag, defaults.endpoint_lag);
        let termination_grace = duration(
            "termination-grace",
            &table.termination_grace,
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
        let balancer = self.balancer(balancer);
        if self.errors.len() > errors_before {
            return None;
        }
        Some(Some(RolloutSpec {
            replicas,
            pre_stop,
            endpoint_lag,
            termination_grace,
            balancer,
        }))
    }

    /// The balancer's settings, HAProxy's defaults for what `doc` leaves out.
    fn balancer(&mut self, doc: Option<&Sp<BalancerDoc>>) -> BalancerSettings {
        let mut settings = BalancerSettings::default();
        let Some(doc) = doc else {
            return settings;
        };
        let table = doc.get_ref();
        if let Some(retries) = &table.retries {
            match u8::try_from(*retries.get_ref()) {
                Ok(n) if n <= 10 => settings.retries = n,
                _ => self.error(
                    retries.span().start,
                    format!(
                        "balancer `retries` = {} is out of range: 0 to 10",
                        retries.get_ref()
                    ),
                ),
            }
        }
        if let Some(redispatch) = &table.redispatch {
            settings.redispatch = *redispatch.get_ref();
        }
        if let Some(checks) = &table.checks {
            settings.checks = *checks.get_ref();
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
        settings
    }
}
