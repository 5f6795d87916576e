//! The long-lived streams of one scenario, opened by name from plain requests: h2c streams share
//! one connection and gRPC calls one client, as a real client's would; WebSockets and event
//! streams have a connection each. What a runner holds across the stop.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::time::Instant;

use super::error::ProtocolError;
use super::grpc::GrpcClient;
use super::h2c::H2cConnection;
use super::stream::{Recorder, StreamHandle};
use super::{sse, websocket};
use crate::model::streams::{
    NamedStream, Protocol, StreamEnd, StreamObservation, StreamRequest, StreamRoutes, StreamWhat,
    StreamsObservation,
};

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
        let path = request.path().ok_or_else(|| ProtocolError::Unsupported {
            name: request.name.clone(),
            protocol: request.protocol,
            how: request.unsupported().unwrap_or("another request"),
        })?;
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
                let index = match (&request.routes, what) {
                    (StreamRoutes::Given { path }, _) => client.call(path, name, deadline)?,
                    (_, StreamWhat::Request { delay }) => client.slow(delay, name, deadline)?,
                    (_, StreamWhat::Stream { every, lasting }) => client.tick(
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
            let seen = connection.finish().await?;
            // The connection keeps its streams too: the reports name them by stream id.
            h2c_streams = seen.streams.clone();
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

    #[tokio::test]
    async fn a_request_its_protocol_does_not_serve_is_refused_before_anything_is_sent() {
        // Nothing listens there: the request is refused before any connect.
        let addr = "127.0.0.1:9".parse().unwrap();
        let mut set = StreamSet::new(addr, Instant::now(), Duration::from_secs(1));
        let request = StreamRequest {
            name: "ws".to_string(),
            protocol: Protocol::Websocket,
            what: StreamWhat::Request {
                delay: Duration::from_millis(1),
            },
            routes: Default::default(),
        };
        let error = set.open(&request).await.unwrap_err().to_string();
        assert!(error.contains("stream = { every"), "{error}");
        assert!(error.contains("\"ws\""), "{error}");
        assert!(set.finish().await.unwrap().streams.is_empty());
    }
}
