//! A steady stream of requests across the stop from the host vantage (through the published
//! port), on the load generator's open-model schedule: request i leaves at start + i / rate
//! whether or not earlier ones have answered. The stream runs its duration and on until the
//! server has exited (and a little after), recording every request.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{oneshot, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::client;
use crate::model::events::{Event, EventKind};
use crate::model::load::{ClientProfile, Connection, LoadRecord, LoadSpec};
use crate::model::outcome::Outcome;
use load_generator::{Record, micros, schedule};

use crate::run::pooled::PooledClient;
use crate::run::reqwest_client::ReqwestClient;
use crate::run::sink::{EventSink, Message};

/// A client that sends each request in a task of its own: a connection per request, a pool of
/// keep-alive ones that notes each request's connection, or reqwest itself.
enum Client {
    Fresh(SocketAddr),
    Pooled(Box<PooledClient>),
    Reqwest(Box<ReqwestClient>),
}

impl Client {
    async fn get(&self, path: &str, id: u32, deadline: Duration) -> (Outcome, u16, Connection) {
        match self {
            Client::Fresh(addr) => {
                let response = client::get(*addr, path, deadline, Some(id), || {}).await;
                (
                    response.outcome,
                    response.status.unwrap_or(0),
                    Connection::New,
                )
            }
            Client::Pooled(pool) => pool.get(path, id, deadline).await,
            Client::Reqwest(client) => client.get(path, id, deadline).await,
        }
    }
}

/// How the stream's requests leave: a task per request (`fresh`, `pooled`, `reqwest`), or handed in turn
/// to a fixed set of connections (`fixed`, or `h2c`'s multiplexed ones), each of which sends and
/// records its own: the load generator's clients.
enum Sender {
    Tasks {
        client: Arc<Client>,
        path: Arc<str>,
        deadline: Duration,
        start: Instant,
        done: Arc<Mutex<Vec<LoadRecord>>>,
        requests: JoinSet<()>,
    },
    Generator {
        client: load_generator::Client,
        done: Arc<Mutex<Vec<Record>>>,
    },
}

impl Sender {
    fn new(
        spec: &LoadSpec,
        addr: SocketAddr,
        start: Instant,
        deadline: Duration,
        done: &Arc<Mutex<Vec<LoadRecord>>>,
    ) -> Sender {
        let client = match spec.client {
            ClientProfile::Fresh => Client::Fresh(addr),
            ClientProfile::Pooled => Client::Pooled(Box::new(PooledClient::new(addr))),
            ClientProfile::Reqwest => Client::Reqwest(Box::new(ReqwestClient::new(addr))),
            ClientProfile::Fixed | ClientProfile::H2c => {
                let generator_done = Arc::default();
                let client = load_generator::Client::start_checked(
                    &spec.generator_plan(addr, deadline),
                    client::path_problem(&spec.path).is_none(),
                    start,
                    &generator_done,
                );
                return Sender::Generator {
                    client,
                    done: generator_done,
                };
            }
        };
        Sender::Tasks {
            client: Arc::new(client),
            path: Arc::from(spec.path.as_str()),
            deadline,
            start,
            done: Arc::clone(done),
            requests: JoinSet::new(),
        }
    }

    /// Where the generator's client puts its records, in the generator's own form.
    fn generator_records(&self) -> Option<Arc<Mutex<Vec<Record>>>> {
        match self {
            Sender::Generator { done, .. } => Some(Arc::clone(done)),
            Sender::Tasks { .. } => None,
        }
    }
}

impl schedule::Sender for Sender {
    /// Sends request `id`, due at `due`.
    fn send(&mut self, id: u32, due: Instant) {
        let (client, path, deadline, start, done, requests) = match self {
            Sender::Generator { client, .. } => return schedule::Sender::send(client, id, due),
            Sender::Tasks {
                client,
                path,
                deadline,
                start,
                done,
                requests,
            } => (
                Arc::clone(client),
                Arc::clone(path),
                *deadline,
                *start,
                Arc::clone(done),
                requests,
            ),
        };
        requests.spawn(async move {
            let started = Instant::now();
            let (outcome, status, connection) = client.get(&path, id, deadline).await;
            let record = LoadRecord {
                id,
                sent_us: micros(due - start),
                started_us: micros(started.saturating_duration_since(start)),
                done_us: micros(Instant::now().saturating_duration_since(start)),
                outcome,
                status,
                connection,
            };
            if let Ok(mut done) = done.lock() {
                done.push(record);
            }
        });
        // Reap what has finished, so that the set holds only what is in flight.
        while requests.try_join_next().is_some() {}
    }

    /// Resolves once every request sent has its record. Cancel-safe.
    async fn finish(&mut self) {
        match self {
            Sender::Tasks { requests, .. } => while requests.join_next().await.is_some() {},
            Sender::Generator { client, .. } => schedule::Sender::finish(client).await,
        }
    }
}

