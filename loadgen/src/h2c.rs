//! The h2c client of a load: HTTP/2 with prior knowledge (cleartext, no upgrade) on a few
//! connections (one by default), each request a stream of its own and many in flight on each
//! connection, up to the server's SETTINGS_MAX_CONCURRENT_STREAMS. A request due while every
//! connection is at its limit waits for a stream to end, and its departure lag shows it.
//!
//! A connection the server sent a GOAWAY (or that closed) takes no new stream: the streams it
//! carries finish on it, and the next request opens a new connection, as an HTTP/2 client pool
//! does. The h2 crate, the one under hyper, speaks the protocol.
//!
//! A stream is `reused` when its connection had carried earlier streams and the server had
//! spoken on it (its SETTINGS): a connection known to be up, as a kept-alive HTTP/1.1 one is.
//! Streams sent together on a connection that a proxy accepted for a closed listener, which
//! never hears from the server, are each on a new connection, not victims of the keep-alive
//! race.
//!
//! A stream's end, in the outcomes every client uses: a complete response is `ok` or
//! `http-error` by its status; a stream the server says it never processed (a GOAWAY whose last
//! stream id is below the stream's, or RST_STREAM with REFUSED_STREAM; RFC 9113 §8.7: safe to
//! retry) is `refused`, the outcome that reads `not-served`, like a connect the closed listener
//! refused; a stream the server took and dropped before its response is `reset` (RST_STREAM with
//! another code, or the connection reset) or `empty-reply` (the connection closed under it),
//! and one whose body was cut is `truncated`.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use h2::client::{ResponseFuture, SendRequest};
use http::header::{HeaderName, HeaderValue};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::dispatch::{Connections, Dispatch, Due, Pick};
use crate::fixed::MAX_CONNECTIONS;
use crate::record::{Outcome, Record, micros};
use crate::schedule::Sender;

/// How many streams a connection may open before the server's SETTINGS say otherwise: the
/// least RFC 9113 §6.5.2 recommends a server to allow.
const INITIAL_MAX_STREAMS: usize = 100;

/// What every connection needs to know.
struct Settings {
    addr: SocketAddr,
    /// `http://ADDR/PATH`: its scheme, authority and path become the request's pseudo-headers.
    uri: http::Uri,
    /// Whether the path can be sent at all (checked where it enters; any server would answer
    /// 400 to one that is not a URI path).
    path_ok: bool,
    id_header: HeaderName,
    deadline: Duration,
    /// The stream's start, which record times count from.
    start: Instant,
}

/// The h2c client, its connections running on the runtime that started it.
pub struct H2cClient {
    connections: Connections,
}

impl H2cClient {
    /// Starts `connections` connection tasks (each opens its connection when first needed) for
    /// `GET path` to `addr` as HTTP/2 streams; each request has at most `deadline`, and its
    /// record goes to `done` with times from `start`. A path that is not `path_ok` is never
    /// sent: every request is recorded as the 400 any server would answer.
    pub fn start(
        addr: SocketAddr,
        path: &str,
        path_ok: bool,
        connections: u16,
        deadline: Duration,
        start: Instant,
        done: Arc<Mutex<Vec<Record>>>,
    ) -> H2cClient {
        let count = usize::from(connections.clamp(1, MAX_CONNECTIONS));
        let uri = http::Uri::builder()
            .scheme("http")
            .authority(addr.to_string())
            .path_and_query(path)
            .build();
        let settings = Arc::new(Settings {
            addr,
            path_ok: path_ok && uri.is_ok(),
            uri: uri.unwrap_or_default(),
            id_header: HeaderName::from_static(server_contract::REQUEST_ID_HEADER),
            deadline,
            start,
        });
        // Round the connections, so that each of a few carries its share of the streams.
        let connections = Connections::start(count, Pick::First, |index, dispatch| {
            drive(index, dispatch, Arc::clone(&settings), Arc::clone(&done))
        });
        H2cClient { connections }
    }
}

impl Sender for H2cClient {
    fn send(&mut self, id: u32, at: Instant) {
        self.connections.send(id, at);
    }

    async fn finish(&mut self) {
        self.connections.finish().await;
    }
}

/// An open connection: where new streams go, and what it carries.
struct Conn {
    send: SendRequest<Bytes>,
    /// Streams opened on it so far.
    opened: u32,
    /// Whether the server has sent anything on it.
    heard: Arc<AtomicBool>,
    /// One more reference per stream in flight on it.
    in_flight: Arc<()>,
}

