//! HTTP/2 without TLS, prior knowledge (h2c): one connection, streams on it, each stream's end,
//! and the GOAWAY frames the server sent, read through a [`Tap`] since the h2 crate hides them.
//! A response body is recorded chunk by chunk, or event by event when it is an event stream.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::error::{ProtocolError, check_path};
use super::frames::{Tap, TapLog};
use super::observation::{ConnectionObservation, Goaway, Item, Protocol, StreamEnd};
use super::sse::{EventRecorder, is_event_stream};
use super::stream::{Recorder, StreamHandle};

/// How long [`H2cConnection::finish`] waits for the connection to end once its streams have.
const CLOSE_WAIT: Duration = Duration::from_secs(2);

/// One h2c connection being observed.
#[derive(Debug)]
pub struct H2cConnection {
    start: Instant,
    opened: Duration,
    send: h2::client::SendRequest<Bytes>,
    tap: TapLog,
    /// When the connection ended, once it has (from the start of the run).
    closed: watch::Receiver<Option<Duration>>,
    driver: JoinHandle<()>,
    streams: Vec<StreamHandle>,
}

impl H2cConnection {
    /// Connects to `addr` with HTTP/2 prior knowledge, timing everything from `start`.
    pub async fn connect(addr: SocketAddr, start: Instant) -> Result<Self, ProtocolError> {
        let opened = Instant::now().saturating_duration_since(start);
        let tcp = TcpStream::connect(addr)
            .await
            .map_err(|e| ProtocolError::Connect {
                addr,
                reason: e.to_string(),
                refused: e.kind() == std::io::ErrorKind::ConnectionRefused,
            })?;
        // Small frames: a delay the kernel adds to a PING answer would blur the GOAWAY steps.
        let _ = tcp.set_nodelay(true);
        let tap = TapLog::default();
        let (send, connection) = h2::client::handshake(Tap::new(tcp, start, tap.clone()))
            .await
            .map_err(|e| ProtocolError::Handshake {
                addr,
                reason: e.to_string(),
            })?;
        let (closed_tx, closed) = watch::channel(None);
        let driver = tokio::spawn(async move {
            // Its error, if any, shows in the streams it ended.
            let _ = connection.await;
            closed_tx.send_replace(Some(Instant::now().saturating_duration_since(start)));
        });
        Ok(Self {
            start,
            opened,
            send,
            tap,
            closed,
            driver,
            streams: Vec::new(),
        })
    }

    /// Opens a stream `GET path` (e.g. `/?delay=400ms`) with request id `id` (the
    /// `x-request-id` header the server logs), observed for at most `deadline`. Returns the
    /// stream's index for [`H2cConnection::until_received`].
    pub fn request(
        &mut self,
        path: &str,
        id: &str,
        deadline: Duration,
    ) -> Result<usize, ProtocolError> {
        check_path(path)?;
        let id = hyper::header::HeaderValue::from_str(id)
            .map_err(|_| ProtocolError::BadRequestId { id: id.to_string() })?;
        let request = hyper::Request::get(format!("http://localhost{path}"))
            .header(server_contract::REQUEST_ID_HEADER, id)
            .body(())
            .map_err(|_| ProtocolError::BadPath {
                path: path.to_string(),
            })?;
        let recorder = Recorder::new(self.start, Protocol::H2c, path);
        let send = self.send.clone();
        let tap = self.tap.clone();
        let handle = StreamHandle::spawn(recorder, deadline, move |recorder| {
            observe(send, request, tap, recorder)
        });
        self.streams.push(handle);
        Ok(self.streams.len() - 1)
    }

    /// Waits until stream `index` has received `count` items (the response head is one); false
    /// if it ended with fewer or there is no such stream.
    pub async fn until_received(&mut self, index: usize, count: usize) -> bool {
        match self.streams.get_mut(index) {
            Some(stream) => stream.until_received(count).await,
            None => false,
        }
    }

    /// Waits until the connection has received `count` GOAWAY frames, at most `within`; false
    /// if it has not by then.
    pub async fn until_goaways(&self, count: usize, within: Duration) -> bool {
        tokio::time::timeout(within, self.tap.until_goaways(count))
            .await
            .is_ok()
    }

