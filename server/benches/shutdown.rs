//! Benchmark: `/healthz` throughput against a plain axum server, and a 1000-request burst drained
//! at shutdown. Run with `cargo bench -p graceful-server --bench shutdown`.
//!
//! Both servers run as separate processes (the plain one is this binary started again with
//! `BENCH_ROLE=plain`), alternately, against the same in-process keep-alive load generator.
//! Targets, each printed with whether it was met: a req/s ratio of at least 0.95 against plain
//! axum, and all 1000 burst requests answered with exit code 0.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use axum::routing::get;
use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;
use nix::sys::resource::{Resource, getrlimit, setrlimit};
use nix::sys::signal::{Signal, kill};
use nix::unistd::{Pid, SysconfVar, sysconf};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const ROUNDS: usize = 20;
const LOAD_DURATION: Duration = Duration::from_secs(1);
const LOAD_CONNECTIONS: usize = 32;
const BURST: usize = 1000;
const BURST_DELAY: &str = "2s";
const DEADLINE: Duration = Duration::from_secs(30);
/// The throughput target: graceful-server's `/healthz` req/s at least this share of plain axum's.
const TARGET_RATIO: f64 = 0.95;

fn main() {
    if std::env::var_os("BENCH_ROLE").is_some_and(|r| r == "plain") {
        return plain_server();
    }
    raise_fd_limit();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    throughput(&runtime);
    burst(&runtime);
}

/// `/healthz` req/s and CPU per request of this server against a plain axum server.
fn throughput(runtime: &tokio::runtime::Runtime) {
    println!(
        "throughput: GET /healthz, {LOAD_CONNECTIONS} keep-alive connections, {LOAD_DURATION:?} windows"
    );
    // Both run all along; short alternating windows keep drifts in machine speed out of the ratio.
    let baseline = Spawned::start(true, &[]);
    let server = Spawned::start(false, &[]);
    let (mut plain, mut ours) = (Vec::new(), Vec::new());
    let cpu_before = (baseline.cpu_time(), server.cpu_time());
    let mut served = (0, 0);
    for round in 0..ROUNDS {
        // Which server goes first alternates too, so whatever the first window of a round
        // leaves behind (a warmer cache, a busier neighbour) falls on each server equally.
        let mut measure = |plain_turn: bool| {
            if plain_turn {
                let (count, rps) = runtime.block_on(load(baseline.addr));
                served.0 += count;
                plain.push(rps);
            } else {
                let (count, rps) = runtime.block_on(load(server.addr));
                served.1 += count;
                ours.push(rps);
            }
        };
        let plain_first = round % 2 == 0;
        measure(plain_first);
        measure(!plain_first);
    }
    // CPU time per request is steadier than req/s when the machine's speed drifts; user time
    // is where the servers' own code differs (the kernel's TCP work is the same for both).
    let per_request = |before: Cpu, after: Cpu, count: u64| {
        let us = |d: Duration| d.as_secs_f64() * 1e6 / count as f64;
        (
            us(after.total() - before.total()),
            us(after.user - before.user),
        )
    };
    let plain_cpu = per_request(cpu_before.0, baseline.cpu_time(), served.0);
    let ours_cpu = per_request(cpu_before.1, server.cpu_time(), served.1);
    drop((baseline, server));
    let ratios: Vec<f64> = ours.iter().zip(&plain).map(|(o, p)| o / p).collect();
    println!(
        "  plain axum {:.0} req/s, graceful-server {:.0} req/s (medians of {ROUNDS} rounds of alternating windows)",
        median(plain),
        median(ours)
    );
    let ratio = median(ratios.clone());
    println!(
        "  ratio graceful-server / plain axum: {ratio:.3} (median of rounds; min {:.3}, max {:.3}); target >= {TARGET_RATIO}: {}",
        ratios.iter().copied().fold(f64::INFINITY, f64::min),
        ratios.iter().copied().fold(0.0, f64::max),
        if ratio >= TARGET_RATIO {
            "met"
        } else {
            "NOT met"
        }
    );
    println!(
        "  server CPU per request: plain axum {:.1} us (user {:.2}), graceful-server {:.1} us (user {:.2}) ({:+.1}%, user {:+.1}%)",
        plain_cpu.0,
        plain_cpu.1,
        ours_cpu.0,
        ours_cpu.1,
        (ours_cpu.0 / plain_cpu.0 - 1.0) * 100.0,
        (ours_cpu.1 / plain_cpu.1 - 1.0) * 100.0
    );
}

/// A burst of slow requests in flight when SIGTERM arrives: how many are answered.
fn burst(runtime: &tokio::runtime::Runtime) {
    println!("burst: {BURST} concurrent GET /?delay={BURST_DELAY}, SIGTERM once all are received");
    let mut server = Spawned::start(false, &["--delay", BURST_DELAY, "--drain-timeout", "10s"]);
    let started = Instant::now();
    let requests: Vec<_> = (0..BURST)
        .map(|_| runtime.spawn(slow_request(server.addr)))
        .collect();
    let received = server.count_lines("Receive Request...", BURST);
    println!(
        "  {received} of {BURST} received after {:?}; sending SIGTERM",
        started.elapsed()
    );
    let signalled = Instant::now();
    kill(server.pid(), Signal::SIGTERM).unwrap();
    let answered = runtime.block_on(async {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        let mut ok = 0;
        for request in requests {
            if tokio::time::timeout_at(deadline, request)
                .await
                .is_ok_and(|r| r.unwrap())
            {
                ok += 1;
            }
        }
        ok
    });
    let status = server.wait();
    println!(
        "  {answered} of {BURST} answered 200 OK; server exit {:?} {:?} after SIGTERM; target {BURST} of {BURST} and exit 0: {}",
        status.code(),
        signalled.elapsed(),
        if answered == BURST && status.code() == Some(0) {
            "met"
        } else {
            "NOT met"
        }
    );
}

