//! Serving accepted connections, each in its own task: HTTP/1.1 or HTTP/2 as the client opens
//! it (hyper-util's automatic builder: HTTP/2 with prior knowledge, HTTP/1.1 otherwise, and
//! HTTP/1.1 upgrades to WebSocket or h2c), each watched for the graceful shutdown.

use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;

use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::activity::Activity;
use crate::connection::Service;
use crate::hub::Hub;
use crate::io::Sniff;

/// Serves `stream`, from `peer`, with what `hub` shares, in a task of its own, counted while
/// open and watched for the graceful shutdown.
pub fn serve(hub: &Arc<Hub>, stream: TcpStream, peer: SocketAddr) {
    // Small writes (a streamed response's head, /download's chunks) leave at once instead of
    // waiting for the client's ACK (Nagle): one system call per connection, none per request.
    let _ = stream.set_nodelay(true);
    let activity = Activity::new(hub.shutting_down().clone(), peer);
    let service = Service::new(hub, &activity);
    // Subscribed before the task runs, so a shutdown that begins meanwhile still reaches it.
    let shutdown = hub.subscribe_shutdown();
    let open = hub.connections().open();
    let hub = Arc::clone(hub);
    tokio::spawn(async move {
        let io = TokioIo::new(Sniff::new(stream, activity.clone()));
        // Built in the task and pinned where it is: hyper's connection is most of the
        // task's state, and moving it about cost more per connection than the rest.
        let connection = pin!(hub.auto().serve_connection_with_upgrades(io, service));
        // A client that sends garbage or hangs up only ends its own connection.
        activity
            .serve(
                connection,
                |connection| connection.graceful_shutdown(),
                hub.timeouts(),
                shutdown,
                hub.log(),
            )
            .await;
        drop(open);
    });
}
