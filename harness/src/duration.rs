//! Parsing the human durations of scenario files and flags (`250ms`, `1.5s`, `10s`), bounded so
//! that no input can overflow a clock.

use std::time::Duration;

/// The longest duration the harness takes anywhere (a grace period, a schedule offset, a
/// startup timeout): an hour. Longer would only make a run wait for nothing.
pub const MAX: Duration = Duration::from_secs(3600);

/// Parses a duration with a unit (`250ms`, `2s`, `1m`), or a decimal number of seconds with `s`
/// (`1.5s`), which humantime alone does not accept. None for anything else; never panics.
pub fn parse(text: &str) -> Option<Duration> {
    let text = text.trim();
    if let Ok(duration) = humantime::parse_duration(text) {
        return Some(duration);
    }
    let seconds: f64 = text.strip_suffix('s')?.trim().parse().ok()?;
    Duration::try_from_secs_f64(seconds).ok()
}

/// Parses a duration no longer than `max`; the error says what to write instead.
pub fn parse_at_most(text: &str, max: Duration) -> Result<Duration, String> {
    let duration = parse(text)
        .ok_or_else(|| format!("bad duration {text:?}: write it like 250ms, 2s or 1.5s"))?;
    if duration > max {
        return Err(format!(
            "{text:?} is longer than the longest allowed, {}",
            format(max)
        ));
    }
    Ok(duration)
}

/// Formats a duration for humans, to the millisecond (`1.5s`, `250ms`, `10m`).
pub fn format(duration: Duration) -> String {
    let ms = duration.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms % 60_000 == 0 {
        format!("{}m", ms / 60_000)
    } else if ms % 1000 == 0 {
        format!("{}s", ms / 1000)
    } else {
        format!("{:.1}s", duration.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_units_and_decimal_seconds() {
        assert_eq!(parse("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse("10s"), Some(Duration::from_secs(10)));
        assert_eq!(parse("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse("soon"), None);
        assert_eq!(parse("-1s"), None);
        assert_eq!(parse("1e20s"), None);
        assert_eq!(parse("NaNs"), None);
    }

    #[test]
    fn bounds_are_said() {
        assert_eq!(parse_at_most("2s", MAX), Ok(Duration::from_secs(2)));
        let error = parse_at_most("2h", MAX).unwrap_err();
        assert!(error.contains("longest allowed, 60m"), "{error}");
        assert!(parse_at_most("fast", MAX).unwrap_err().contains("250ms"));
    }

    #[test]
    fn formats_to_the_millisecond() {
        assert_eq!(format(Duration::from_millis(250)), "250ms");
        assert_eq!(format(Duration::from_secs(10)), "10s");
        assert_eq!(format(Duration::from_millis(1500)), "1.5s");
        assert_eq!(format(Duration::from_secs(120)), "2m");
    }

    proptest! {
        // `PROPTEST_CASES=10000 cargo test -p shutdown-harness --lib duration` for the long run.
        #![proptest_config(ProptestConfig::with_cases(
            std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(300)
        ))]

        /// No text makes the parser panic, and what it accepts is never negative or past MAX
        /// once bounded.
        #[test]
        fn any_text_parses_or_is_refused(text in "\\PC{0,24}") {
            let _ = parse(&text);
            if let Ok(duration) = parse_at_most(&text, MAX) {
                prop_assert!(duration <= MAX);
            }
        }

        /// Numbers with units, as people write them, in range or not.
        #[test]
        fn written_durations_never_panic(
            number in "[0-9]{0,25}(\\.[0-9]{0,6})?(e[0-9]{1,3})?",
            unit in "(ns|us|ms|s|m|h|d|w|y|)",
        ) {
            let text = format!("{number}{unit}");
            let _ = parse_at_most(&text, MAX);
        }

        /// What is formatted parses back to itself (to the tenth of a second above one).
        #[test]
        fn format_round_trips(ms in 0u64..3_600_000) {
            let duration = Duration::from_millis(ms);
            let back = parse(&format(duration)).expect("formatted durations parse");
            let error = back.abs_diff(duration);
            prop_assert!(error < Duration::from_millis(51), "{duration:?} -> {back:?}");
        }
    }
}
