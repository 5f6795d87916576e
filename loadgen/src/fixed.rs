//! The fixed client of a load: a fixed set of keep-alive connections with at most one request in
//! flight on each, as wrk2 drives them, speaking HTTP/1.1 itself over tokio's `TcpStream`.
//!
//! How it differs from the other two: `fresh` opens a connection per request; `pooled` (reqwest's
//! pool) opens another connection whenever every open one is busy, so a client that falls behind
//! turns into thousands of connections. Here the count never grows: a request due while every
//! connection is busy waits in line, and its departure lag (`departed_us - due_us`) shows it.
//! Connections are opened when first needed and again after the server closed one; like hyper's
//! pool, a connection the server closes while it is idle is noticed and replaced before the next
//! request, so a failure on a reused connection is the keep-alive race (the close crossed the
//! request on the wire), not the client's blindness.
//!
//! Why its own codec: the stream must keep up with wrk's rates on a shared 2-core machine, and a
//! request through hyper's client connection costs two tasks, a channel and a body stream. One
//! task per connection writes a prepared head and parses the answer in place (httparse, the
//! parser hyper uses), reading the body by `Content-Length`, chunks or the close, as hyper does,
//! and classifies failures exactly as the other clients do: nothing of a head and then the close
//! is `empty-reply`, a reset before the head is `reset`, a body cut short is `truncated`.

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::dispatch::{Connections, Dispatch, Due, Pick};
use crate::record::{Outcome, Record, micros};
use crate::schedule::Sender;

/// The most connections a client may keep: each is a file descriptor.
pub const MAX_CONNECTIONS: u16 = 4096;

/// Bytes a connection reads at once; a response head must fit in [`MAX_HEAD`].
const READ_CHUNK: usize = 16 * 1024;
/// The largest response head accepted (hyper's default buffer limit is about this).
const MAX_HEAD: usize = 400 * 1024;
/// How many headers a response head may have.
const MAX_HEADERS: usize = 64;

/// What every connection needs to know.
pub(crate) struct Settings {
    addr: SocketAddr,
    /// The request head up to the request id's value.
    head_start: Vec<u8>,
    /// Whether the path can be sent at all (checked where it enters; any server would answer
    /// 400 to one that is not a URI path).
    path_ok: bool,
    deadline: Duration,
    /// The stream's start, which record times count from.
    start: Instant,
}

impl Settings {
    /// What requests for `GET path` to `addr` need; with `close`, each asks the server to
    /// close its connection after the response.
    pub(crate) fn new(
        addr: SocketAddr,
        path: &str,
        path_ok: bool,
        deadline: Duration,
        start: Instant,
        close: bool,
    ) -> Settings {
        let connection = if close { "connection: close\r\n" } else { "" };
        Settings {
            addr,
            head_start: format!(
                "GET {path} HTTP/1.1\r\nhost: {addr}\r\n{connection}{}: ",
                server_contract::REQUEST_ID_HEADER
            )
            .into_bytes(),
            path_ok,
            deadline,
            start,
        }
    }
}

/// The fixed client, its connections running on the runtime that started it.
pub struct FixedClient {
    connections: Connections,
}

impl FixedClient {
    /// Starts `connections` connection tasks (each opens its connection when first needed) for
    /// `GET path` to `addr`; each request has at most `deadline`, and its record goes to `done`
    /// with times from `start`. A path that is not `path_ok` is never sent: every request is
    /// recorded as the 400 any server would answer.
    pub fn start(
        addr: SocketAddr,
        path: &str,
        path_ok: bool,
        connections: u16,
        deadline: Duration,
        start: Instant,
        done: Arc<Mutex<Vec<Record>>>,
    ) -> FixedClient {
        let count = usize::from(connections.clamp(1, MAX_CONNECTIONS));
        let settings = Arc::new(Settings::new(addr, path, path_ok, deadline, start, false));
        let connections = Connections::start(count, Pick::Last, |index, dispatch| {
            drive(index, dispatch, Arc::clone(&settings), Arc::clone(&done))
        });
        FixedClient { connections }
    }
}

impl Sender for FixedClient {
    fn send(&mut self, id: u32, at: Instant) {
        self.connections.send(id, at);
    }

    async fn finish(&mut self) {
        self.connections.finish().await;
    }
}

