//! A request table (`{ name, at, delay | download | path | stream }`) into a [`RequestSpec`]:
//! an HTTP/1.1 request, or with another `protocol` a request or stream of that protocol.

use crate::model::scenario::{Offset, RequestKind, RequestSpec};
use crate::model::streams::{Protocol, StreamRequest, StreamRoutes, StreamWhat};

use super::doc::{DownloadDoc, RequestDoc, Sp, StreamDoc};
use super::file::{FileCx, MAX_DOWNLOAD};
use super::values::parse_duration;

impl FileCx<'_> {
    /// The request of `doc`, sent over `protocol`, whose name must differ from the `earlier`
    /// ones; None when the table is wrong. Name, offset and kind are each checked, so one pass
    /// reports all three.
    pub(super) fn request(
        &mut self,
        doc: &Sp<RequestDoc>,
        earlier: &[RequestSpec],
        protocol: Protocol,
    ) -> Option<RequestSpec> {
        let at_table = doc.span().start;
        let doc = doc.get_ref();
        let name = self.request_name(doc, at_table, earlier);
        let at = self.request_at(doc, at_table);
        let kind = match (&doc.path, protocol) {
            (_, Protocol::Http1) if doc.stream.is_some() => {
                self.error(
                    doc.stream.as_ref().map_or(at_table, |s| s.span().start),
                    "a `stream` needs a protocol that streams: set protocol = \"websocket\", \"sse\", \"grpc\" or \"h2c\"",
                );
                None
            }
            (Some(path), Protocol::Http1) => self.get_path(doc, path),
            (None, Protocol::Http1) => self.endpoint(doc),
            (_, protocol) => self.stream_kind(doc, at_table, protocol, name.as_deref()),
        };
        Some(RequestSpec {
            name: name?,
            at: at?,
            kind: kind?,
        })
    }

    /// The request's `name`: present, of letters, digits, - and _, and not used `earlier`.
    fn request_name(
        &mut self,
        doc: &RequestDoc,
        at_table: usize,
        earlier: &[RequestSpec],
    ) -> Option<String> {
        let Some(name) = &doc.name else {
            self.error(
                at_table,
                "request has no `name` (like name = \"in-flight\")",
            );
            return None;
        };
        let text = name.get_ref();
        if text.is_empty()
            || !text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            self.error(
                name.span().start,
                format!(
                    "bad request name {text:?}: use letters, digits, - and _ (like \"in-flight\")"
                ),
            );
            return None;
        }
        if earlier.iter().any(|r| r.name == *text) {
            self.error(
                name.span().start,
                format!("request name `{text}` is used twice in this scenario"),
            );
            return None;
        }
        Some(text.clone())
    }

    /// The request's `at`: its offset from the stop.
    fn request_at(&mut self, doc: &RequestDoc, at_table: usize) -> Option<Offset> {
        let Some(at) = &doc.at else {
            self.error(
                at_table,
                "request has no `at` (its time relative to the stop, like at = \"-300ms\" or at = \"+300ms\")",
            );
            return None;
        };
        let offset = Offset::parse(at.get_ref());
        if offset.is_none() {
            self.error(
                at.span().start,
                format!(
                    "bad offset {:?} for `at`: write it like \"-300ms\" (before the stop) or \"+300ms\" (after it), at most an hour",
                    at.get_ref()
                ),
            );
        }
        offset
    }

    /// A GET of `path`, which excludes graceful-server's endpoints (`delay`, `download`).
    fn get_path(&mut self, doc: &RequestDoc, path: &Sp<String>) -> Option<RequestKind> {
        let other = doc.delay.as_ref().map(|d| ("delay", d.span().start));
        let other = other.or(doc.download.as_ref().map(|d| ("download", d.span().start)));
        if let Some((key, at)) = other {
            self.error(
                at,
                format!(
                    "a request has either `path` (GET that path) or `{key}` (graceful-server's endpoints), not both"
                ),
            );
            return None;
        }
        if let Some(problem) = crate::client::path_problem(path.get_ref()) {
            self.error(path.span().start, format!("bad `path`: {problem}"));
            return None;
        }
        Some(RequestKind::Get {
            path: path.get_ref().clone(),
        })
    }

    /// One of graceful-server's endpoints: `/` (slow, with an optional `delay`) or `download`.
    fn endpoint(&mut self, doc: &RequestDoc) -> Option<RequestKind> {
        match (&doc.delay, &doc.download) {
            (Some(delay), Some(_)) => {
                self.error(
                    delay.span().start,
                    "a request has either `delay` (GET /) or `download` (GET /download), not both",
                );
                None
            }
            (Some(delay), None) => match parse_duration("delay", delay.get_ref()) {
                Ok(d) => Some(RequestKind::Slow { delay: Some(d) }),
                Err(message) => {
                    self.error(delay.span().start, message);
                    None
                }
            },
            (None, None) => Some(RequestKind::Slow { delay: None }),
            (None, Some(download)) => self.download(download),
        }
    }

    /// A request of `protocol` (not HTTP/1.1): `delay` (an h2c `GET /?delay=`, a gRPC `Slow`)
    /// or `stream = { every, for }` (a WebSocket, an event stream, a gRPC `Tick`, h2c events).
    fn stream_kind(
        &mut self,
        doc: &RequestDoc,
        at_table: usize,
        protocol: Protocol,
        name: Option<&str>,
    ) -> Option<RequestKind> {
        let http1 = doc.path.as_ref().map(|p| ("path", p.span().start));
        let http1 = http1.or(doc.download.as_ref().map(|d| ("download", d.span().start)));
        if let Some((key, at)) = http1 {
            self.error(
                at,
                format!(
                    "`{key}` is an HTTP/1.1 request, and this scenario's protocol is {}: give the request `delay` or `stream = {{ every = \"100ms\" }}`",
                    protocol.name()
                ),
            );
            return None;
        }
        let what = match (&doc.delay, &doc.stream) {
            (Some(delay), Some(_)) => {
                self.error(
                    delay.span().start,
                    "a request has either `delay` (one answer after it) or `stream` (numbered messages), not both",
                );
                return None;
            }
            (Some(delay), None) => match parse_duration("delay", delay.get_ref()) {
                Ok(delay) => StreamWhat::Request { delay },
                Err(message) => {
                    self.error(delay.span().start, message);
                    return None;
                }
            },
            (None, Some(stream)) => self.stream_table(stream)?,
            (None, None) => {
                self.error(
                    at_table,
                    format!(
                        "with protocol = \"{}\" a request has `delay` (like delay = \"2s\") or `stream` (like stream = {{ every = \"100ms\" }})",
                        protocol.name()
                    ),
                );
                return None;
            }
        };
        let request = StreamRequest {
            name: name.unwrap_or_default().to_string(),
            protocol,
            what,
            routes: Default::default(),
        };
        if let Some(how) = request.unsupported() {
            self.error(
                doc.delay.as_ref().map_or(at_table, |d| d.span().start),
                format!("a {} request takes {how}", protocol.name()),
            );
            return None;
        }
        Some(RequestKind::Stream {
            protocol,
            what,
            routes: StreamRoutes::GracefulServer,
        })
    }

    /// `stream = { every, for }`: `every` defaults to the server's (100ms), `for` to the
    /// server's (10s; a WebSocket lasts until the server ends it).
    fn stream_table(&mut self, stream: &Sp<StreamDoc>) -> Option<StreamWhat> {
        let table = stream.get_ref();
        let mut duration = |key: &str, value: &Option<Sp<String>>| match value {
            None => Some(None),
            Some(text) => match parse_duration(key, text.get_ref()) {
                Ok(d)
                    if d >= std::time::Duration::from_millis(1)
                        && d <= server_contract::MAX_DELAY =>
                {
                    Some(Some(d))
                }
                Ok(_) => {
                    self.error(
                        text.span().start,
                        format!("stream `{key}` must be from 1ms to 10m, as the server takes"),
                    );
                    None
                }
                Err(message) => {
                    self.error(text.span().start, message);
                    None
                }
            },
        };
        let every = duration("every", &table.every);
        let lasting = duration("for", &table.lasting);
        Some(StreamWhat::Stream {
            every: every?.unwrap_or(server_contract::stream::DEFAULT_EVERY),
            lasting: lasting?,
        })
    }

    /// A `download` of `bytes` at `rate`, both within what the server takes.
    fn download(&mut self, download: &Sp<DownloadDoc>) -> Option<RequestKind> {
        let d = download.get_ref();
        let mut number = |key: &str, value: &Option<Sp<i64>>, min: i64| match value {
            None => {
                self.error(
                    download.span().start,
                    format!(
                        "`download` has no `{key}` (like download = {{ bytes = 200000, rate = 100000 }})"
                    ),
                );
                None
            }
            Some(v) if !(min..=MAX_DOWNLOAD).contains(v.get_ref()) => {
                self.error(
                    v.span().start,
                    format!(
                        "download `{key}` = {} is out of range: the server takes {min} to {MAX_DOWNLOAD}",
                        v.get_ref()
                    ),
                );
                None
            }
            Some(v) => Some(*v.get_ref() as u64),
        };
        let bytes = number("bytes", &d.bytes, 0);
        let rate = number("rate", &d.rate, 1);
        Some(RequestKind::Download {
            bytes: bytes?,
            rate: rate?,
        })
    }
}
