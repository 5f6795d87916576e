//! What every connection of a server shares: the routes, the protocol settings, the drain's
//! flag and notice, the count of open connections, the timeouts and the log.

use std::sync::Arc;

use axum::Router;
use hyper::server::conn::http2;
use hyper_util::rt::TokioExecutor;
use hyper_util::server::conn::auto;
use tokio::sync::watch;

use crate::activity::HeadTimeouts;
use crate::connections::Connections;
use crate::keep_alive::ShuttingDown;
use crate::log::Log;

/// What every connection of a server shares: the routes, the protocol settings, the drain's
/// flag and notice, the count of open connections.
#[derive(Debug)]
pub struct Hub {
    router: Router,
    auto: auto::Builder<TokioExecutor>,
    h2: http2::Builder<TokioExecutor>,
    shutting_down: ShuttingDown,
    shutdown: watch::Sender<bool>,
    connections: Connections,
    timeouts: HeadTimeouts,
    log: Log,
}

impl Hub {
    /// Connections served with `router`, timed by `timeouts`, counted in `connections`.
    pub fn new(
        router: Router,
        shutting_down: ShuttingDown,
        connections: Connections,
        timeouts: HeadTimeouts,
        log: Log,
    ) -> Arc<Self> {
        // No hyper timer: the connection's own timer bounds the wait for request heads (see
        // `activity`), once per connection rather than with a timer per request.
        let auto = auto::Builder::new(TokioExecutor::new());
        let h2 = http2::Builder::new(TokioExecutor::new());
        Arc::new(Self {
            router,
            auto,
            h2,
            shutting_down,
            shutdown: watch::Sender::new(false),
            connections,
            timeouts,
            log,
        })
    }

    /// Tells every connection, open now or upgraded later, to shut down gracefully.
    pub fn begin_shutdown(&self) {
        self.shutdown.send_replace(true);
    }

    /// The notice of the graceful shutdown, for a connection to watch.
    pub fn subscribe_shutdown(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    /// The routes every request goes to.
    pub fn router(&self) -> &Router {
        &self.router
    }

    /// The protocol settings of accepted connections: HTTP/1.1, or HTTP/2 with prior knowledge.
    pub fn auto(&self) -> &auto::Builder<TokioExecutor> {
        &self.auto
    }

    /// The HTTP/2 settings, for connections upgraded to h2c.
    pub fn h2(&self) -> &http2::Builder<TokioExecutor> {
        &self.h2
    }

    /// The flag set when the drain begins.
    pub fn shutting_down(&self) -> &ShuttingDown {
        &self.shutting_down
    }

    /// The count of open connections.
    pub fn connections(&self) -> &Connections {
        &self.connections
    }

    /// How long connections may wait for request heads.
    pub fn timeouts(&self) -> HeadTimeouts {
        self.timeouts
    }

    /// The server's log.
    pub fn log(&self) -> Log {
        self.log
    }
}