/// One connection's loop: takes requests in turn, sends each, records what it met.
async fn drive(
    index: usize,
    dispatch: Arc<Dispatch>,
    settings: Arc<Settings>,
    done: Arc<Mutex<Vec<Record>>>,
) {
    let mut conn: Option<Conn> = None;
    let mut head = Vec::with_capacity(settings.head_start.len() + 16);
    loop {
        let waited = match conn.as_mut() {
            // While idle, a close by the server is noticed, as a pool notices it.
            Some(open) => tokio::select! {
                biased;
                closed = open.closed_while_idle() => Idle::Closed(closed),
                due = dispatch.next(index) => Idle::Due(due),
            },
            None => Idle::Due(dispatch.next(index).await),
        };
        let due = match waited {
            Idle::Closed(closed) => {
                if closed {
                    conn = None;
                }
                continue;
            }
            Idle::Due(Some(due)) => due,
            Idle::Due(None) => break,
        };
        let record = one_request(&mut conn, &settings, &mut head, due).await;
        done.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(record);
    }
}

/// Request `due` on `conn` (opened first when None), with `head` as scratch space: its
/// record. Leaves `conn` None when the connection cannot carry another request.
pub(crate) async fn one_request(
    conn: &mut Option<Conn>,
    settings: &Settings,
    head: &mut Vec<u8>,
    due: Due,
) -> Record {
    let started = Instant::now();
    let reused = conn.is_some();
    let mut status = 0;
    let outcome = if settings.path_ok {
        head.clear();
        head.extend_from_slice(&settings.head_start);
        push_decimal(head, due.id);
        head.extend_from_slice(b"\r\n\r\n");
        let exchange = exchange(conn, settings, head, &mut status);
        match tokio::time::timeout(settings.deadline, exchange).await {
            Ok(outcome) => outcome,
            Err(_elapsed) => {
                // What the connection holds now is unknown: it is not used again.
                *conn = None;
                Outcome::Timeout
            }
        }
    } else {
        status = 400;
        Outcome::HttpError
    };
    Record {
        id: due.id,
        due_us: micros(due.at.saturating_duration_since(settings.start)),
        departed_us: micros(started.saturating_duration_since(settings.start)),
        ended_us: micros(Instant::now().saturating_duration_since(settings.start)),
        outcome,
        status,
        reused,
    }
}

/// What ended a connection's wait between requests.
enum Idle {
    /// The server closed it (true), or a wake was spurious (false).
    Closed(bool),
    /// The next request, or None once the stream is over.
    Due(Option<Due>),
}

/// One request on `conn`, opening it first when there is none; leaves `conn` None when the
/// connection cannot carry another request.
async fn exchange(
    conn: &mut Option<Conn>,
    settings: &Settings,
    head: &[u8],
    status: &mut u16,
) -> Outcome {
    let open = match conn {
        Some(open) => open,
        None => match TcpStream::connect(settings.addr).await {
            Ok(stream) => {
                // Each request is one small write: put it on the wire at once.
                let _ = stream.set_nodelay(true);
                conn.insert(Conn::new(stream))
            }
            Err(error) => return Outcome::of_io(&error, Outcome::Refused),
        },
    };
    let (outcome, keep) = open.request(head, status).await;
    if !keep {
        *conn = None;
    }
    outcome
}

/// An open connection and what it has read.
pub(crate) struct Conn {
    stream: TcpStream,
    /// Bytes read; `buf[start..end]` are not consumed yet.
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

/// What a read brought.
enum Read {
    /// This many new bytes.
    Bytes,
    /// The peer closed its side.
    Closed,
    /// An error (a reset, mostly).
    Failed(io::Error),
}

impl Conn {
    fn new(stream: TcpStream) -> Conn {
        Conn {
            stream,
            buf: vec![0; READ_CHUNK],
            start: 0,
            end: 0,
        }
    }

    /// Resolves once the server closed the idle connection (true) or a wake turned out to be
    /// spurious (false); pending otherwise.
    async fn closed_while_idle(&mut self) -> bool {
        if self.stream.readable().await.is_err() {
            return true;
        }
        let mut byte = [0u8; 1];
        match self.stream.try_read(&mut byte) {
            // Nothing to read after all: the readiness was stale.
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => false,
            // Closed, reset, or bytes no request asked for: not usable for the next request.
            _ => true,
        }
    }

