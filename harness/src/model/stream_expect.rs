//! What a scenario may expect of its long-lived streams (`close-code`, `goaway`, `streams-cut`,
//! `last-event`, `grpc-status`), and one such expectation checked: plain data; the judge checks.

use serde::{Deserialize, Serialize};

use super::load::Bound;
use super::streams::{GoawaySequence, grpc_code_name};

/// Expectations of a scenario's streams; None expects nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamExpectations {
    /// Every WebSocket's close code (1006 stands for "no close frame").
    pub close_code: Option<u16>,
    /// Every HTTP/2 connection's GOAWAY frames.
    pub goaway: Option<GoawaySequence>,
    /// How many streams were cut: accepted, then the connection failed under them.
    pub streams_cut: Option<Bound>,
    /// The type of every event stream's last event (`message` for one with no `event:` field),
    /// over HTTP/1.1 or h2c.
    pub last_event: Option<String>,
    /// Every gRPC call's status name (`OK`, `UNAVAILABLE`, ...).
    pub grpc_status: Option<String>,
    /// The two requirements read per stream must hold, each stream that breaks one a failure:
    /// every stream open at the signal ends with its protocol's own ending, no stream opened
    /// after it is accepted; and a stream meant to be open across the stop must not have ended
    /// before the signal (`check --protocol`'s expectations: a scenario file names each
    /// stream's outcome instead).
    pub requirements: bool,
}

impl StreamExpectations {
    /// Whether it expects nothing.
    pub fn is_empty(&self) -> bool {
        *self == StreamExpectations::default()
    }
}

/// One expectation checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamCheck {
    /// The expectation's name in scenario files (`close-code`, ...), or the requirement's
    /// (`open-streams-end-cleanly`, `no-new-stream-accepted`).
    pub what: String,
    /// The stream or connection it is about (a stream's name, `connection N`), when one.
    pub subject: String,
    /// What was expected, in the scenario file's words.
    pub expected: String,
    /// What was seen, in the same words.
    pub seen: String,
    /// Whether it held.
    pub met: bool,
}

impl StreamCheck {
    /// A check that holds when `seen` reads as `expected`.
    pub fn new(what: &str, subject: &str, expected: String, seen: String) -> StreamCheck {
        let met = expected == seen;
        StreamCheck {
            what: what.to_string(),
            subject: subject.to_string(),
            expected,
            seen,
            met,
        }
    }
}

/// Checks that `name` is a gRPC status name (`OK`, `UNAVAILABLE`, ...), for a scenario file's
/// `grpc-status`; the error lists the names.
pub fn check_grpc_status_name(name: &str) -> Result<(), String> {
    if (0..=16).any(|code| grpc_code_name(code) == name) {
        Ok(())
    } else {
        let names: Vec<&str> = (0..=16).map(grpc_code_name).collect();
        Err(format!(
            "{name:?} is not a gRPC status: write one of {}",
            names.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_status_names_are_checked() {
        assert!(check_grpc_status_name("UNAVAILABLE").is_ok());
        let error = check_grpc_status_name("Unavailable").unwrap_err();
        assert!(error.contains("OK, CANCELLED"), "{error}");
    }

    #[test]
    fn no_expectation_is_empty() {
        assert!(StreamExpectations::default().is_empty());
        let expect = StreamExpectations {
            close_code: Some(1001),
            ..StreamExpectations::default()
        };
        assert!(!expect.is_empty());
    }
}
