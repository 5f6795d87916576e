//! Streams the engine pushes while a container runs: its output, line by line, the signals
//! the engine sends it (`kill` events), and its own record of when it died (`die`).

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, SystemTime};

use bollard::query_parameters::{EventsOptions, LogsOptions};
use futures_util::{Stream, StreamExt, stream};

use super::connection::{CALL_DEADLINE, Engine, deadline};
use super::error::EngineError;

/// A signal the engine sent to a container, when it sent it (the engine's clock, which is this
/// host's for a local engine).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KillEvent {
    /// The signal number.
    pub signal: i32,
    /// When the engine sent it.
    pub at: SystemTime,
}

/// A line a container printed, and when the engine received it (its own timestamp: the
/// stream itself can lag seconds behind under load).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputLine {
    /// The line, without its newline.
    pub text: String,
    /// When the engine received it, if it said.
    pub at: Option<SystemTime>,
}

impl Engine {
    /// Follows container `id`'s output (stdout and stderr), one line at a time, from its start
    /// until it exits.
    pub fn output_lines(&self, id: &str) -> impl Stream<Item = OutputLine> + Send + 'static {
        let options = LogsOptions {
            follow: true,
            stdout: true,
            stderr: true,
            timestamps: true,
            ..Default::default()
        };
        let chunks = self.docker().logs(id, Some(options)).boxed();
        let state = (Some(chunks), String::new(), VecDeque::<OutputLine>::new());
        stream::unfold(state, |(mut chunks, mut pending, mut ready)| async move {
            loop {
                if let Some(line) = ready.pop_front() {
                    return Some((line, (chunks, pending, ready)));
                }
                let source = chunks.as_mut()?;
                match source.next().await {
                    Some(Ok(chunk)) => {
                        pending.push_str(&String::from_utf8_lossy(chunk.as_ref()));
                        while let Some(end) = pending.find('\n') {
                            let line: String = pending.drain(..=end).collect();
                            ready.push_back(stamped(line.trim_end()));
                        }
                    }
                    // The stream ends with the container (or fails with the engine): what is
                    // left of a line without its newline is a line too.
                    _ => {
                        chunks = None;
                        if !pending.is_empty() {
                            ready.push_back(stamped(&std::mem::take(&mut pending)));
                        }
                    }
                }
            }
        })
    }

    /// Follows the engine's `kill` events for container `id`: each is a signal really sent.
    /// Replays the last minute so that a late subscription misses nothing. Never ends by itself.
    pub fn kill_events(&self, id: &str) -> impl Stream<Item = KillEvent> + Send + 'static {
        let filters = HashMap::from([
            ("container".to_string(), vec![id.to_string()]),
            ("event".to_string(), vec!["kill".to_string()]),
        ]);
        let since = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs().saturating_sub(60));
        let options = EventsOptions {
            since: Some(since.to_string()),
            until: None,
            filters: Some(filters),
        };
        self.docker()
            .events(Some(options))
            .take_while(|event| std::future::ready(event.is_ok()))
            .filter_map(|event| async move {
                let event = event.ok()?;
                let signal = event
                    .actor
                    .and_then(|a| a.attributes)
                    .and_then(|attributes| attributes.get("signal")?.parse().ok())
                    .unwrap_or(0);
                let at = event.time_nano.map_or_else(SystemTime::now, |nanos| {
                    SystemTime::UNIX_EPOCH + Duration::from_nanos(u64::try_from(nanos).unwrap_or(0))
                });
                Some(KillEvent { signal, at })
            })
    }

    /// When container `id` died, by the engine's own `die` event: the fact of its exit. A wait
    /// for the container returns later, by as much as a second when the engine is busy, which
    /// would misplace the exit on a timeline. None when the engine keeps no such event.
    pub async fn died_at(&self, id: &str) -> Option<SystemTime> {
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .ok()?;
        let filters = HashMap::from([
            ("container".to_string(), vec![id.to_string()]),
            ("event".to_string(), vec!["die".to_string()]),
        ]);
        let options = EventsOptions {
            since: Some(now.as_secs().saturating_sub(60).to_string()),
            // Up to now, to the nanosecond: the engine closes the stream once it has replayed
            // what happened until then, without waiting for the next second.
            until: Some(format!("{}.{:09}", now.as_secs(), now.subsec_nanos())),
            filters: Some(filters),
        };
        deadline("list events", CALL_DEADLINE, async {
            let events = self.docker().events(Some(options));
            futures_util::pin_mut!(events);
            let mut died = None;
            while let Some(Ok(event)) = events.next().await {
                died = event.time_nano.and_then(|nanos| {
                    Some(SystemTime::UNIX_EPOCH + Duration::from_nanos(u64::try_from(nanos).ok()?))
                });
            }
            Ok::<_, EngineError>(died)
        })
        .await
        .ok()
        .flatten()
    }

    /// The containers carrying `label` that were removed (Docker's `destroy`, Podman's
    /// `remove`) since `since`, by the
    /// engine's own record of events: what a cleanup really removed, whoever removed it.
    pub async fn removed_since(
        &self,
        label: &str,
        since: SystemTime,
    ) -> Result<Vec<String>, EngineError> {
        let seconds = |at: SystemTime| {
            at.duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        };
        let filters = HashMap::from([
            ("type".to_string(), vec!["container".to_string()]),
            (
                "event".to_string(),
                vec![super::connection::removed_action(self.info().kind).to_string()],
            ),
            ("label".to_string(), vec![label.to_string()]),
        ]);
        let options = EventsOptions {
            since: Some(seconds(since).to_string()),
            // With an end the engine closes the stream once it has replayed the events.
            until: Some((seconds(SystemTime::now()) + 1).to_string()),
            filters: Some(filters),
        };
        deadline("list events", CALL_DEADLINE, async {
            let mut ids = Vec::new();
            let events = self.docker().events(Some(options));
            futures_util::pin_mut!(events);
            while let Some(event) = events.next().await {
                let event = event.map_err(|e| EngineError::call("list events", e))?;
                if let Some(id) = event.actor.and_then(|a| a.id)
                    && !ids.contains(&id)
                {
                    ids.push(id);
                }
            }
            Ok(ids)
        })
        .await
    }
}

