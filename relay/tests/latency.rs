//! The relay on real sockets: every byte and every close crosses it `latency` late, a refused
//! upstream reads as a reset, and a request written just after the upstream closed an idle
//! connection is lost, as on a network with that round trip.

use std::net::SocketAddr;
use std::time::Duration;

use delay_relay::{Route, bind};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::time::Instant;

const LATENCY: Duration = Duration::from_millis(40);
/// Bounds every wait: a test that hangs is a failure.
const DEADLINE: Duration = Duration::from_secs(10);

/// A relay from a free port to `to`; its address.
async fn relay_to(to: SocketAddr) -> SocketAddr {
    let bound = bind(&[Route { listen: 0, to }]).await.expect("binds");
    let addr = bound.local_addrs()[0];
    tokio::spawn(bound.serve(LATENCY));
    SocketAddr::from(([127, 0, 0, 1], addr.port()))
}

async fn within<T>(what: &str, future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(DEADLINE, future)
        .await
        .unwrap_or_else(|_| panic!("{what} did not happen within {DEADLINE:?}"))
}

#[tokio::test]
async fn a_round_trip_takes_twice_the_latency() {
    let upstream = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let to = upstream.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut conn, _) = upstream.accept().await.unwrap();
        let mut buf = [0u8; 4];
        conn.read_exact(&mut buf).await.unwrap();
        conn.write_all(&buf).await.unwrap();
    });
    let mut client = TcpStream::connect(relay_to(to).await).await.unwrap();
    let sent = Instant::now();
    client.write_all(b"ping").await.unwrap();
    let mut back = [0u8; 4];
    within("the echo", client.read_exact(&mut back))
        .await
        .unwrap();
    let took = sent.elapsed();
    assert_eq!(&back, b"ping");
    assert!(took >= LATENCY * 2, "a round trip took {took:?}");
    assert!(took < LATENCY * 2 + Duration::from_secs(1), "{took:?}");
}

#[tokio::test]
async fn the_upstreams_close_arrives_a_latency_later() {
    let upstream = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let to = upstream.local_addr().unwrap();
    let (closed_tx, closed_rx) = oneshot::channel();
    tokio::spawn(async move {
        let (conn, _) = upstream.accept().await.unwrap();
        drop(conn);
        let _ = closed_tx.send(Instant::now());
    });
    let mut client = TcpStream::connect(relay_to(to).await).await.unwrap();
    let closed = within("the upstream's close", closed_rx).await.unwrap();
    let mut buf = [0u8; 1];
    let read = within("the end of the stream", client.read(&mut buf)).await;
    assert_eq!(read.unwrap(), 0, "the client sees the end of the stream");
    let after = closed.elapsed();
    assert!(
        after + Duration::from_millis(5) >= LATENCY,
        "the close crossed in {after:?}"
    );
}

#[tokio::test]
async fn a_refused_upstream_reads_as_a_reset_or_an_end() {
    // A port nothing listens on: bound, then closed.
    let to = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let mut client = TcpStream::connect(relay_to(to).await).await.unwrap();
    let mut buf = [0u8; 1];
    match within("the relay's answer", client.read(&mut buf)).await {
        Ok(0) | Err(_) => {}
        Ok(n) => panic!("read {n} bytes from a refused upstream"),
    }
}

/// The keep-alive race: the upstream closes an idle connection; a request the client writes
/// before that close has crossed the relay reaches a closed socket and is never answered.
#[tokio::test]
async fn a_request_sent_as_the_upstream_closes_is_lost() {
    let upstream = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let to = upstream.local_addr().unwrap();
    let (closed_tx, closed_rx) = oneshot::channel();
    tokio::spawn(async move {
        let (mut conn, _) = upstream.accept().await.unwrap();
        // It never answers what comes after its close: it closes without reading.
        let _ = conn.shutdown().await;
        drop(conn);
        let _ = closed_tx.send(());
    });
    let mut client = TcpStream::connect(relay_to(to).await).await.unwrap();
    within("the upstream's close", closed_rx).await.unwrap();
    // The close is still crossing the relay: the client cannot know yet (nothing to read, not
    // even the end), so it writes its request on a connection that is already gone.
    let mut probe = [0u8; 1];
    assert!(
        matches!(client.try_read(&mut probe), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "the close crossed at once"
    );
    client.write_all(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
    let mut answer = Vec::new();
    let read = within("the end", client.read_to_end(&mut answer)).await;
    assert!(
        read.is_err() || answer.is_empty(),
        "got an answer: {answer:?}"
    );
}
