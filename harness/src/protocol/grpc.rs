//! gRPC calls (tonic) to the server's `shutdown.v1.Probe`, or to any method of any server with
//! an empty request and opaque replies: each call's status, whether it came from the server
//! (trailers, or a trailers-only response) or from a failed connection, and the GOAWAY frames
//! on every connection the client made, read through a [`Tap`].

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body, Frame};
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tonic::transport::{Channel, Endpoint};

use super::error::ProtocolError;
use super::frames::{Tap, TapLog};
use super::raw_codec::{self, RawCodec};
use super::stream::{Recorder, StreamHandle};
use crate::model::streams::{ConnectionObservation, Item, Protocol, StreamEnd, StreamObservation};

/// The client generated from the server's .proto (`build.rs`).
pub mod proto {
    #![allow(missing_docs, clippy::all)]
    tonic::include_proto!("shutdown.v1");
}

use proto::probe_client::ProbeClient;

/// How long [`GrpcClient::finish`] waits for the connections to end once the calls have.
const CLOSE_WAIT: Duration = Duration::from_secs(2);

/// The metadata key gRPC status codes travel under, in trailers or a trailers-only response.
const GRPC_STATUS: &str = "grpc-status";

/// What a gRPC client saw: its calls, and the connections it made (one, unless it had to
/// connect again), each with its GOAWAY frames.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrpcObservation {
    /// The connections, in the order they were made; their `streams` are empty (a call is not
    /// tied to a connection the client can name), `closed` is when it ended, at either end.
    pub connections: Vec<ConnectionObservation>,
    /// The calls, in the order they were made.
    pub calls: Vec<StreamObservation>,
}

/// A connection the client made, and the frames it read on it.
type Connections = Arc<Mutex<Vec<(Duration, TapLog)>>>;

/// Where the client's connections count their GOAWAY frames together.
#[derive(Debug, Clone, Default)]
struct Taps {
    counter: TapLog,
    made: Connections,
}

/// A gRPC client to one server, observing its calls.
#[derive(Debug)]
pub struct GrpcClient {
    start: Instant,
    channel: TrailerSpy<Channel>,
    client: ProbeClient<TrailerSpy<Channel>>,
    taps: Taps,
    calls: Vec<StreamHandle>,
}

impl GrpcClient {
    /// A client of the server on `addr` (HTTP/2 prior knowledge), timing from `start`. It
    /// connects at its first call, and again if a call finds its connection gone.
    pub fn new(addr: SocketAddr, start: Instant) -> Result<Self, ProtocolError> {
        let endpoint = Endpoint::from_shared(format!("http://{addr}")).map_err(|e| {
            ProtocolError::Observer {
                what: format!("a gRPC client of {addr}"),
                reason: e.to_string(),
            }
        })?;
        let taps = Taps::default();
        let made = taps.clone();
        let connector = tower::service_fn(move |_: hyper::Uri| {
            let made = made.clone();
            async move {
                let opened = Instant::now().saturating_duration_since(start);
                let tcp = TcpStream::connect(addr).await?;
                let _ = tcp.set_nodelay(true);
                let log = made.counter.sibling();
                made.made
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push((opened, log.clone()));
                Ok::<_, std::io::Error>(TokioIo::new(Tap::new(tcp, start, log)))
            }
        });
        let channel = TrailerSpy {
            inner: endpoint.connect_with_connector_lazy(connector),
        };
        Ok(Self {
            start,
            client: ProbeClient::new(channel.clone()),
            channel,
            taps,
            calls: Vec::new(),
        })
    }

    /// Calls `Slow(delay)` with request id `id`, observed for at most `deadline`; returns the
    /// call's index. The reply is its one item.
    pub fn slow(
        &mut self,
        delay: Duration,
        id: &str,
        deadline: Duration,
    ) -> Result<usize, ProtocolError> {
        let message = proto::SlowRequest {
            delay_ms: millis(delay),
        };
        let request = request(message, id)?;
        let mut client = self.client.clone();
        let taps = self.taps.clone();
        let recorder = Recorder::new(
            self.start,
            Protocol::Grpc,
            server_contract::stream::GRPC_SLOW_PATH,
        );
        let handle = StreamHandle::spawn(recorder, deadline, move |recorder| async move {
            let (request, trailers) = request;
            match client.slow(request).await {
                Ok(reply) => {
                    recorder.push(Item::Message {
                        number: None,
                        text: format!("waited_ms={}", reply.get_ref().waited_ms),
                    });
                    ok_end(recorder, &trailers)
                }
                Err(status) => failed(recorder, &status, &trailers, &taps, false),
            }
        });
        self.calls.push(handle);
        Ok(self.calls.len() - 1)
    }

