//! The long-lived streams of one scenario, opened by name from plain requests: h2c streams share
//! one connection and gRPC calls one client, as a real client's would; WebSockets and event
//! streams have a connection each. What a runner holds across the stop.

use std::net::SocketAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use server_contract::stream::{EVENTS_PATH, WS_PATH};
use tokio::time::Instant;

use super::error::ProtocolError;
use super::grpc::GrpcClient;
use super::h2c::H2cConnection;
use super::observation::{ConnectionObservation, Protocol, StreamEnd, StreamObservation, millis};
use super::stream::{Recorder, StreamHandle};
use super::{sse, websocket};

/// What one stream asks the server for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StreamWhat {
    /// One request answered after `delay`: h2c `GET /?delay=`, gRPC `Slow(delay)`.
    Request {
        /// How long the server waits before answering.
        #[serde(rename = "delay_ms", with = "millis")]
        delay: Duration,
    },
    /// A stream of numbered messages, one every `every`, for `lasting` (the server's default,
    /// 10 s, when None): h2c `GET /events`, gRPC `Tick`, a WebSocket (`lasting` does not apply:
    /// it lasts until shutdown), server-sent events.
    Stream {
        /// How often the server sends.
        #[serde(rename = "every_ms", with = "millis")]
        every: Duration,
        /// How long the server keeps it going.
        #[serde(rename = "for_ms", with = "millis::option")]
        lasting: Option<Duration>,
    },
}

/// One named stream of a scenario.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamRequest {
    /// Its name in the scenario, the report and the server's log (`x-request-id`).
    pub name: String,
    /// Its protocol.
    pub protocol: Protocol,
    /// What it asks for.
    pub what: StreamWhat,
}

impl StreamRequest {
    /// The path it asks for (the gRPC method's path for gRPC), or why it cannot be asked.
    pub fn path(&self) -> Result<String, ProtocolError> {
        let query = |every: Duration, lasting: Option<Duration>| {
            let mut query = format!("every={}ms", every.as_millis().max(1));
            if let Some(lasting) = lasting {
                query.push_str(&format!("&for={}ms", lasting.as_millis().max(1)));
            }
            query
        };
        match (self.protocol, self.what) {
            (Protocol::H2c, StreamWhat::Request { delay }) => {
                Ok(format!("/?delay={}ms", delay.as_millis()))
            }
            (Protocol::H2c | Protocol::Sse, StreamWhat::Stream { every, lasting }) => {
                Ok(format!("{EVENTS_PATH}?{}", query(every, lasting)))
            }
            (Protocol::Websocket, StreamWhat::Stream { every, .. }) => {
                Ok(format!("{WS_PATH}?{}", query(every, None)))
            }
            (Protocol::Grpc, StreamWhat::Request { .. }) => {
                Ok(server_contract::stream::GRPC_SLOW_PATH.to_string())
            }
            (Protocol::Grpc, StreamWhat::Stream { .. }) => {
                Ok(server_contract::stream::GRPC_TICK_PATH.to_string())
            }
            (Protocol::Websocket | Protocol::Sse, StreamWhat::Request { .. }) => {
                Err(ProtocolError::Unsupported {
                    name: self.name.clone(),
                    protocol: self.protocol,
                    how: "a stream: write `stream = { every = \"100ms\" }` instead of a delay",
                })
            }
            (Protocol::Http1, _) => Err(ProtocolError::Unsupported {
                name: self.name.clone(),
                protocol: self.protocol,
                how: "an ordinary request (HTTP/1.1 requests are not long-lived streams)",
            }),
        }
    }
}

/// A scenario's streams, one named observation each, and the HTTP/2 connections they used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamsObservation {
    /// Each stream, in the order it was opened.
    pub streams: Vec<NamedStream>,
    /// The h2c connection and the gRPC client's connections, with their GOAWAY frames (their
    /// streams are in `streams`, not repeated here).
    pub connections: Vec<ConnectionObservation>,
}

