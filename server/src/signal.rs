//! The signals that can begin shutdown: their names, and waiting for them.

use std::fmt;
use std::future::poll_fn;
use std::str::FromStr;
use std::task::Poll;

use tokio::signal::unix::{SignalKind, signal};

use crate::error::Error;

/// A signal the server can be told to shut down on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopSignal {
    /// SIGTERM, what `docker stop` and Kubernetes send.
    Term,
    /// SIGINT, what Ctrl-C sends.
    Int,
    /// SIGQUIT.
    Quit,
    /// SIGHUP.
    Hup,
    /// SIGUSR1.
    Usr1,
    /// SIGUSR2.
    Usr2,
}

impl StopSignal {
    const ALL: [StopSignal; 6] = [
        Self::Term,
        Self::Int,
        Self::Quit,
        Self::Hup,
        Self::Usr1,
        Self::Usr2,
    ];

    /// The conventional name, e.g. `SIGTERM`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Term => "SIGTERM",
            Self::Int => "SIGINT",
            Self::Quit => "SIGQUIT",
            Self::Hup => "SIGHUP",
            Self::Usr1 => "SIGUSR1",
            Self::Usr2 => "SIGUSR2",
        }
    }

    /// The description Go prints for the signal (`terminated`), which the log lines imitate.
    pub fn go_name(self) -> &'static str {
        match self {
            Self::Term => "terminated",
            Self::Int => "interrupt",
            Self::Quit => "quit",
            Self::Hup => "hangup",
            Self::Usr1 => "user defined signal 1",
            Self::Usr2 => "user defined signal 2",
        }
    }

    /// The signal's number on this platform.
    pub fn number(self) -> i32 {
        self.kind().as_raw_value()
    }

    fn kind(self) -> SignalKind {
        match self {
            Self::Term => SignalKind::terminate(),
            Self::Int => SignalKind::interrupt(),
            Self::Quit => SignalKind::quit(),
            Self::Hup => SignalKind::hangup(),
            Self::Usr1 => SignalKind::user_defined1(),
            Self::Usr2 => SignalKind::user_defined2(),
        }
    }
}

impl fmt::Display for StopSignal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for StopSignal {
    type Err = String;

    /// Accepts `SIGTERM`, `TERM` or `term`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let upper = text.trim().to_ascii_uppercase();
        let bare = upper.strip_prefix("SIG").unwrap_or(&upper);
        Self::ALL
            .into_iter()
            .find(|s| &s.name()[3..] == bare)
            .ok_or_else(|| {
                format!("unknown signal {text:?}; use SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1 or SIGUSR2")
            })
    }
}

/// Handlers installed for a set of signals; each delivery is reported once.
pub struct Signals {
    streams: Vec<(StopSignal, tokio::signal::unix::Signal)>,
}

impl Signals {
    /// Installs handlers for `wanted`. From here on these signals no longer kill the process.
    pub fn install(wanted: &[StopSignal]) -> Result<Self, Error> {
        let mut streams = Vec::with_capacity(wanted.len());
        for &stop in wanted {
            let stream = signal(stop.kind()).map_err(|source| Error::InstallSignalHandler {
                signal: stop,
                source,
            })?;
            streams.push((stop, stream));
        }
        Ok(Self { streams })
    }

    /// Waits for the next of the installed signals to arrive.
    pub async fn recv(&mut self) -> StopSignal {
        poll_fn(|cx| {
            for (stop, stream) in &mut self.streams {
                if stream.poll_recv(cx).is_ready() {
                    return Poll::Ready(*stop);
                }
            }
            Poll::Pending
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_with_or_without_prefix() {
        assert_eq!("SIGTERM".parse(), Ok(StopSignal::Term));
        assert_eq!("term".parse(), Ok(StopSignal::Term));
        assert_eq!(" SigUsr1".parse(), Ok(StopSignal::Usr1));
        assert!("SIGKILL".parse::<StopSignal>().is_err());
        assert!("".parse::<StopSignal>().is_err());
    }

    #[test]
    fn numbers_match_linux() {
        assert_eq!(StopSignal::Term.number(), 15);
        assert_eq!(StopSignal::Int.number(), 2);
    }
}