    /// Calls `Tick(every, lasting)` with request id `id`, observed for at most `deadline`;
    /// returns the call's index. The response head is its first item, each tick one more.
    pub fn tick(
        &mut self,
        every: Duration,
        lasting: Duration,
        id: &str,
        deadline: Duration,
    ) -> Result<usize, ProtocolError> {
        let message = proto::TickRequest {
            every_ms: millis(every),
            for_ms: millis(lasting),
        };
        let request = request(message, id)?;
        let mut client = self.client.clone();
        let taps = self.taps.clone();
        let recorder = Recorder::new(
            self.start,
            Protocol::Grpc,
            server_contract::stream::GRPC_TICK_PATH,
        );
        let handle = StreamHandle::spawn(recorder, deadline, move |recorder| async move {
            let (request, trailers) = request;
            let mut stream = match client.tick(request).await {
                Ok(response) => response.into_inner(),
                Err(status) => return failed(recorder, &status, &trailers, &taps, false),
            };
            recorder.push(Item::Head { status: 200 });
            loop {
                match stream.message().await {
                    Ok(Some(tick)) => recorder.push(Item::Message {
                        number: Some(tick.number),
                        text: String::new(),
                    }),
                    Ok(None) => return ok_end(recorder, &trailers),
                    Err(status) => return failed(recorder, &status, &trailers, &taps, true),
                }
            }
        });
        self.calls.push(handle);
        Ok(self.calls.len() - 1)
    }

    /// Calls the method at `path` (`/package.Service/Method`) of any server, with request id
    /// `id`, observed for at most `deadline`; returns the call's index. The request is an empty
    /// message, valid proto3 for every request type (each field at its default). The call is made
    /// as a server-streaming one, which a unary method answers the same on the wire (one reply,
    /// then its status): the response head is its first item, each reply one more, kept as
    /// opaque bytes.
    pub fn call(
        &mut self,
        path: &str,
        id: &str,
        deadline: Duration,
    ) -> Result<usize, ProtocolError> {
        if let Some(problem) = crate::model::streams::grpc_method_problem(path) {
            return Err(ProtocolError::BadMethod {
                path: path.to_string(),
                problem,
            });
        }
        let method =
            hyper::http::uri::PathAndQuery::try_from(path).map_err(|_| ProtocolError::BadPath {
                path: path.to_string(),
            })?;
        let (request, trailers) = request(Bytes::new(), id)?;
        let mut grpc = tonic::client::Grpc::new(self.channel.clone());
        let taps = self.taps.clone();
        let recorder = Recorder::new(self.start, Protocol::Grpc, path);
        let handle = StreamHandle::spawn(recorder, deadline, move |recorder| async move {
            // A channel is always ready: its connection is made, or fails, with the call.
            if let Err(error) = grpc.ready().await {
                let status = tonic::Status::from_error(error.into());
                return failed(recorder, &status, &trailers, &taps, false);
            }
            let answer = grpc.server_streaming(request, method, RawCodec).await;
            if let Some(head) = trailers.not_grpc() {
                return not_grpc(recorder, head);
            }
            let mut replies = match answer {
                Ok(response) => response.into_inner(),
                Err(status) => return failed(recorder, &status, &trailers, &taps, false),
            };
            recorder.push(Item::Head { status: 200 });
            loop {
                match replies.message().await {
                    Ok(Some(reply)) => recorder.push(Item::Message {
                        number: None,
                        text: raw_codec::describe(&reply),
                    }),
                    Ok(None) => return ok_end(recorder, &trailers),
                    Err(status) => return failed(recorder, &status, &trailers, &taps, true),
                }
            }
        });
        self.calls.push(handle);
        Ok(self.calls.len() - 1)
    }