    /// The GOAWAY frames received so far.
    pub fn goaways(&self) -> Vec<Goaway> {
        self.tap.goaways()
    }

    /// Waits for every stream to end (each within its deadline), then for the connection to
    /// end (at most 2 s more; the client then closes it itself), and returns what was seen.
    pub async fn finish(self) -> Result<ConnectionObservation, ProtocolError> {
        let mut streams = Vec::with_capacity(self.streams.len());
        for stream in self.streams {
            streams.push(stream.finish().await?);
        }
        // With no stream left open, the server's final GOAWAY is followed by the end of the
        // connection; a server that never closes it is let go after the wait.
        let mut closed = self.closed.clone();
        let _ = tokio::time::timeout(CLOSE_WAIT, closed.wait_for(Option::is_some)).await;
        let closed_at = *closed.borrow();
        drop(self.send);
        if closed_at.is_none() {
            self.driver.abort();
        }
        Ok(ConnectionObservation {
            protocol: Protocol::H2c,
            opened: self.opened,
            goaways: self.tap.goaways(),
            pings: self.tap.pings(),
            closed: closed_at,
            streams,
        })
    }
}

/// Sends `request` and records its response until the stream ends.
async fn observe(
    send: h2::client::SendRequest<Bytes>,
    request: hyper::Request<()>,
    tap: TapLog,
    recorder: Recorder,
) -> super::observation::StreamObservation {
    let mut ready = match send.ready().await {
        Ok(ready) => ready,
        Err(error) => return ended(recorder, &error, None, false, &tap),
    };
    let (response, _body) = match ready.send_request(request, true) {
        Ok(sent) => sent,
        Err(error) => return ended(recorder, &error, None, false, &tap),
    };
    let id = u32::from(response.stream_id());
    recorder.stream_id(id);
    let response = match response.await {
        Ok(response) => response,
        Err(error) => return ended(recorder, &error, Some(id), false, &tap),
    };
    recorder.push(Item::Head {
        status: response.status().as_u16(),
    });
    // An event stream over HTTP/2 is recorded event by event, as over HTTP/1.1.
    let mut events = is_event_stream(response.headers()).then(EventRecorder::default);
    let mut body = response.into_body();
    while let Some(chunk) = body.data().await {
        match chunk {
            Ok(chunk) => {
                let _ = body.flow_control().release_capacity(chunk.len());
                match &mut events {
                    Some(events) => events.feed(&recorder, &chunk),
                    None => recorder.data(chunk.len()),
                }
            }
            Err(error) => return ended(recorder, &error, Some(id), true, &tap),
        }
    }
    let end = events
        .as_ref()
        .map_or(StreamEnd::Complete, EventRecorder::clean_end);
    recorder.end(end, "")
}

/// Ends a stream that failed with `error` (after its response head, if `answered`), told apart
/// by the frames the server sent.
fn ended(
    recorder: Recorder,
    error: &h2::Error,
    id: Option<u32>,
    answered: bool,
    tap: &TapLog,
) -> super::observation::StreamObservation {
    let end = match classify(error, id, &tap.goaways(), &tap.resets()) {
        StreamEnd::Cut if !answered => StreamEnd::EmptyReply,
        end => end,
    };
    recorder.end(end, error.to_string())
}

/// How a failed stream ended: refused by a GOAWAY whose last stream id is below its own (or,
/// before it had an id, by any GOAWAY), reset by the server, or cut with the connection (the
/// caller tells a cut before the response head, an empty reply, apart).
pub(crate) fn classify(
    error: &h2::Error,
    id: Option<u32>,
    goaways: &[Goaway],
    resets: &[(u32, u32)],
) -> StreamEnd {
    let refused = match id {
        Some(id) => goaways.iter().any(|g| g.last_stream_id < id),
        None => !goaways.is_empty() || error.is_go_away(),
    };
    if refused {
        return StreamEnd::RefusedByGoaway;
    }
    if let Some(id) = id {
        if let Some((_, code)) = resets.iter().find(|(stream, _)| *stream == id) {
            return StreamEnd::Reset { code: *code };
        }
    }
    if error.is_reset() && error.is_remote() {
        if let Some(reason) = error.reason() {
            return StreamEnd::Reset {
                code: u32::from(reason),
            };
        }
    }
    StreamEnd::Cut
}
