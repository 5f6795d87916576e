//! Server-sent events over an HTTP/1.1 response (hyper): each event with its id, and whether the
//! stream ended cleanly after the server's `going-away` event, ended on its own, or was cut.
//!
//! [`EventParser`] is the event-stream format of the HTML standard, reduced to what a client
//! records: lines end with LF, CRLF or CR; `id`, `event` and `data` fields; `:` comments; a blank
//! line dispatches the event. `retry` is ignored (the observer never reconnects).

use std::net::SocketAddr;
use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use server_contract::stream::SSE_GOING_AWAY_EVENT;
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::error::{ProtocolError, check_path};
use super::observation::{Item, Protocol, StreamEnd, StreamObservation};
use super::stream::{Recorder, StreamHandle};

/// The most bytes of one unfinished line kept: a server that never ends a line cannot make the
/// observer hold its whole stream.
const MAX_LINE: usize = 64 * 1024;

/// Opens `GET path` on `addr` (e.g. `/events?every=100ms&for=10s`) with request id `id` (the
/// `x-request-id` header the server logs) and observes the event stream for at most
/// `deadline`, timing from `start`. The response head is its first item.
pub fn open(
    addr: SocketAddr,
    path: &str,
    id: &str,
    start: Instant,
    deadline: Duration,
) -> Result<StreamHandle, ProtocolError> {
    check_path(path)?;
    let id = hyper::header::HeaderValue::from_str(id)
        .map_err(|_| ProtocolError::BadRequestId { id: id.to_string() })?;
    let request = hyper::Request::get(path)
        .header(hyper::header::HOST, addr.to_string())
        .header(hyper::header::ACCEPT, "text/event-stream")
        .header(server_contract::REQUEST_ID_HEADER, id)
        .body(Empty::<bytes::Bytes>::new())
        .map_err(|_| ProtocolError::BadPath {
            path: path.to_string(),
        })?;
    let recorder = Recorder::new(start, Protocol::Sse, path);
    Ok(StreamHandle::spawn(recorder, deadline, move |recorder| {
        observe(addr, request, recorder)
    }))
}

/// Sends the request and reads events until the response ends.
async fn observe(
    addr: SocketAddr,
    request: hyper::Request<Empty<bytes::Bytes>>,
    recorder: Recorder,
) -> StreamObservation {
    let tcp = match TcpStream::connect(addr).await {
        Ok(tcp) => tcp,
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            return recorder.end(StreamEnd::Refused, e.to_string());
        }
        Err(e) => return recorder.end(StreamEnd::EmptyReply, e.to_string()),
    };
    let _ = tcp.set_nodelay(true);
    let (mut send, connection) =
        match hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await {
            Ok(pair) => pair,
            Err(e) => return recorder.end(StreamEnd::EmptyReply, e.to_string()),
        };
    let driver = tokio::spawn(connection);
    let response = match send.send_request(request).await {
        Ok(response) => response,
        Err(e) => {
            driver.abort();
            return recorder.end(StreamEnd::EmptyReply, e.to_string());
        }
    };
    recorder.push(Item::Head {
        status: response.status().as_u16(),
    });
    let mut body = response.into_body();
    let mut events = EventRecorder::default();
    let end = loop {
        match body.frame().await {
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    events.feed(&recorder, data);
                }
            }
            Some(Err(e)) => break (StreamEnd::Cut, e.to_string()),
            None => break (events.clean_end(), String::new()),
        }
    };
    driver.abort();
    recorder.end(end.0, end.1)
}

/// Records the events of a response body as they complete, and tells its clean end: after the
/// server's `going-away` event, or on its own. Over HTTP/1.1 here, and over HTTP/2 in the h2c
/// observer.
#[derive(Debug, Default)]
pub(crate) struct EventRecorder {
    parser: EventParser,
    last_type: Option<String>,
}

impl EventRecorder {
    /// Records the events `bytes` complete.
    pub(crate) fn feed(&mut self, recorder: &Recorder, bytes: &[u8]) {
        for event in self.parser.feed(bytes) {
            self.last_type = event.event.clone();
            recorder.push(Item::Event {
                id: event.id,
                event: event.event,
                data: event.data,
            });
        }
    }

    /// How a stream that ended cleanly ended: [`StreamEnd::GoingAway`] if its last event was the
    /// server's goodbye, else [`StreamEnd::Complete`].
    pub(crate) fn clean_end(&self) -> StreamEnd {
        if self.last_type.as_deref() == Some(SSE_GOING_AWAY_EVENT) {
            StreamEnd::GoingAway
        } else {
            StreamEnd::Complete
        }
    }
}

