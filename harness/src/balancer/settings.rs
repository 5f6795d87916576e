//! The balancer settings that decide whether a rollout loses requests, with HAProxy's own
//! defaults as ours, and how they reach its configuration (environment variables).

use serde::Serialize;

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
