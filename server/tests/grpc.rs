//! The gRPC services on the HTTP port, through a real gRPC client (tonic): `shutdown.v1.Probe`'s
//! `Slow` and `Tick` as such, and the standard health service's `Check` and `Watch`; at a
//! graceful shutdown the call in flight answered, a new call UNAVAILABLE, a tick stream that
//! cannot finish in the drain ended with UNAVAILABLE and one that can finished, a watch told
//! NOT_SERVING then ended with UNAVAILABLE; in abrupt mode everything cut.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{DEADLINE, Server, code, runtime, within_deadline};
use graceful_server::grpc::proto::probe_client::ProbeClient;
use graceful_server::grpc::proto::{SlowRequest, TickRequest};
use nix::sys::signal::Signal;
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Status, Streaming};

fn client(addr: SocketAddr) -> ProbeClient<Channel> {
    let channel = Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect_lazy();
    ProbeClient::new(channel)
}

fn slow(delay_ms: u64) -> tonic::Request<SlowRequest> {
    let mut request = tonic::Request::new(SlowRequest { delay_ms });
    request
        .metadata_mut()
        .insert("x-request-id", "slow-1".parse().unwrap());
    request
}

fn tick(every_ms: u64, for_ms: u64) -> tonic::Request<TickRequest> {
    let mut request = tonic::Request::new(TickRequest { every_ms, for_ms });
    request
        .metadata_mut()
        .insert("x-request-id", "tick-1".parse().unwrap());
    request
}

/// The ticks left on `stream`, and how it ended: `Ok` for status OK, else the status.
async fn rest(
    stream: &mut Streaming<graceful_server::grpc::proto::TickReply>,
) -> (Vec<u64>, Result<(), Status>) {
    let mut numbers = Vec::new();
    loop {
        match stream.message().await {
            Ok(Some(tick)) => numbers.push(tick.number),
            Ok(None) => return (numbers, Ok(())),
            Err(status) => return (numbers, Err(status)),
        }
    }
}

#[test]
fn slow_answers_after_its_delay_and_tick_streams_numbered_ticks() {
    let mut server = Server::start(&[]);
    let runtime = runtime();
    within_deadline(&runtime, async {
        let mut probe = client(server.addr);
        let reply = probe.slow(slow(10)).await.expect("Slow").into_inner();
        assert_eq!(reply.waited_ms, 10);
        let refused = probe.slow(slow(600_001)).await.expect_err("11 minutes");
        assert_eq!(refused.code(), Code::InvalidArgument);

        let mut ticks = probe.tick(tick(10, 50)).await.expect("Tick").into_inner();
        let (numbers, end) = rest(&mut ticks).await;
        assert_eq!(numbers, [1, 2, 3, 4, 5]);
        end.expect("status OK");
    });
    server.expect_line("Receive Request... POST /shutdown.v1.Probe/Slow id=slow-1");
    server.expect_line("Stream opened... grpc #1 /shutdown.v1.Probe/Tick id=tick-1");
    server.expect_line("Stream closed... grpc #1 completed, 5 message(s) sent");
    server.signal(Signal::SIGTERM);
    assert_eq!(code(server.wait_exit(DEADLINE)), 0);
}

#[test]
fn graceful_answers_the_call_in_flight_refuses_new_calls_and_ends_a_long_tick_stream() {
    let mut server = Server::start(&[]);
    let runtime = runtime();
    // A channel's connection is made by a task of the runtime.
    let mut probe = runtime.block_on(async { client(server.addr) });
    // Both on the one HTTP/2 connection of the channel.
    let in_flight = runtime.spawn({
        let mut probe = probe.clone();
        async move { probe.slow(slow(500)).await }
    });
    let mut ticks = within_deadline(&runtime, async {
        let mut ticks = probe
            .tick(tick(50, 60_000))
            .await
            .expect("Tick")
            .into_inner();
        let first = ticks.message().await.expect("tick 1").expect("tick 1");
        assert_eq!(first.number, 1);
        ticks
    });
    server.expect_line("Receive Request... POST /shutdown.v1.Probe/Slow id=slow-1");

    server.signal(Signal::SIGTERM);
    // The stream, which could not end within the drain (60 s against 10 s), ends at once,
    // cleanly, with UNAVAILABLE.
    let (numbers, end) = within_deadline(&runtime, rest(&mut ticks));
    let status = end.expect_err("the tick stream ended OK");
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert_eq!(status.message(), "server shutting down");
    assert_eq!(numbers, (2..2 + numbers.len() as u64).collect::<Vec<_>>());

    // The call in flight is answered.
    let reply = within_deadline(&runtime, in_flight)
        .unwrap()
        .expect("call in flight cut");
    assert_eq!(reply.into_inner().waited_ms, 500);

    // A new call, on a new connection, finds the listener closed.
    server.expect_line("Close Server...");
    let refused = within_deadline(&runtime, async { client(server.addr).slow(slow(0)).await })
        .expect_err("a call after the signal was answered");
    assert_eq!(refused.code(), Code::Unavailable, "{refused:?}");

    assert_eq!(code(server.wait_exit(DEADLINE)), 0);
    server.expect_line("GOAWAY sent... shutdown to 127.0.0.1:");
    server.expect_line("Stream closed... grpc #1 going-away, ");
    server.expect_line("Drained: 2 request(s) answered");
}

