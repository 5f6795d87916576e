//! How the server reacts to a shutdown signal.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The server's shutdown behaviour, chosen at start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Close the listener, answer the requests in flight, then exit 0.
    Graceful,
    /// Exit at once (code 2), cutting the requests in flight.
    Abrupt,
    /// Install no signal handler: the kernel's default action applies (as PID 1: none).
    Unhandled,
}

impl Mode {
    /// Every mode, in display order.
    pub const ALL: [Mode; 3] = [Mode::Graceful, Mode::Abrupt, Mode::Unhandled];

    /// The name used by `--mode`, in the log and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Graceful => "graceful",
            Mode::Abrupt => "abrupt",
            Mode::Unhandled => "unhandled",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Mode {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Mode::ALL
            .into_iter()
            .find(|m| m.name() == text.trim())
            .ok_or_else(|| format!("unknown mode {text:?}; use graceful, abrupt or unhandled"))
    }
}
