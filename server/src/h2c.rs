//! HTTP/1.1 `Upgrade: h2c` (RFC 7540, section 3.2): which upgrades the server honours, and the
//! bytes that make hyper's HTTP/2 server take the upgrading request as stream 1. The upgrade is
//! answered, and the connection served on, by [`crate::connection`].
//!
//! hyper's HTTP/2 server cannot be handed a request to treat as stream 1, so the server hands
//! it one in the bytes it reads: after the client's connection preface and first SETTINGS frame
//! (its HTTP2-Settings header's values put in front of the frame's own, as the RFC says they
//! apply first), a HEADERS frame for stream 1 with the request's fields, closing the stream from
//! the client's side. Its field block uses HPACK literals that are never indexed, so the
//! decoder's table is what the client's encoder expects. An upgrade the server cannot honour
//! this way (a request with a body, a field block larger than one frame, a bad header) is
//! ignored, which the RFC allows: the request is served over HTTP/1.1.

use axum::body::Body;
use axum::http::header::{self, HeaderValue};
use axum::http::{HeaderMap, Request, Response, StatusCode};
use base64::Engine;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use http_body::Body as _;
use hyper::body::Incoming;
use tokio::io::AsyncReadExt;

use crate::io::H2_PREFACE;

/// The largest frame payload an HTTP/2 peer must accept before SETTINGS say otherwise.
const MAX_FRAME: usize = 16_384;

const FRAME_HEADERS: u8 = 0x1;
const FRAME_SETTINGS: u8 = 0x4;
const FLAG_END_STREAM: u8 = 0x1;
const FLAG_ACK: u8 = 0x1;
const FLAG_END_HEADERS: u8 = 0x4;

/// HTTP2-Settings is base64url; some clients pad it, some do not.
const SETTINGS_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// An h2c upgrade the server can honour: the request as stream 1's field block, and the
/// client's HTTP2-Settings.
#[derive(Debug, PartialEq, Eq)]
pub struct Upgrade {
    field_block: Vec<u8>,
    settings: Vec<u8>,
}

impl Upgrade {
    /// The upgrade `request` asks for, if it is an h2c upgrade the server can honour.
    pub fn read(request: &Request<Incoming>) -> Option<Self> {
        let headers = request.headers();
        if !has_token(headers, header::UPGRADE, "h2c")
            || !has_token(headers, header::CONNECTION, "upgrade")
            || !has_token(headers, header::CONNECTION, "http2-settings")
            || !request.body().is_end_stream()
        {
            return None;
        }
        Self::from_parts(request.method(), request.uri(), headers)
    }

    fn from_parts(
        method: &axum::http::Method,
        uri: &axum::http::Uri,
        headers: &HeaderMap,
    ) -> Option<Self> {
        // Exactly one HTTP2-Settings, or no upgrade (RFC 7540, section 3.2.1).
        let mut values = headers.get_all("http2-settings").iter();
        let (Some(encoded), None) = (values.next(), values.next()) else {
            return None;
        };
        let settings = SETTINGS_BASE64.decode(encoded.as_bytes()).ok()?;
        // Each setting is 6 bytes.
        if settings.len() % 6 != 0 || settings.len() > MAX_FRAME {
            return None;
        }
        let field_block = field_block(method, uri, headers)?;
        Some(Self {
            field_block,
            settings,
        })
    }

    /// Reads the client's preface and first SETTINGS frame from `io` and returns what hyper's
    /// HTTP/2 server is to read first: the preface, the SETTINGS frame with HTTP2-Settings in
    /// front, and stream 1's HEADERS. `None` when the client does not send HTTP/2.
    pub async fn first_frames<R: tokio::io::AsyncRead + Unpin>(
        &self,
        io: &mut R,
    ) -> Option<Vec<u8>> {
        let mut preface = [0u8; 24];
        io.read_exact(&mut preface).await.ok()?;
        if &preface != H2_PREFACE {
            return None;
        }
        let mut head = [0u8; 9];
        io.read_exact(&mut head).await.ok()?;
        let length = usize::from(head[0]) << 16 | usize::from(head[1]) << 8 | usize::from(head[2]);
        let stream = u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff;
        if head[3] != FRAME_SETTINGS || head[4] & FLAG_ACK != 0 || stream != 0 {
            return None;
        }
        if length > MAX_FRAME || length % 6 != 0 {
            return None;
        }
        let mut payload = vec![0u8; length];
        io.read_exact(&mut payload).await.ok()?;
        let mut settings = self.settings.clone();
        settings.extend_from_slice(&payload);
        if settings.len() > MAX_FRAME {
            return None;
        }
        let mut ahead = H2_PREFACE.to_vec();
        frame(&mut ahead, FRAME_SETTINGS, 0, 0, &settings);
        frame(
            &mut ahead,
            FRAME_HEADERS,
            FLAG_END_STREAM | FLAG_END_HEADERS,
            1,
            &self.field_block,
        );
        Some(ahead)
    }
}

