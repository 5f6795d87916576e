//! A WebSocket (tokio-tungstenite): its numbered messages, and its close frame's code and reason,
//! or the connection's end without one (reported as 1006, abnormal closure).

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::{self, Message};

use super::error::{ProtocolError, check_path};
use super::observation::{Item, Protocol, StreamEnd, StreamObservation, WS_NO_STATUS};
use super::stream::{Recorder, StreamHandle};

/// Opens a WebSocket to `path` on `addr` (e.g. `/ws?every=100ms`) and observes it for at most
/// `deadline`, timing from `start`. The upgrade's `101` is its first item; a refused connect or a
/// failed upgrade is an observation (ended `Refused`, `Cut`, or `Complete` with another status).
pub fn open(
    addr: SocketAddr,
    path: &str,
    start: Instant,
    deadline: Duration,
) -> Result<StreamHandle, ProtocolError> {
    check_path(path)?;
    let url = format!("ws://{addr}{path}");
    let recorder = Recorder::new(start, Protocol::Websocket, path);
    Ok(StreamHandle::spawn(recorder, deadline, move |recorder| {
        observe(addr, url, recorder)
    }))
}

/// Connects, upgrades and reads until the connection ends.
async fn observe(addr: SocketAddr, url: String, recorder: Recorder) -> StreamObservation {
    let tcp = match TcpStream::connect(addr).await {
        Ok(tcp) => tcp,
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            return recorder.end(StreamEnd::Refused, e.to_string());
        }
        Err(e) => return recorder.end(StreamEnd::EmptyReply, e.to_string()),
    };
    let _ = tcp.set_nodelay(true);
    let mut socket = match tokio_tungstenite::client_async(url.as_str(), tcp).await {
        Ok((socket, response)) => {
            recorder.push(Item::Head {
                status: response.status().as_u16(),
            });
            socket
        }
        Err(tungstenite::Error::Http(response)) => {
            // Answered, but not upgraded (a bad query gets 400): a complete HTTP exchange.
            recorder.push(Item::Head {
                status: response.status().as_u16(),
            });
            return recorder.end(StreamEnd::Complete, "the server did not upgrade");
        }
        // Closed or failed before the upgrade's answer.
        Err(e) => return recorder.end(StreamEnd::EmptyReply, e.to_string()),
    };
    let mut close: Option<StreamEnd> = None;
    loop {
        match socket.next().await {
            Some(Ok(Message::Text(text))) => recorder.push(Item::Message {
                number: tick_number(&text),
                text: text.to_string(),
            }),
            Some(Ok(Message::Binary(bytes))) => recorder.push(Item::Message {
                number: None,
                text: String::from_utf8_lossy(&bytes).into_owned(),
            }),
            // Pings are answered by tungstenite as it reads.
            Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
            Some(Ok(Message::Close(frame))) => {
                // tungstenite answers the close as it reads on; the server then closes the
                // connection, which ends the loop.
                close = Some(match frame {
                    Some(frame) => StreamEnd::Closed {
                        code: u16::from(frame.code),
                        reason: frame.reason.to_string(),
                    },
                    None => StreamEnd::Closed {
                        code: WS_NO_STATUS,
                        reason: String::new(),
                    },
                });
            }
            None | Some(Err(tungstenite::Error::ConnectionClosed)) => {
                return match close {
                    Some(end) => recorder.end(end, ""),
                    None => {
                        recorder.end(StreamEnd::Cut, "the connection ended without a close frame")
                    }
                };
            }
            Some(Err(error)) => {
                // After a close frame, the server may drop the connection before reading the
                // client's answer: the close still happened.
                return match close {
                    Some(end) => recorder.end(end, error.to_string()),
                    None => recorder.end(StreamEnd::Cut, error.to_string()),
                };
            }
        }
    }
}

/// N from a message `tick N`.
fn tick_number(text: &str) -> Option<u64> {
    text.strip_prefix("tick ")?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_numbered() {
        assert_eq!(tick_number("tick 12"), Some(12));
        assert_eq!(tick_number("tick"), None);
        assert_eq!(tick_number("hello"), None);
        assert_eq!(tick_number("tick -1"), None);
    }
}