impl Conn {
    /// Opens a connection to `addr` and says HTTP/2's preface; the outcome a request meets
    /// when that fails.
    async fn open(addr: SocketAddr) -> Result<Conn, Outcome> {
        let tcp = TcpStream::connect(addr)
            .await
            .map_err(|error| Outcome::of_io(&error, Outcome::Refused))?;
        // A request is one small HEADERS frame: put it on the wire at once.
        let _ = tcp.set_nodelay(true);
        let heard = Arc::new(AtomicBool::new(false));
        let tcp = Heard {
            tcp,
            heard: Arc::clone(&heard),
        };
        let (send, connection) = h2::client::Builder::new()
            .initial_max_send_streams(INITIAL_MAX_STREAMS)
            .handshake::<_, Bytes>(tcp)
            .await
            .map_err(|error| outcome(failure(&error), false))?;
        // The connection's frames are read and written here until it ends; its streams see
        // how it ended.
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(Conn {
            send,
            opened: 0,
            heard,
            in_flight: Arc::new(()),
        })
    }

    /// Whether another stream fits under the server's limit (at least one: a server that
    /// allows none gets one that waits in the h2 crate's queue until its deadline).
    fn has_room(&self) -> bool {
        let in_flight = Arc::strong_count(&self.in_flight) - 1;
        in_flight < self.send.current_max_send_streams().max(1)
    }
}

/// A connection's socket, noting when the server first sent a byte.
struct Heard {
    tcp: TcpStream,
    heard: Arc<AtomicBool>,
}

impl AsyncRead for Heard {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let read = Pin::new(&mut self.tcp).poll_read(cx, buf);
        if matches!(read, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.heard.store(true, Ordering::Relaxed);
        }
        read
    }
}

impl AsyncWrite for Heard {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.tcp).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.tcp).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }
}

/// One connection's loop: takes a request whenever its connection has a stream to spare,
/// opens a stream for it, and lets the stream record itself.
async fn drive(
    index: usize,
    dispatch: Arc<Dispatch>,
    settings: Arc<Settings>,
    done: Arc<Mutex<Vec<Record>>>,
) {
    let mut conn: Option<Conn> = None;
    let mut streams: JoinSet<()> = JoinSet::new();
    loop {
        // With nothing in flight there is nothing to wait for but the next request.
        let room = conn.as_ref().is_none_or(Conn::has_room) || streams.is_empty();
        tokio::select! {
            // A stream ended: its connection has room again.
            Some(_) = streams.join_next(), if !streams.is_empty() => {}
            due = dispatch.next(index), if room => match due {
                Some(due) => open_stream(&mut conn, &settings, due, &mut streams, &done).await,
                None => break,
            },
        }
    }
    while streams.join_next().await.is_some() {}
}

/// Opens request `due`'s stream on `conn` (a new connection when there is none, or when the
/// one there takes no new stream) and spawns its reading into `streams`; records at once a
/// request that never got a stream.
async fn open_stream(
    conn: &mut Option<Conn>,
    settings: &Arc<Settings>,
    due: Due,
    streams: &mut JoinSet<()>,
    done: &Arc<Mutex<Vec<Record>>>,
) {
    let departed = Instant::now();
    let record = |outcome, status, reused| Record {
        id: due.id,
        due_us: micros(due.at.saturating_duration_since(settings.start)),
        departed_us: micros(departed.saturating_duration_since(settings.start)),
        ended_us: micros(Instant::now().saturating_duration_since(settings.start)),
        outcome,
        status,
        reused,
    };
    let push = |record: Record| {
        done.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(record);
    };
    if !settings.path_ok {
        return push(record(Outcome::HttpError, 400, false));
    }
    let until = departed + settings.deadline;
    let mut request = http::Request::new(());
    *request.uri_mut() = settings.uri.clone();
    request
        .headers_mut()
        .insert(settings.id_header.clone(), HeaderValue::from(due.id));
    let mut new = false;
    loop {
        let open = match conn {
            Some(open) => open,
            None => {
                new = true;
                match tokio::time::timeout_at(until, Conn::open(settings.addr)).await {
                    Ok(Ok(open)) => conn.insert(open),
                    Ok(Err(outcome)) => return push(record(outcome, 0, false)),
                    Err(_elapsed) => return push(record(Outcome::Timeout, 0, false)),
                }
            }
        };
        // A clone per request: the h2 crate then queues a stream past the server's limit
        // instead of refusing it (the room check above keeps that for the unforeseen).
        match open.send.clone().send_request(request.clone(), true) {
            Ok((response, _body)) => {
                let reused = open.opened > 0 && open.heard.load(Ordering::Relaxed);
                open.opened += 1;
                let stream = Stream {
                    due,
                    departed,
                    until,
                    reused,
                    _in_flight: Arc::clone(&open.in_flight),
                };
                let (settings, done) = (Arc::clone(settings), Arc::clone(done));
                streams.spawn(stream.read(response, settings, done));
                return;
            }
            // A connection that takes no new stream (the server said GOAWAY, or it closed)
            // finishes what it carries; the request goes on a new one, as a pool sends it.
            Err(_) if !new => *conn = None,
            // A new connection that takes no stream: that is the request's outcome.
            Err(error) => {
                *conn = None;
                return push(record(outcome(failure(&error), false), 0, false));
            }
        }
    }
}