    /// Waits until call `index` has received `count` items; false if it ended with fewer or
    /// there is no such call.
    pub async fn until_received(&mut self, index: usize, count: usize) -> bool {
        match self.calls.get_mut(index) {
            Some(call) => call.until_received(count).await,
            None => false,
        }
    }

    /// Waits until the client's connections have received `count` GOAWAY frames in all, at
    /// most `within`; false if they have not by then.
    pub async fn until_goaways(&self, count: usize, within: Duration) -> bool {
        tokio::time::timeout(within, self.taps.counter.until_goaways(count))
            .await
            .is_ok()
    }

    /// Waits for every call to end (each within its deadline), then for the server to close
    /// the client's connections (at most 2 s more), and returns what was seen.
    pub async fn finish(self) -> Result<GrpcObservation, ProtocolError> {
        let mut calls = Vec::with_capacity(self.calls.len());
        for call in self.calls {
            calls.push(call.finish().await?);
        }
        let made = self
            .taps
            .made
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len();
        let _ = tokio::time::timeout(CLOSE_WAIT, self.taps.counter.until_ended(made)).await;
        let connections = self
            .taps
            .made
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(opened, log)| ConnectionObservation {
                protocol: Protocol::Grpc,
                opened: *opened,
                goaways: log.goaways(),
                pings: log.pings(),
                closed: log.closed(),
                streams: Vec::new(),
            })
            .collect();
        Ok(GrpcObservation { connections, calls })
    }
}

/// Milliseconds for the .proto's fields (0 would mean the server's default: at least 1).
fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
}

/// A request carrying `message`, request id `id` and a slot the [`TrailerSpy`] fills when the
/// server's status arrives.
fn request<T>(message: T, id: &str) -> Result<(tonic::Request<T>, TrailerSlot), ProtocolError> {
    let value = tonic::metadata::MetadataValue::try_from(id)
        .map_err(|_| ProtocolError::BadRequestId { id: id.to_string() })?;
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert(server_contract::REQUEST_ID_HEADER, value);
    let slot = TrailerSlot::default();
    request.extensions_mut().insert(slot.clone());
    Ok((request, slot))
}

/// The end of a call tonic reported as OK: status OK from the server (tonic checks it is there).
fn ok_end(recorder: Recorder, trailers: &TrailerSlot) -> StreamObservation {
    if trailers.seen() {
        recorder.end(StreamEnd::grpc_status(0, ""), "")
    } else {
        recorder.end(StreamEnd::Cut, "the call ended without a grpc-status")
    }
}

/// The end of a call tonic reported as failed: the server's status if the server sent one,
/// else what its connection did (after a response had begun, if `answered`; a unary call's
/// reply and status come together, so a failed one was never answered).
fn failed(
    recorder: Recorder,
    status: &tonic::Status,
    trailers: &TrailerSlot,
    taps: &Taps,
    answered: bool,
) -> StreamObservation {
    let end = if trailers.seen() {
        StreamEnd::grpc_status(status.code() as i32, status.message())
    } else {
        match transport_end(status, taps.counter.goaways_counted() > 0) {
            StreamEnd::Cut if !answered => StreamEnd::EmptyReply,
            end => end,
        }
    };
    recorder.end(end, describe(status))
}

/// A status in words, with the chain of errors under it (the transport's, when tonic made the
/// status up).
fn describe(status: &tonic::Status) -> String {
    let mut words = format!("{:?}: {}", status.code(), status.message());
    let mut source = std::error::Error::source(status);
    while let Some(error) = source {
        words.push_str(": ");
        words.push_str(&error.to_string());
        source = error.source();
    }
    words
}

/// What a status tonic made up for a failed transport says happened to the call, given whether
/// the client has received a GOAWAY.
fn transport_end(status: &tonic::Status, after_goaway: bool) -> StreamEnd {
    let mut source = std::error::Error::source(status);
    while let Some(error) = source {
        // hyper cancels a request it never sent because its connection was closing: after a
        // GOAWAY, that is the GOAWAY refusing it.
        if let Some(hyper) = error.downcast_ref::<hyper::Error>() {
            if hyper.is_canceled() && after_goaway {
                return StreamEnd::RefusedByGoaway;
            }
        }
        if let Some(io) = error.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::ConnectionRefused {
                return StreamEnd::Refused;
            }
        }
        if let Some(h2) = error.downcast_ref::<h2::Error>() {
            if h2.is_go_away() && h2.is_remote() {
                return StreamEnd::RefusedByGoaway;
            }
            if h2.is_reset() && h2.is_remote() {
                if let Some(reason) = h2.reason() {
                    return StreamEnd::Reset {
                        code: u32::from(reason),
                    };
                }
            }
        }
        source = error.source();
    }
    StreamEnd::Cut
}

