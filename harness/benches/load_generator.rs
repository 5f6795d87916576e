//! The load generator measured against wrk in the same run, on the same server's `GET /healthz`
//! on 127.0.0.1, two ways, each as a ratio to wrk's requests per second:
//! - its *throughput*, measured as wrk measures its own: the fixed client asked for twice
//!   wrk's rate, so that every connection always has a request waiting, and the requests it
//!   got answered within the step, per second. wrk's loop sends the next request when an answer
//!   comes; this is the same work, with every request scheduled, timed and recorded;
//! - its *sustained rate*, which wrk has no figure for: for the fixed client and the pooled
//!   one, the highest rate each holds with every request recorded and answered and 99% of
//!   requests leaving within 10 ms of schedule;
//!
//! and the memory each recorded request costs.
//!
//! The machine has 2 cores shared by the server, the generator and wrk. The generator runs on
//! one thread (as a load does in a run), so it is compared with one thread of wrk (`-t1`) with
//! as many connections as the fixed client keeps (`-c64`): the server gets the other core in
//! both cases.
//!
//! `scripts/bench-load` builds the server and runs this; by hand:
//! `cargo bench -p shutdown-harness --bench load_generator -- "$PWD/target/release/server"`,
//! and `--rate=N` (with `--client=pooled` or `--client=fixed`, the default) for one stream at
//! one rate, for profiling; `--connections=N` changes the connection count (64) of both.
//! With `LAG_TIMELINE=1` each stream also prints, for every 50 ms in which a request left more
//! than 5 ms late, the latest departure, how many left more than 10 ms late, and the slowest
//! answer: whether lateness comes from the start, a stalled server or the client.

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

/// How long wrk and each step of ours run. A stream's first 100 ms or so, while its
/// connections are opened all at once, leave late at tens of thousands of requests a second:
/// over 3 s that alone was 1% of the requests, so a step lasts long enough for the stream's
/// steady state to weigh more (10 s steps made a run last 8 minutes).
const STEP: Duration = Duration::from_secs(5);
/// A rate is sustained when this share of requests left within [`ON_TIME`] of their schedule
/// (the p99 departure lag is at most [`ON_TIME`]).
const ON_TIME_SHARE: f64 = 0.99;
const ON_TIME: Duration = Duration::from_millis(10);
/// How many halvings the search for the highest sustained rate makes.
const SEARCH_STEPS: usize = 6;
/// Each request's deadline.
const DEADLINE: Duration = Duration::from_secs(5);
/// The fixed client's connections, and wrk's, unless `--connections=N` says otherwise.
const CONNECTIONS: u16 = 64;
/// The targets: a share of wrk's rate, and bytes per recorded request.
const RATIO_TARGET: f64 = 0.8;
const BYTES_TARGET: f64 = 200.0;

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
        let client = std::env::args()
            .find_map(|arg| ClientProfile::parse(arg.strip_prefix("--client=")?))
            .unwrap_or(ClientProfile::Fixed);
        println!(
            "  {client} {rate:>7}/s: {}",
            runtime.block_on(measure(addr, client, rate, STEP))
        );
        return Ok(());
    }
    println!(
        "configuration: {} cores shared by the server, the generator and wrk; the generator on one thread, wrk -t1; {} connections; {STEP:?} a step; GET /healthz on 127.0.0.1",
        std::thread::available_parallelism().map_or(0, usize::from),
        connections()
    );
    let (wrk_before, wrk_cpu) = wrk_rate(&url)?;
    println!(
        "wrk -t1 -c{} -d{}s: {wrk_before:.0} requests/s, {wrk_cpu:.1?} CPU per request (its own)",
        connections(),
        STEP.as_secs()
    );
    // Twice wrk's rate keeps every connection busy for the whole step.
    let saturated = runtime.block_on(measure(
        addr,
        ClientProfile::Fixed,
        (wrk_before * 2.0) as u32,
        STEP,
    ));
    println!(
        "fixed client asked for {}/s: {} answered within the step, {:.0} requests/s, {:.1?} CPU per request",
        saturated.rate,
        saturated.answered_in_step,
        saturated.throughput(),
        saturated.cpu
    );
    let mut found = Vec::new();
    for client in [ClientProfile::Fixed, ClientProfile::Pooled] {
        println!("{client} client:");
        found.push((client, search(&runtime, addr, client, wrk_before)));
    }
    // wrk again, after ours: the machine is shared, and the higher of the two is the one
    // compared with, so that a busy moment during wrk's run cannot flatter the ratio.
    let (wrk_after, _) = wrk_rate(&url)?;
    let wrk = wrk_before.max(wrk_after);
    println!("wrk again: {wrk_after:.0} requests/s; compared with the higher, {wrk:.0} requests/s");
    println!();
    let ratio = saturated.throughput() / wrk;
    println!(
        "fixed : throughput {:.0} requests/s, as wrk measures its own; ratio to wrk {ratio:.2} (target at least {RATIO_TARGET}: {})",
        saturated.throughput(),
        met(ratio >= RATIO_TARGET),
    );
    for (client, found) in found {
        let Some((best, held)) = found else {
            println!("{client:<6}: no rate was sustained; is the machine busy?");
            continue;
        };
        let ratio = f64::from(best.rate) / wrk;
        println!(
            "{client:<6}: highest sustained rate {} requests/s (p99 departure lag {:.1?}, {:.1?} CPU per request); ratio to wrk {ratio:.2}; {held:.0} bytes per recorded request (target at most {BYTES_TARGET:.0}, a record is {} bytes: {})",
            best.rate,
            best.lag_p99,
            best.cpu,
            size_of::<LoadRecord>(),
            met(held <= BYTES_TARGET),
        );
    }
    Ok(())
}

