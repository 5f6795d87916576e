//! A WebSocket (tokio-tungstenite): its numbered messages, and its close frame's code and reason,
//! or the connection's end without one (reported as 1006, abnormal closure).

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{self, Message};

use super::error::{ProtocolError, check_path};
use super::observation::{Item, Protocol, StreamEnd, StreamObservation, WS_NO_STATUS};
use super::stream::{Recorder, StreamHandle};

/// Opens a WebSocket to `path` on `addr` (e.g. `/ws?every=100ms`) with request id `id` (the
/// `x-request-id` header the server logs) and observes it for at most `deadline`, timing from
/// `start`. The upgrade's `101` is its first item; a refused connect or a failed upgrade is an
/// observation (ended `Refused`, `EmptyReply`, or `Complete` with another status).
pub fn open(
    addr: SocketAddr,
    path: &str,
    id: &str,
    start: Instant,
    deadline: Duration,
) -> Result<StreamHandle, ProtocolError> {
    check_path(path)?;
    let bad_path = || ProtocolError::BadPath {
        path: path.to_string(),
    };
    let mut request = format!("ws://{addr}{path}")
        .into_client_request()
        .map_err(|_| bad_path())?;
    let id = HeaderValue::from_str(id)
        .map_err(|_| ProtocolError::BadRequestId { id: id.to_string() })?;
    request
        .headers_mut()
        .insert(server_contract::REQUEST_ID_HEADER, id);
    let recorder = Recorder::new(start, Protocol::Websocket, path);
    Ok(StreamHandle::spawn(recorder, deadline, move |recorder| {
        observe(addr, request, recorder)
    }))
}

/// Connects, upgrades and reads until the connection ends.
async fn observe(addr: SocketAddr, request: Request, recorder: Recorder) -> StreamObservation {
    let tcp = match TcpStream::connect(addr).await {
        Ok(tcp) => tcp,
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            return recorder.end(StreamEnd::Refused, e.to_string());
        }
        Err(e) => return recorder.end(StreamEnd::EmptyReply, e.to_string()),
    };
    let _ = tcp.set_nodelay(true);
    let mut socket = match tokio_tungstenite::client_async(request, tcp).await {
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
