//! The runtimes people ship, as scenario files name them: a real server or language runtime
//! from the host's packages, started the way its users start it, with a slow endpoint or a
//! long-lived protocol (HTTP/2, WebSocket, gRPC).

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::readiness::{Readiness, START_WAIT};
use super::streams::{Protocol, StreamRoutes};

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
    /// nginx with HTTP/2 on a cleartext listener (h2c, prior knowledge only) as PID 1: a 4 s
    /// download and a trickled event stream.
    NginxH2c,
    /// The same nginx started in shell form: `/bin/sh -c` (dash) is PID 1.
    NginxH2cShellForm,
    /// A WebSocket server on Debian's python3-websockets, `python3 server.py` in exec form.
    PythonWebsockets,
    /// The same server in shell form: `/bin/sh -c` (dash) is PID 1.
    PythonWebsocketsShellForm,
    /// A WebSocket server on node with Debian's `ws` package, `node server.js` in exec form.
    NodeWs,
    /// The same server in shell form: `/bin/sh -c` (dash) is PID 1.
    NodeWsShellForm,
    /// The project's gRPC service on Debian's python3-grpcio, `python3 server.py` in exec form.
    Grpcio,
    /// The same server in shell form: `/bin/sh -c` (dash) is PID 1.
    GrpcioShellForm,
}

impl Runtime {
    /// Every runtime, in display order.
    pub const ALL: [Runtime; 13] = [
        Runtime::Nginx,
        Runtime::BusyboxHttpd,
        Runtime::Node,
        Runtime::NpmStart,
        Runtime::Gunicorn,
        Runtime::NginxH2c,
        Runtime::NginxH2cShellForm,
        Runtime::PythonWebsockets,
        Runtime::PythonWebsocketsShellForm,
        Runtime::NodeWs,
        Runtime::NodeWsShellForm,
        Runtime::Grpcio,
        Runtime::GrpcioShellForm,
    ];

    /// The name used in scenario files, image names and reports.
    pub fn name(self) -> &'static str {
        match self {
            Runtime::Nginx => "nginx",
            Runtime::BusyboxHttpd => "busybox-httpd",
            Runtime::Node => "node",
            Runtime::NpmStart => "npm-start",
            Runtime::Gunicorn => "gunicorn",
            Runtime::NginxH2c => "nginx-h2c",
            Runtime::NginxH2cShellForm => "nginx-h2c-shell-form",
            Runtime::PythonWebsockets => "python-websockets",
            Runtime::PythonWebsocketsShellForm => "python-websockets-shell-form",
            Runtime::NodeWs => "node-ws",
            Runtime::NodeWsShellForm => "node-ws-shell-form",
            Runtime::Grpcio => "grpcio",
            Runtime::GrpcioShellForm => "grpcio-shell-form",
        }
    }

    /// The runtime named `name`, if any.
    pub fn parse(name: &str) -> Option<Runtime> {
        Runtime::ALL.into_iter().find(|r| r.name() == name)
    }

    /// The same server started in exec form (itself for the others): the image's program and
    /// files are the same, only PID 1 differs.
    pub fn exec_form(self) -> Runtime {
        match self {
            Runtime::NginxH2cShellForm => Runtime::NginxH2c,
            Runtime::PythonWebsocketsShellForm => Runtime::PythonWebsockets,
            Runtime::NodeWsShellForm => Runtime::NodeWs,
            Runtime::GrpcioShellForm => Runtime::Grpcio,
            other => other,
        }
    }

    /// Whether its image's ENTRYPOINT is in shell form, so that `/bin/sh -c` (dash, which
    /// forks the command and passes no signal on) is PID 1. npm-start is not: npm is PID 1 and
    /// only its start script runs through the shell.
    pub fn shell_form(self) -> bool {
        self.exec_form() != self
    }

    /// The path polled until the server answers (answered at once); `/` where readiness is not
    /// an HTTP/1.1 path (see [`Runtime::readiness`]).
    pub fn ready_path(self) -> &'static str {
        match self.exec_form() {
            Runtime::Nginx | Runtime::BusyboxHttpd | Runtime::NginxH2c | Runtime::Grpcio => "/",
            _ => "/healthz",
        }
    }

    /// What proves the server ready: its HTTP/1.1 path answering, or, for the two that speak
    /// only HTTP/2 on their port (nginx's h2c listener answers HTTP/1.1 with a GOAWAY; grpcio
    /// speaks gRPC only), its port accepting.
    pub fn readiness(self) -> Readiness {
        match self.exec_form() {
            Runtime::NginxH2c | Runtime::Grpcio => Readiness::TcpPort { within: START_WAIT },
            _ => Readiness::HttpPath {
                path: self.ready_path().to_string(),
                within: START_WAIT,
            },
        }
    }

    /// How long the slow endpoint takes when the runtime fixes it (nginx's download, busybox's
    /// CGI script); None when the scenario's `delay` sets it (`GET /` of node, gunicorn and the
    /// WebSocket servers, grpcio's `Slow` called with no delay).
    pub fn fixed_delay(self) -> Option<Duration> {
        match self.exec_form() {
            Runtime::Nginx | Runtime::NginxH2c => Some(Duration::from_secs(4)),
            Runtime::BusyboxHttpd => Some(Duration::from_secs(3)),
            _ => None,
        }
    }

    /// Whether the server's `mode` is chosen: `graceful` (a SIGTERM handler that closes the
    /// listener and drains, or closes its WebSockets with 1001, or stops gRPC with a grace) or
    /// `unhandled` (none): node's server.js and the WebSocket and gRPC servers.
    pub fn takes_mode(self) -> bool {
        matches!(
            self.exec_form(),
            Runtime::Node
                | Runtime::NpmStart
                | Runtime::PythonWebsockets
                | Runtime::NodeWs
                | Runtime::Grpcio
        )
    }

    /// The protocols besides HTTP/1.1 a scenario's streams may speak to it, and whose routes
    /// they ask: nginx-h2c speaks only h2c (prior knowledge: its listener answers HTTP/1.1 with a
    /// GOAWAY), the WebSocket servers only WebSocket, grpcio only gRPC; the others none.
    pub fn protocols(self) -> (&'static [Protocol], StreamRoutes) {
        match self.exec_form() {
            Runtime::NginxH2c => (&[Protocol::H2c], StreamRoutes::NginxH2c),
            Runtime::PythonWebsockets | Runtime::NodeWs => {
                (&[Protocol::Websocket], StreamRoutes::GracefulServer)
            }
            Runtime::Grpcio => (&[Protocol::Grpc], StreamRoutes::GracefulServer),
            _ => (&[], StreamRoutes::GracefulServer),
        }
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

    #[test]
    fn a_shell_form_twin_is_its_exec_form_with_another_pid_1() {
        for runtime in Runtime::ALL {
            let exec = runtime.exec_form();
            assert_eq!(exec.exec_form(), exec);
            assert_eq!(runtime.readiness(), exec.readiness());
            assert_eq!(runtime.takes_mode(), exec.takes_mode());
            if runtime.shell_form() {
                assert_eq!(runtime.name(), format!("{}-shell-form", exec.name()));
            }
        }
        assert!(!Runtime::NpmStart.shell_form());
        assert_eq!(
            Runtime::Grpcio.readiness(),
            Readiness::TcpPort { within: START_WAIT }
        );
    }
}
