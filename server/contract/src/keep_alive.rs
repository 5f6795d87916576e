//! What the server does with keep-alive connections when a drain begins. This decides the
//! keep-alive race: a pooled client that reuses a connection the server has just closed gets a
//! reset or an empty reply on a request the server never saw.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The longest linger the server accepts (`--linger`): longer only holds up the drain, and a
/// connection idle for the idle timeout (`--idle-timeout`, 5 s by default) is closed anyway.
pub const MAX_LINGER: Duration = Duration::from_secs(60);

/// How the drain treats keep-alive connections, chosen at start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeepAliveDrain {
    /// Close idle keep-alive connections at once, silently (hyper's graceful shutdown); a client
    /// reusing one just then gets a reset or an empty reply.
    CloseIdle,
    /// For a short linger, keep serving requests on open connections but answer each with
    /// `Connection: close`, so clients learn to stop reusing them; then close the idle ones.
    Linger,
}

impl KeepAliveDrain {
    /// Every behaviour, in display order (the default first).
    pub const ALL: [KeepAliveDrain; 2] = [KeepAliveDrain::CloseIdle, KeepAliveDrain::Linger];

    /// The name used by `--keep-alive-drain` and in reports.
    pub fn name(self) -> &'static str {
        match self {
            KeepAliveDrain::CloseIdle => "close-idle",
            KeepAliveDrain::Linger => "linger",
        }
    }
}

impl fmt::Display for KeepAliveDrain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for KeepAliveDrain {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        KeepAliveDrain::ALL
            .into_iter()
            .find(|k| k.name() == text.trim())
            .ok_or_else(|| format!("unknown keep-alive drain {text:?}; use close-idle or linger"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for drain in KeepAliveDrain::ALL {
            assert_eq!(drain.name().parse(), Ok(drain));
            assert_eq!(drain.to_string(), drain.name());
        }
        assert!(
            "politely"
                .parse::<KeepAliveDrain>()
                .unwrap_err()
                .contains("use close-idle or linger")
        );
    }

    #[test]
    fn serde_uses_the_names() {
        let json = serde_json::to_string(&KeepAliveDrain::CloseIdle).unwrap();
        assert_eq!(json, "\"close-idle\"");
        let back: KeepAliveDrain = serde_json::from_str("\"linger\"").unwrap();
        assert_eq!(back, KeepAliveDrain::Linger);
    }
}
