//! The stream from the `netns` vantage: the load generator's static binary in a helper
//! container that joins the target's network namespace (`network_mode: container:<id>`) and
//! sends to `127.0.0.1:<container port>`, on the target's own loopback. No docker-proxy stands
//! in between, so a closed listener refuses (`refused`) and an accepted connection dropped
//! reads as a reset or an empty reply, whatever the image.
//!
//! The generator starts its schedule as soon as it runs and says when on its first line; the
//! scenario's schedule (the stop's moment) counts from that start, so the load is there before
//! the stop whatever the engine's start took. It writes its records to stdout, which the engine
//! streams back; the harness tells it the server exited with SIGTERM, after which it goes on
//! the after-exit time, as the host's stream does, and ends.

use std::pin::Pin;
use std::time::{Duration, SystemTime};

use futures_util::{Stream, StreamExt};
use load_generator::{Args, Line};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::engine::{ContainerConfig, Engine, OutputLine, run_labels};
use crate::model::events::EventKind;
use crate::model::load::LoadSpec;
use crate::model::vantage::Vantage;
use crate::run::error::ScenarioError;
use crate::run::load::load_record;
use crate::run::logs::harness_instant;
use crate::run::sink::EventSink;

/// How long the generator may take to start and say so.
const START_WAIT: Duration = Duration::from_secs(30);
/// How long past its own limit and deadline the generator's output is followed: the engine's
/// log stream lags seconds behind a container under load.
const OUTPUT_DRAIN: Duration = Duration::from_secs(30);

/// The generator's container for a scenario that runs from `netns`.
#[derive(Debug, Clone)]
pub(crate) struct Generator {
    /// Its image.
    pub(crate) image: String,
    /// Its name: the target's, with `-load`; the run removes it by this name.
    pub(crate) name: String,
    /// The run's id, in its labels.
    pub(crate) run_id: String,
}

/// The generator, started beside its target and sending.
pub(super) struct Running {
    engine: Engine,
    id: String,
    lines: Pin<Box<dyn Stream<Item = OutputLine> + Send>>,
    /// When its stream started, on the harness's clock.
    pub(super) start: Instant,
    /// The longest it runs.
    limit: Duration,
}

/// Starts `generator` in the network namespace of container `target` (`what` in errors), for
/// `spec`'s stream to the container's `port`, each request given at most `budget`, the stream
/// at most `budget` too; returns once the generator said it started.
pub(super) async fn start(
    engine: &Engine,
    generator: &Generator,
    target: &str,
    what: &str,
    spec: &LoadSpec,
    port: u16,
    budget: Duration,
) -> Result<Running, ScenarioError> {
    let args = Args {
        // Scenario::vantage sends only the clients the generator runs here.
        plan: spec.generator_plan(std::net::SocketAddr::from(([127, 0, 0, 1], port)), budget),
        limit: budget.max(spec.duration),
    };
    let id = engine
        .create_container(&ContainerConfig {
            name: Some(generator.name.clone()),
            image: generator.image.clone(),
            labels: run_labels(&generator.run_id),
            network_of: Some(target.to_string()),
            cmd: Some(args.to_args()),
            ..ContainerConfig::default()
        })
        .await?;
    engine.start_container(&id).await?;
    let mut lines = engine.output_lines(&id).boxed();
    let who = format!("the load generator in the network namespace of {what}");
    let mut last = None;
    let started = tokio::time::timeout(START_WAIT, async {
        while let Some(line) = lines.next().await {
            if let Some(Line::Started(us)) = Line::parse(&line.text) {
                return Some(us);
            }
            last = Some(line.text);
        }
        None
    })
    .await;
    match started {
        Ok(Some(us)) => Ok(Running {
            engine: engine.clone(),
            id,
            lines,
            start: harness_instant(SystemTime::UNIX_EPOCH + Duration::from_micros(us)),
            limit: args.limit + args.plan.deadline,
        }),
        // It exited, or never said it started within the wait.
        Ok(None) | Err(_) => Err(ScenarioError::NotReady {
            what: who,
            waited: START_WAIT,
            reason: match last {
                Some(said) => format!("it never said it started; it said {said:?}"),
                None => "it never said it started".to_string(),
            },
        }),
    }
}

/// Follows the started generator: its records as the stream's events, a SIGTERM to it once
/// the server exited (`exited` turns Some), until it says every request has its record.
pub(super) async fn follow(
    mut running: Running,
    spec: &LoadSpec,
    mut exited: watch::Receiver<Option<i64>>,
    sink: &EventSink,
) {
    sink.emit_at(
        running.start,
        EventKind::LoadStarted {
            rate: spec.rate,
            client: spec.client,
            vantage: Vantage::Netns,
        },
    );
    let mut told = false;
    let until = Instant::now() + running.limit + OUTPUT_DRAIN;
    loop {
        if !told && exited.borrow_and_update().is_some() {
            told = true;
            // Already gone means it ended by its limit: nothing to tell.
            let _ = running.engine.kill_container(&running.id, "SIGTERM").await;
        }
        tokio::select! {
            line = running.lines.next() => match line.map(|l| Line::parse(&l.text)) {
                Some(Some(Line::Records(records))) => {
                    sink.emit(EventKind::LoadRecords(records.iter().map(load_record).collect()));
                }
                Some(Some(Line::Ended(_))) | None => break,
                Some(_) => {}
            },
            changed = exited.changed(), if !told => {
                if changed.is_err() {
                    // Nobody will say the server exited: the generator ends by its limit.
                    told = true;
                }
            }
            () = tokio::time::sleep_until(until) => break,
        }
    }
    sink.emit(EventKind::LoadEnded);
}
