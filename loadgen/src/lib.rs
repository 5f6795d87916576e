//! load-generator: an open-model HTTP load, as wrk2 drives one, that records every request (when
//! it was due, when it left, when it ended, what it met) in 20 bytes: HTTP/1.1 on a connection
//! per request or on a fixed set of keep-alive connections, or HTTP/2 streams with prior
//! knowledge on a few connections.
//!
//! The harness uses it as a library for the host vantage (through the published port), and
//! images its static binary to run it inside a container's network namespace, beside the
//! server, where the binary writes its records to stdout in [`Line`]s.
//!
//! ```no_run
//! # async fn demo() {
//! use std::time::Duration;
//! use load_generator::{ClientKind, Plan, stream};
//!
//! let plan = Plan {
//!     target: "127.0.0.1:8080".parse().expect("an address"),
//!     path: "/".to_string(),
//!     rate: 1000,
//!     client: ClientKind::Fixed,
//!     connections: 64,
//!     duration: Duration::from_secs(3),
//!     deadline: Duration::from_secs(5),
//! };
//! let records = stream(&plan).await;
//! # drop(records);
//! # }
//! ```

mod args;
mod dispatch;
mod fixed;
mod fresh;
mod h2c;
mod record;
pub mod schedule;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

pub use args::{Args, ArgsError, USAGE};
pub use fixed::{FixedClient, MAX_CONNECTIONS};
pub use fresh::FreshClient;
pub use h2c::H2cClient;
pub use record::{Line, Outcome, RECORDS_PER_LINE, Record, micros};
pub use schedule::{AFTER_EXIT, BATCH_EVERY, Sender, Timing};

/// A stream: where it goes, what it asks, how fast, on how many connections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The server's address.
    pub target: SocketAddr,
    /// The path every request asks for.
    pub path: String,
    /// Requests per second.
    pub rate: u32,
    /// How the requests hold their connections.
    pub client: ClientKind,
    /// How many connections carry them (the fixed and h2c clients).
    pub connections: u16,
    /// How long the stream runs.
    pub duration: Duration,
    /// The longest a request may take.
    pub deadline: Duration,
}

/// How a stream's requests hold their connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientKind {
    /// A connection per request.
    Fresh,
    /// A fixed set of keep-alive connections, at most one request in flight on each.
    Fixed,
    /// HTTP/2 with prior knowledge: each request a stream, many in flight on each of a few
    /// connections.
    H2c,
}

impl ClientKind {
    /// Its name on the command line (the harness's name for the same client).
    pub fn name(self) -> &'static str {
        match self {
            ClientKind::Fresh => "fresh",
            ClientKind::Fixed => "fixed",
            ClientKind::H2c => "h2c",
        }
    }

    /// How many connections it keeps when none is asked for: wrk's usual 64 for the fixed
    /// client, one for h2c ("streams on one connection", as an HTTP/2 client pool keeps one
    /// per server); a connection per request for fresh.
    pub fn default_connections(self) -> u16 {
        match self {
            ClientKind::Fresh | ClientKind::H2c => 1,
            ClientKind::Fixed => 64,
        }
    }
}

/// A stream's client, started: any kind.
pub enum Client {
    /// A connection per request.
    Fresh(FreshClient),
    /// A fixed set of connections.
    Fixed(FixedClient),
    /// HTTP/2 streams on a few connections.
    H2c(H2cClient),
}

impl Client {
    /// Starts `plan`'s client; each record goes to `done`, times from `start`.
    pub fn start(plan: &Plan, start: Instant, done: &Arc<Mutex<Vec<Record>>>) -> Client {
        Client::start_checked(plan, sendable(&plan.path), start, done)
    }

    /// [`Client::start`] with the caller's word on whether the path can be sent (a check
    /// stricter than [`sendable`]): when not, each request is recorded as a 400 unsent.
    pub fn start_checked(
        plan: &Plan,
        path_ok: bool,
        start: Instant,
        done: &Arc<Mutex<Vec<Record>>>,
    ) -> Client {
        let done = Arc::clone(done);
        match plan.client {
            ClientKind::Fresh => Client::Fresh(FreshClient::new(
                plan.target,
                &plan.path,
                path_ok,
                plan.deadline,
                start,
                done,
            )),
            ClientKind::Fixed => Client::Fixed(FixedClient::start(
                plan.target,
                &plan.path,
                path_ok,
                plan.connections,
                plan.deadline,
                start,
                done,
            )),
            ClientKind::H2c => Client::H2c(H2cClient::start(
                plan.target,
                &plan.path,
                path_ok,
                plan.connections,
                plan.deadline,
                start,
                done,
            )),
        }
    }
}

impl Sender for Client {
    fn send(&mut self, id: u32, due: Instant) {
        match self {
            Client::Fresh(client) => client.send(id, due),
            Client::Fixed(client) => client.send(id, due),
            Client::H2c(client) => client.send(id, due),
        }
    }

    async fn finish(&mut self) {
        match self {
            Client::Fresh(client) => client.finish().await,
            Client::Fixed(client) => client.finish().await,
            Client::H2c(client) => client.finish().await,
        }
    }
}

/// Whether `path` can go on a request line as it is: it starts with `/` and holds only
/// visible ASCII (the harness checks its paths more closely where they enter).
pub fn sendable(path: &str) -> bool {
    path.starts_with('/') && path.bytes().all(|b| b.is_ascii_graphic())
}

/// Sends `plan`'s stream for its duration, with no stop, and returns every request's record in
/// the order they ended.
pub async fn stream(plan: &Plan) -> Vec<Record> {
    let done: Arc<Mutex<Vec<Record>>> = Arc::default();
    let start = Instant::now();
    let mut client = Client::start(plan, start, &done);
    let timing = Timing {
        rate: plan.rate,
        duration: plan.duration,
        limit: plan.duration,
    };
    schedule::run(timing, start, &mut client, || false, || {}).await;
    std::mem::take(&mut *done.lock().unwrap_or_else(PoisonError::into_inner))
}
