//! The load generator measured against wrk in the same run, on the same server's `GET /healthz`
//! on 127.0.0.1: the highest rate it sustains with every request recorded, as a ratio to wrk's
//! requests per second, and the memory each recorded request costs.
//!
//! `scripts/bench-load` builds the server and runs this; by hand:
//! `cargo bench -p shutdown-harness --bench load_generator -- "$PWD/target/release/server"`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use nix::sys::resource::{UsageWho, getrusage};
use server_contract::LogLine;
use shutdown_harness::{ClientProfile, Connection, LoadRecord, LoadSpec, Outcome, load_stream};

/// How long wrk and each step of ours run.
const STEP: Duration = Duration::from_secs(3);
/// A rate is sustained when this share of requests left within [`ON_TIME`] of their schedule.
const ON_TIME_SHARE: f64 = 0.99;
const ON_TIME: Duration = Duration::from_millis(10);
/// How many halvings the search for the highest sustained rate makes.
const SEARCH_STEPS: usize = 7;
/// Each request's deadline.
const DEADLINE: Duration = Duration::from_secs(5);

/// Counts the bytes allocated now, so that memory is measured, not estimated.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call goes to the system allocator unchanged; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's contract is passed on as it is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's contract is passed on as it is.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The server, killed when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn main() -> anyhow::Result<()> {
    // `cargo bench` passes `--bench`; the server is the first other argument.
    let binary = std::env::args()
        .skip(1)
        .find(|arg| !arg.starts_with("--"))
        .unwrap_or_else(|| {
            concat!(env!("CARGO_MANIFEST_DIR"), "/../target/release/server").to_string()
        });
    let (_server, addr) = start_server(&binary)?;
    let url = format!("http://{addr}/healthz");

    let runtime = tokio::runtime::Runtime::new()?;
    // `--rate=N`: one stream at that rate, for profiling.
    if let Some(rate) = std::env::args().find_map(|arg| arg.strip_prefix("--rate=")?.parse().ok()) {
        println!(
            "  {rate:>7}/s: {}",
            runtime.block_on(measure(addr, rate, STEP * 2))
        );
        return Ok(());
    }
    let (wrk, wrk_cpu) = wrk_rate(&url)?;
    println!(
        "wrk: {wrk:.0} requests/s (2 threads, 64 connections, {STEP:?}), {wrk_cpu:.1?} CPU per request"
    );

    let (mut low, mut high) = (0u32, (wrk * 1.25) as u32);
    let mut best: Option<Step> = None;
    for _ in 0..SEARCH_STEPS {
        let rate = (low + high).div_ceil(2);
        let step = runtime.block_on(measure(addr, rate, STEP));
        println!("  {rate:>7}/s: {step}");
        if step.sustained() {
            low = rate;
            best = Some(step);
        } else {
            high = rate;
        }
    }
    let Some(best) = best else {
        bail!("no rate was sustained; is the machine busy?");
    };

    // Memory: what the records of a stream hold once it is over, per request, at half the
    // highest rate for twice as long.
    let held = runtime
        .block_on(measure(addr, best.rate / 2, STEP * 2))
        .held;
    println!();
    println!(
        "highest sustained rate, every request recorded: {} requests/s",
        best.rate
    );
    println!(
        "ratio to wrk: {:.2} (target at least 0.8)",
        best.rate as f64 / wrk
    );
    println!(
        "memory per recorded request: {held:.0} bytes (target at most 200; a record is {} bytes)",
        size_of::<LoadRecord>()
    );
    Ok(())
}