/// A stream with its name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedStream {
    /// Its name in the scenario.
    pub name: String,
    /// What was seen of it.
    #[serde(flatten)]
    pub stream: StreamObservation,
}

/// Where each named stream is being observed.
#[derive(Debug)]
enum Slot {
    /// On its own connection.
    Own(StreamHandle),
    /// The h2c connection's stream at this index.
    H2c(usize),
    /// The gRPC client's call at this index.
    Grpc(usize),
    /// Never opened (its connection could not be made): already observed.
    Done(StreamObservation),
}

/// The streams of one scenario against one server.
#[derive(Debug)]
pub struct StreamSet {
    addr: SocketAddr,
    start: Instant,
    deadline: Duration,
    h2c: Option<H2cConnection>,
    grpc: Option<GrpcClient>,
    streams: Vec<(String, Slot)>,
}

impl StreamSet {
    /// Streams to the server on `addr`, timed from `start`, each observed for at most
    /// `deadline` from when it opens.
    pub fn new(addr: SocketAddr, start: Instant, deadline: Duration) -> Self {
        Self {
            addr,
            start,
            deadline,
            h2c: None,
            grpc: None,
            streams: Vec::new(),
        }
    }

    /// Opens `request` (the h2c connection or the gRPC client first, if this is the first of
    /// its kind). A connection the server refuses or drops is an observation: the stream ends
    /// `Refused` or `EmptyReply`.
    pub async fn open(&mut self, request: &StreamRequest) -> Result<(), ProtocolError> {
        let path = request.path()?;
        let (name, deadline) = (request.name.as_str(), self.deadline);
        let slot = match (request.protocol, request.what) {
            (Protocol::H2c, _) => {
                if self.h2c.is_none() {
                    match H2cConnection::connect(self.addr, self.start).await {
                        Ok(connection) => self.h2c = Some(connection),
                        // Through a proxy that accepts and drops, a handshake fails too.
                        Err(
                            error @ (ProtocolError::Connect { .. }
                            | ProtocolError::Handshake { .. }),
                        ) => {
                            let end = if error.is_refused() {
                                StreamEnd::Refused
                            } else {
                                StreamEnd::EmptyReply
                            };
                            let never = Recorder::new(self.start, Protocol::H2c, &path);
                            self.streams.push((
                                name.to_string(),
                                Slot::Done(never.end(end, error.to_string())),
                            ));
                            return Ok(());
                        }
                        Err(error) => return Err(error),
                    }
                }
                match self.h2c.as_mut() {
                    Some(connection) => Slot::H2c(connection.request(&path, name, deadline)?),
                    None => return Ok(()),
                }
            }
            (Protocol::Grpc, what) => {
                if self.grpc.is_none() {
                    self.grpc = Some(GrpcClient::new(self.addr, self.start)?);
                }
                let Some(client) = self.grpc.as_mut() else {
                    return Ok(());
                };
                let index = match what {
                    StreamWhat::Request { delay } => client.slow(delay, name, deadline)?,
                    StreamWhat::Stream { every, lasting } => client.tick(
                        every,
                        lasting.unwrap_or(server_contract::stream::DEFAULT_FOR),
                        name,
                        deadline,
                    )?,
                };
                Slot::Grpc(index)
            }
            (Protocol::Websocket, _) => Slot::Own(websocket::open(
                self.addr, &path, name, self.start, deadline,
            )?),
            (Protocol::Sse, _) => {
                Slot::Own(sse::open(self.addr, &path, name, self.start, deadline)?)
            }
            // Refused by `path()` above.
            (Protocol::Http1, _) => return Ok(()),
        };
        self.streams.push((name.to_string(), slot));
        Ok(())
    }

