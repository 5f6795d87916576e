//! Binding the listener, accepting connections, and shutting down as the mode says.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpSocket};

use crate::activity::HeadTimeouts;
use crate::config::{Config, KeepAliveDrain, Mode};
use crate::connections::Connections;
use crate::error::Error;
use crate::hub::Hub;
use crate::keep_alive::ShuttingDown;
use crate::log::{Log, LogLine};
use crate::routes::router;
use crate::serving;
use crate::signal::{Signals, StopSignal};
use crate::streams::Streams;
use crate::tracker::Tracker;

/// Pending connections the kernel may queue. tokio's default of 1024 loses a burst of 1000
/// connections at shutdown (they are reset when the listener closes before they are accepted).
pub const LISTEN_BACKLOG: u32 = 4096;

/// Exit code when the drain deadline cut requests.
pub const EXIT_DEADLINE: i32 = 1;

/// Exit code in abrupt mode: what a Go program exits with when its runtime ends it on a signal
/// it cannot die from (as PID 1).
pub const EXIT_ABRUPT: i32 = 2;

/// A new connection that sends no complete request head for this long is closed. It bounds how
/// long a new connection that sent part of a head can hold a drain (hyper closes one that sent
/// nothing at once, but waits for a partial first head). Later heads on a kept-alive connection
/// have `--idle-timeout` instead.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);

/// Binds `addr` with [`LISTEN_BACKLOG`].
pub fn bind(addr: SocketAddr) -> Result<TcpListener, Error> {
    let listen = |source| Error::Listen { addr, source };
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }
    .map_err(listen)?;
    socket.set_reuseaddr(true).map_err(listen)?;
    socket.bind(addr).map_err(listen)?;
    socket.listen(LISTEN_BACKLOG).map_err(listen)
}

/// Runs the server until shutdown and returns the exit code (abrupt mode exits by itself).
pub async fn run(config: Config) -> Result<i32, Error> {
    let log = Log::new(config.log_format);
    // Handlers go in before the listener: a signal arriving once we are reachable is never lost.
    let mut signals = match config.mode {
        Mode::Unhandled => None,
        Mode::Graceful | Mode::Abrupt => Some(Signals::install(&config.signals)?),
    };
    let listener = bind(config.listen)?;
    let addr = listener.local_addr().map_err(|source| Error::Listen {
        addr: config.listen,
        source,
    })?;
    log.emit(LogLine::Start {
        addr,
        mode: config.mode,
    });

    let tracker = Tracker::default();
    let streams = Streams::new(log);
    let shutting_down = ShuttingDown::default();
    let app = router(&config, tracker.clone(), streams.clone());
    let connections = Connections::default();
    let timeouts = HeadTimeouts {
        first: HEADER_READ_TIMEOUT,
        idle: config.idle_timeout,
    };
    let hub = Hub::new(app, shutting_down.clone(), connections, timeouts, log);
    let accept = || accept(&listener, &hub);

    let Some(signals) = signals.as_mut() else {
        // Unhandled: serve until the kernel's default action for a signal ends the process.
        loop {
            accept().await;
        }
    };
    let signal = loop {
        tokio::select! {
            // The signal first: with a connection waiting too, an unbiased choice could accept
            // it after the signal arrived and serve a request that came after the shutdown began.
            biased;
            signal = signals.recv() => break signal,
            () = accept() => {}
        }
    };
    log.emit(LogLine::SignalReceived { signal });

    if config.mode == Mode::Abrupt {
        log.emit(LogLine::Exit { code: EXIT_ABRUPT });
        std::process::exit(EXIT_ABRUPT);
    }

    // From here every response says `Connection: close`, in both keep-alive drains: hyper adds
    // it too once the graceful shutdown reaches a busy connection, but a response written before
    // then would otherwise invite the client to reuse a connection that is about to close.
    shutting_down.begin();
    // Closing the socket makes new connections fail at once instead of waiting in the backlog.
    drop(listener);
    log.emit(LogLine::ShutdownBegun);
    let code = drain(&hub, &tracker, &streams, signals, &config, log).await;
    log.emit(LogLine::Exit { code });
    Ok(code)
}

/// Lingers if the configuration says so, then waits for the connections and the long-lived
/// streams to finish, the deadline, or a second signal; returns the exit code.
async fn drain(
    hub: &Hub,
    tracker: &Tracker,
    streams: &Streams,
    signals: &mut Signals,
    config: &Config,
    log: Log,
) -> i32 {
    let connections = hub.connections();
    let finished_before = tracker.finished();
    // Long-lived streams say goodbye now, each as its protocol says, whatever the keep-alive
    // drain: a linger is for requests on idle connections, not for streams that never end.
    // (After the count above: a stream that ends at once counts as answered in the drain.)
    let deadline = tokio::time::Instant::now() + config.drain_timeout;
    streams.begin_going_away(deadline);
    let linger = match config.keep_alive_drain {
        KeepAliveDrain::CloseIdle => None,
        KeepAliveDrain::Linger => {
            log.emit(LogLine::Linger {
                linger: config.linger,
            });
            Some(config.linger)
        }
    };
    let shutdown = async {
        if let Some(linger) = linger {
            // Idle keep-alive connections stay open for the linger: a request arriving on one is
            // served with `Connection: close` rather than lost to the close. Nothing to wait for
            // once every connection has closed.
            let _ = tokio::time::timeout(linger, connections.all_closed()).await;
        }
        // Each connection is told to finish its requests in flight and close; idle ones close
        // now; HTTP/2 connections are sent their GOAWAY frames.
        hub.begin_shutdown();
        connections.all_closed().await;
        // WebSockets live on after their HTTP connection: they are waited for on their own.
        streams.all_closed().await;
    };
    // The deadline bounds the whole drain, the linger included.
    tokio::select! {
        () = shutdown => {
            log.emit(LogLine::Drained { count: tracker.finished() - finished_before });
            0
        }
        () = tokio::time::sleep_until(deadline) => {
            // Returning ends the process, which cuts whatever is still in flight.
            log.emit(LogLine::DeadlineHit { count: tracker.in_flight() });
            streams.cut_all();
            EXIT_DEADLINE
        }
        signal = signals.recv() => {
            log.emit(LogLine::SecondSignal { signal });
            streams.cut_all();
            second_signal_code(signal)
        }
    }
}

/// The exit code after a second signal: 128 + its number, as a shell reports death by signal.
pub fn second_signal_code(signal: StopSignal) -> i32 {
    128 + signal.number()
}

/// Accepts one connection and serves it in its own task.
async fn accept(listener: &TcpListener, hub: &Arc<Hub>) {
    match listener.accept().await {
        Ok((stream, peer)) => serving::serve(hub, stream, peer),
        Err(error) => {
            // Out of file descriptors and the like: transient, so wait a little and go on.
            eprintln!("accept failed: {error}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
