//! The standard gRPC health-checking service `grpc.health.v1.Health`
//! (`contract/proto/grpc/health/v1/health.proto`), on the HTTP port beside `shutdown.v1.Probe`.
//!
//! `Check` answers SERVING, or NOT_SERVING once a graceful shutdown has begun. A `Watch` is a
//! long-lived stream, counted and logged like a `Tick`: SERVING at once, and at a graceful
//! shutdown NOT_SERVING (so a client balancing on it stops sending here), then the call ends at
//! once with status UNAVAILABLE and "server shutting down", as a `Tick` does. A watch never ends
//! by itself, so a server that waited for it to finish would wait for the SIGKILL.

use std::pin::Pin;

use futures_util::Stream as FuturesStream;
use server_contract::stream::{GOING_AWAY_REASON, GRPC_HEALTH_SERVICE, GRPC_HEALTH_WATCH_PATH};
use server_contract::{REQUEST_ID_HEADER, StreamEnd, StreamProtocol};
use tonic::{Request, Response, Status};

use crate::request_id::loggable_id;
use crate::streams::{Stream, Streams};

/// The code generated from the .proto by `build.rs`: messages, server and client.
pub mod proto {
    #![allow(missing_docs)]
    tonic::include_proto!("grpc.health.v1");
}

use proto::health_check_response::ServingStatus;
pub use proto::health_server::HealthServer;
use proto::{HealthCheckRequest, HealthCheckResponse};

/// The services this server reports on: itself as a whole (""), and each service it serves.
const KNOWN_SERVICES: [&str; 3] = [
    "",
    server_contract::stream::GRPC_SERVICE,
    GRPC_HEALTH_SERVICE,
];

/// The service, as a tower service the router can route to.
pub fn server(health: Health) -> HealthServer<Health> {
    HealthServer::new(health)
}

/// The implementation of `grpc.health.v1.Health`.
#[derive(Clone, Debug)]
pub struct Health {
    streams: Streams,
}

impl Health {
    /// Reports SERVING until `streams` hear of a graceful shutdown; watches are counted and
    /// logged there.
    pub fn new(streams: Streams) -> Self {
        Self { streams }
    }
}

#[tonic::async_trait]
impl proto::health_server::Health for Health {
    async fn check(
        &self,
        request: Request<HealthCheckRequest>,
    ) -> Result<Response<HealthCheckResponse>, Status> {
        let service = &request.get_ref().service;
        if !KNOWN_SERVICES.contains(&service.as_str()) {
            return Err(Status::not_found(format!("unknown service {service:?}")));
        }
        let status = if self.streams.going_away() {
            ServingStatus::NotServing
        } else {
            ServingStatus::Serving
        };
        Ok(Response::new(reply(status)))
    }

    type WatchStream =
        Pin<Box<dyn FuturesStream<Item = Result<HealthCheckResponse, Status>> + Send>>;

    async fn watch(
        &self,
        request: Request<HealthCheckRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let known = KNOWN_SERVICES.contains(&request.get_ref().service.as_str());
        let id = request
            .metadata()
            .get(REQUEST_ID_HEADER)
            .and_then(|id| id.to_str().ok())
            .and_then(loggable_id);
        let stream = self
            .streams
            .open(StreamProtocol::Grpc, GRPC_HEALTH_WATCH_PATH, id);
        Ok(Response::new(Box::pin(statuses(stream, known))))
    }
}

fn reply(status: ServingStatus) -> HealthCheckResponse {
    HealthCheckResponse {
        status: status as i32,
    }
}

/// Where a watch is.
enum Watching {
    /// Nothing sent yet.
    Opened(Stream),
    /// The first status was sent; waiting for a shutdown.
    Sent(Stream),
    /// NOT_SERVING was sent; the goodbye comes next.
    Leaving(Stream),
    /// The goodbye was sent: the stream ends, and is logged closed once tonic has sent it.
    Done { _closing: Stream },
}

/// The status at once (SERVING, or SERVICE_UNKNOWN for a service the server does not know), then
/// at a graceful shutdown NOT_SERVING and the UNAVAILABLE status.
fn statuses(
    stream: Stream,
    known: bool,
) -> impl FuturesStream<Item = Result<HealthCheckResponse, Status>> + Send {
    futures_util::stream::unfold(Watching::Opened(stream), move |watching| async move {
        match watching {
            Watching::Opened(stream) => {
                let first = if known {
                    ServingStatus::Serving
                } else {
                    ServingStatus::ServiceUnknown
                };
                stream.sent_one();
                Some((Ok(reply(first)), Watching::Sent(stream)))
            }
            Watching::Sent(mut stream) => {
                stream.going_away().await;
                if known {
                    stream.sent_one();
                    Some((
                        Ok(reply(ServingStatus::NotServing)),
                        Watching::Leaving(stream),
                    ))
                } else {
                    Some(goodbye(stream))
                }
            }
            Watching::Leaving(stream) => Some(goodbye(stream)),
            Watching::Done { .. } => None,
        }
    })
}

/// Ends `stream` with the server's goodbye: status UNAVAILABLE, logged going away.
fn goodbye(mut stream: Stream) -> (Result<HealthCheckResponse, Status>, Watching) {
    stream.end(StreamEnd::GoingAway);
    (
        Err(Status::unavailable(GOING_AWAY_REASON)),
        Watching::Done { _closing: stream },
    )
}