/// The fixed client's connections, and wrk's.
fn connections() -> u16 {
    std::env::args()
        .find_map(|arg| arg.strip_prefix("--connections=")?.parse().ok())
        .unwrap_or(CONNECTIONS)
}

fn met(held: bool) -> &'static str {
    if held { "met" } else { "not met" }
}

/// The highest rate `client` sustains, by halving from a quarter above wrk's, with the bytes
/// its records held per request at half that rate; None when no rate was sustained.
fn search(
    runtime: &tokio::runtime::Runtime,
    addr: SocketAddr,
    client: ClientProfile,
    wrk: f64,
) -> Option<(Step, f64)> {
    let (mut low, mut high) = (0u32, (wrk * 1.25) as u32);
    let mut best: Option<Step> = None;
    for _ in 0..SEARCH_STEPS {
        let rate = (low + high).div_ceil(2);
        let step = runtime.block_on(measure(addr, client, rate, STEP));
        println!("  {rate:>7}/s: {step}");
        if step.sustained() {
            low = rate;
            best = Some(step);
        } else {
            high = rate;
        }
    }
    let best = best?;
    // Memory: what the records of a stream hold once it is over, per request.
    let held = runtime
        .block_on(measure(addr, client, (best.rate / 2).max(1), STEP))
        .held;
    Some((best, held))
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
        .args(["-t1", &format!("-c{}", connections()), "-d", &duration, url])
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
    lag_p99: Duration,
    /// Bytes the records held, per record.
    held: f64,
    cpu: Duration,
    /// Requests answered `ok` by the end of the step.
    answered_in_step: usize,
    duration: Duration,
}

impl Step {
    /// Requests answered per second of the step.
    fn throughput(&self) -> f64 {
        self.answered_in_step as f64 / self.duration.as_secs_f64()
    }

    fn sustained(&self) -> bool {
        self.records == self.expected && self.ok == self.records && self.on_time >= ON_TIME_SHARE
    }
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} of {} recorded, {} ok, {} connections opened, {:.1}% left within {:?} of schedule (p99 departure lag {:.1?}), {:.1?} CPU per request: {}",
            self.records,
            self.expected,
            self.ok,
            self.connections,
            self.on_time * 100.0,
            ON_TIME,
            self.lag_p99,
            self.cpu,
            if self.sustained() {
                "sustained"
            } else {
                "not sustained"
            }
        )
    }
}

async fn measure(addr: SocketAddr, client: ClientProfile, rate: u32, duration: Duration) -> Step {
    let spec = LoadSpec {
        rate,
        duration,
        path: "/healthz".to_string(),
        client,
        connections: Some(connections()),
        vantage: None,
    };
    let before = cpu(UsageWho::RUSAGE_SELF);
    let records = load_stream(&spec, addr, DEADLINE).await;
    let spent = cpu(UsageWho::RUSAGE_SELF) - before;
    let with_records = LIVE.load(Ordering::Relaxed);
    if std::env::var_os("LAG_TIMELINE").is_some() {
        let mut windows = vec![(0u32, 0u32, 0u32); (duration.as_millis() / 50 + 1) as usize];
        for r in &records {
            let w = (r.sent_us / 50_000) as usize;
            if let Some(window) = windows.get_mut(w) {
                let lag = r.started_us.saturating_sub(r.sent_us);
                window.0 = window.0.max(lag);
                if lag > 10_000 {
                    window.1 += 1;
                }
                window.2 = window.2.max(r.done_us.saturating_sub(r.started_us));
            }
        }
        for (i, (max, late, latency)) in windows.iter().enumerate() {
            if *max > 5_000 {
                eprintln!(
                    "  {:>5}ms: max lag {max}us, {late} late, max latency {latency}us",
                    i * 50
                );
            }
        }
    }
    let mut lags: Vec<u32> = records
        .iter()
        .map(|r| r.started_us.saturating_sub(r.sent_us))
        .collect();
    lags.sort_unstable();
    let on_time = lags
        .iter()
        .filter(|lag| Duration::from_micros(u64::from(**lag)) <= ON_TIME)
        .count();
    let lag_p99 = lags
        .get((lags.len() * 99).div_ceil(100).saturating_sub(1))
        .map_or(Duration::ZERO, |us| Duration::from_micros(u64::from(*us)));
    drop(lags);
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
        lag_p99,
        held: 0.0,
        cpu: spent / u32::try_from(records.len().max(1)).unwrap_or(u32::MAX),
        answered_in_step: records
            .iter()
            .filter(|r| {
                r.outcome == Outcome::Ok && Duration::from_micros(u64::from(r.done_us)) <= duration
            })
            .count(),
        duration,
    };
    drop(records);
    let held = with_records.saturating_sub(LIVE.load(Ordering::Relaxed));
    Step {
        held: held as f64 / step.records.max(1) as f64,
        ..step
    }
}
