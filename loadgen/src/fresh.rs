//! The fresh client: a connection per request (`connection: close`), each in a task of its
//! own, so that no request waits for another; the same codec and records as the fixed client.
//! From inside a container's network namespace it is the client that meets a closed listener
//! with every request after the close: each connect is refused.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::dispatch::Due;
use crate::fixed::{Settings, one_request};
use crate::record::Record;
use crate::schedule::Sender;

/// The fresh client, its requests running on the runtime that started it.
pub struct FreshClient {
    settings: Arc<Settings>,
    done: Arc<Mutex<Vec<Record>>>,
    requests: JoinSet<()>,
}

impl FreshClient {
    /// A client for `GET path` to `addr` on a new connection each; each request has at most
    /// `deadline`, and its record goes to `done` with times from `start`. A path that is not
    /// `path_ok` is never sent: every request is recorded as the 400 any server would answer.
    pub fn new(
        addr: SocketAddr,
        path: &str,
        path_ok: bool,
        deadline: Duration,
        start: Instant,
        done: Arc<Mutex<Vec<Record>>>,
    ) -> FreshClient {
        FreshClient {
            settings: Arc::new(Settings::new(addr, path, path_ok, deadline, start, true)),
            done,
            requests: JoinSet::new(),
        }
    }
}

impl Sender for FreshClient {
    fn send(&mut self, id: u32, at: Instant) {
        let (settings, done) = (Arc::clone(&self.settings), Arc::clone(&self.done));
        self.requests.spawn(async move {
            let mut head = Vec::new();
            let record = one_request(&mut None, &settings, &mut head, Due { id, at }).await;
            done.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(record);
        });
        // Reap what has finished, so that the set holds only what is in flight.
        while self.requests.try_join_next().is_some() {}
    }

    async fn finish(&mut self) {
        while self.requests.join_next().await.is_some() {}
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;
    use crate::record::Outcome;
    use crate::{ClientKind, Plan};

    /// Every request on a connection of its own, answered; a closed port refuses.
    #[tokio::test]
    async fn every_request_has_its_own_connection() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let target = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = [0u8; 1024];
                    let _ = socket.read(&mut buf).await;
                    let _ = socket
                        .write_all(
                            b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                        )
                        .await;
                });
            }
        });
        let plan = Plan {
            target,
            path: "/".to_string(),
            rate: 200,
            client: ClientKind::Fresh,
            connections: 1,
            duration: Duration::from_millis(100),
            deadline: Duration::from_secs(5),
        };
        let records = crate::stream(&plan).await;
        assert_eq!(records.len(), 20);
        assert!(
            records
                .iter()
                .all(|r| (r.outcome, r.status, r.reused) == (Outcome::Ok, 200, false))
        );

        let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let target = closed.local_addr().unwrap();
        drop(closed);
        let records = crate::stream(&Plan { target, ..plan }).await;
        assert!(records.iter().all(|r| r.outcome == Outcome::Refused));
    }
}