    /// Reads more into the buffer, making room first.
    async fn fill(&mut self) -> Read {
        use tokio::io::AsyncReadExt;
        if self.start == self.end {
            (self.start, self.end) = (0, 0);
        } else if self.end == self.buf.len() {
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                (self.start, self.end) = (0, self.end - self.start);
            } else {
                let grown = self.buf.len() * 2;
                self.buf.resize(grown, 0);
            }
        }
        match self.stream.read(&mut self.buf[self.end..]).await {
            Ok(0) => Read::Closed,
            Ok(n) => {
                self.end += n;
                Read::Bytes
            }
            Err(error) => Read::Failed(error),
        }
    }

    fn unread(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Writes `head` and reads the response: its outcome, and whether the connection can carry
    /// another request.
    async fn request(&mut self, head: &[u8], status: &mut u16) -> (Outcome, bool) {
        // Whatever a finished exchange left unread was dropped with it.
        (self.start, self.end) = (0, 0);
        if let Err(error) = self.stream.write_all(head).await {
            return (Outcome::of_io(&error, Outcome::Reset), false);
        }
        let response = loop {
            match self.head() {
                Ok(Some(response)) if response.status < 200 && response.status != 101 => {
                    // An interim answer (100 Continue, 103): the real one follows.
                    self.start += response.len;
                    continue;
                }
                Ok(Some(response)) => break response,
                // Unparseable: hyper's client says the same of it as of a close.
                Err(()) => return (Outcome::EmptyReply, false),
                Ok(None) => {}
            }
            if self.end - self.start >= MAX_HEAD {
                return (Outcome::EmptyReply, false);
            }
            match self.fill().await {
                Read::Bytes => {}
                // Closed before a whole head: nothing of a response arrived (curl 52).
                Read::Closed => return (Outcome::EmptyReply, false),
                Read::Failed(error) => return (Outcome::of_io(&error, Outcome::EmptyReply), false),
            }
        };
        *status = response.status;
        self.start += response.len;
        let body = match response.body {
            Body::Empty => true,
            Body::Length(length) => self.skip(length).await,
            Body::Chunked => self.chunks().await,
            Body::UntilClose => self.until_close().await,
        };
        let outcome = if !body {
            Outcome::Truncated
        } else if (200..300).contains(&response.status) {
            Outcome::Ok
        } else {
            Outcome::HttpError
        };
        // Bytes past the response belong to no request: the connection is not trusted again.
        let keep = body && response.keep_alive && self.start == self.end;
        (outcome, keep)
    }

    /// The response head at the start of the unread bytes, if it is whole; Err if it is not
    /// HTTP.
    fn head(&self) -> Result<Option<Head>, ()> {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut response = httparse::Response::new(&mut headers);
        let len = match response.parse(self.unread()) {
            Ok(httparse::Status::Complete(len)) => len,
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(_) => return Err(()),
        };
        let status = response.code.unwrap_or(0);
        let mut keep_alive = response.version == Some(1);
        let (mut length, mut chunked) = (None, false);
        for header in response.headers.iter() {
            if header.name.eq_ignore_ascii_case("content-length") {
                let parsed = std::str::from_utf8(header.value)
                    .ok()
                    .and_then(|v| v.trim().parse::<u64>().ok());
                match (parsed, length) {
                    (Some(n), None) => length = Some(n),
                    (Some(n), Some(m)) if n == m => {}
                    // Two lengths, or one that is no number: hyper refuses the response.
                    _ => return Err(()),
                }
            } else if header.name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = last_token(header.value).eq_ignore_ascii_case(b"chunked");
            } else if header.name.eq_ignore_ascii_case("connection") {
                for token in header.value.split(|b| *b == b',') {
                    let token = token.trim_ascii();
                    if token.eq_ignore_ascii_case(b"close") {
                        keep_alive = false;
                    } else if token.eq_ignore_ascii_case(b"keep-alive") {
                        keep_alive = true;
                    }
                }
            }
        }
        if status == 101 {
            // Switched to another protocol: no more HTTP/1.1 on it.
            keep_alive = false;
        }
        let body = if status == 204 || status == 304 || (100..200).contains(&status) {
            Body::Empty
        } else if chunked {
            Body::Chunked
        } else if let Some(length) = length {
            if length == 0 {
                Body::Empty
            } else {
                Body::Length(length)
            }
        } else {
            keep_alive = false;
            Body::UntilClose
        };
        Ok(Some(Head {
            len,
            status,
            keep_alive,
            body,
        }))
    }

