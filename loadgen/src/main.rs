//! The `load-generator` binary: runs one stream from where it stands (inside a container's
//! network namespace, when the harness starts it there) and writes its records to stdout.

use std::io::Write;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use load_generator::{Args, ArgsError, Client, Line, RECORDS_PER_LINE, Record, Timing};
use tokio::signal::unix::{SignalKind, signal};
use tokio::time::Instant;

/// Exit status: the stream ran and every record was written.
const EXIT_OK: u8 = 0;
/// Exit status: the command line or the environment is wrong (as the harness uses 2).
const EXIT_USAGE: u8 = 2;

fn main() -> ExitCode {
    let args = match Args::parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(ArgsError::Help) => {
            println!("{}", load_generator::USAGE);
            return ExitCode::from(EXIT_OK);
        }
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    // One thread, as each of wrk's: no request pays for waking a worker on another.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start a runtime: {error}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    match runtime.block_on(generate(&args)) {
        Ok(()) => ExitCode::from(EXIT_OK),
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

/// Runs the stream: from now, until its duration has passed and SIGTERM said the server
/// exited (plus the schedule's after-exit time), or its limit.
async fn generate(args: &Args) -> std::io::Result<()> {
    // PID 1 of a container gets no default action for SIGTERM: without this handler the
    // harness could not end the stream. SIGINT does the same for a person at a terminal.
    let exited = Arc::new(AtomicBool::new(false));
    for kind in [SignalKind::terminate(), SignalKind::interrupt()] {
        let mut signals = signal(kind)?;
        let exited = Arc::clone(&exited);
        tokio::spawn(async move {
            signals.recv().await;
            exited.store(true, Ordering::SeqCst);
        });
    }
    // The start, on both clocks at once. The records count from the monotonic one (they must
    // not jump); the line gives the start on the wall clock, since that is the clock std can
    // print and the harness places the engine's own events (the stop signal's, from Docker's
    // event stamps) on: read on the same host kernel, both sides agree on it to microseconds,
    // and over a run of seconds it does not step.
    let start = Instant::now();
    let wall = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
    let mut out = Output::default();
    out.line(&Line::Started(wall));
    let plan = &args.plan;
    let done: Arc<Mutex<Vec<Record>>> = Arc::default();
    let mut client = Client::start(plan, start, &done);
    let timing = Timing {
        rate: plan.rate,
        duration: plan.duration,
        limit: args.limit,
    };
    load_generator::schedule::run(
        timing,
        start,
        &mut client,
        || exited.load(Ordering::SeqCst),
        || out.records(&done),
    )
    .await;
    out.records(&done);
    let written = out.written;
    out.line(&Line::Ended(written));
    Ok(())
}

/// Stdout, and how many records went to it.
#[derive(Default)]
struct Output {
    written: u64,
}

impl Output {
    /// Writes the records that have an outcome, [`RECORDS_PER_LINE`] to a line.
    fn records(&mut self, done: &Mutex<Vec<Record>>) {
        let batch = std::mem::take(&mut *done.lock().unwrap_or_else(PoisonError::into_inner));
        for chunk in batch.chunks(RECORDS_PER_LINE) {
            self.line(&Line::Records(chunk.to_vec()));
            self.written += chunk.len() as u64;
        }
    }

    fn line(&mut self, line: &Line) {
        let mut stdout = std::io::stdout().lock();
        // Nobody reads a closed stdout: the records are lost with it, and the stream goes on.
        let _ = writeln!(stdout, "{}", line.render());
        let _ = stdout.flush();
    }
}
