//! The reqwest client of a load: the crate most Rust services call each other with, built with
//! its default settings (a keep-alive pool, idle connections kept 90 s), so that a stream shows
//! what a reqwest user gets when the server closes a kept-alive connection. reqwest cannot say
//! which connection a failed request went out on: its records say `unknown` (the pooled client
//! notes it, for the attribution reqwest cannot give).

use std::net::SocketAddr;
use std::time::Duration;

use crate::client::{classify_hyper, classify_io};
use crate::model::load::Connection;
use crate::model::outcome::Outcome;

/// A reqwest client with its defaults, to one address.
pub(super) struct ReqwestClient {
    client: reqwest::Client,
    base: String,
}

impl ReqwestClient {
    /// A client whose requests all go to `addr`.
    pub(super) fn new(addr: SocketAddr) -> ReqwestClient {
        ReqwestClient {
            // `Client::new()` is what users write; it can only fail on TLS set-up, which this
            // build has none of.
            client: reqwest::Client::new(),
            base: format!("http://{addr}"),
        }
    }

    /// `GET path` with request id `id`: its outcome, status (0 without headers); the connection
    /// is not known.
    pub(super) async fn get(
        &self,
        path: &str,
        id: u32,
        deadline: Duration,
    ) -> (Outcome, u16, Connection) {
        let mut status = 0;
        let exchange = async {
            let response = self
                .client
                .get(format!("{}{path}", self.base))
                .header(server_contract::REQUEST_ID_HEADER, id)
                .send()
                .await;
            let response = match response {
                Ok(response) => response,
                Err(error) => return classify(&error, Outcome::EmptyReply),
            };
            status = response.status().as_u16();
            let ok = response.status().is_success();
            match response.bytes().await {
                Ok(_) if ok => Outcome::Ok,
                Ok(_) => Outcome::HttpError,
                // Headers came, the body did not come whole.
                Err(_) => Outcome::Truncated,
            }
        };
        let outcome = tokio::time::timeout(deadline, exchange)
            .await
            .unwrap_or(Outcome::Timeout);
        (outcome, status, Connection::Unknown)
    }
}

/// What a reqwest error means as an outcome: its cause, down to the socket's error when there
/// is one; a connection that could not be made is `refused`.
fn classify(error: &reqwest::Error, otherwise: Outcome) -> Outcome {
    if error.is_timeout() {
        return Outcome::Timeout;
    }
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        if let Some(io_error) = cause.downcast_ref::<std::io::Error>() {
            return classify_io(io_error, otherwise);
        }
        if let Some(hyper_error) = cause.downcast_ref::<hyper::Error>() {
            return classify_hyper(hyper_error, otherwise);
        }
        source = cause.source();
    }
    if error.is_connect() {
        Outcome::Refused
    } else {
        otherwise
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    const DEADLINE: Duration = Duration::from_secs(10);

    /// A server on 127.0.0.1 that treats one connection with `answer` (None: closes at once
    /// after reading the request).
    async fn server(answer: Option<&'static [u8]>) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut conn, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 1024];
            let _ = conn.read(&mut buf).await;
            if let Some(answer) = answer {
                let _ = conn.write_all(answer).await;
            }
        });
        addr
    }

    #[tokio::test]
    async fn reqwest_s_outcomes_are_the_vocabulary_s() {
        let ok = server(Some(b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nok\n")).await;
        let (outcome, status, connection) = ReqwestClient::new(ok).get("/", 1, DEADLINE).await;
        assert_eq!(
            (outcome, status, connection),
            (Outcome::Ok, 200, Connection::Unknown)
        );

        let error = server(Some(
            b"HTTP/1.1 503 Unavailable\r\ncontent-length: 0\r\n\r\n",
        ))
        .await;
        let (outcome, status, _) = ReqwestClient::new(error).get("/", 2, DEADLINE).await;
        assert_eq!((outcome, status), (Outcome::HttpError, 503));

        let short = server(Some(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nok")).await;
        let (outcome, _, _) = ReqwestClient::new(short).get("/", 3, DEADLINE).await;
        assert_eq!(outcome, Outcome::Truncated);

        let closed = server(None).await;
        let (outcome, status, _) = ReqwestClient::new(closed).get("/", 4, DEADLINE).await;
        assert_eq!((outcome, status), (Outcome::EmptyReply, 0));

        let nobody = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap()
            .local_addr()
            .unwrap();
        let (outcome, _, _) = ReqwestClient::new(nobody).get("/", 5, DEADLINE).await;
        assert_eq!(outcome, Outcome::Refused);
    }
}
