//! delay-relay: a TCP relay that delays everything crossing it by a fixed latency, in both
//! directions and in order: data, the end of a stream (FIN) and a reset alike, as a network with
//! that one-way delay would (toxiproxy's latency toxic, as a small static binary). The harness
//! puts it between a load balancer and its replicas, where a local bridge's round trip of a
//! tenth of a millisecond would hide the balancer's keep-alive race.
//!
//! ```no_run
//! # async fn demo() -> Result<(), delay_relay::Error> {
//! use std::time::Duration;
//! use delay_relay::{Route, relay};
//!
//! let route: Route = "9001=127.0.0.1:8080".parse().expect("a route");
//! relay(&[route], Duration::from_millis(10)).await
//! # }
//! ```

mod config;
mod error;
mod pipe;
mod relay;

pub use config::{Config, Route};
pub use error::Error;
pub use relay::{Bound, READY_LINE, bind, relay};
