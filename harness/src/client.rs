//! The request driver: sends one HTTP/1.1 request and classifies what came back as an [`Outcome`].
//!
//! hyper's client connection is used directly (not a pooled client) so that each request has its
//! own connection and every way a connection can fail stays visible: refused, reset, closed empty,
//! or cut inside the body.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper::body::Buf;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::model::outcome::Outcome;

/// What happened to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Response {
    /// The outcome in the vocabulary.
    pub outcome: Outcome,
    /// The status, when headers arrived.
    pub status: Option<u16>,
    /// Body bytes received.
    pub bytes: u64,
    /// When the TCP connection was established (None if it never was).
    pub connected: Option<Instant>,
}

/// What is wrong with `path` as a request target (`/slow?x=1`), if anything: it must start with
/// `/` and be a valid URI path and query (no spaces, no control characters).
pub fn path_problem(path: &str) -> Option<String> {
    if !path.starts_with('/') {
        return Some(format!(
            "{path:?} does not start with `/`: write it like /slow or /?delay=2s"
        ));
    }
    match path.parse::<hyper::http::uri::PathAndQuery>() {
        // A fragment is never sent: what would reach the server is not what was asked for.
        Ok(parsed) if parsed.as_str() != path => Some(format!(
            "{path:?} has a fragment (`#...`), which is never sent to a server: leave it out"
        )),
        Ok(_) => None,
        Err(_) => Some(format!(
            "{path:?} is not a valid request path: percent-encode spaces and other special characters (like /a%20b)"
        )),
    }
}

/// Sends `GET path` to `addr` on a fresh connection and waits at most `deadline` for the outcome.
/// `id`, when given, goes in the request id header, which graceful-server logs on receipt.
///
/// `on_connected` runs once the TCP connection is up (before the request is written), so a
/// caller can synchronise on the fact that the request is in flight.
pub async fn get(
    addr: SocketAddr,
    path: &str,
    deadline: Duration,
    id: Option<u32>,
    on_connected: impl FnOnce(),
) -> Response {
    let mut partial = Response {
        outcome: Outcome::Timeout,
        status: None,
        bytes: 0,
        connected: None,
    };
    match tokio::time::timeout(
        deadline,
        exchange(addr, path, id, &mut partial, on_connected),
    )
    .await
    {
        Ok(outcome) => Response { outcome, ..partial },
        Err(_elapsed) => partial,
    }
}

async fn exchange(
    addr: SocketAddr,
    path: &str,
    id: Option<u32>,
    partial: &mut Response,
    on_connected: impl FnOnce(),
) -> Outcome {
    let stream = match TcpStream::connect(addr).await {
        Ok(stream) => stream,
        Err(error) => return classify_io(&error, Outcome::Refused),
    };
    partial.connected = Some(Instant::now());
    on_connected();
    // Nagle would delay nothing here (one small write), but keep the request on the wire at once.
    let _ = stream.set_nodelay(true);
    let (mut sender, connection) =
        match hyper::client::conn::http1::handshake(TokioIo::new(stream)).await {
            Ok(parts) => parts,
            Err(error) => return classify_hyper(&error, Outcome::EmptyReply),
        };
    tokio::spawn(connection);

    // Paths are checked where they enter (`path_problem`); one that is not a URI all the same
    // is what any server would answer 400 to.
    let Ok(uri) = path.parse::<hyper::Uri>() else {
        partial.status = Some(400);
        return Outcome::HttpError;
    };
    let mut request = hyper::Request::new(Empty::<Bytes>::new());
    *request.uri_mut() = uri;
    let headers = request.headers_mut();
    if let Ok(host) = hyper::header::HeaderValue::try_from(addr.to_string()) {
        headers.insert(hyper::header::HOST, host);
    }
    headers.insert(
        hyper::header::CONNECTION,
        hyper::header::HeaderValue::from_static("close"),
    );
    if let Some(id) = id {
        headers.insert(server_contract::REQUEST_ID_HEADER, id.into());
    }
    let response = match sender.send_request(request).await {
        Ok(response) => response,
        // Nothing of a response arrived: the connection was closed (empty reply) or reset.
        Err(error) => return classify_hyper(&error, Outcome::EmptyReply),
    };
    let status = response.status();
    partial.status = Some(status.as_u16());

    read_body(response.into_body(), status, &mut partial.bytes).await
}

/// Reads a response's body to its end, counting its bytes: `ok`, `http-error`, or `truncated`
/// when it ends short of what was declared.
pub(crate) async fn read_body<B>(mut body: B, status: hyper::StatusCode, bytes: &mut u64) -> Outcome
where
    B: hyper::body::Body + Unpin,
{
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(frame) => {
                if let Some(data) = frame.data_ref() {
                    *bytes += data.remaining() as u64;
                }
            }
            // hyper checks Content-Length and chunked termination: an early end is an error.
            Err(_) => return Outcome::Truncated,
        }
    }
    if status.is_success() {
        Outcome::Ok
    } else {
        Outcome::HttpError
    }
}