/// A line as the engine sends it with timestamps (`2026-11-28T22:41:07.123456789Z text`).
/// Podman's compatible API stamps whole seconds only (`2026-11-28T22:41:07Z`): such a stamp is
/// read off and dropped, since a second's precision would misplace the line on a timeline.
fn stamped(line: &str) -> OutputLine {
    match line.split_once(' ') {
        Some((ts, text)) if !ts.contains('.') && humantime::parse_rfc3339(ts).is_ok() => {
            OutputLine {
                text: text.to_string(),
                at: None,
            }
        }
        Some((ts, text)) => match humantime::parse_rfc3339(ts) {
            Ok(at) => OutputLine {
                text: text.to_string(),
                at: Some(at),
            },
            Err(_) => OutputLine {
                text: line.to_string(),
                at: None,
            },
        },
        // An empty line: only the timestamp.
        None => match humantime::parse_rfc3339(line) {
            Ok(at) => OutputLine {
                text: String::new(),
                at: Some(at),
            },
            Err(_) => OutputLine {
                text: line.to_string(),
                at: None,
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_timestamps_are_read_off_the_line() {
        let line =
            stamped("2026-11-28T22:41:07.123456789Z Start Server... listening on 0.0.0.0:1202");
        assert_eq!(line.text, "Start Server... listening on 0.0.0.0:1202");
        assert!(line.at.is_some());
        let bare = stamped("no timestamp here");
        assert_eq!((bare.text.as_str(), bare.at), ("no timestamp here", None));
        // Podman's whole seconds: the stamp goes, the line stays, the time is unknown.
        let podman = stamped("2026-11-29T00:21:02Z 2026-11-29T00:21:02.314Z Start Server...");
        assert_eq!(podman.text, "2026-11-29T00:21:02.314Z Start Server...");
        assert_eq!(podman.at, None);
    }
}