#[test]
fn a_tick_stream_that_ends_before_the_drain_deadline_is_finished() {
    let mut server = Server::start(&["--drain-timeout", "5s"]);
    let runtime = runtime();
    let mut ticks = within_deadline(&runtime, async {
        let mut ticks = client(server.addr)
            .tick(tick(50, 500))
            .await
            .expect("Tick")
            .into_inner();
        assert_eq!(ticks.message().await.unwrap().unwrap().number, 1);
        ticks
    });

    server.signal(Signal::SIGTERM);
    let (numbers, end) = within_deadline(&runtime, rest(&mut ticks));
    end.expect("status OK");
    assert_eq!(numbers, (2..=10).collect::<Vec<_>>());
    assert_eq!(code(server.wait_exit(DEADLINE)), 0);
    server.expect_line("Stream closed... grpc #1 completed, 10 message(s) sent");
}

#[test]
fn abrupt_cuts_grpc_calls() {
    let mut server = Server::start(&["--mode", "abrupt"]);
    let runtime = runtime();
    let mut probe = runtime.block_on(async { client(server.addr) });
    let in_flight = runtime.spawn({
        let mut probe = probe.clone();
        async move { probe.slow(slow(5_000)).await }
    });
    let mut ticks = within_deadline(&runtime, async {
        let mut ticks = probe
            .tick(tick(50, 60_000))
            .await
            .expect("Tick")
            .into_inner();
        assert_eq!(ticks.message().await.unwrap().unwrap().number, 1);
        ticks
    });
    server.expect_line("Receive Request... POST /shutdown.v1.Probe/Slow id=slow-1");

    server.signal(Signal::SIGTERM);
    assert_eq!(code(server.wait_exit(Duration::from_secs(1))), 2);
    let (_, end) = within_deadline(&runtime, rest(&mut ticks));
    let status = end.expect_err("the tick stream ended OK");
    assert_ne!(status.message(), "server shutting down");
    let cut = within_deadline(&runtime, in_flight).unwrap();
    assert!(cut.is_err(), "the call in flight was answered: {cut:?}");
    assert!(!server.log().contains("Stream closed"));
}

#[test]
fn health_watch_says_serving_then_not_serving_and_ends_unavailable_at_a_graceful_shutdown() {
    use graceful_server::health::proto::HealthCheckRequest;
    use graceful_server::health::proto::health_check_response::ServingStatus;
    use graceful_server::health::proto::health_client::HealthClient;

    let mut server = Server::start(&[]);
    let runtime = runtime();
    let channel = runtime.block_on(async {
        Endpoint::from_shared(format!("http://{}", server.addr))
            .unwrap()
            .connect_lazy()
    });
    let mut health = HealthClient::new(channel);
    let request = |service: &str| {
        let mut request = tonic::Request::new(HealthCheckRequest {
            service: service.to_string(),
        });
        request
            .metadata_mut()
            .insert("x-request-id", "watch-1".parse().unwrap());
        request
    };
    let mut watch = within_deadline(&runtime, async {
        let checked = health.check(request("")).await.expect("Check").into_inner();
        assert_eq!(checked.status, ServingStatus::Serving as i32);
        let unknown = health.check(request("no.Such")).await.expect_err("known");
        assert_eq!(unknown.code(), Code::NotFound);
        let mut watch = health.watch(request("")).await.expect("Watch").into_inner();
        let first = watch.message().await.expect("a status").expect("a status");
        assert_eq!(first.status, ServingStatus::Serving as i32);
        watch
    });
    server.expect_line("Stream opened... grpc #1 /grpc.health.v1.Health/Watch id=watch-1");

    server.signal(Signal::SIGTERM);
    let (statuses, end) = within_deadline(&runtime, async {
        let mut statuses = Vec::new();
        loop {
            match watch.message().await {
                Ok(Some(reply)) => statuses.push(reply.status),
                Ok(None) => return (statuses, Ok(())),
                Err(status) => return (statuses, Err(status)),
            }
        }
    });
    assert_eq!(statuses, [ServingStatus::NotServing as i32]);
    let status = end.expect_err("the watch ended OK");
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert_eq!(status.message(), "server shutting down");
    // Ended at once, not at the drain deadline: the exit follows.
    assert_eq!(code(server.wait_exit(DEADLINE)), 0);
    server.expect_line("Stream closed... grpc #1 going-away, 2 message(s) sent");
}
