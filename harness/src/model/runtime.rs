//! The runtimes people ship, as scenario files name them: a real server or language runtime
//! from the host's packages, started the way its users start it, with a slow endpoint.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The port every runtime's server listens on inside its container.
pub const HTTP_PORT: u16 = 8080;

/// A server the project did not write, imaged from host packages (by the `images` module).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Runtime {
    /// nginx as PID 1; its slow path is a 4 s download.
    Nginx,
    /// busybox's httpd applet as PID 1; its slow path is a CGI script sleeping 3 s.
    BusyboxHttpd,
    /// `node server.js` in exec form: node is PID 1.
    Node,
    /// `npm start` as PID 1: npm runs `node server.js` through `/bin/sh -c` (dash).
    NpmStart,
    /// gunicorn (Python, sync workers) as PID 1: its arbiter and one worker.
    Gunicorn,
}

impl Runtime {
    /// Every runtime, in display order.
    pub const ALL: [Runtime; 5] = [
        Runtime::Nginx,
        Runtime::BusyboxHttpd,
        Runtime::Node,
        Runtime::NpmStart,
        Runtime::Gunicorn,
    ];

    /// The name used in scenario files, image names and reports.
    pub fn name(self) -> &'static str {
        match self {
            Runtime::Nginx => "nginx",
            Runtime::BusyboxHttpd => "busybox-httpd",
            Runtime::Node => "node",
            Runtime::NpmStart => "npm-start",
            Runtime::Gunicorn => "gunicorn",
        }
    }

    /// The runtime named `name`, if any.
    pub fn parse(name: &str) -> Option<Runtime> {
        Runtime::ALL.into_iter().find(|r| r.name() == name)
    }

    /// The path polled until the server answers (answered at once).
    pub fn ready_path(self) -> &'static str {
        match self {
            Runtime::Nginx | Runtime::BusyboxHttpd => "/",
            Runtime::Node | Runtime::NpmStart | Runtime::Gunicorn => "/healthz",
        }
    }

    /// How long the slow endpoint takes when the runtime fixes it (nginx's download, busybox's
    /// CGI script); None when the scenario's `delay` sets it.
    pub fn fixed_delay(self) -> Option<Duration> {
        match self {
            Runtime::Nginx => Some(Duration::from_secs(4)),
            Runtime::BusyboxHttpd => Some(Duration::from_secs(3)),
            Runtime::Node | Runtime::NpmStart | Runtime::Gunicorn => None,
        }
    }

    /// Whether the server's `mode` is chosen: `graceful` (a SIGTERM handler that closes the
    /// listener and drains) or `unhandled` (none), in node's server.js.
    pub fn takes_mode(self) -> bool {
        matches!(self, Runtime::Node | Runtime::NpmStart)
    }

    /// Whether `drain-timeout` applies: gunicorn's `--graceful-timeout`.
    pub fn takes_drain_timeout(self) -> bool {
        self == Runtime::Gunicorn
    }
}

impl fmt::Display for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for runtime in Runtime::ALL {
            assert_eq!(Runtime::parse(runtime.name()), Some(runtime));
        }
        assert_eq!(Runtime::parse("deno"), None);
    }
}