/// Finds the I/O error beneath an error, if any, to tell a reset from a clean close.
pub(crate) fn classify_hyper(
    error: &(dyn std::error::Error + 'static),
    otherwise: Outcome,
) -> Outcome {
    let mut source = error.source();
    while let Some(cause) = source {
        if let Some(io_error) = cause.downcast_ref::<io::Error>() {
            return classify_io(io_error, otherwise);
        }
        source = cause.source();
    }
    otherwise
}

pub(crate) fn classify_io(error: &io::Error, otherwise: Outcome) -> Outcome {
    match error.kind() {
        io::ErrorKind::ConnectionRefused => Outcome::Refused,
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe => Outcome::Reset,
        io::ErrorKind::UnexpectedEof => Outcome::EmptyReply,
        _ => otherwise,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// A one-shot TCP peer that reads the request, then does `answer` with the socket.
    async fn peer<F, Fut>(answer: F) -> SocketAddr
    where
        F: FnOnce(TcpStream) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 1024];
            let _ = socket.read(&mut buf).await.unwrap();
            answer(socket).await;
        });
        addr
    }

    const DEADLINE: Duration = Duration::from_secs(5);

    #[tokio::test]
    async fn complete_2xx_is_ok_and_counts_bytes() {
        let addr = peer(|mut s| async move {
            s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nOK\n")
                .await
                .unwrap();
        })
        .await;
        let response = get(addr, "/", DEADLINE, None, || {}).await;
        assert_eq!(
            (response.outcome, response.status, response.bytes),
            (Outcome::Ok, Some(200), 3)
        );
    }

    #[tokio::test]
    async fn complete_non_2xx_is_http_error() {
        let addr = peer(|mut s| async move {
            s.write_all(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n")
                .await
                .unwrap();
        })
        .await;
        let response = get(addr, "/", DEADLINE, None, || {}).await;
        assert_eq!(
            (response.outcome, response.status),
            (Outcome::HttpError, Some(503))
        );
    }

    #[tokio::test]
    async fn body_shorter_than_declared_is_truncated() {
        let addr = peer(|mut s| async move {
            s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc")
                .await
                .unwrap();
        })
        .await;
        let response = get(addr, "/", DEADLINE, None, || {}).await;
        assert_eq!(
            (response.outcome, response.status, response.bytes),
            (Outcome::Truncated, Some(200), 3)
        );
    }

    #[tokio::test]
    async fn close_before_any_byte_is_empty_reply() {
        let addr = peer(|s| async move { drop(s) }).await;
        assert_eq!(
            get(addr, "/", DEADLINE, None, || {}).await.outcome,
            Outcome::EmptyReply
        );
    }

    #[tokio::test]
    async fn linger_zero_close_is_reset() {
        let addr = peer(|s| async move {
            // SO_LINGER 0 makes close() send RST instead of FIN.
            s.set_zero_linger().unwrap();
            drop(s)
        })
        .await;
        assert_eq!(
            get(addr, "/", DEADLINE, None, || {}).await.outcome,
            Outcome::Reset
        );
    }

    #[tokio::test]
    async fn closed_port_is_refused() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let response = get(addr, "/", DEADLINE, None, || {}).await;
        assert_eq!(
            (response.outcome, response.connected),
            (Outcome::Refused, None)
        );
    }

    #[test]
    fn paths_must_be_uri_paths() {
        assert_eq!(path_problem("/slow?x=1"), None);
        assert!(path_problem("/a b").unwrap().contains("percent-encode"));
        assert!(path_problem("slow").unwrap().contains("start with"));
        assert!(path_problem("").is_some());
        assert!(path_problem("/#top").unwrap().contains("fragment"));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(
            std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(300)
        ))]

        /// Whatever the text, checking it never panics, and a path it accepts is one hyper
        /// sends as it is.
        #[test]
        fn any_path_is_checked_without_panic(path in "\\PC{0,40}") {
            if path_problem(&path).is_none() {
                let uri: hyper::Uri = path.parse().expect("an accepted path is a URI");
                proptest::prop_assert_eq!(uri.path_and_query().map(|p| p.as_str()), Some(path.as_str()));
            }
        }
    }

    #[tokio::test]
    async fn silence_past_the_deadline_is_timeout() {
        let addr = peer(|s| async move {
            tokio::time::sleep(Duration::from_secs(2)).await;
            drop(s)
        })
        .await;
        let response = get(addr, "/", Duration::from_millis(200), None, || {}).await;
        assert_eq!(response.outcome, Outcome::Timeout);
        assert!(response.connected.is_some());
    }

    /// A SYN nobody answers (here a listener whose accept queue is full, which the kernel
    /// drops; on Podman a container's network being torn down) times out with no connection.
    #[tokio::test]
    async fn a_dropped_connection_attempt_is_a_timeout_that_never_connected() {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        // Never accepted: a backlog of 0 holds one connection, the next SYNs are dropped.
        let listener = socket.listen(0).unwrap();
        let addr = listener.local_addr().unwrap();
        // Fill the accept queue: connections complete until it is full.
        let mut queued = Vec::new();
        while let Ok(Ok(stream)) =
            tokio::time::timeout(Duration::from_millis(200), TcpStream::connect(addr)).await
        {
            queued.push(stream);
            assert!(queued.len() < 8, "the accept queue never filled");
        }
        let response = get(addr, "/", Duration::from_millis(300), None, || {}).await;
        assert_eq!(response.outcome, Outcome::Timeout);
        assert_eq!(response.connected, None);
        drop(listener);
    }
}