/// Sends `spec`'s stream to `addr` from `start`, until it has run its duration and the server
/// has exited (`exited` turns Some) plus [`schedule::AFTER_EXIT`], or until `limit` after `start`; each
/// request has at most `deadline`. Emits the stream's events to `sink`.
///
/// The stream runs on a thread of its own, in a single-threaded runtime, as wrk runs each of
/// its threads: nothing else of the run (engine streams, other scenarios) delays a request's
/// departure, and no request pays for waking a worker on another thread. Dropping the future
/// stops the stream.
pub(super) async fn send(
    spec: &LoadSpec,
    addr: SocketAddr,
    start: Instant,
    exited: watch::Receiver<Option<i64>>,
    limit: Duration,
    deadline: Duration,
    sink: &EventSink,
) {
    let stop = CancellationToken::new();
    let _stop_on_drop = stop.clone().drop_guard();
    // Says "no runtime" if the thread could not make one; closes when the thread is done.
    let (no_runtime, thread_done) = oneshot::channel::<()>();
    let thread = {
        let (spec, exited, sink) = (spec.clone(), exited.clone(), sink.clone());
        std::thread::Builder::new()
            .name("shutdown-harness-load".to_string())
            .spawn(move || {
                // Built here so that it is also dropped here, outside any runtime.
                let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    let _ = no_runtime.send(());
                    return;
                };
                runtime.block_on(async {
                    tokio::select! {
                        () = stream_on_this_thread(&spec, addr, start, exited, limit, deadline, &sink) => {}
                        () = stop.cancelled() => {}
                    }
                });
                drop(no_runtime);
            })
    };
    let on_thread = match thread {
        Ok(_) => thread_done.await.is_err(),
        Err(_) => false,
    };
    // Without a thread or a runtime of its own (the system refused one), the stream runs here.
    if !on_thread {
        stream_on_this_thread(spec, addr, start, exited, limit, deadline, sink).await;
    }
}

/// [`send`]'s stream, on the runtime that polls it.
async fn stream_on_this_thread(
    spec: &LoadSpec,
    addr: SocketAddr,
    start: Instant,
    mut exited: watch::Receiver<Option<i64>>,
    limit: Duration,
    deadline: Duration,
    sink: &EventSink,
) {
    sink.emit_at(
        start,
        EventKind::LoadStarted {
            rate: spec.rate,
            client: spec.client,
            vantage: crate::model::vantage::Vantage::Host,
        },
    );
    let done: Arc<Mutex<Vec<LoadRecord>>> = Arc::default();
    let mut sender = Sender::new(spec, addr, start, deadline, &done);
    let timing = schedule::Timing {
        rate: spec.rate,
        duration: spec.duration,
        limit,
    };
    let generated = sender.generator_records();
    schedule::run(
        timing,
        start,
        &mut sender,
        || exited.borrow_and_update().is_some(),
        || {
            if let Some(generated) = &generated {
                take_generated(generated, &done);
            }
            flush(&done, sink);
        },
    )
    .await;
    sink.emit(EventKind::LoadEnded);
}

/// Sends `spec`'s stream to `addr` for its duration, with no stop, and returns every request
/// in the order they finished: the generator on its own, as the benchmark measures it against
/// wrk. Each request has at most `deadline`.
pub async fn stream(spec: &LoadSpec, addr: SocketAddr, deadline: Duration) -> Vec<LoadRecord> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    // The server never exits here: the stream ends at its duration.
    let (_never, exited) = watch::channel(None);
    let sending = async move {
        let sink = EventSink::new(0, tx);
        send(
            spec,
            addr,
            Instant::now(),
            exited,
            spec.duration,
            deadline,
            &sink,
        )
        .await;
    };
    // Records are taken as they come, so that they are held once, not also in the channel.
    let collecting = async {
        let mut records = Vec::new();
        while let Some(message) = rx.recv().await {
            if let Message::Event(Event {
                kind: EventKind::LoadRecords(batch),
                ..
            }) = message
            {
                records.extend(batch);
            }
        }
        records
    };
    tokio::join!(sending, collecting).1
}

/// Moves the generator's client's records to `done`, in the harness's form.
fn take_generated(generated: &Mutex<Vec<Record>>, done: &Mutex<Vec<LoadRecord>>) {
    let batch = match generated.lock() {
        Ok(mut generated) if !generated.is_empty() => std::mem::take(&mut *generated),
        _ => return,
    };
    if let Ok(mut done) = done.lock() {
        done.extend(batch.iter().map(load_record));
    }
}

/// The generator's record of a request as the harness's.
pub(super) fn load_record(record: &Record) -> LoadRecord {
    LoadRecord {
        id: record.id,
        sent_us: record.due_us,
        started_us: record.departed_us,
        done_us: record.ended_us,
        outcome: record.outcome,
        status: record.status,
        connection: if record.reused {
            Connection::Reused
        } else {
            Connection::New
        },
    }
}

/// Sends what has an outcome as one event.
fn flush(done: &Mutex<Vec<LoadRecord>>, sink: &EventSink) {
    let batch = match done.lock() {
        Ok(mut done) if !done.is_empty() => std::mem::take(&mut *done),
        _ => return,
    };
    sink.emit(EventKind::LoadRecords(batch));
}
