//! Serving accepted connections, each in its own task: HTTP/1.1 or HTTP/2 as the client opens
//! it (hyper-util's automatic builder: HTTP/2 with prior knowledge, HTTP/1.1 otherwise, and
//! HTTP/1.1 upgrades to WebSocket or h2c), each watched for the graceful shutdown.

use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;

use axum::Router;
use hyper::server::conn::http2;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpStream;
use tokio::sync::watch;

use crate::activity::{Activity, HeadTimeouts};
use crate::connection::Service;
use crate::connections::Connections;
use crate::io::Sniff;
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
        // `connection`), once per connection rather than with a timer per request.
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

    /// Serves `stream`, from `peer`, in a task of its own, counted while open and watched for
    /// the graceful shutdown.
    pub fn serve(self: &Arc<Self>, stream: TcpStream, peer: SocketAddr) {
        // Small writes (a streamed response's head, /download's chunks) leave at once instead of
        // waiting for the client's ACK (Nagle): one system call per connection, none per request.
        let _ = stream.set_nodelay(true);
        let activity = Activity::new(self.shutting_down.clone(), peer);
        let service = Service::new(self, &activity);
        // Subscribed before the task runs, so a shutdown that begins meanwhile still reaches it.
        let shutdown = self.subscribe_shutdown();
        let open = self.connections.open();
        let hub = Arc::clone(self);
        tokio::spawn(async move {
            let io = TokioIo::new(Sniff::new(stream, activity.clone()));
            // Built in the task and pinned where it is: hyper's connection is most of the
            // task's state, and moving it about cost more per connection than the rest.
            let connection = pin!(hub.auto.serve_connection_with_upgrades(io, service));
            // A client that sends garbage or hangs up only ends its own connection.
            activity
                .serve(
                    connection,
                    |connection| connection.graceful_shutdown(),
                    hub.timeouts,
                    shutdown,
                    hub.log,
                )
                .await;
            drop(open);
        });
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
