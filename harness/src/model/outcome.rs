//! What a client saw of one request, in the project's vocabulary (README's "The two
//! requirements"), and what a scenario expects of it.

use std::fmt;

/// A request's outcome as a client sees it (defined beside the load generator's records,
/// which carry it; one set of words for every client).
pub use load_generator::Outcome;

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