/// The answer to an upgrade the server honours: `101 Switching Protocols` to h2c.
pub fn switching_protocols() -> Response<Body> {
    let mut switching = Response::new(Body::empty());
    *switching.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = switching.headers_mut();
    headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    headers.insert(header::UPGRADE, HeaderValue::from_static("h2c"));
    switching
}

/// Whether the comma-separated header `name` lists `token` (any case).
fn has_token(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|item| item.trim().eq_ignore_ascii_case(token))
}

/// The request's fields as an HPACK block of never-indexed literals (RFC 7541, section
/// 6.2.3), pseudo-fields first, HTTP/1.1's connection-specific fields left out; `None` when it
/// does not fit one frame.
fn field_block(
    method: &axum::http::Method,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
) -> Option<Vec<u8>> {
    let authority = headers
        .get(header::HOST)
        .map(HeaderValue::as_bytes)
        .or_else(|| uri.authority().map(|a| a.as_str().as_bytes()))
        .unwrap_or_default();
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let mut block = Vec::new();
    literal(&mut block, b":method", method.as_str().as_bytes());
    literal(&mut block, b":scheme", b"http");
    literal(&mut block, b":authority", authority);
    literal(&mut block, b":path", path.as_bytes());
    // Fields the Connection header names are connection-specific too.
    let named: Vec<String> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|item| item.trim().to_ascii_lowercase())
        .collect();
    for (name, value) in headers {
        let skip = matches!(
            name.as_str(),
            "connection"
                | "upgrade"
                | "http2-settings"
                | "host"
                | "keep-alive"
                | "proxy-connection"
                | "transfer-encoding"
        ) || (name == header::TE && value.as_bytes() != b"trailers")
            || named.iter().any(|n| n == name.as_str());
        if !skip {
            literal(&mut block, name.as_str().as_bytes(), value.as_bytes());
        }
    }
    (block.len() <= MAX_FRAME).then_some(block)
}

/// A literal field never indexed, with a new name, neither string Huffman-coded.
fn literal(block: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    block.push(0x10);
    string(block, name);
    string(block, value);
}

/// An HPACK string: its length as an integer with a 7-bit prefix (RFC 7541, section 5.1), then
/// the bytes.
fn string(block: &mut Vec<u8>, bytes: &[u8]) {
    let mut length = bytes.len();
    if length < 0x7f {
        block.push(length as u8);
    } else {
        block.push(0x7f);
        length -= 0x7f;
        while length >= 0x80 {
            block.push((length & 0x7f) as u8 | 0x80);
            length >>= 7;
        }
        block.push(length as u8);
    }
    block.extend_from_slice(bytes);
}

