//! Counts open connections, so a linger can end as soon as every client has gone.

use tokio::sync::watch;

/// Shared count of the connections being served.
#[derive(Clone, Debug)]
pub struct Connections {
    open: watch::Sender<usize>,
}

impl Default for Connections {
    fn default() -> Self {
        Self {
            open: watch::Sender::new(0),
        }
    }
}

impl Connections {
    /// Counts a connection as open until the returned guard is dropped.
    pub fn open(&self) -> Open {
        self.open.send_modify(|n| *n += 1);
        Open {
            open: self.open.clone(),
        }
    }

    /// Connections open now.
    pub fn count(&self) -> usize {
        *self.open.borrow()
    }

    /// Waits until no connection is open (at once if none is).
    pub async fn all_closed(&self) {
        let mut open = self.open.subscribe();
        // The sender lives in `self`, so the channel cannot close while we wait.
        let _ = open.wait_for(|n| *n == 0).await;
    }
}

/// One open connection; dropping it marks the connection closed.
#[derive(Debug)]
pub struct Open {
    open: watch::Sender<usize>,
}

impl Drop for Open {
    fn drop(&mut self) {
        self.open.send_modify(|n| *n -= 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn waits_for_the_last_connection_to_close() {
        let connections = Connections::default();
        connections.all_closed().await;
        let first = connections.open();
        let second = connections.open();
        assert_eq!(connections.count(), 2);
        drop(first);
        tokio::select! {
            biased;
            () = connections.all_closed() => panic!("returned with a connection open"),
            () = std::future::ready(()) => {}
        }
        let waiter = tokio::spawn({
            let connections = connections.clone();
            async move { connections.all_closed().await }
        });
        drop(second);
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("still waiting after the last close")
            .expect("waiter panicked");
        assert_eq!(connections.count(), 0);
    }
}