/// Whether a response's content type is an event stream.
pub(crate) fn is_event_stream(headers: &hyper::HeaderMap) -> bool {
    headers
        .get(hyper::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.trim_start().starts_with("text/event-stream"))
}

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Its `id:` field, if it had one.
    pub id: Option<String>,
    /// Its `event:` field, if it had one.
    pub event: Option<String>,
    /// Its `data:` lines joined with `\n`.
    pub data: String,
}

/// Parses an event stream fed in pieces of any size.
#[derive(Debug, Default)]
pub struct EventParser {
    line: Vec<u8>,
    /// The last byte fed was a CR: an LF right after it ends no second line.
    after_cr: bool,
    id: Option<String>,
    event: Option<String>,
    data: Option<String>,
}

impl EventParser {
    /// Feeds `bytes`, returning the events they complete.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Event> {
        let mut events = Vec::new();
        for &byte in bytes {
            match byte {
                b'\n' if self.after_cr => self.after_cr = false,
                b'\n' | b'\r' => {
                    self.after_cr = byte == b'\r';
                    let line = std::mem::take(&mut self.line);
                    if let Some(event) = self.line_ended(&line) {
                        events.push(event);
                    }
                }
                _ => {
                    self.after_cr = false;
                    if self.line.len() < MAX_LINE {
                        self.line.push(byte);
                    }
                }
            }
        }
        events
    }

    /// Takes one complete line; a blank one dispatches the event gathered so far.
    fn line_ended(&mut self, line: &[u8]) -> Option<Event> {
        if line.is_empty() {
            // Each event's own fields: the last id received is the observation's to find.
            let id = self.id.take();
            let event = self.event.take();
            // An event with no data is not dispatched (HTML standard).
            let data = self.data.take()?;
            return Some(Event { id, event, data });
        }
        if line.first() == Some(&b':') {
            return None;
        }
        let line = String::from_utf8_lossy(line);
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line.as_ref(), ""),
        };
        match field {
            "id" if !value.contains('\0') => self.id = Some(value.to_string()),
            "event" => self.event = Some(value.to_string()),
            "data" => match &mut self.data {
                Some(data) => {
                    data.push('\n');
                    data.push_str(value);
                }
                None => self.data = Some(value.to_string()),
            },
            _ => {}
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn event(id: Option<&str>, name: Option<&str>, data: &str) -> Event {
        Event {
            id: id.map(str::to_string),
            event: name.map(str::to_string),
            data: data.to_string(),
        }
    }

    #[test]
    fn the_servers_events_are_parsed() {
        let stream = b"id: 1\ndata: 1\n\nid: 2\ndata: 2\n\nevent: going-away\ndata: server shutting down\n\n";
        let events = EventParser::default().feed(stream);
        assert_eq!(
            events,
            [
                event(Some("1"), None, "1"),
                event(Some("2"), None, "2"),
                event(None, Some("going-away"), "server shutting down"),
            ]
        );
    }

    #[test]
    fn line_endings_comments_and_multiline_data() {
        let stream = b": hello\r\ndata:a\r\ndata: b\rid\r\r\nevent:x\ndata\n\n";
        let events = EventParser::default().feed(stream);
        assert_eq!(
            events,
            [event(Some(""), None, "a\nb"), event(None, Some("x"), "")]
        );
    }

    #[test]
    fn an_unfinished_event_is_not_dispatched() {
        let mut parser = EventParser::default();
        assert!(parser.feed(b"id: 3\ndata: 3\n").is_empty());
        assert_eq!(parser.feed(b"\n"), [event(Some("3"), None, "3")]);
    }

    proptest! {
        #[test]
        fn any_split_gives_the_same_events(
            bytes in prop::collection::vec(
                prop::sample::select(b"id:data event\r\n: 1x".to_vec()), 0..400),
            cut in any::<prop::sample::Index>(),
            cut2 in any::<prop::sample::Index>(),
        ) {
            let whole = EventParser::default().feed(&bytes);
            let (a, b) = {
                let a = cut.index(bytes.len() + 1);
                let b = cut2.index(bytes.len() + 1);
                (a.min(b), a.max(b))
            };
            let mut parser = EventParser::default();
            let mut pieces = parser.feed(&bytes[..a]);
            pieces.extend(parser.feed(&bytes[a..b]));
            pieces.extend(parser.feed(&bytes[b..]));
            prop_assert_eq!(pieces, whole);
        }
    }
}
