//! Command-line and environment configuration of the server.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use server_contract::env;

pub use server_contract::log::LogFormat;
pub use server_contract::{KeepAliveDrain, Mode, StopSignal};

pub use server_contract::{
    DEFAULT_IDLE_TIMEOUT, MAX_DELAY, MAX_IDLE_TIMEOUT, MAX_LINGER, MIN_IDLE_TIMEOUT,
};

/// Everything the server is told at start; every flag can also come from `SERVER_<NAME>`.
#[derive(Clone, Debug, Parser)]
#[command(
    name = "server",
    version,
    about = "HTTP server that shuts down gracefully, abruptly, or not at all"
)]
pub struct Config {
    /// Address to listen on; port 0 picks a free port (the Start log line shows it).
    #[arg(long, env = env::LISTEN, default_value = "0.0.0.0:1202")]
    pub listen: SocketAddr,

    /// What a shutdown signal does: graceful, abrupt or unhandled.
    #[arg(long, env = env::MODE, default_value_t = Mode::Graceful)]
    pub mode: Mode,

    /// How long `GET /` waits before answering (250ms, 5s, ...; a bare number means milliseconds).
    #[arg(long, env = env::DELAY, default_value = "5s", value_parser = parse_delay)]
    pub delay: Duration,

    /// How long a graceful shutdown waits for requests in flight before cutting them (the
    /// linger included).
    #[arg(long, env = env::DRAIN_TIMEOUT, default_value = "10s", value_parser = parse_duration)]
    pub drain_timeout: Duration,

    /// What a graceful shutdown does with keep-alive connections: close-idle closes idle ones at
    /// once; linger first serves them a while, answering with `Connection: close`.
    #[arg(long, env = env::KEEP_ALIVE_DRAIN, default_value_t = KeepAliveDrain::CloseIdle)]
    pub keep_alive_drain: KeepAliveDrain,

    /// How long the linger lasts at most (with --keep-alive-drain linger); at most 60s.
    #[arg(long, env = env::LINGER, default_value = "1s", value_parser = parse_linger)]
    pub linger: Duration,

    /// How long an idle keep-alive connection is kept for its next request before the server
    /// closes it, from 1ms to 10m. A new connection has 5s for its first request whatever this says.
    #[arg(
        long,
        env = env::IDLE_TIMEOUT,
        default_value = "5s",
        value_parser = parse_idle_timeout
    )]
    pub idle_timeout: Duration,

    /// Signals that begin shutdown, comma separated, with or without the SIG prefix.
    #[arg(
        long,
        env = env::SIGNALS,
        value_delimiter = ',',
        default_value = "SIGTERM,SIGINT,SIGQUIT"
    )]
    pub signals: Vec<StopSignal>,

    /// Log line format: text or json.
    #[arg(long, env = env::LOG_FORMAT, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// Parses a duration such as `250ms`, `2s` or `1m`; a bare number means milliseconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if let Ok(millis) = text.parse::<u64>() {
        return Ok(Duration::from_millis(millis));
    }
    humantime::parse_duration(text)
        .map_err(|e| format!("invalid duration {text:?} ({e}); use e.g. 250ms, 2s or 1500"))
}

/// Parses a request delay: a duration no longer than [`MAX_DELAY`].
pub fn parse_delay(text: &str) -> Result<Duration, String> {
    let delay = parse_duration(text)?;
    if delay > MAX_DELAY {
        return Err(format!("delay {text:?} is longer than the maximum of 10m"));
    }
    Ok(delay)
}

/// Parses a linger: a duration no longer than [`MAX_LINGER`].
pub fn parse_linger(text: &str) -> Result<Duration, String> {
    let linger = parse_duration(text)?;
    if linger > MAX_LINGER {
        return Err(format!("linger {text:?} is longer than the maximum of 60s"));
    }
    Ok(linger)
}

/// Parses an idle timeout: a duration from [`MIN_IDLE_TIMEOUT`] to [`MAX_IDLE_TIMEOUT`].
pub fn parse_idle_timeout(text: &str) -> Result<Duration, String> {
    let idle = parse_duration(text)?;
    if idle < MIN_IDLE_TIMEOUT {
        return Err(format!(
            "idle timeout {text:?} is shorter than the minimum of 1ms; use 1ms or more"
        ));
    }
    if idle > MAX_IDLE_TIMEOUT {
        return Err(format!(
            "idle timeout {text:?} is longer than the maximum of 10m"
        ));
    }
    Ok(idle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_numbers_are_milliseconds() {
        assert_eq!(parse_duration("1500"), Ok(Duration::from_millis(1500)));
    }

    #[test]
    fn units_are_understood() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
    }

    #[test]
    fn delays_are_bounded() {
        assert_eq!(parse_delay("10m"), Ok(MAX_DELAY));
        assert!(parse_delay("601s").unwrap_err().contains("maximum"));
        assert!(parse_delay("soon").is_err());
        assert!(parse_delay("99999999999999999999").is_err());
    }

    #[test]
    fn lingers_are_bounded() {
        assert_eq!(parse_linger("60s"), Ok(MAX_LINGER));
        assert_eq!(parse_linger("0"), Ok(Duration::ZERO));
        assert!(parse_linger("61s").unwrap_err().contains("maximum of 60s"));
        assert!(parse_linger("soon").is_err());
    }

    #[test]
    fn idle_timeouts_are_bounded() {
        assert_eq!(parse_idle_timeout("1ms"), Ok(MIN_IDLE_TIMEOUT));
        assert_eq!(parse_idle_timeout("50"), Ok(Duration::from_millis(50)));
        assert_eq!(parse_idle_timeout("10m"), Ok(MAX_IDLE_TIMEOUT));
        assert!(
            parse_idle_timeout("0")
                .unwrap_err()
                .contains("minimum of 1ms")
        );
        assert!(
            parse_idle_timeout("500us")
                .unwrap_err()
                .contains("minimum of 1ms")
        );
        assert!(
            parse_idle_timeout("11m")
                .unwrap_err()
                .contains("maximum of 10m")
        );
        assert!(parse_idle_timeout("soon").is_err());
    }

    #[test]
    fn the_idle_timeout_defaults_to_the_contract_default() {
        let config = Config::parse_from(["server"]);
        assert_eq!(config.idle_timeout, DEFAULT_IDLE_TIMEOUT);
        let config = Config::parse_from(["server", "--idle-timeout", "50ms"]);
        assert_eq!(config.idle_timeout, Duration::from_millis(50));
    }

    #[test]
    fn keep_alive_drain_defaults_to_close_idle_and_a_second() {
        let config = Config::parse_from(["server"]);
        assert_eq!(config.keep_alive_drain, KeepAliveDrain::CloseIdle);
        assert_eq!(config.linger, Duration::from_secs(1));
        let config = Config::parse_from([
            "server",
            "--keep-alive-drain",
            "linger",
            "--linger",
            "250ms",
        ]);
        assert_eq!(config.keep_alive_drain, KeepAliveDrain::Linger);
        assert_eq!(config.linger, Duration::from_millis(250));
    }
}