    /// Consumes `length` body bytes; false when the connection ended first.
    async fn skip(&mut self, mut length: u64) -> bool {
        loop {
            let have = (self.end - self.start) as u64;
            if have >= length {
                self.start += length as usize;
                return true;
            }
            length -= have;
            (self.start, self.end) = (0, 0);
            if !matches!(self.fill().await, Read::Bytes) {
                return false;
            }
        }
    }

    /// Consumes a chunked body to its last chunk and trailers; false when it was cut.
    async fn chunks(&mut self) -> bool {
        loop {
            let size = loop {
                match httparse::parse_chunk_size(self.unread()) {
                    Ok(httparse::Status::Complete((len, size))) => {
                        self.start += len;
                        break size;
                    }
                    Ok(httparse::Status::Partial) if self.end - self.start < MAX_HEAD => {
                        if !matches!(self.fill().await, Read::Bytes) {
                            return false;
                        }
                    }
                    _ => return false,
                }
            };
            if size == 0 {
                return self.trailers().await;
            }
            // The chunk and the line end after it.
            if !self.skip(size.saturating_add(2)).await {
                return false;
            }
        }
    }

    /// Consumes the trailer section after the last chunk, up to its empty line.
    async fn trailers(&mut self) -> bool {
        loop {
            let unread = self.unread();
            if let Some(at) = unread.windows(2).position(|w| w == b"\r\n") {
                self.start += at + 2;
                if at == 0 {
                    return true;
                }
                continue;
            }
            if unread.len() >= MAX_HEAD || !matches!(self.fill().await, Read::Bytes) {
                return false;
            }
        }
    }

    /// Consumes a body that ends with the connection; false when it was reset instead.
    async fn until_close(&mut self) -> bool {
        loop {
            (self.start, self.end) = (0, 0);
            match self.fill().await {
                Read::Bytes => {}
                Read::Closed => return true,
                Read::Failed(_) => return false,
            }
        }
    }
}

/// A response head, as much of it as the exchange needs.
struct Head {
    /// Its length in bytes.
    len: usize,
    status: u16,
    /// Whether the connection may carry another request after this response.
    keep_alive: bool,
    body: Body,
}

/// How a response's body ends.
enum Body {
    Empty,
    Length(u64),
    Chunked,
    UntilClose,
}

/// The last comma-separated token of a header value (`gzip, chunked` -> `chunked`).
fn last_token(value: &[u8]) -> &[u8] {
    value
        .rsplit(|b| *b == b',')
        .next()
        .unwrap_or_default()
        .trim_ascii()
}

