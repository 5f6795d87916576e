//! The binary's command line: the stream's plan and how long it may run, all given by the
//! harness (durations in whole milliseconds, so that nothing needs a parser of its own).

use std::net::SocketAddr;
use std::time::Duration;

use crate::fixed::MAX_CONNECTIONS;
use crate::{ClientKind, Plan};

/// What `--help` prints.
pub const USAGE: &str = "usage: load-generator --target ADDR:PORT --rate N [--path /P] [--client fresh|fixed|h2c] [--connections N] [--duration-ms MS] [--limit-ms MS] [--deadline-ms MS]

Sends GET PATH to ADDR:PORT at N requests per second (open model): over HTTP/1.1 on a connection
per request (fresh) or on a fixed set of keep-alive connections (fixed, the default; 64 unless
--connections), or as HTTP/2 streams with prior knowledge on --connections connections (h2c; 1
unless --connections). It sends from the moment it starts, for --duration-ms and on until it gets
SIGTERM (the server exited) and 300 ms more, or until --limit-ms. Writes `started <µs since the
Unix epoch>`, then `records ...` lines, then `ended <count>` to stdout.";

/// A command line that cannot be run.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ArgsError {
    /// An option this binary does not know.
    #[error("unknown option {0:?}: see --help")]
    Unknown(String),
    /// An option without its value.
    #[error("{0} needs a value: see --help")]
    Missing(&'static str),
    /// A value that is not what the option takes.
    #[error("{option} takes {takes}, not {value:?}")]
    Invalid {
        /// The option.
        option: &'static str,
        /// What it takes.
        takes: &'static str,
        /// What was given.
        value: String,
    },
    /// `--help` was asked for.
    #[error("{USAGE}")]
    Help,
}

/// The parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    /// The stream.
    pub plan: Plan,
    /// How long it runs at most, whether or not the server exited.
    pub limit: Duration,
}

