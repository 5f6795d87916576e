//! Reading single values (scenario names, durations, signals) with messages saying what to write.

use std::time::Duration;

use crate::model::variant::StopSignal;

/// What is wrong with a scenario name, if anything.
pub(super) fn name_problem(text: &str) -> Option<String> {
    let bad = text.is_empty()
        || text.starts_with('/')
        || !text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./+:@,".contains(c));
    bad.then(|| {
        format!(
            "bad scenario name {text:?}: use letters, digits and - _ . / + : @ , (like `dash/shell-form/graceful`)"
        )
    })
}

/// A duration for `key`, no longer than that key allows: the server's longest handler delay
/// for delays, an hour for the rest.
pub(super) fn parse_duration(key: &str, text: &str) -> Result<Duration, String> {
    let max = match key {
        "delay" => server_contract::MAX_DELAY,
        _ => crate::duration::MAX,
    };
    match crate::duration::parse(text) {
        None => Err(format!(
            "bad duration {text:?} for `{key}`: write it like 250ms, 2s or 1.5s"
        )),
        Some(duration) if duration > max => Err(format!(
            "`{key}` = {text:?} is longer than the longest allowed, {}",
            crate::duration::format(max)
        )),
        Some(duration) => Ok(duration),
    }
}

pub(super) fn canon_duration(duration: Duration) -> String {
    let ms = duration.as_millis();
    if ms % 1000 == 0 {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

pub(super) fn parse_signal(text: &str) -> Result<StopSignal, String> {
    StopSignal::parse(text).ok_or_else(|| {
        format!(
            "unknown signal {text:?} (expected one of: SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1)"
        )
    })
}

pub(super) fn names<const N: usize>(list: [&str; N]) -> String {
    list.join(", ")
}
