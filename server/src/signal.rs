//! The signals that can begin shutdown: their names, and waiting for them.

use std::future::poll_fn;
use std::task::Poll;

use tokio::signal::unix::{SignalKind, signal};

use crate::error::Error;

pub use server_contract::StopSignal;

/// The tokio signal kind of `signal`.
fn kind(signal: StopSignal) -> SignalKind {
    match signal {
        StopSignal::Sigterm => SignalKind::terminate(),
        StopSignal::Sigint => SignalKind::interrupt(),
        StopSignal::Sigquit => SignalKind::quit(),
        StopSignal::Sighup => SignalKind::hangup(),
        StopSignal::Sigusr1 => SignalKind::user_defined1(),
        StopSignal::Sigusr2 => SignalKind::user_defined2(),
        StopSignal::Sigwinch => SignalKind::window_change(),
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
            let stream = signal(kind(stop)).map_err(|source| Error::InstallSignalHandler {
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
    fn tokio_kinds_carry_the_contract_numbers() {
        for signal in StopSignal::ALL {
            assert_eq!(kind(signal).as_raw_value(), signal.number(), "{signal}");
        }
    }
}
