//! Stopping the harness itself gracefully: SIGINT, SIGTERM and SIGHUP all start nothing new,
//! let the running scenarios end and remove what they made, sweep whatever of this run is left,
//! say what was removed, and exit 128 + the signal (130, 143, 129). A second signal during the
//! cleanup exits at once and says how to finish it (`shutdown-harness clean`).

use std::future::Future;
use std::process::ExitCode;

use shutdown_harness::engine::LABEL_RUN;
use shutdown_harness::{Engine, EngineKind};
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio_util::sync::CancellationToken;

/// The signals that stop the harness.
pub struct Signals {
    int: Signal,
    term: Signal,
    hup: Signal,
}

/// One of them, by name and number.
#[derive(Debug, Clone, Copy)]
pub struct Received {
    name: &'static str,
    number: u8,
}

impl Signals {
    /// Installs the handlers; from here on these signals no longer kill the process.
    pub fn install() -> std::io::Result<Signals> {
        Ok(Signals {
            int: signal(SignalKind::interrupt())?,
            term: signal(SignalKind::terminate())?,
            hup: signal(SignalKind::hangup())?,
        })
    }

    /// The next signal to arrive.
    pub async fn next(&mut self) -> Received {
        tokio::select! {
            _ = self.int.recv() => Received { name: "SIGINT", number: 2 },
            _ = self.term.recv() => Received { name: "SIGTERM", number: 15 },
            _ = self.hup.recv() => Received { name: "SIGHUP", number: 1 },
        }
    }
}

impl Received {
    /// 128 + the signal's number, as a shell reports death by that signal.
    fn exit_code(self) -> ExitCode {
        ExitCode::from(128 + self.number)
    }
}

/// Stops the command after `signal`: cancels it, waits for it to wind down (its scenarios
/// remove their containers), sweeps what is left of run `run_id`, and says what was removed.
pub async fn stop<T>(
    signal: Received,
    engine: Option<EngineKind>,
    run_id: &str,
    cancel: CancellationToken,
    command: impl Future<Output = T>,
    signals: &mut Signals,
) -> ExitCode {
    eprintln!(
        "{}: stopping: nothing new starts; removing what run {run_id} made",
        signal.name
    );
    let since = std::time::SystemTime::now();
    let label = format!("{LABEL_RUN}={run_id}");
    let cleanup = async {
        cancel.cancel();
        // The command winds down: its scenarios remove their own containers.
        let _ = command.await;
        let engine = Engine::connect_to(engine)
            .await
            .map_err(|_| "the container engine does not answer".to_string())?;
        let _ = engine.remove_labelled_containers(&label).await;
        let _ = engine.remove_labelled_networks(&label).await;
        let left = engine.labelled_containers(&label).await.unwrap_or_default();
        if !left.is_empty() {
            return Err(format!("{} container(s) could not be removed", left.len()));
        }
        // The engine's record says what went, whoever removed it.
        engine
            .removed_since(&label, since)
            .await
            .map_err(|e| e.to_string())
    };
    tokio::select! {
        cleaned = cleanup => match cleaned {
            Ok(removed) if removed.is_empty() => {
                eprintln!("{}: nothing of run {run_id} was left to remove", signal.name);
            }
            Ok(removed) => {
                const SHOWN: usize = 4;
                let mut ids: Vec<&str> = removed.iter().take(SHOWN).map(|id| short(id)).collect();
                let more = format!("and {} more", removed.len().saturating_sub(SHOWN));
                if removed.len() > SHOWN {
                    ids.push(&more);
                }
                eprintln!(
                    "{}: removed {} container(s) of run {run_id}: {}",
                    signal.name,
                    removed.len(),
                    ids.join(", ")
                );
            }
            Err(reason) => eprintln!(
                "{}: {reason}; what run {run_id} made may be left: run `shutdown-harness clean`",
                signal.name
            ),
        },
        second = signals.next() => {
            eprintln!(
                "{} again: exiting at once; what run {run_id} made may be left: run `shutdown-harness clean`",
                second.name
            );
            return second.exit_code();
        }
    }
    signal.exit_code()
}

/// The first 12 hex digits of a container id, as `docker ps` shows it.
fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}
