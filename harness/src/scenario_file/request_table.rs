//! A request table (`{ name, at, delay | download | path }`) into a [`RequestSpec`].

use crate::model::scenario::{Offset, RequestKind, RequestSpec};

use super::doc::{DownloadDoc, RequestDoc, Sp};
use super::file::{FileCx, MAX_DOWNLOAD};
use super::values::parse_duration;

impl FileCx<'_> {
    /// The request of `doc`, whose name must differ from the `earlier` ones; None when the
    /// table is wrong. Name, offset and kind are each checked, so one pass reports all three.
    pub(super) fn request(
        &mut self,
        doc: &Sp<RequestDoc>,
        earlier: &[RequestSpec],
    ) -> Option<RequestSpec> {
        let at_table = doc.span().start;
        let doc = doc.get_ref();
        let name = self.request_name(doc, at_table, earlier);
        let at = self.request_at(doc, at_table);
        let kind = match &doc.path {
            Some(path) => self.get_path(doc, path),
            None => self.endpoint(doc),
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