    /// Waits until stream `name` has received `count` items (its head is the first); false if
    /// it ended with fewer, or there is no such stream.
    pub async fn until_received(&mut self, name: &str, count: usize) -> bool {
        let Some((_, slot)) = self.streams.iter_mut().find(|(n, _)| n == name) else {
            return false;
        };
        match slot {
            Slot::Own(handle) => handle.until_received(count).await,
            Slot::H2c(index) => match self.h2c.as_mut() {
                Some(connection) => connection.until_received(*index, count).await,
                None => false,
            },
            Slot::Grpc(index) => match self.grpc.as_mut() {
                Some(client) => client.until_received(*index, count).await,
                None => false,
            },
            Slot::Done(seen) => seen.received.len() >= count,
        }
    }

    /// Waits for every stream to end (each within its deadline) and for the connections to
    /// close, and returns what was seen, streams in the order they were opened.
    pub async fn finish(self) -> Result<StreamsObservation, ProtocolError> {
        let mut connections = Vec::new();
        let mut h2c_streams = Vec::new();
        if let Some(connection) = self.h2c {
            let mut seen = connection.finish().await?;
            h2c_streams = std::mem::take(&mut seen.streams);
            connections.push(seen);
        }
        let mut grpc_calls = Vec::new();
        if let Some(client) = self.grpc {
            let seen = client.finish().await?;
            grpc_calls = seen.calls;
            connections.extend(seen.connections);
        }
        let mut streams = Vec::with_capacity(self.streams.len());
        for (name, slot) in self.streams {
            let stream = match slot {
                Slot::Own(handle) => Some(handle.finish().await?),
                Slot::H2c(index) => h2c_streams.get(index).cloned(),
                Slot::Grpc(index) => grpc_calls.get(index).cloned(),
                Slot::Done(seen) => Some(seen),
            };
            if let Some(stream) = stream {
                streams.push(NamedStream { name, stream });
            }
        }
        Ok(StreamsObservation {
            streams,
            connections,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(protocol: Protocol, what: StreamWhat) -> StreamRequest {
        StreamRequest {
            name: "s".to_string(),
            protocol,
            what,
        }
    }

    #[test]
    fn a_request_reads_back_from_json_in_milliseconds() {
        let request = request(
            Protocol::Grpc,
            StreamWhat::Stream {
                every: Duration::from_millis(100),
                lasting: None,
            },
        );
        let json = serde_json::to_value(&request).unwrap();
        assert_eq!(json["protocol"], "grpc");
        assert_eq!(json["what"]["stream"]["every_ms"], 100.0);
        assert!(json["what"]["stream"]["for_ms"].is_null());
        let back: StreamRequest = serde_json::from_value(json).unwrap();
        assert_eq!(back, request);
    }

    #[test]
    fn each_protocol_asks_for_its_route() {
        let stream = StreamWhat::Stream {
            every: Duration::from_millis(100),
            lasting: Some(Duration::from_secs(2)),
        };
        let delay = StreamWhat::Request {
            delay: Duration::from_millis(400),
        };
        let path = |protocol, what| request(protocol, what).path();
        assert_eq!(path(Protocol::H2c, delay).unwrap(), "/?delay=400ms");
        assert_eq!(
            path(Protocol::H2c, stream).unwrap(),
            "/events?every=100ms&for=2000ms"
        );
        assert_eq!(
            path(Protocol::Sse, stream).unwrap(),
            "/events?every=100ms&for=2000ms"
        );
        assert_eq!(
            path(Protocol::Websocket, stream).unwrap(),
            "/ws?every=100ms"
        );
        assert_eq!(
            path(Protocol::Grpc, stream).unwrap(),
            "/shutdown.v1.Probe/Tick"
        );
        assert_eq!(
            path(Protocol::Grpc, delay).unwrap(),
            "/shutdown.v1.Probe/Slow"
        );
        let refused = path(Protocol::Websocket, delay).unwrap_err().to_string();
        assert!(refused.contains("stream = { every"), "{refused}");
        assert!(path(Protocol::Http1, delay).is_err());
    }
}
