//! One line per finished scenario, for people watching a run:
//! `PASS  2.2s  dash/shell-form/graceful  in-flight ok · after-stop not-served · exit 0`.

use crate::duration;
use crate::model::outcome::Expected;
use crate::model::results::ScenarioResult;

/// No line is wider than this many columns.
pub const MAX_WIDTH: usize = 100;
/// Names longer than this are not padded to the longest: they push the summary right.
const MAX_NAME_PAD: usize = 44;

/// The width of `PASS  2.2s  `, before the name.
const HEAD_WIDTH: usize = 12;

/// The line of `result`; `name_width` is the longest name of the plan (to align the summaries).
/// A summary that would pass [`MAX_WIDTH`] goes on a second, indented line instead.
pub fn line(result: &ScenarioResult, name_width: usize) -> String {
    let status = if result.passed() {
        "PASS"
    } else if result.skipped() {
        "SKIP"
    } else if result.error.is_some() {
        "ERR"
    } else if result.not_delivered() {
        // The load left late: not judged.
        "LATE"
    } else {
        "FAIL"
    };
    let took = duration::format(result.observation.duration);
    let name = &result.scenario.name;
    let summary = summary(result);
    // Aligned with the other lines as far as the width allows.
    let room = MAX_WIDTH.saturating_sub(HEAD_WIDTH + 2 + summary.chars().count());
    let pad = name_width.min(MAX_NAME_PAD).min(room);
    let line = format!("{status:<4} {took:>5}  {name:<pad$}  {summary}");
    if line.chars().count() <= MAX_WIDTH {
        return line;
    }
    let indent = " ".repeat(HEAD_WIDTH + 2);
    let mut second = format!("{indent}{summary}");
    if second.chars().count() > MAX_WIDTH {
        second = second.chars().take(MAX_WIDTH - 1).collect::<String>() + "…";
    }
    format!("{status:<4} {took:>5}  {name}\n{second}")
}

/// What happened, in words: each request's outcome (`not-served` where that was expected and
/// seen), then the exit code; an error, when the scenario could not run.
pub fn summary(result: &ScenarioResult) -> String {
    if let Some(error) = &result.error {
        return error.to_string();
    }
    if let Some(not_delivered) = &result.verdict.not_delivered {
        let lag = &not_delivered.departure_lag_ms;
        return format!(
            "load not delivered: {}/s asked, requests left {:.1} ms late (p50), {:.1} ms (p99): not judged",
            not_delivered.rate, lag.p50_ms, lag.p99_ms
        );
    }
    let mut parts: Vec<(String, String)> = Vec::new();
    for request in &result.observation.requests {
        let expected = result
            .scenario
            .expect
            .requests
            .iter()
            .find(|(name, _)| *name == request.name)
            .map(|(_, e)| *e);
        let word = match expected {
            Some(Expected::NotServed) if request.outcome.not_served() => "not-served".to_string(),
            Some(Expected::NotServed) if request.never_connected() => {
                "not-served (timeout, never connected)".to_string()
            }
            _ => request.outcome.to_string(),
        };
        // `in-flight-1 ok`, `in-flight-2 ok` read better as `in-flight ×2 ok`.
        let stem = numbered_stem(&request.name)
            .unwrap_or(&request.name)
            .to_string();
        parts.push((stem, word));
    }
    let mut words: Vec<String> = Vec::new();
    let mut index = 0;
    while index < parts.len() {
        let (stem, word) = &parts[index];
        let run = parts[index..]
            .iter()
            .take_while(|(s, w)| s == stem && w == word)
            .count();
        let is_numbered = result
            .observation
            .requests
            .get(index)
            .is_some_and(|r| numbered_stem(&r.name).is_some());
        words.push(match (run, is_numbered) {
            (1, true) => format!("{} {word}", result.observation.requests[index].name),
            (1, false) => format!("{stem} {word}"),
            (n, _) => format!("{stem} ×{n} {word}"),
        });
        index += run;
    }
    if let Some(rollout) = &result.observation.rollout {
        // A rollout's headline: the stream's losses, and how the old replicas ended.
        words.push(format!("lost {} of {}", rollout.lost, rollout.sent));
        let exits: Vec<String> = rollout
            .replicas
            .iter()
            .filter(|r| r.termination_ms.is_some())
            .map(|r| {
                r.exit_code
                    .map_or_else(|| "?".to_string(), |c| c.to_string())
            })
            .collect();
        if exits.is_empty() {
            words.push("nothing replaced".to_string());
        } else {
            words.push(format!("exits {}", exits.join(",")));
        }
        return words.join(" · ");
    }
    if let Some(load) = &result.observation.load {
        words.push(counts(&load.summary.total));
    }
    match result.observation.exit_code {
        Some(code) => words.push(format!("exit {code}")),
        None => words.push("no exit seen".to_string()),
    }
    words.join(" · ")
}

/// `in-flight` of `in-flight-2`.
fn numbered_stem(name: &str) -> Option<&str> {
    let (stem, number) = name.rsplit_once('-')?;
    number.parse::<u32>().ok().map(|_| stem)
}

/// `sent 800 · ok 780 · not-served 20`: the counts that are not zero (sent and ok always).
pub fn counts(counts: &crate::model::observation::PhaseCounts) -> String {
    let mut parts = vec![format!("sent {}", counts.sent), format!("ok {}", counts.ok)];
    for (word, n) in [
        ("cut", counts.cut),
        ("not-served", counts.not_served),
        ("cut-or-not-served", counts.cut_or_not_served),
        ("http-error", counts.http_error),
        ("timeout", counts.timeout),
        ("reused-connection", counts.reused_connection),
    ] {
        if n > 0 {
            parts.push(format!("{word} {n}"));
        }
    }
    parts.join(" · ")
}

/// The path's baseline in words, when it is not clean: what the reports say apart from the
/// shutdown verdict.
pub fn baseline(baseline: &crate::model::observation::Baseline) -> Option<String> {
    (!baseline.clean()).then(|| {
        format!(
            "before any stop, the server or the path in front of it fails {} of {} requests under this load (its baseline); in flight at the signal, {} of {} were lost",
            baseline.lost_before_signal,
            baseline.done_before_signal,
            baseline.lost_in_flight,
            baseline.in_flight_at_signal
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_names_have_stems() {
        assert_eq!(numbered_stem("in-flight-2"), Some("in-flight"));
        assert_eq!(numbered_stem("after-stop"), None);
    }
}
