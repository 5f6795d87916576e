//! The gRPC service `shutdown.v1.Probe` (`contract/proto/shutdown/v1/probe.proto`): a slow
//! unary call and a stream of numbered ticks, served on the HTTP port over HTTP/2.
//!
//! At a graceful shutdown a `Slow` call in flight is answered (the drain waits for it like any
//! request). A `Tick` stream that would end before the drain deadline is finished with status
//! OK: nothing is lost by letting it run. Any other is ended at once, cleanly, with status
//! UNAVAILABLE and the message "server shutting down": in gRPC that status means "try again,
//! elsewhere", which is what the client should do (resume from the last tick it got on another
//! server), and ending it now rather than at the deadline lets the connection close early and
//! never cuts a tick in half.

use std::pin::Pin;
use std::time::Duration;

use futures_util::Stream as FuturesStream;
use server_contract::stream::{DEFAULT_EVERY, DEFAULT_FOR, GOING_AWAY_REASON, GRPC_TICK_PATH};
use server_contract::{MAX_DELAY, REQUEST_ID_HEADER, StreamEnd, StreamProtocol};
use tokio::time::Instant;
use tonic::{Request, Response, Status};

use crate::request_id::loggable_id;
use crate::streams::{Stream, Streams};

/// The code generated from the .proto by `build.rs`: messages, server and client.
pub mod proto {
    #![allow(missing_docs)]
    tonic::include_proto!("shutdown.v1");
}

pub use proto::probe_server::ProbeServer;
use proto::{SlowReply, SlowRequest, TickReply, TickRequest};

/// The service, as a tower service the router can route to.
pub fn server(probe: Probe) -> ProbeServer<Probe> {
    ProbeServer::new(probe)
}

/// The implementation of `shutdown.v1.Probe`.
#[derive(Clone, Debug)]
pub struct Probe {
    streams: Streams,
}

impl Probe {
    /// Serves `Tick` streams counted and logged in `streams`.
    pub fn new(streams: Streams) -> Self {
        Self { streams }
    }
}

/// A duration in milliseconds from a request: `default` for 0, refused above [`MAX_DELAY`].
fn millis(value: u64, name: &str, default: Duration) -> Result<Duration, Status> {
    if value == 0 {
        return Ok(default);
    }
    let duration = Duration::from_millis(value);
    if duration > MAX_DELAY {
        return Err(Status::invalid_argument(format!(
            "{name}={value} is longer than the maximum of 600000 (10 minutes)"
        )));
    }
    Ok(duration)
}

#[tonic::async_trait]
impl proto::probe_server::Probe for Probe {
    async fn slow(&self, request: Request<SlowRequest>) -> Result<Response<SlowReply>, Status> {
        let delay = millis(request.get_ref().delay_ms, "delay_ms", Duration::ZERO)?;
        tokio::time::sleep(delay).await;
        Ok(Response::new(SlowReply {
            waited_ms: u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
        }))
    }

    type TickStream = Pin<Box<dyn FuturesStream<Item = Result<TickReply, Status>> + Send>>;

    async fn tick(
        &self,
        request: Request<TickRequest>,
    ) -> Result<Response<Self::TickStream>, Status> {
        let every = millis(request.get_ref().every_ms, "every_ms", DEFAULT_EVERY)?;
        let lasting = millis(request.get_ref().for_ms, "for_ms", DEFAULT_FOR)?;
        let id = request
            .metadata()
            .get(REQUEST_ID_HEADER)
            .and_then(|id| id.to_str().ok())
            .and_then(loggable_id);
        let stream = self.streams.open(StreamProtocol::Grpc, GRPC_TICK_PATH, id);
        Ok(Response::new(Box::pin(ticks(stream, every, lasting))))
    }
}

/// Where a tick stream is.
struct Ticks {
    stream: Stream,
    every: Duration,
    next: Instant,
    end: Instant,
    number: u64,
    /// A shutdown has begun and the stream ends before its deadline: it runs to the end.
    finishing: bool,
    /// The UNAVAILABLE status has been sent: the stream ends at its next poll.
    said_goodbye: bool,
}

/// Tick 1 at once, then one every `every` while less than `lasting` has passed; at a graceful
/// shutdown, finished or ended with UNAVAILABLE (see the module's documentation).
fn ticks(
    stream: Stream,
    every: Duration,
    lasting: Duration,
) -> impl FuturesStream<Item = Result<TickReply, Status>> + Send {
    let start = Instant::now();
    let ticks = Ticks {
        stream,
        every,
        next: start,
        end: start + lasting,
        number: 0,
        finishing: false,
        said_goodbye: false,
    };
    futures_util::stream::unfold(ticks, |mut ticks| async move {
        if ticks.said_goodbye {
            return None;
        }
        loop {
            let wake = ticks.next.min(ticks.end);
            tokio::select! {
                biased;
                deadline = ticks.stream.going_away(), if !ticks.finishing => {
                    if ticks.end < deadline {
                        ticks.finishing = true;
                        continue;
                    }
                    ticks.said_goodbye = true;
                    ticks.stream.end(StreamEnd::GoingAway);
                    return Some((Err(Status::unavailable(GOING_AWAY_REASON)), ticks));
                }
                () = tokio::time::sleep_until(wake) => {
                    if ticks.next >= ticks.end {
                        ticks.stream.end(StreamEnd::Completed);
                        // Dropping `ticks` closes the stream, logged as completed; tonic ends
                        // the call with status OK.
                        return None;
                    }
                    ticks.number += 1;
                    ticks.next += ticks.every;
                    ticks.stream.sent_one();
                    return Some((Ok(TickReply { number: ticks.number }), ticks));
                }
            }
        }
    })
}