impl Args {
    /// Parses the arguments after the program's name.
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Args, ArgsError> {
        let mut target = None;
        let mut rate = None;
        let mut path = "/".to_string();
        let mut client = ClientKind::Fixed;
        let mut connections = None;
        let mut duration = Duration::from_secs(1);
        let mut limit = None;
        let mut deadline = Duration::from_secs(30);
        let mut args = args.into_iter();
        while let Some(option) = args.next() {
            if option == "--help" || option == "-h" {
                return Err(ArgsError::Help);
            }
            let name: &'static str = match option.as_str() {
                "--target" => "--target",
                "--rate" => "--rate",
                "--path" => "--path",
                "--client" => "--client",
                "--connections" => "--connections",
                "--duration-ms" => "--duration-ms",
                "--limit-ms" => "--limit-ms",
                "--deadline-ms" => "--deadline-ms",
                _ => return Err(ArgsError::Unknown(option)),
            };
            let value = args.next().ok_or(ArgsError::Missing(name))?;
            let invalid = |takes| ArgsError::Invalid {
                option: name,
                takes,
                value: value.clone(),
            };
            let millis = || {
                value
                    .parse()
                    .map(Duration::from_millis)
                    .map_err(|_| invalid("whole milliseconds"))
            };
            match name {
                "--target" => {
                    target = Some(
                        value
                            .parse::<SocketAddr>()
                            .map_err(|_| invalid("an address and port, like 127.0.0.1:8080"))?,
                    );
                }
                "--rate" => {
                    rate = Some(
                        value
                            .parse::<u32>()
                            .ok()
                            .filter(|r| *r > 0)
                            .ok_or_else(|| invalid("requests per second, at least 1"))?,
                    );
                }
                "--path" => {
                    if !crate::sendable(&value) {
                        return Err(invalid("a request path starting with /"));
                    }
                    path = value;
                }
                "--client" => {
                    client = [ClientKind::Fresh, ClientKind::Fixed, ClientKind::H2c]
                        .into_iter()
                        .find(|c| c.name() == value)
                        .ok_or_else(|| invalid("fresh, fixed or h2c"))?;
                }
                "--connections" => {
                    connections = Some(
                        value
                            .parse::<u16>()
                            .ok()
                            .filter(|c| (1..=MAX_CONNECTIONS).contains(c))
                            .ok_or_else(|| invalid("a count from 1 to 4096"))?,
                    );
                }
                "--duration-ms" => duration = millis()?,
                "--limit-ms" => limit = Some(millis()?),
                _ => deadline = millis()?,
            }
        }
        let plan = Plan {
            target: target.ok_or(ArgsError::Missing("--target"))?,
            path,
            rate: rate.ok_or(ArgsError::Missing("--rate"))?,
            client,
            connections: connections.unwrap_or(client.default_connections()),
            duration,
            deadline,
        };
        Ok(Args {
            limit: limit.unwrap_or(plan.duration * 10).max(plan.duration),
            plan,
        })
    }

    /// The arguments that [`Args::parse`] reads back as `self`: what the harness passes.
    pub fn to_args(&self) -> Vec<String> {
        let plan = &self.plan;
        [
            ("--target", plan.target.to_string()),
            ("--path", plan.path.clone()),
            ("--rate", plan.rate.to_string()),
            ("--client", plan.client.name().to_string()),
            ("--connections", plan.connections.to_string()),
            ("--duration-ms", plan.duration.as_millis().to_string()),
            ("--limit-ms", self.limit.as_millis().to_string()),
            ("--deadline-ms", plan.deadline.as_millis().to_string()),
        ]
        .into_iter()
        .flat_map(|(option, value)| [option.to_string(), value])
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<Args, ArgsError> {
        Args::parse(line.split_whitespace().map(str::to_string))
    }

    #[test]
    fn what_the_harness_passes_reads_back() {
        let args = Args {
            plan: Plan {
                target: "127.0.0.1:1202".parse().unwrap(),
                path: "/?delay=10ms".to_string(),
                rate: 5000,
                client: ClientKind::Fresh,
                connections: 128,
                duration: Duration::from_millis(3000),
                deadline: Duration::from_millis(20_000),
            },
            limit: Duration::from_millis(20_000),
        };
        assert_eq!(Args::parse(args.to_args()), Ok(args));
    }

    #[test]
    fn wrong_lines_say_what_to_write() {
        assert_eq!(parse("--rate 10"), Err(ArgsError::Missing("--target")));
        assert_eq!(
            parse("--target 127.0.0.1:80 --rate"),
            Err(ArgsError::Missing("--rate"))
        );
        assert!(matches!(
            parse("--target 127.0.0.1:80 --rate 0"),
            Err(ArgsError::Invalid { .. })
        ));
        assert!(matches!(
            parse("--target localhost --rate 10"),
            Err(ArgsError::Invalid { .. })
        ));
        assert_eq!(
            parse("--target 127.0.0.1:80 --rate 10 --fast"),
            Err(ArgsError::Unknown("--fast".to_string()))
        );
        assert_eq!(parse("--help"), Err(ArgsError::Help));
    }

    #[test]
    fn each_client_has_its_own_connection_count_unless_one_is_given() {
        let count = |line: &str| parse(line).map(|args| (args.plan.client, args.plan.connections));
        assert_eq!(
            count("--target 127.0.0.1:80 --rate 10"),
            Ok((ClientKind::Fixed, 64))
        );
        assert_eq!(
            count("--target 127.0.0.1:80 --rate 10 --client h2c"),
            Ok((ClientKind::H2c, 1))
        );
        assert_eq!(
            count("--target 127.0.0.1:80 --rate 10 --client h2c --connections 4"),
            Ok((ClientKind::H2c, 4))
        );
        assert!(matches!(
            parse("--target 127.0.0.1:80 --rate 10 --client h3"),
            Err(ArgsError::Invalid {
                takes: "fresh, fixed or h2c",
                ..
            })
        ));
    }
}