/// A stream on its way: what its record needs.
struct Stream {
    due: Due,
    departed: Instant,
    /// Its deadline.
    until: Instant,
    reused: bool,
    /// Held while it is in flight: its connection counts it.
    _in_flight: Arc<()>,
}

impl Stream {
    /// Reads the response to its end, or to the deadline, and records it.
    async fn read(
        self,
        response: ResponseFuture,
        settings: Arc<Settings>,
        done: Arc<Mutex<Vec<Record>>>,
    ) {
        let mut status = 0;
        let outcome = tokio::time::timeout_at(self.until, answer(response, &mut status))
            .await
            .unwrap_or(Outcome::Timeout);
        let record = Record {
            id: self.due.id,
            due_us: micros(self.due.at.saturating_duration_since(settings.start)),
            departed_us: micros(self.departed.saturating_duration_since(settings.start)),
            ended_us: micros(Instant::now().saturating_duration_since(settings.start)),
            outcome,
            status,
            reused: self.reused,
        };
        done.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(record);
    }
}

/// The response's outcome once its stream ended, its status in `status` once its head came.
async fn answer(response: ResponseFuture, status: &mut u16) -> Outcome {
    let response = match response.await {
        Ok(response) => response,
        Err(error) => return outcome(failure(&error), false),
    };
    *status = response.status().as_u16();
    let success = response.status().is_success();
    let mut body = response.into_body();
    while let Some(chunk) = body.data().await {
        match chunk {
            Ok(chunk) => {
                // Read bytes free the window for more.
                let _ = body.flow_control().release_capacity(chunk.len());
            }
            Err(error) => return outcome(failure(&error), true),
        }
    }
    if success {
        Outcome::Ok
    } else {
        Outcome::HttpError
    }
}

/// Why a stream ended without its whole response, as far as its outcome needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    /// The server says it never processed the stream: a GOAWAY whose last stream id is below
    /// it, or RST_STREAM with REFUSED_STREAM.
    Refused,
    /// The server reset the stream with another code, or the connection was reset.
    Reset,
    /// The connection ended under it (closed, or any other error).
    Closed,
}

/// What `error` says of a stream. The h2 crate fails with the GOAWAY's own error exactly the
/// streams above its last stream id; a stream at or below it that the connection's end cuts
/// fails with the connection's I/O error.
fn failure(error: &h2::Error) -> Failure {
    let refused_stream = error.is_reset() && error.reason() == Some(h2::Reason::REFUSED_STREAM);
    if error.is_remote() && (error.is_go_away() || refused_stream) {
        return Failure::Refused;
    }
    if error.is_remote() && error.is_reset() {
        return Failure::Reset;
    }
    match error.get_io().map(io::Error::kind) {
        Some(io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted) => Failure::Reset,
        _ => Failure::Closed,
    }
}

