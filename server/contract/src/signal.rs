//! The signals that can stop the server: `docker stop`'s first signal, or one the server is told
//! to shut down on. One set, named the same on both sides of the contract.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A signal that begins shutdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum StopSignal {
    /// The default of `docker stop`, Kubernetes and `kill`.
    #[serde(alias = "TERM")]
    Sigterm,
    /// Ctrl-C.
    #[serde(alias = "INT")]
    Sigint,
    /// nginx's graceful stop.
    #[serde(alias = "QUIT")]
    Sigquit,
    /// Reload, for most daemons.
    #[serde(alias = "HUP")]
    Sighup,
    /// User-defined signal 1.
    #[serde(alias = "USR1")]
    Sigusr1,
    /// User-defined signal 2.
    #[serde(alias = "USR2")]
    Sigusr2,
    /// Apache httpd's graceful stop.
    #[serde(alias = "WINCH")]
    Sigwinch,
}

impl StopSignal {
    /// Every stop signal, in display order.
    pub const ALL: [StopSignal; 7] = [
        StopSignal::Sigterm,
        StopSignal::Sigint,
        StopSignal::Sigquit,
        StopSignal::Sighup,
        StopSignal::Sigusr1,
        StopSignal::Sigusr2,
        StopSignal::Sigwinch,
    ];

    /// The canonical name (`SIGTERM`), as Docker's `StopSignal` takes it.
    pub fn name(self) -> &'static str {
        match self {
            StopSignal::Sigterm => "SIGTERM",
            StopSignal::Sigint => "SIGINT",
            StopSignal::Sigquit => "SIGQUIT",
            StopSignal::Sighup => "SIGHUP",
            StopSignal::Sigusr1 => "SIGUSR1",
            StopSignal::Sigusr2 => "SIGUSR2",
            StopSignal::Sigwinch => "SIGWINCH",
        }
    }

    /// The signal number on Linux (the bit index + 1 in `/proc/<pid>/status` SigCgt).
    pub fn number(self) -> i32 {
        match self {
            StopSignal::Sigterm => 15,
            StopSignal::Sigint => 2,
            StopSignal::Sigquit => 3,
            StopSignal::Sighup => 1,
            StopSignal::Sigusr1 => 10,
            StopSignal::Sigusr2 => 12,
            StopSignal::Sigwinch => 28,
        }
    }

    /// The description Go prints for the signal (`terminated`), which the log lines imitate.
    pub fn go_name(self) -> &'static str {
        match self {
            StopSignal::Sigterm => "terminated",
            StopSignal::Sigint => "interrupt",
            StopSignal::Sigquit => "quit",
            StopSignal::Sighup => "hangup",
            StopSignal::Sigusr1 => "user defined signal 1",
            StopSignal::Sigusr2 => "user defined signal 2",
            StopSignal::Sigwinch => "window changed",
        }
    }

    /// Parses `SIGTERM`, `TERM`, `sigterm` or `15`.
    pub fn parse(text: &str) -> Option<StopSignal> {
        let upper = text.trim().to_ascii_uppercase();
        let bare = upper.strip_prefix("SIG").unwrap_or(&upper);
        StopSignal::ALL
            .into_iter()
            .find(|s| &s.name()[3..] == bare || s.number().to_string() == bare)
    }

    /// The signal whose Go description is `text` (`terminated`).
    pub fn from_go_name(text: &str) -> Option<StopSignal> {
        StopSignal::ALL.into_iter().find(|s| s.go_name() == text)
    }

    /// The names of every stop signal, comma separated, for messages.
    pub fn known() -> String {
        let names: Vec<&str> = StopSignal::ALL.iter().map(|s| s.name()).collect();
        names.join(", ")
    }
}

impl fmt::Display for StopSignal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for StopSignal {
    type Err = String;

    /// Accepts what [`StopSignal::parse`] accepts; the error names every known signal.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        StopSignal::parse(text).ok_or_else(|| {
            format!(
                "unknown signal {text:?}; use one of {}",
                StopSignal::known()
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_with_or_without_prefix_and_as_numbers() {
        assert_eq!(StopSignal::parse("SIGTERM"), Some(StopSignal::Sigterm));
        assert_eq!(StopSignal::parse(" term"), Some(StopSignal::Sigterm));
        assert_eq!(StopSignal::parse("quit"), Some(StopSignal::Sigquit));
        assert_eq!(StopSignal::parse("2"), Some(StopSignal::Sigint));
        assert_eq!(StopSignal::parse("WINCH"), Some(StopSignal::Sigwinch));
        assert_eq!(StopSignal::parse("SIGKILL"), None);
        assert_eq!(StopSignal::parse(""), None);
        assert!("SIGRTMIN+3".parse::<StopSignal>().is_err());
    }

    #[test]
    fn go_names_round_trip() {
        for signal in StopSignal::ALL {
            assert_eq!(StopSignal::from_go_name(signal.go_name()), Some(signal));
        }
    }
}
