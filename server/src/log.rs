//! The server's log: one line per event on stdout, flushed at once.

use std::io::Write;
use std::net::SocketAddr;
use std::time::SystemTime;

use serde_json::{Value, json};

use crate::config::{LogFormat, Mode};
use crate::signal::StopSignal;

/// Something worth a log line. The text forms are a contract: the harness parses them.
#[derive(Clone, Copy, Debug)]
pub enum Event<'a> {
    /// Listening; `addr` is the address actually bound.
    Start {
        /// The bound address (with the real port when port 0 was asked for).
        addr: SocketAddr,
        /// The shutdown mode.
        mode: Mode,
    },
    /// A request arrived.
    RequestReceived {
        /// HTTP method.
        method: &'a str,
        /// Path and query.
        path: &'a str,
    },
    /// A response's head is about to be sent.
    ResponseSent {
        /// HTTP status code.
        status: u16,
    },
    /// The first shutdown signal arrived.
    SignalReceived {
        /// Which one.
        signal: StopSignal,
    },
    /// The listener is closed; requests in flight are being drained.
    ShutdownBegun,
    /// Every request in flight was answered.
    Drained {
        /// Requests answered during the drain.
        count: usize,
    },
    /// The drain deadline passed; what was left is cut.
    DeadlineHit {
        /// Requests cut.
        count: usize,
    },
    /// Another signal arrived during the drain.
    SecondSignal {
        /// Which one.
        signal: StopSignal,
    },
    /// The process is about to exit.
    Exit {
        /// The exit code.
        code: i32,
    },
}

impl Event<'_> {
    /// The message of the text format, without the timestamp.
    pub fn text(&self) -> String {
        match self {
            Self::Start { addr, mode } => {
                format!("Start Server... listening on {addr} (mode {})", mode.name())
            }
            Self::RequestReceived { method, path } => format!("Receive Request... {method} {path}"),
            Self::ResponseSent { status } => format!("Send Response... {status}"),
            Self::SignalReceived { signal } => format!("Received SIGNAL: {}", signal.go_name()),
            Self::ShutdownBegun => "Close Server...".to_owned(),
            Self::Drained { count } => format!("Drained: {count} request(s) answered"),
            Self::DeadlineHit { count } => format!("Drain deadline hit: {count} request(s) cut"),
            Self::SecondSignal { signal } => {
                format!("Received second SIGNAL: {}, exiting now", signal.go_name())
            }
            Self::Exit { code } => format!("Exit {code}"),
        }
    }

    /// The fields of the JSON format, without the timestamp.
    pub fn json(&self) -> Value {
        match self {
            Self::Start { addr, mode } => {
                json!({"event": "start", "addr": addr.to_string(), "mode": mode.name()})
            }
            Self::RequestReceived { method, path } => {
                json!({"event": "request_received", "method": method, "path": path})
            }
            Self::ResponseSent { status } => json!({"event": "response_sent", "status": status}),
            Self::SignalReceived { signal } => {
                json!({"event": "signal_received", "signal": signal.go_name()})
            }
            Self::ShutdownBegun => json!({"event": "shutdown_begun"}),
            Self::Drained { count } => json!({"event": "drained", "count": count}),
            Self::DeadlineHit { count } => json!({"event": "deadline_hit", "count": count}),
            Self::SecondSignal { signal } => {
                json!({"event": "second_signal", "signal": signal.go_name()})
            }
            Self::Exit { code } => json!({"event": "exit", "code": code}),
        }
    }
}

/// Writes events in one format.
#[derive(Clone, Copy, Debug)]
pub struct Log {
    format: LogFormat,
}

impl Log {
    /// A log writing `format` to stdout.
    pub fn new(format: LogFormat) -> Self {
        Self { format }
    }

    /// Writes one line for `event` and flushes it, so a reader of a pipe sees it at once.
    pub fn emit(&self, event: Event<'_>) {
        let line = self.render(event, SystemTime::now());
        let mut out = std::io::stdout().lock();
        // A closed stdout must not take the server down: the log is a witness, not a duty.
        let _ = out.write_all(line.as_bytes()).and_then(|()| out.flush());
    }

    /// The full line for `event` at `now`, newline included.
    pub fn render(&self, event: Event<'_>, now: SystemTime) -> String {
        let ts = humantime::format_rfc3339_millis(now).to_string();
        match self.format {
            LogFormat::Text => format!("{ts} {}\n", event.text()),
            LogFormat::Json => {
                let mut fields = event.json();
                fields["ts"] = Value::String(ts);
                format!("{fields}\n")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const T: Duration = Duration::from_millis(1_700_000_000_123);

    #[test]
    fn text_lines_follow_the_contract() {
        let log = Log::new(LogFormat::Text);
        let line = log.render(
            Event::SignalReceived {
                signal: StopSignal::Term,
            },
            SystemTime::UNIX_EPOCH + T,
        );
        assert_eq!(
            line,
            "2023-11-14T22:13:20.123Z Received SIGNAL: terminated\n"
        );
    }

    #[test]
    fn json_lines_carry_event_and_fields() {
        let log = Log::new(LogFormat::Json);
        let line = log.render(Event::DeadlineHit { count: 3 }, SystemTime::UNIX_EPOCH + T);
        let value: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["event"], "deadline_hit");
        assert_eq!(value["count"], 3);
        assert_eq!(value["ts"], "2023-11-14T22:13:20.123Z");
    }
}