/// The outcome of a stream that ended by `failure`, after its response head if `answered`.
fn outcome(failure: Failure, answered: bool) -> Outcome {
    match (failure, answered) {
        (_, true) => Outcome::Truncated,
        (Failure::Refused, false) => Outcome::Refused,
        (Failure::Reset, false) => Outcome::Reset,
        (Failure::Closed, false) => Outcome::EmptyReply,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;
    use crate::{ClientKind, Plan};

    const DEADLINE: Duration = Duration::from_secs(5);

    /// The h2c stream to `target` at `rate` for `duration` on `connections`, by id.
    async fn stream(
        target: SocketAddr,
        rate: u32,
        duration: Duration,
        connections: u16,
        deadline: Duration,
    ) -> Vec<Record> {
        let plan = Plan {
            target,
            path: "/".to_string(),
            rate,
            client: ClientKind::H2c,
            connections,
            duration,
            deadline,
        };
        let mut records = crate::stream(&plan).await;
        records.sort_by_key(|r| r.id);
        records
    }

    /// What an h2 server (the h2 crate's, as under hyper) saw.
    #[derive(Default)]
    struct Seen {
        connections: AtomicUsize,
        in_flight: AtomicUsize,
        most_in_flight: AtomicUsize,
    }

    /// An h2c server on 127.0.0.1 answering each request 200 `ok` after `delay`, allowing
    /// `max_streams` at once on a connection.
    async fn h2_server(delay: Duration, max_streams: u32) -> (SocketAddr, Arc<Seen>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Seen::default());
        let counted = Arc::clone(&seen);
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                counted.connections.fetch_add(1, Ordering::SeqCst);
                let seen = Arc::clone(&counted);
                tokio::spawn(async move {
                    let Ok(mut connection) = h2::server::Builder::new()
                        .max_concurrent_streams(max_streams)
                        .handshake::<_, Bytes>(socket)
                        .await
                    else {
                        return;
                    };
                    while let Some(Ok((_request, mut respond))) = connection.accept().await {
                        let seen = Arc::clone(&seen);
                        tokio::spawn(async move {
                            let now = seen.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                            seen.most_in_flight.fetch_max(now, Ordering::SeqCst);
                            tokio::time::sleep(delay).await;
                            seen.in_flight.fetch_sub(1, Ordering::SeqCst);
                            let response = http::Response::new(());
                            if let Ok(mut body) = respond.send_response(response, false) {
                                let _ = body.send_data(Bytes::from_static(b"ok"), true);
                            }
                        });
                    }
                });
            }
        });
        (addr, seen)
    }

    /// How many requests the open model makes due in `duration` at `rate`.
    fn due(rate: u32, duration: Duration) -> usize {
        duration
            .as_nanos()
            .div_ceil((Duration::from_secs(1) / rate).as_nanos()) as usize
    }

    /// "Streams on one connection": every request a stream, tens in flight at once, on the
    /// one connection opened for the first.
    #[tokio::test]
    async fn the_requests_are_streams_on_one_connection_many_in_flight() {
        let (addr, seen) = h2_server(Duration::from_millis(50), 200).await;
        let duration = Duration::from_millis(300);
        let records = stream(addr, 1000, duration, 1, DEADLINE).await;
        assert_eq!(records.len(), due(1000, duration));
        assert!(
            records
                .iter()
                .all(|r| (r.outcome, r.status) == (Outcome::Ok, 200)),
            "{records:?}"
        );
        assert_eq!(seen.connections.load(Ordering::SeqCst), 1);
        assert_eq!(records.iter().filter(|r| !r.reused).count(), 1);
        assert!(seen.most_in_flight.load(Ordering::SeqCst) >= 20);
        assert!(
            records
                .iter()
                .all(|r| r.due_us <= r.departed_us && r.departed_us <= r.ended_us)
        );
    }

    /// Two connections carry the streams in turn.
    #[tokio::test]
    async fn several_connections_share_the_streams() {
        let (addr, seen) = h2_server(Duration::from_millis(20), 200).await;
        let records = stream(addr, 500, Duration::from_millis(100), 2, DEADLINE).await;
        assert!(records.iter().all(|r| r.outcome == Outcome::Ok));
        assert_eq!(seen.connections.load(Ordering::SeqCst), 2);
        assert_eq!(records.iter().filter(|r| !r.reused).count(), 2);
    }

    /// A server that allows 2 streams at once: the rest wait for a stream to end, none is
    /// refused, and their departure lag says how long they waited.
    #[tokio::test]
    async fn a_request_due_while_the_connection_is_full_waits_for_a_stream() {
        let (addr, seen) = h2_server(Duration::from_millis(50), 2).await;
        let duration = Duration::from_millis(100);
        let records = stream(addr, 200, duration, 1, DEADLINE).await;
        assert_eq!(records.len(), due(200, duration));
        assert!(records.iter().all(|r| r.outcome == Outcome::Ok));
        assert!(seen.most_in_flight.load(Ordering::SeqCst) <= 2);
        let latest = records
            .iter()
            .map(|r| r.departed_us - r.due_us)
            .max()
            .unwrap_or(0);
        // 20 requests, two at a time, 50 ms each: the last leaves about 450 ms after the
        // first, 95 ms after it was due.
        assert!(latest > 250_000, "the latest left {latest} µs late");
    }

    /// An HTTP/2 frame: its 9-byte header, then `payload`.
    fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
        let len = u32::try_from(payload.len()).unwrap().to_be_bytes();
        let mut out = vec![len[1], len[2], len[3], kind, flags];
        out.extend_from_slice(&stream.to_be_bytes());
        out.extend_from_slice(payload);
        out
    }

    const HEADERS: u8 = 0x1;
    const END_STREAM: u8 = 0x1;
    const END_HEADERS: u8 = 0x4;

    /// A response head on `stream`: `status` is one HPACK byte (0x88: 200, 0x8e: 500).
    fn head(stream: u32, status: u8, end: bool) -> Vec<u8> {
        let flags = END_HEADERS | if end { END_STREAM } else { 0 };
        frame(HEADERS, flags, stream, &[status])
    }

    fn goaway(last_stream: u32) -> Vec<u8> {
        let mut payload = last_stream.to_be_bytes().to_vec();
        payload.extend_from_slice(&0u32.to_be_bytes());
        frame(0x7, 0, 0, &payload)
    }

    fn rst_stream(stream: u32, code: u32) -> Vec<u8> {
        frame(0x3, 0, stream, &code.to_be_bytes())
    }

    /// What a raw server does once it has read the request heads it waits for.
    #[derive(Clone, Copy)]
    enum Then {
        /// Writes these bytes and reads on until the client closes.
        Write(fn() -> Vec<u8>),
        /// Writes these bytes, then closes its side and reads on until the client closes.
        WriteAndClose(fn() -> Vec<u8>),
        /// Resets the connection.
        Reset,
    }

    /// A server on 127.0.0.1 that speaks HTTP/2 frames by hand, so that a test says exactly
    /// what the client meets: on each connection it sends an empty SETTINGS, reads frames until
    /// `heads` request heads came, then does `then`. Counts connections.
    async fn raw_server(heads: usize, then: Then) -> (SocketAddr, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&accepted);
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(raw_connection(socket, heads, then));
            }
        });
        (addr, accepted)
    }

    async fn raw_connection(mut socket: TcpStream, heads: usize, then: Then) {
        let mut preface = [0u8; 24];
        if socket.read_exact(&mut preface).await.is_err() {
            return;
        }
        let _ = socket.write_all(&frame(0x4, 0, 0, &[])).await;
        let mut seen = 0;
        while seen < heads {
            let mut header = [0u8; 9];
            if socket.read_exact(&mut header).await.is_err() {
                return;
            }
            let len = u32::from_be_bytes([0, header[0], header[1], header[2]]) as usize;
            let mut payload = vec![0u8; len];
            if socket.read_exact(&mut payload).await.is_err() {
                return;
            }
            seen += usize::from(header[3] == HEADERS);
        }
        match then {
            Then::Write(bytes) => {
                let _ = socket.write_all(&bytes()).await;
            }
            Then::WriteAndClose(bytes) => {
                let _ = socket.write_all(&bytes()).await;
                let _ = socket.shutdown().await;
            }
            Then::Reset => {
                let _ = socket.set_zero_linger();
                return;
            }
        }
        let mut rest = [0u8; 1024];
        while matches!(socket.read(&mut rest).await, Ok(n) if n > 0) {}
    }

    /// Requests 0 and 1, 10 ms apart, on one connection to a server that waits for both
    /// heads, then does `then`: their (outcome, status).
    async fn two_streams_meet(then: Then) -> Vec<(Outcome, u16)> {
        let (addr, _) = raw_server(2, then).await;
        let records = stream(addr, 100, Duration::from_millis(20), 1, DEADLINE).await;
        assert_eq!(records.len(), 2);
        assert_eq!((records[0].reused, records[1].reused), (false, true));
        records.iter().map(|r| (r.outcome, r.status)).collect()
    }

    /// RFC 9113's GOAWAY: the streams above its last stream id were never processed.
    #[tokio::test]
    async fn a_stream_above_the_goaways_last_stream_id_is_refused() {
        let answer_first_refuse_second = || [goaway(1), head(1, 0x88, true)].concat();
        assert_eq!(
            two_streams_meet(Then::Write(answer_first_refuse_second)).await,
            [(Outcome::Ok, 200), (Outcome::Refused, 0)]
        );
    }

    #[tokio::test]
    async fn refused_stream_is_refused_and_another_reset_code_is_a_reset() {
        let refuse_second = || [head(1, 0x88, true), rst_stream(3, 0x7)].concat();
        assert_eq!(
            two_streams_meet(Then::Write(refuse_second)).await,
            [(Outcome::Ok, 200), (Outcome::Refused, 0)]
        );
        let reset_second = || [head(1, 0x8e, true), rst_stream(3, 0x2)].concat();
        assert_eq!(
            two_streams_meet(Then::Write(reset_second)).await,
            [(Outcome::HttpError, 500), (Outcome::Reset, 0)]
        );
    }

    /// The connection ends under streams the server took: before a head, an empty reply (a
    /// close) or a reset (a TCP reset); after it, truncated.
    #[tokio::test]
    async fn streams_cut_with_their_connection_are_empty_replies_resets_or_truncated() {
        let head_then_close = || [head(1, 0x88, false), frame(0x0, 0, 1, b"ab")].concat();
        assert_eq!(
            two_streams_meet(Then::WriteAndClose(head_then_close)).await,
            [(Outcome::Truncated, 200), (Outcome::EmptyReply, 0)]
        );
        assert_eq!(
            two_streams_meet(Then::Reset).await,
            [(Outcome::Reset, 0), (Outcome::Reset, 0)]
        );
    }

    /// After a GOAWAY the connection takes no new stream: the next request opens another,
    /// as a pool does, and is answered there.
    #[tokio::test]
    async fn a_connection_sent_goaway_is_replaced_for_the_next_request() {
        let answer_then_goaway = || [head(1, 0x88, true), goaway(1)].concat();
        let (addr, accepted) = raw_server(1, Then::Write(answer_then_goaway)).await;
        let records = stream(addr, 20, Duration::from_millis(100), 1, DEADLINE).await;
        let seen: Vec<(Outcome, bool)> = records.iter().map(|r| (r.outcome, r.reused)).collect();
        assert_eq!(seen, [(Outcome::Ok, false), (Outcome::Ok, false)]);
        assert_eq!(accepted.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_closed_port_is_refused_and_silence_is_a_timeout() {
        let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = closed.local_addr().unwrap();
        drop(closed);
        let records = stream(addr, 100, Duration::from_millis(50), 1, DEADLINE).await;
        assert_eq!(records.len(), 5);
        assert!(
            records
                .iter()
                .all(|r| (r.outcome, r.reused) == (Outcome::Refused, false))
        );

        // A server that takes the connection and never says a word (as a proxy in front of
        // a closed listener): both streams time out, and the second, on a connection never
        // heard from, is not counted as reused.
        let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = silent.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = silent.accept().await {
                tokio::spawn(async move {
                    let mut sink = [0u8; 1024];
                    while matches!(socket.read(&mut sink).await, Ok(n) if n > 0) {}
                });
            }
        });
        let records = stream(
            addr,
            100,
            Duration::from_millis(20),
            1,
            Duration::from_millis(200),
        )
        .await;
        assert_eq!(records.len(), 2);
        assert!(
            records
                .iter()
                .all(|r| (r.outcome, r.reused) == (Outcome::Timeout, false)),
            "{records:?}"
        );
    }

    #[test]
    fn a_failure_before_the_head_is_its_own_outcome_and_after_it_truncated() {
        assert_eq!(outcome(Failure::Refused, false), Outcome::Refused);
        assert_eq!(outcome(Failure::Reset, false), Outcome::Reset);
        assert_eq!(outcome(Failure::Closed, false), Outcome::EmptyReply);
        for failure in [Failure::Refused, Failure::Reset, Failure::Closed] {
            assert_eq!(outcome(failure, true), Outcome::Truncated);
        }
        // Only what the server said is `refused`: a reason of our own making is not (the
        // I/O errors are met for real above).
        assert_eq!(
            failure(&h2::Error::from(h2::Reason::REFUSED_STREAM)),
            Failure::Closed
        );
    }
}