/// Starts the server on a free port and waits for its first log line, which names the address.
fn start_server(binary: &str) -> anyhow::Result<(Server, SocketAddr)> {
    let mut child = Command::new(binary)
        .args(["--listen", "127.0.0.1:0", "--delay", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| {
            format!(
                "cannot start {binary}: build it with `cargo build --release -p graceful-server`"
            )
        })?;
    let stdout = child.stdout.take().context("the server's stdout")?;
    let server = Server(child);
    let mut lines = BufReader::new(stdout);
    let mut first = String::new();
    lines.read_line(&mut first)?;
    let Some(LogLine::Start { addr, .. }) = LogLine::parse(first.trim_end()) else {
        bail!("the server's first line is not its start line: {first:?}");
    };
    // The server logs every request: read it away so that it never blocks on a full pipe.
    std::thread::spawn(move || std::io::copy(&mut lines, &mut std::io::sink()));
    Ok((server, addr))
}

/// CPU time (user and system) used so far by `who`.
fn cpu(who: UsageWho) -> Duration {
    getrusage(who).map_or(Duration::ZERO, |usage| {
        let micros = |t: nix::sys::time::TimeVal| {
            Duration::from_secs(t.tv_sec().max(0) as u64)
                + Duration::from_micros(t.tv_usec().max(0) as u64)
        };
        micros(usage.user_time()) + micros(usage.system_time())
    })
}

/// wrk's requests per second on `url`, and the CPU time it spent per request.
fn wrk_rate(url: &str) -> anyhow::Result<(f64, Duration)> {
    let before = cpu(UsageWho::RUSAGE_CHILDREN);
    let duration = format!("{}s", STEP.as_secs());
    let mut child = Command::new("wrk")
        .args(["-t2", "-c64", "-d", &duration, url])
        .stdout(Stdio::piped())
        .spawn()
        .context("cannot run wrk: install it with `apt-get install wrk`")?;
    let mut output = String::new();
    child
        .stdout
        .take()
        .context("wrk's stdout")?
        .read_to_string(&mut output)?;
    child.wait()?;
    let spent = cpu(UsageWho::RUSAGE_CHILDREN) - before;
    let rate: f64 = output
        .lines()
        .find_map(|line| line.strip_prefix("Requests/sec:"))
        .and_then(|rate| rate.trim().parse().ok())
        .with_context(|| format!("wrk said no rate:\n{output}"))?;
    Ok((rate, spent.div_f64((rate * STEP.as_secs_f64()).max(1.0))))
}

/// One stream at one rate, as measured.
struct Step {
    rate: u32,
    expected: usize,
    records: usize,
    ok: usize,
    connections: usize,
    on_time: f64,
    /// Bytes the records held, per record.
    held: f64,
    cpu: Duration,
}

impl Step {
    fn sustained(&self) -> bool {
        self.records == self.expected && self.ok == self.records && self.on_time >= ON_TIME_SHARE
    }
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} of {} recorded, {} ok, {} connections, {:.1}% left within {:?} of schedule, {:.1?} CPU per request: {}",
            self.records,
            self.expected,
            self.ok,
            self.connections,
            self.on_time * 100.0,
            ON_TIME,
            self.cpu,
            if self.sustained() {
                "sustained"
            } else {
                "not sustained"
            }
        )
    }
}

async fn measure(addr: SocketAddr, rate: u32, duration: Duration) -> Step {
    let spec = LoadSpec {
        rate,
        duration,
        path: "/healthz".to_string(),
        client: ClientProfile::Pooled,
    };
    let before = cpu(UsageWho::RUSAGE_SELF);
    let records = load_stream(&spec, addr, DEADLINE).await;
    let spent = cpu(UsageWho::RUSAGE_SELF) - before;
    let with_records = LIVE.load(Ordering::Relaxed);
    let on_time = records
        .iter()
        .filter(|r| {
            Duration::from_micros(u64::from(r.started_us.saturating_sub(r.sent_us))) <= ON_TIME
        })
        .count();
    let step = Step {
        rate,
        // As the generator schedules: request i leaves at i intervals, while within the duration.
        expected: duration
            .as_nanos()
            .div_ceil((Duration::from_secs(1) / rate).as_nanos()) as usize,
        records: records.len(),
        ok: records.iter().filter(|r| r.outcome == Outcome::Ok).count(),
        connections: records
            .iter()
            .filter(|r| r.connection == Connection::New)
            .count(),
        on_time: on_time as f64 / records.len().max(1) as f64,
        held: 0.0,
        cpu: spent / u32::try_from(records.len().max(1)).unwrap_or(u32::MAX),
    };
    drop(records);
    let held = with_records.saturating_sub(LIVE.load(Ordering::Relaxed));
    Step {
        held: held as f64 / step.records.max(1) as f64,
        ..step
    }
}