/// Appends one HTTP/2 frame (RFC 9113, section 4.1).
fn frame(out: &mut Vec<u8>, kind: u8, flags: u8, stream: u32, payload: &[u8]) {
    let length = payload.len();
    out.extend_from_slice(&[
        (length >> 16) as u8,
        (length >> 8) as u8,
        length as u8,
        kind,
        flags,
    ]);
    out.extend_from_slice(&stream.to_be_bytes());
    out.extend_from_slice(payload);
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{Method, Uri};

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    /// Decodes a block of never-indexed literals as written by [`literal`].
    fn decode(mut block: &[u8]) -> Vec<(String, String)> {
        fn string(block: &mut &[u8]) -> String {
            let mut length = usize::from(block[0] & 0x7f);
            let mut at = 1;
            if length == 0x7f {
                let mut shift = 0;
                loop {
                    let byte = block[at];
                    at += 1;
                    length += usize::from(byte & 0x7f) << shift;
                    shift += 7;
                    if byte & 0x80 == 0 {
                        break;
                    }
                }
            }
            let text = String::from_utf8(block[at..at + length].to_vec()).unwrap();
            *block = &block[at + length..];
            text
        }
        let mut fields = Vec::new();
        while !block.is_empty() {
            assert_eq!(block[0], 0x10);
            block = &block[1..];
            let name = string(&mut block);
            let value = string(&mut block);
            fields.push((name, value));
        }
        fields
    }

    #[test]
    fn the_request_becomes_stream_1_without_its_connection_fields() {
        let uri: Uri = "/?delay=300ms".parse().unwrap();
        let long = "x".repeat(300);
        let mut map = headers(&[
            ("host", "example:1202"),
            ("connection", "Upgrade, HTTP2-Settings, x-hop"),
            ("upgrade", "h2c"),
            ("http2-settings", "AAMAAABkAAQAAP__"),
            ("x-hop", "gone"),
            ("te", "gzip"),
            ("x-request-id", "17"),
        ]);
        map.insert("x-long", long.parse().unwrap());
        let upgrade = Upgrade::from_parts(&Method::GET, &uri, &map).unwrap();
        // SETTINGS_MAX_CONCURRENT_STREAMS 100, SETTINGS_INITIAL_WINDOW_SIZE 65535.
        assert_eq!(
            upgrade.settings,
            [0, 3, 0, 0, 0, 100, 0, 4, 0, 0, 0xff, 0xff]
        );
        let fields = decode(&upgrade.field_block);
        let expected = [
            (":method", "GET"),
            (":scheme", "http"),
            (":authority", "example:1202"),
            (":path", "/?delay=300ms"),
            ("x-request-id", "17"),
            ("x-long", long.as_str()),
        ];
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        assert_eq!(fields, expected);
    }

    #[test]
    fn upgrades_the_server_cannot_honour_are_ignored() {
        let uri: Uri = "/".parse().unwrap();
        let twice = headers(&[("http2-settings", ""), ("http2-settings", "")]);
        assert_eq!(Upgrade::from_parts(&Method::GET, &uri, &twice), None);
        let bad = headers(&[("http2-settings", "not base64!")]);
        assert_eq!(Upgrade::from_parts(&Method::GET, &uri, &bad), None);
        let odd = headers(&[("http2-settings", "AAMAAA")]);
        assert_eq!(Upgrade::from_parts(&Method::GET, &uri, &odd), None);
        let mut huge = headers(&[("http2-settings", "")]);
        huge.insert("x-huge", "y".repeat(MAX_FRAME).parse().unwrap());
        assert_eq!(Upgrade::from_parts(&Method::GET, &uri, &huge), None);
        let empty = headers(&[("http2-settings", "")]);
        assert!(Upgrade::from_parts(&Method::GET, &uri, &empty).is_some());
    }

    #[test]
    fn tokens_are_found_in_lists_in_any_case() {
        let map = headers(&[("connection", "keep-alive, Upgrade"), ("upgrade", "H2C")]);
        assert!(has_token(&map, header::CONNECTION, "upgrade"));
        assert!(has_token(&map, header::UPGRADE, "h2c"));
        assert!(!has_token(&map, header::CONNECTION, "http2-settings"));
    }

    #[tokio::test]
    async fn the_first_frames_are_the_preface_merged_settings_and_stream_1() {
        let upgrade = Upgrade {
            field_block: vec![0x10, 1, b'a', 1, b'b'],
            settings: vec![0, 3, 0, 0, 0, 100],
        };
        let mut client = H2_PREFACE.to_vec();
        frame(&mut client, FRAME_SETTINGS, 0, 0, &[0, 4, 0, 0, 0xff, 0xff]);
        client.extend_from_slice(b"rest");
        let mut io = &client[..];
        let ahead = upgrade.first_frames(&mut io).await.unwrap();
        let mut expected = H2_PREFACE.to_vec();
        frame(
            &mut expected,
            FRAME_SETTINGS,
            0,
            0,
            &[0, 3, 0, 0, 0, 100, 0, 4, 0, 0, 0xff, 0xff],
        );
        frame(
            &mut expected,
            FRAME_HEADERS,
            0x5,
            1,
            &[0x10, 1, b'a', 1, b'b'],
        );
        assert_eq!(ahead, expected);
        // What followed the first frame is left for hyper to read.
        assert_eq!(io, b"rest");

        let mut not_h2: &[u8] = b"GET / HTTP/1.1\r\n\r\nand more bytes than a preface";
        assert_eq!(upgrade.first_frames(&mut not_h2).await, None);
    }
}
