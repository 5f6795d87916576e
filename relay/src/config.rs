//! The relay's command line: its routes (a port to listen on, the address it relays to) and the
//! latency each direction gets.

use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use clap::Parser;

/// The most latency a relay may add: more is no network anyone runs a balancer over.
pub const MAX_LATENCY: Duration = Duration::from_secs(10);

/// `delay-relay --latency 10ms --route 9001=10.0.0.3:1202 --route 9002=10.0.0.4:1202`.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "delay-relay",
    version,
    about = "Relays TCP connections, delaying every byte and every close by a fixed latency"
)]
pub struct Config {
    /// What each direction is delayed by (10ms, 1ms, ...; a bare number means milliseconds).
    #[arg(long, env = "RELAY_LATENCY", default_value = "10ms", value_parser = parse_latency)]
    pub latency: Duration,
    /// `PORT=HOST:PORT`: listen on PORT (all addresses), relay to HOST:PORT; repeatable.
    #[arg(
        long = "route",
        env = "RELAY_ROUTES",
        value_delimiter = ',',
        required = true
    )]
    pub routes: Vec<Route>,
}

/// One listening port and where its connections are relayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// The port listened on, on every address.
    pub listen: u16,
    /// Where its connections go.
    pub to: SocketAddr,
}

impl FromStr for Route {
    type Err = String;

    fn from_str(text: &str) -> Result<Route, String> {
        let (listen, to) = text.split_once('=').ok_or_else(|| {
            format!("route {text:?} is not PORT=HOST:PORT, like 9001=10.0.0.3:1202")
        })?;
        let listen = listen
            .trim()
            .parse()
            .map_err(|_| format!("route {text:?}: {listen:?} is not a port"))?;
        let to = to
            .trim()
            .parse()
            .map_err(|_| format!("route {text:?}: {to:?} is not an address like 10.0.0.3:1202"))?;
        Ok(Route { listen, to })
    }
}

/// A duration such as `10ms` (a bare number means milliseconds), at most [`MAX_LATENCY`].
fn parse_latency(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let latency = match text.parse::<u64>() {
        Ok(ms) => Duration::from_millis(ms),
        Err(_) => humantime::parse_duration(text)
            .map_err(|e| format!("bad latency {text:?} ({e}): write it like 10ms"))?,
    };
    if latency > MAX_LATENCY {
        return Err(format!(
            "latency {text:?} is more than the most allowed, 10s"
        ));
    }
    Ok(latency)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_and_latencies_parse() {
        let route: Route = "9001=10.0.0.3:1202".parse().expect("parses");
        assert_eq!(route.listen, 9001);
        assert_eq!(route.to, "10.0.0.3:1202".parse().unwrap());
        for bad in ["9001", "x=10.0.0.3:1", "9001=10.0.0.3", "70000=1.2.3.4:5"] {
            assert!(bad.parse::<Route>().is_err(), "{bad}");
        }
        assert_eq!(parse_latency("15"), Ok(Duration::from_millis(15)));
        assert_eq!(parse_latency("2ms"), Ok(Duration::from_millis(2)));
        assert!(parse_latency("11s").is_err());
        assert!(parse_latency("soon").is_err());
        let config = Config::parse_from([
            "delay-relay",
            "--latency",
            "5ms",
            "--route",
            "9001=10.0.0.3:1202,9002=10.0.0.4:1202",
        ]);
        assert_eq!(config.routes.len(), 2);
    }
}
