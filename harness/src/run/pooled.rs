//! The pooled client of a load: hyper-util's pooled keep-alive client, the one reqwest is built
//! on, with reqwest's pool settings, through a connector that notes which connection each
//! request is written on. reqwest itself cannot say which connection a *failed* request went
//! out on, and that is the fact that tells the keep-alive race from any other failure.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use http_body_util::Empty;
use hyper::Uri;
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::{Connected, Connection as HyperConnection};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::TcpStream;

use crate::client::{classify_hyper, read_body};
use crate::model::load::Connection;
use crate::model::outcome::Outcome;

/// reqwest's pool settings: idle connections are kept 90 s, as many as there are.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// Which request went out on which use of its connection: request id -> how many requests
/// that connection had carried before it (0: it was new).
type Written = Arc<Mutex<HashMap<u32, u32>>>;

/// A pooled keep-alive client to one address.
pub(super) struct PooledClient {
    client: Client<RecordingConnector, Empty<Bytes>>,
    written: Written,
    addr: SocketAddr,
}

impl PooledClient {
    /// A client whose connections all go to `addr`.
    pub(super) fn new(addr: SocketAddr) -> PooledClient {
        let written = Written::default();
        let connector = RecordingConnector {
            addr,
            written: Arc::clone(&written),
        };
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .pool_max_idle_per_host(usize::MAX)
            .pool_timer(TokioTimer::new())
            .build(connector);
        PooledClient {
            client,
            written,
            addr,
        }
    }

    /// `GET path` with request id `id`: its outcome, status (0 without headers), and whether it
    /// went out on a new or a reused connection.
    pub(super) async fn get(
        &self,
        path: &str,
        id: u32,
        deadline: Duration,
    ) -> (Outcome, u16, Connection) {
        let mut status = 0;
        let exchange = async {
            let Ok(uri) = format!("http://{}{path}", self.addr).parse::<Uri>() else {
                // Paths are checked where they enter: any server would answer this 400.
                status = 400;
                return Outcome::HttpError;
            };
            let mut request = hyper::Request::new(Empty::<Bytes>::new());
            *request.uri_mut() = uri;
            request
                .headers_mut()
                .insert(server_contract::REQUEST_ID_HEADER, id.into());
            match self.client.request(request).await {
                Ok(response) => {
                    status = response.status().as_u16();
                    let mut bytes = 0;
                    read_body(response.into_body(), response_status(status), &mut bytes).await
                }
                Err(error) => {
                    let refused = error.is_connect();
                    let outcome = classify_hyper(&error, Outcome::EmptyReply);
                    if refused && outcome == Outcome::EmptyReply {
                        Outcome::Refused
                    } else {
                        outcome
                    }
                }
            }
        };
        let outcome = tokio::time::timeout(deadline, exchange)
            .await
            .unwrap_or(Outcome::Timeout);
        let earlier = self
            .written
            .lock()
            .map(|mut written| written.remove(&id))
            .unwrap_or_default();
        let connection = match earlier {
            Some(n) if n > 0 => Connection::Reused,
            _ => Connection::New,
        };
        (outcome, status, connection)
    }
}

fn response_status(status: u16) -> hyper::StatusCode {
    hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::OK)
}

/// Opens the pool's connections, each one recording what is written on it.
#[derive(Clone)]
struct RecordingConnector {
    addr: SocketAddr,
    written: Written,
}

impl tower_service::Service<Uri> for RecordingConnector {
    type Response = RecordingStream;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<RecordingStream>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _uri: Uri) -> Self::Future {
        let (addr, written) = (self.addr, Arc::clone(&self.written));
        Box::pin(async move {
            let stream = TcpStream::connect(addr)
                .await
                .map_err(|e| io::Error::new(e.kind(), e))?;
            let _ = stream.set_nodelay(true);
            Ok(RecordingStream {
                io: TokioIo::new(stream),
                written,
                requests: 0,
            })
        })
    }
}

/// A pooled connection that notes the id of each request written on it.
struct RecordingStream {
    io: TokioIo<TcpStream>,
    written: Written,
    requests: u32,
}

impl RecordingStream {
    /// Notes a request head in `bytes`, if there is one.
    fn note(&mut self, bytes: &[u8]) {
        if let Some(id) = request_id(bytes) {
            if let Ok(mut written) = self.written.lock() {
                written.insert(id, self.requests);
            }
            self.requests += 1;
        }
    }
}

/// The request id in a request head (hyper writes header names in lower case).
fn request_id(bytes: &[u8]) -> Option<u32> {
    let name = format!("{}: ", server_contract::REQUEST_ID_HEADER);
    let at = bytes
        .windows(name.len())
        .position(|window| window == name.as_bytes())?;
    let digits: Vec<u8> = bytes[at + name.len()..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .copied()
        .collect();
    std::str::from_utf8(&digits).ok()?.parse().ok()
}

impl hyper::rt::Read for RecordingStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl hyper::rt::Write for RecordingStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.io).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = written {
            self.note(&buf[..n]);
        }
        written
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(mut n)) = written {
            // The head is whole in the first slice hyper writes.
            for slice in bufs {
                let take = n.min(slice.len());
                self.note(&slice[..take]);
                n -= take;
                if n == 0 {
                    break;
                }
            }
        }
        written
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

impl HyperConnection for RecordingStream {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_read_from_heads() {
        let head = b"GET / HTTP/1.1\r\nx-request-id: 1742\r\nhost: 127.0.0.1:1\r\n\r\n";
        assert_eq!(request_id(head), Some(1742));
        assert_eq!(request_id(b"GET / HTTP/1.1\r\n\r\n"), None);
    }

    /// Two requests in turn on a keep-alive server: the first opens a connection, the second
    /// reuses it.
    #[tokio::test]
    async fn the_second_request_reuses_the_connection() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 1024];
            for _ in 0..2 {
                let _ = socket.read(&mut buf).await.unwrap();
                socket
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                    .await
                    .unwrap();
            }
        });
        let client = PooledClient::new(addr);
        let deadline = Duration::from_secs(5);
        assert_eq!(
            client.get("/", 1, deadline).await,
            (Outcome::Ok, 200, Connection::New)
        );
        assert_eq!(
            client.get("/", 2, deadline).await,
            (Outcome::Ok, 200, Connection::Reused)
        );
    }
}