/// Set when a call's response carried a grpc-status (trailers, or a trailers-only response):
/// tonic reports a status it made up from a failed connection the same way as the server's.
/// Also notes a response that was no gRPC one at all (another HTTP status, another content
/// type: a path the server serves as plain HTTP, or not at all).
#[derive(Debug, Clone, Default)]
struct TrailerSlot {
    status_seen: Arc<AtomicBool>,
    not_grpc: Arc<OnceLock<NotGrpc>>,
}

/// The head of a response that was no gRPC one.
#[derive(Debug, Clone, PartialEq, Eq)]
struct NotGrpc {
    /// Its HTTP status.
    status: u16,
    /// Its content type, when it had one.
    content_type: Option<String>,
}

impl TrailerSlot {
    fn set(&self) {
        self.status_seen.store(true, Ordering::SeqCst);
    }

    fn seen(&self) -> bool {
        self.status_seen.load(Ordering::SeqCst)
    }

    /// Notes a response head: a non-200 status, or a content type other than gRPC's, is no
    /// gRPC answer (a gRPC server answers 200 and `application/grpc`, errors included).
    fn head(&self, status: u16, content_type: Option<&str>) {
        let grpc = content_type.is_some_and(|t| t.starts_with("application/grpc"));
        if status != 200 || !grpc {
            let _ = self.not_grpc.set(NotGrpc {
                status,
                content_type: content_type.map(str::to_string),
            });
        }
    }

    fn not_grpc(&self) -> Option<&NotGrpc> {
        self.not_grpc.get()
    }
}

/// The end of a call the server answered with no gRPC response: a complete HTTP exchange with
/// its status (tonic would wait on a body it cannot read, or make a gRPC status up).
fn not_grpc(recorder: Recorder, head: &NotGrpc) -> StreamObservation {
    recorder.push(Item::Head {
        status: head.status,
    });
    let content_type = head.content_type.as_deref().unwrap_or("none");
    recorder.end(
        StreamEnd::Complete,
        format!(
            "not a gRPC response: HTTP {}, content type {content_type}; is the path a gRPC method the server serves?",
            head.status
        ),
    )
}

/// A service between the generated client and the channel that fills each call's
/// [`TrailerSlot`] (passed in the request's extensions) when a grpc-status arrives.
#[derive(Debug, Clone)]
struct TrailerSpy<S> {
    inner: S,
}

impl<S, ReqBody, ResBody> tower::Service<hyper::Request<ReqBody>> for TrailerSpy<S>
where
    S: tower::Service<hyper::Request<ReqBody>, Response = hyper::Response<ResBody>>,
    S::Future: Send + 'static,
    ResBody: Body + Unpin,
{
    type Response = hyper::Response<SpyBody<ResBody>>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: hyper::Request<ReqBody>) -> Self::Future {
        let slot = request.extensions().get::<TrailerSlot>().cloned();
        let response = self.inner.call(request);
        Box::pin(async move {
            let response = response.await?;
            if let Some(slot) = &slot {
                let content_type = response
                    .headers()
                    .get(hyper::header::CONTENT_TYPE)
                    .and_then(|t| t.to_str().ok());
                slot.head(response.status().as_u16(), content_type);
                if response.headers().contains_key(GRPC_STATUS) {
                    slot.set();
                }
            }
            Ok(response.map(|inner| SpyBody { inner, slot }))
        })
    }
}

/// A response body that fills its call's [`TrailerSlot`] when trailers with a grpc-status pass.
#[derive(Debug)]
struct SpyBody<B> {
    inner: B,
    slot: Option<TrailerSlot>,
}

impl<B: Body + Unpin> Body for SpyBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled {
            let has_status = frame
                .trailers_ref()
                .is_some_and(|trailers| trailers.contains_key(GRPC_STATUS));
            if let (true, Some(slot)) = (has_status, &self.slot) {
                slot.set();
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}