/// Appends `n` in decimal.
fn push_decimal(out: &mut Vec<u8>, n: u32) {
    let mut digits = [0u8; 10];
    let mut at = digits.len();
    let mut n = n;
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;
    use crate::Plan;

    const OK: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";

    /// What the test server does on each connection.
    #[derive(Clone, Copy)]
    enum Peer {
        /// Answers every request with `OK`, keeping the connection.
        KeepAlive,
        /// Answers each request `after` it arrived.
        Slow(Duration),
        /// Answers the first request, then closes the connection while it is idle.
        CloseWhenIdle,
        /// Answers the first request; reads the second and closes without a byte, with a
        /// reset when `reset`.
        DropSecond { reset: bool },
        /// Answers every request with these bytes, then closes.
        Raw(&'static [u8]),
    }

    /// A server on 127.0.0.1 that treats each connection as `peer` says; counts connections.
    async fn serve(peer: Peer) -> (SocketAddr, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&accepted);
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(connection(socket, peer));
            }
        });
        (addr, accepted)
    }

    async fn connection(mut socket: TcpStream, peer: Peer) {
        let mut buf = Vec::new();
        let mut answered = 0;
        while read_head(&mut socket, &mut buf).await {
            match peer {
                Peer::DropSecond { reset } if answered == 1 => {
                    if reset {
                        socket.set_zero_linger().unwrap();
                    }
                    return;
                }
                Peer::Slow(after) => tokio::time::sleep(after).await,
                Peer::Raw(bytes) => {
                    let _ = socket.write_all(bytes).await;
                    return;
                }
                _ => {}
            }
            if socket.write_all(OK).await.is_err() {
                return;
            }
            answered += 1;
            if matches!(peer, Peer::CloseWhenIdle) {
                return;
            }
        }
    }

    /// Reads one request head; false at the end of the connection.
    async fn read_head(socket: &mut TcpStream, buf: &mut Vec<u8>) -> bool {
        loop {
            if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                buf.drain(..at + 4);
                return true;
            }
            let mut chunk = [0u8; 1024];
            match socket.read(&mut chunk).await {
                Ok(0) | Err(_) => return false,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
    }

    /// The fixed client's stream to `addr` at `rate` for `duration` on `connections`, by id.
    async fn stream(
        addr: SocketAddr,
        rate: u32,
        duration: Duration,
        connections: u16,
        deadline: Duration,
    ) -> Vec<Record> {
        let plan = Plan {
            target: addr,
            path: "/".to_string(),
            rate,
            client: crate::ClientKind::Fixed,
            connections,
            duration,
            deadline,
        };
        let mut records = crate::stream(&plan).await;
        records.sort_by_key(|r| r.id);
        records
    }

    /// Which connection a request went out on.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Connection {
        New,
        Reused,
    }

    fn conn(record: &Record) -> Connection {
        if record.reused {
            Connection::Reused
        } else {
            Connection::New
        }
    }

    /// How many requests the open model makes due in `duration` at `rate`.
    fn due(rate: u32, duration: Duration) -> usize {
        duration
            .as_nanos()
            .div_ceil((Duration::from_secs(1) / rate).as_nanos()) as usize
    }

    const DEADLINE: Duration = Duration::from_secs(5);

    #[tokio::test]
    async fn every_request_is_recorded_once_on_at_most_its_connections() {
        let (addr, accepted) = serve(Peer::KeepAlive).await;
        let duration = Duration::from_millis(500);
        let records = stream(addr, 2000, duration, 4, DEADLINE).await;
        assert_eq!(records.len(), due(2000, duration));
        let ids: HashSet<u32> = records.iter().map(|r| r.id).collect();
        assert_eq!(ids.len(), records.len(), "an id recorded twice");
        assert!(
            records
                .iter()
                .all(|r| (r.outcome, r.status) == (Outcome::Ok, 200))
        );
        let new = records
            .iter()
            .filter(|r| conn(r) == Connection::New)
            .count();
        assert!((1..=4).contains(&new), "{new} connections opened");
        assert!(accepted.load(Ordering::SeqCst) <= 4);
        assert!(
            records
                .iter()
                .all(|r| r.due_us <= r.departed_us && r.departed_us <= r.ended_us)
        );
    }

    /// The open model: a server answering 80 requests/s on 4 connections, asked for 1000/s.
    /// Nothing is dropped from the record; requests wait for a connection, and their
    /// departure lag says so.
    #[tokio::test]
    async fn a_rate_the_server_cannot_sustain_waits_and_loses_no_record() {
        let (addr, accepted) = serve(Peer::Slow(Duration::from_millis(50))).await;
        let duration = Duration::from_millis(300);
        let records = stream(addr, 1000, duration, 4, DEADLINE).await;
        assert_eq!(records.len(), due(1000, duration));
        assert!(records.iter().all(|r| r.outcome == Outcome::Ok));
        assert!(accepted.load(Ordering::SeqCst) <= 4);
        let latest = records
            .iter()
            .map(|r| r.departed_us - r.due_us)
            .max()
            .unwrap_or(0);
        // 300 requests through 4 connections at 50 ms each leave over 3.75 s.
        assert!(latest > 2_000_000, "the latest left {latest} µs late");
    }

    /// A server that does not answer within the deadline: every request is still recorded,
    /// as a timeout, and the connections it held are not used again.
    #[tokio::test]
    async fn timeouts_are_recorded_and_their_connections_dropped() {
        let (addr, accepted) = serve(Peer::Slow(Duration::from_secs(10))).await;
        let duration = Duration::from_millis(100);
        let records = stream(addr, 100, duration, 2, Duration::from_millis(200)).await;
        assert_eq!(records.len(), due(100, duration));
        assert!(records.iter().all(|r| r.outcome == Outcome::Timeout));
        assert!(records.iter().all(|r| conn(r) == Connection::New));
        assert_eq!(accepted.load(Ordering::SeqCst), records.len());
    }

    /// A close while the connection is idle is noticed: the next request goes out on a new
    /// connection and is answered.
    #[tokio::test]
    async fn a_connection_closed_while_idle_is_replaced() {
        let (addr, _) = serve(Peer::CloseWhenIdle).await;
        let duration = Duration::from_millis(500);
        let records = stream(addr, 20, duration, 1, DEADLINE).await;
        assert_eq!(records.len(), 10);
        for record in &records {
            assert_eq!(
                (record.outcome, conn(record)),
                (Outcome::Ok, Connection::New),
                "{record:?}"
            );
        }
    }

    /// The server reads a request on a kept-alive connection and closes it without a byte:
    /// an empty reply on a reused connection; the client reconnects for the next one.
    #[tokio::test]
    async fn a_close_without_an_answer_is_an_empty_reply_and_the_client_reconnects() {
        let (addr, _) = serve(Peer::DropSecond { reset: false }).await;
        let records = stream(addr, 20, Duration::from_millis(250), 1, DEADLINE).await;
        let seen: Vec<(Outcome, Connection)> =
            records.iter().map(|r| (r.outcome, conn(r))).collect();
        assert_eq!(
            seen,
            [
                (Outcome::Ok, Connection::New),
                (Outcome::EmptyReply, Connection::Reused),
                (Outcome::Ok, Connection::New),
                (Outcome::EmptyReply, Connection::Reused),
                (Outcome::Ok, Connection::New),
            ]
        );
        assert_eq!(records[1].status, 0);
    }

    /// The same with a reset: `reset`, not an empty reply.
    #[tokio::test]
    async fn a_reset_without_an_answer_is_a_reset() {
        let (addr, _) = serve(Peer::DropSecond { reset: true }).await;
        let records = stream(addr, 20, Duration::from_millis(150), 1, DEADLINE).await;
        let seen: Vec<(Outcome, Connection)> =
            records.iter().map(|r| (r.outcome, conn(r))).collect();
        assert_eq!(
            seen,
            [
                (Outcome::Ok, Connection::New),
                (Outcome::Reset, Connection::Reused),
                (Outcome::Ok, Connection::New),
            ]
        );
    }

    #[tokio::test]
    async fn a_closed_port_is_refused() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let records = stream(addr, 100, Duration::from_millis(50), 2, DEADLINE).await;
        assert_eq!(records.len(), 5);
        assert!(
            records
                .iter()
                .all(|r| (r.outcome, conn(r)) == (Outcome::Refused, Connection::New))
        );
    }

    /// One request answered with `bytes`, then the close: its outcome and status.
    async fn answered_with(bytes: &'static [u8]) -> (Outcome, u16) {
        let (addr, _) = serve(Peer::Raw(bytes)).await;
        let records = stream(addr, 10, Duration::from_millis(1), 1, DEADLINE).await;
        assert_eq!(records.len(), 1);
        (records[0].outcome, records[0].status)
    }

    #[tokio::test]
    async fn bodies_are_read_to_their_end_however_they_are_framed() {
        assert_eq!(
            answered_with(
                b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
            )
            .await,
            (Outcome::Ok, 200)
        );
        assert_eq!(
            answered_with(b"HTTP/1.1 200 OK\r\n\r\nuntil the close").await,
            (Outcome::Ok, 200)
        );
        assert_eq!(
            answered_with(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n").await,
            (Outcome::Ok, 204)
        );
        assert_eq!(
            answered_with(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n").await,
            (Outcome::HttpError, 503)
        );
    }

    #[tokio::test]
    async fn a_body_cut_short_is_truncated() {
        assert_eq!(
            answered_with(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc").await,
            (Outcome::Truncated, 200)
        );
        assert_eq!(
            answered_with(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n")
                .await,
            (Outcome::Truncated, 200)
        );
    }

    #[tokio::test]
    async fn half_a_head_then_the_close_is_an_empty_reply() {
        assert_eq!(
            answered_with(b"HTTP/1.1 200 OK\r\ncontent-").await,
            (Outcome::EmptyReply, 0)
        );
    }

    #[test]
    fn heads_carry_the_id_in_decimal() {
        for n in [0, 7, 10, 4_294_967_295] {
            let mut out = Vec::new();
            push_decimal(&mut out, n);
            assert_eq!(out, n.to_string().as_bytes());
        }
        assert_eq!(last_token(b"gzip, chunked"), b"chunked");
        assert_eq!(last_token(b"chunked"), b"chunked");
    }
}
