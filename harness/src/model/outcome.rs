//! What a client saw of one request, in the project's vocabulary (README's "The two
//! requirements"), and what a scenario expects of it.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A request's outcome as a client sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// A complete 2xx response with its full body.
    Ok,
    /// A complete response with a non-2xx status.
    HttpError,
    /// Headers arrived, the body was cut short of what was declared.
    Truncated,
    /// The connection was accepted and closed before any response byte (curl 52).
    EmptyReply,
    /// The connection was reset by the peer (curl 56).
    Reset,
    /// The TCP connect was refused (curl 7).
    Refused,
    /// No outcome within the client's deadline.
    Timeout,
}

impl Outcome {
    /// Every outcome, in the order the vocabulary lists them.
    pub const ALL: [Outcome; 7] = [
        Outcome::Ok,
        Outcome::HttpError,
        Outcome::Truncated,
        Outcome::EmptyReply,
        Outcome::Reset,
        Outcome::Refused,
        Outcome::Timeout,
    ];

    /// The vocabulary's word for this outcome.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::HttpError => "http-error",
            Outcome::Truncated => "truncated",
            Outcome::EmptyReply => "empty-reply",
            Outcome::Reset => "reset",
            Outcome::Refused => "refused",
            Outcome::Timeout => "timeout",
        }
    }

    /// Whether the server answered at all (a response started), as opposed to `not-served`.
    pub fn served(self) -> bool {
        matches!(self, Outcome::Ok | Outcome::HttpError | Outcome::Truncated)
    }

    /// Whether this is one of the `not-served` outcomes (empty-reply, reset, refused).
    pub fn not_served(self) -> bool {
        matches!(
            self,
            Outcome::EmptyReply | Outcome::Reset | Outcome::Refused
        )
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a scenario expects of one request's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Expected {
    /// Exactly this outcome.
    Is(Outcome),
    /// Any of empty-reply, reset or refused.
    NotServed,
}

impl Expected {
    /// Whether `outcome` meets this expectation.
    pub fn accepts(self, outcome: Outcome) -> bool {
        match self {
            Expected::Is(wanted) => wanted == outcome,
            Expected::NotServed => outcome.not_served(),
        }
    }

    /// Parses a vocabulary word (`ok`, `reset`, ..., or `not-served`).
    pub fn parse(text: &str) -> Option<Expected> {
        if text == "not-served" {
            return Some(Expected::NotServed);
        }
        Outcome::ALL
            .into_iter()
            .find(|o| o.name() == text)
            .map(Expected::Is)
    }
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expected::Is(outcome) => outcome.fmt(f),
            Expected::NotServed => f.write_str("not-served"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_served_accepts_exactly_the_three_failures_to_connect_or_answer() {
        let accepted: Vec<_> = Outcome::ALL
            .into_iter()
            .filter(|o| Expected::NotServed.accepts(*o))
            .collect();
        assert_eq!(
            accepted,
            [Outcome::EmptyReply, Outcome::Reset, Outcome::Refused]
        );
    }

    #[test]
    fn expectations_parse_every_vocabulary_word() {
        for outcome in Outcome::ALL {
            assert_eq!(Expected::parse(outcome.name()), Some(Expected::Is(outcome)));
        }
        assert_eq!(Expected::parse("not-served"), Some(Expected::NotServed));
        assert_eq!(Expected::parse("served"), None);
    }
}