/// A plain axum server with no shutdown handling: the baseline.
fn plain_server() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("listening on {}", listener.local_addr().unwrap());
        let app = Router::new().route("/healthz", get(|| async { "OK\n" }));
        axum::serve(listener, app).await.unwrap();
    });
}

fn raise_fd_limit() {
    let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
    setrlimit(Resource::RLIMIT_NOFILE, hard, hard).unwrap();
    assert!(
        hard >= 2 * BURST as u64 + 100,
        "open-file limit {hard} is too low for the burst"
    );
}

/// Keep-alive clients sending `GET /healthz` back to back; returns responses and responses per second.
async fn load(addr: SocketAddr) -> (u64, f64) {
    let done = Arc::new(AtomicU64::new(0));
    let until = tokio::time::Instant::now() + LOAD_DURATION;
    let clients: Vec<_> = (0..LOAD_CONNECTIONS)
        .map(|_| {
            let done = Arc::clone(&done);
            tokio::spawn(async move {
                let stream = TcpStream::connect(addr).await.unwrap();
                stream.set_nodelay(true).unwrap();
                let (mut sender, connection) =
                    hyper::client::conn::http1::handshake(TokioIo::new(stream))
                        .await
                        .unwrap();
                tokio::spawn(connection);
                while tokio::time::Instant::now() < until {
                    let request = Request::get("/healthz")
                        .header("host", "bench")
                        .body(Body::empty())
                        .unwrap();
                    let response = sender.send_request(request).await.unwrap();
                    assert!(response.status().is_success());
                    response.into_body().collect().await.unwrap();
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    let started = Instant::now();
    for client in clients {
        client.await.unwrap();
    }
    let count = done.load(Ordering::Relaxed);
    (count, count as f64 / started.elapsed().as_secs_f64())
}

/// One `GET /` on its own connection; true when it was answered `200` with its full body.
async fn slow_request(addr: SocketAddr) -> bool {
    let attempt = async {
        let mut stream = TcpStream::connect(addr).await?;
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
            .await?;
        let mut reply = Vec::new();
        stream.read_to_end(&mut reply).await?;
        std::io::Result::Ok(reply.starts_with(b"HTTP/1.1 200") && reply.ends_with(b"\r\n\r\nOK\n"))
    };
    matches!(tokio::time::timeout(DEADLINE, attempt).await, Ok(Ok(true)))
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// CPU time a process has used, in user space (its own code) and in the kernel.
#[derive(Clone, Copy)]
struct Cpu {
    user: Duration,
    system: Duration,
}

impl Cpu {
    fn total(self) -> Duration {
        self.user + self.system
    }
}

/// A server process whose stdout lines are forwarded to a channel.
struct Spawned {
    child: Child,
    addr: SocketAddr,
    lines: Receiver<String>,
}

impl Spawned {
    fn start(plain: bool, args: &[&str]) -> Self {
        let mut command = if plain {
            let mut command = Command::new(std::env::current_exe().unwrap());
            command.env("BENCH_ROLE", "plain");
            command
        } else {
            let mut command = Command::new(env!("CARGO_BIN_EXE_server"));
            command.args(["--listen", "127.0.0.1:0"]).args(args);
            command
        };
        let mut child = command.stdout(Stdio::piped()).spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        // Always drain the pipe, so a chatty server never blocks on a full one.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let first = lines
            .recv_timeout(DEADLINE)
            .expect("server printed nothing");
        let addr = first
            .split("listening on ")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .and_then(|addr| addr.parse().ok())
            .unwrap_or_else(|| panic!("no address in {first:?}"));
        Self { child, addr, lines }
    }

    fn pid(&self) -> Pid {
        Pid::from_raw(self.child.id() as i32)
    }

    /// Waits until `count` lines containing `needle` were printed (or the deadline); returns how many.
    fn count_lines(&self, needle: &str, count: usize) -> usize {
        let deadline = Instant::now() + DEADLINE;
        let mut seen = 0;
        while seen < count {
            match self
                .lines
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            {
                Ok(line) if line.contains(needle) => seen += 1,
                Ok(_) => {}
                Err(_) => break,
            }
        }
        seen
    }

    /// The CPU time the process has used so far.
    fn cpu_time(&self) -> Cpu {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap();
        // Fields after the command name (which may hold spaces): utime and stime are 14 and 15.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .unwrap()
            .1
            .split_whitespace()
            .collect();
        let per_second = sysconf(SysconfVar::CLK_TCK).unwrap().unwrap() as f64;
        let ticks = |field: &str| {
            Duration::from_secs_f64(field.parse::<u64>().unwrap() as f64 / per_second)
        };
        Cpu {
            user: ticks(fields[11]),
            system: ticks(fields[12]),
        }
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn wait(&mut self) -> std::process::ExitStatus {
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                self.kill();
                panic!("server did not exit within {DEADLINE:?}");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        self.kill();
    }
}
