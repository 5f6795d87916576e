//! What an exit code says, in the words a reader needs: 143 is death by SIGTERM (a JVM's and
//! Node's normal answer to `docker stop`), 137 a SIGKILL, 2 what Go's runtime exits with when a
//! signal the program does not handle ends it as PID 1. Reports print the code with its meaning,
//! and scenario files may expect a death by signal by name (`"signal:SIGTERM"`).

use crate::model::variant::StopSignal;
use crate::procfs::signal_name;

/// The exit code of a process killed by `signal`, as a shell and the engine report it: 128 + n.
pub fn of_signal(signal: StopSignal) -> i64 {
    128 + i64::from(signal.number())
}

/// `143 (SIGTERM)`, `137 (SIGKILL)`, `2 (Go's runtime on an unhandled signal)`, `0`, `1`.
pub fn describe(code: i64) -> String {
    match meaning(code) {
        Some(meaning) => format!("{code} ({meaning})"),
        None => code.to_string(),
    }
}

/// The short meaning of `code`, when it has one beyond "the program chose it".
pub fn meaning(code: i64) -> Option<String> {
    match code {
        2 => Some("as Go's runtime exits on a signal the program does not handle".to_string()),
        143 => Some("SIGTERM: a JVM's and Node's normal exit on stop".to_string()),
        129..=159 => {
            let number = i32::try_from(code - 128).ok()?;
            let name = signal_name(number);
            (!name.starts_with("signal ")).then_some(name)
        }
        _ => None,
    }
}

/// Parses an expected exit code: a number from 0 to 255, or `signal:SIGTERM` for the code of a
/// death by that signal (143).
pub fn parse_expected(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Some(signal) = text.strip_prefix("signal:") {
        return StopSignal::parse(signal).map(of_signal);
    }
    text.parse().ok().filter(|code| (0..=255).contains(code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_people_meet_are_named() {
        assert_eq!(describe(0), "0");
        assert_eq!(describe(1), "1");
        assert_eq!(describe(137), "137 (SIGKILL)");
        assert_eq!(describe(130), "130 (SIGINT)");
        assert!(describe(143).starts_with("143 (SIGTERM: a JVM's"));
        assert!(describe(2).contains("Go's runtime"));
        assert_eq!(describe(200), "200");
    }

    #[test]
    fn a_death_by_signal_is_expected_by_name() {
        assert_eq!(parse_expected("signal:SIGTERM"), Some(143));
        assert_eq!(parse_expected("signal:INT"), Some(130));
        assert_eq!(parse_expected("0"), Some(0));
        assert_eq!(parse_expected("256"), None);
        assert_eq!(parse_expected("signal:SIGBOGUS"), None);
        assert_eq!(of_signal(StopSignal::Sigterm), 143);
    }
}
