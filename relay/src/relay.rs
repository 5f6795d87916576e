//! Listening on each route's port and relaying every connection it accepts.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinSet;

use crate::config::Route;
use crate::error::Error;
use crate::pipe::relay_connection;

/// The line printed once every route listens: what a harness waits for.
pub const READY_LINE: &str = "Relay ready";

/// The relay's routes, bound and not yet serving.
#[derive(Debug)]
pub struct Bound {
    listeners: Vec<(TcpListener, SocketAddr)>,
}

impl Bound {
    /// Where each route listens (a route's port 0 is one the system picked), in route order.
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.listeners
            .iter()
            .filter_map(|(listener, _)| listener.local_addr().ok())
            .collect()
    }

    /// Relays every connection each route accepts, `latency` each way, until dropped.
    pub async fn serve(self, latency: Duration) {
        let mut accepting = JoinSet::new();
        for (listener, to) in self.listeners {
            accepting.spawn(async move {
                loop {
                    match listener.accept().await {
                        Ok((down, _)) => {
                            tokio::spawn(relay_connection(down, to, latency));
                        }
                        // Out of descriptors and the like: transient, so wait a little, go on.
                        Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                    }
                }
            });
        }
        while accepting.join_next().await.is_some() {}
    }
}

/// Binds every route's port, on all addresses.
pub async fn bind(routes: &[Route]) -> Result<Bound, Error> {
    let mut listeners = Vec::with_capacity(routes.len());
    for route in routes {
        let addr = SocketAddr::from(([0, 0, 0, 0], route.listen));
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| Error::Listen { addr, source })?;
        listeners.push((listener, route.to));
    }
    Ok(Bound { listeners })
}

/// Listens on every route and relays what comes in, `latency` each way, until the process ends.
/// Prints one line per route, then [`READY_LINE`].
pub async fn relay(routes: &[Route], latency: Duration) -> Result<(), Error> {
    let bound = bind(routes).await?;
    for (addr, route) in bound.local_addrs().iter().zip(routes) {
        println!(
            "Relay :{} -> {} ({} each way)",
            addr.port(),
            route.to,
            humantime::format_duration(latency)
        );
    }
    println!("{READY_LINE}");
    bound.serve(latency).await;
    Ok(())
}
