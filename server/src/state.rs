//! The state every route handler is given: the configured delay, the log, and the counts of
//! requests in flight and long-lived streams it shares with the shutdown logic.

use std::time::Duration;

use crate::log::Log;
use crate::streams::Streams;
use crate::tracker::Tracker;

/// What the routes share, built once by [`crate::routes`] and cloned into each handler.
#[derive(Clone)]
pub(crate) struct AppState {
    /// How long `GET /` waits when the request does not say.
    pub(crate) delay: Duration,
    /// Where requests and responses are logged.
    pub(crate) log: Log,
    /// The requests in flight, counted until their body is sent.
    pub(crate) tracker: Tracker,
    /// The long-lived streams (server-sent events, WebSockets), counted and told to go away.
    pub(crate) streams: Streams,
}
