//! Parsing the human durations of scenario files and flags (`250ms`, `1.5s`, `10s`).

use std::time::Duration;

/// Parses a duration with a unit (`250ms`, `2s`, `1m`), or a decimal number of seconds with `s`
/// (`1.5s`), which humantime alone does not accept.
pub fn parse(text: &str) -> Option<Duration> {
    let text = text.trim();
    if let Ok(duration) = humantime::parse_duration(text) {
        return Some(duration);
    }
    let seconds: f64 = text.strip_suffix('s')?.parse().ok()?;
    (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds))
}

/// Formats a duration for humans, to the millisecond (`1.5s`, `250ms`).
pub fn format(duration: Duration) -> String {
    let ms = duration.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms % 1000 == 0 {
        format!("{}s", ms / 1000)
    } else {
        format!("{:.1}s", duration.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_decimal_seconds() {
        assert_eq!(parse("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse("10s"), Some(Duration::from_secs(10)));
        assert_eq!(parse("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse("soon"), None);
        assert_eq!(parse("-1s"), None);
    }

    #[test]
    fn formats_to_the_millisecond() {
        assert_eq!(format(Duration::from_millis(250)), "250ms");
        assert_eq!(format(Duration::from_secs(10)), "10s");
        assert_eq!(format(Duration::from_millis(1500)), "1.5s");
    }
}
