//! One relayed connection: the two directions between the downstream peer (who connected to the
//! relay) and the upstream one (where the route goes), each delivering what it read `latency`
//! later, in order: data, the end of the stream, a reset.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

/// How much is read at once.
const CHUNK: usize = 16 * 1024;

/// What one side said, to be repeated to the other side later.
enum Said {
    Data(Vec<u8>),
    /// The end of its stream (FIN).
    End,
    /// Its connection failed (a reset, or any other error).
    Reset,
}

/// One direction: what was read and when, waiting for its turn.
#[derive(Default)]
struct Direction {
    queue: VecDeque<(Instant, Said)>,
    /// Still reading from the side it comes from.
    reading_done: bool,
    /// The end was delivered to the side it goes to.
    delivered_end: bool,
}

impl Direction {
    fn push(&mut self, said: Said) {
        if matches!(said, Said::End | Said::Reset) {
            self.reading_done = true;
        }
        self.queue.push_back((Instant::now(), said));
    }

    /// When the next thing is due, `latency` after it was read.
    fn due(&self, latency: Duration) -> Option<Instant> {
        self.queue.front().map(|(at, _)| *at + latency)
    }
}

/// How a connection ended: which sides must be reset rather than closed.
struct Ending {
    reset_down: bool,
    reset_up: bool,
}

/// Relays `down` to `to` with `latency` each way until both sides have ended.
pub(crate) async fn relay_connection(mut down: TcpStream, to: SocketAddr, latency: Duration) {
    let _ = down.set_nodelay(true);
    let mut up = match TcpStream::connect(to).await {
        Ok(up) => up,
        Err(_) => {
            // The relay accepted what the upstream refuses: the closest it can say is a reset,
            // a round trip later.
            tokio::time::sleep(latency * 2).await;
            reset(down);
            return;
        }
    };
    let _ = up.set_nodelay(true);
    let ending = pump(&mut down, &mut up, latency).await;
    if ending.reset_down {
        reset(down);
    }
    if ending.reset_up {
        reset(up);
    }
}

/// Moves bytes both ways, each `latency` late, until both ends were delivered or a reset was.
async fn pump(down: &mut TcpStream, up: &mut TcpStream, latency: Duration) -> Ending {
    let (mut down_read, mut down_write) = down.split();
    let (mut up_read, mut up_write) = up.split();
    let mut to_up = Direction::default();
    let mut to_down = Direction::default();
    let mut down_buf = vec![0u8; CHUNK];
    let mut up_buf = vec![0u8; CHUNK];
    loop {
        if to_up.delivered_end && to_down.delivered_end {
            return Ending {
                reset_down: false,
                reset_up: false,
            };
        }
        let due_up = to_up.due(latency);
        let due_down = to_down.due(latency);
        tokio::select! {
            read = down_read.read(&mut down_buf), if !to_up.reading_done => to_up.push(said(read, &down_buf)),
            read = up_read.read(&mut up_buf), if !to_down.reading_done => to_down.push(said(read, &up_buf)),
            () = sleep_until(due_up), if due_up.is_some() => {
                if let Some((_, said)) = to_up.queue.pop_front() {
                    match said {
                        Said::Data(bytes) => {
                            if up_write.write_all(&bytes).await.is_err() {
                                to_down.push(Said::Reset);
                            }
                        }
                        Said::End => {
                            let _ = up_write.shutdown().await;
                            to_up.delivered_end = true;
                        }
                        Said::Reset => return Ending { reset_down: true, reset_up: true },
                    }
                }
            }
            () = sleep_until(due_down), if due_down.is_some() => {
                if let Some((_, said)) = to_down.queue.pop_front() {
                    match said {
                        Said::Data(bytes) => {
                            if down_write.write_all(&bytes).await.is_err() {
                                to_up.push(Said::Reset);
                            }
                        }
                        Said::End => {
                            let _ = down_write.shutdown().await;
                            to_down.delivered_end = true;
                        }
                        Said::Reset => return Ending { reset_down: true, reset_up: true },
                    }
                }
            }
        }
    }
}

/// What a read said.
fn said(read: std::io::Result<usize>, buf: &[u8]) -> Said {
    match read {
        Ok(0) => Said::End,
        Ok(n) => Said::Data(buf[..n].to_vec()),
        Err(_) => Said::Reset,
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Closes `stream` with a reset (SO_LINGER 0), as a peer whose connection failed does.
fn reset(stream: TcpStream) {
    let _ = stream.set_zero_linger();
    drop(stream);
}
