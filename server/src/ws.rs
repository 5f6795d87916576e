//! `GET /ws?every=100ms`: a WebSocket that sends `tick N` every `every` and echoes what the
//! client sends; at a graceful shutdown, a close frame 1001 (going away), a bounded wait for the
//! client's close, then the end of the connection.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use server_contract::stream::{
    DEFAULT_EVERY, GOING_AWAY_REASON, WS_CLOSE_WAIT, WS_GOING_AWAY_CODE,
};
use server_contract::{StreamEnd, StreamProtocol};
use tokio::time::Instant;

use crate::log::LogLine;
use crate::query::{BadRequest, stream_duration};
use crate::request_id::request_id;
use crate::state::AppState;
use crate::streams::Stream;

#[derive(serde::Deserialize)]
pub(crate) struct WsQuery {
    every: Option<String>,
}

/// `GET /ws`: upgrades to a WebSocket (HTTP/1.1 `Upgrade: websocket`). A bad `every` gets `400`.
pub(crate) async fn websocket(
    State(state): State<AppState>,
    Query(query): Query<WsQuery>,
    uri: Uri,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Result<Response, BadRequest> {
    let every = stream_duration(query.every.as_deref(), "every", DEFAULT_EVERY)?;
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    // Opened before the 101 is sent, so a drain that begins now already waits for it; if the
    // upgrade never completes, the stream is dropped and logged as closed by the client.
    let stream = state
        .streams
        .open(StreamProtocol::Ws, path, request_id(&headers));
    Ok(upgrade.on_upgrade(move |socket| session(socket, stream, every)))
}

/// One WebSocket session, from the upgrade to the close.
async fn session(mut socket: WebSocket, mut stream: Stream, every: Duration) {
    let mut next = Instant::now();
    let mut number = 0u64;
    loop {
        tokio::select! {
            // A shutdown that has begun wins over a tick that is also due.
            biased;
            deadline = stream.going_away() => {
                go_away(socket, &mut stream, deadline).await;
                return;
            }
            message = socket.recv() => match message {
                Some(Ok(Message::Text(text))) => {
                    if socket.send(Message::Text(text)).await.is_err() {
                        return;
                    }
                }
                Some(Ok(Message::Binary(bytes))) => {
                    if socket.send(Message::Binary(bytes)).await.is_err() {
                        return;
                    }
                }
                // Pings are answered by the WebSocket layer itself.
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                Some(Ok(Message::Close(_))) => {
                    // The WebSocket layer answers the close; reading on sends the answer and
                    // sees the end.
                    let _ = tokio::time::timeout(WS_CLOSE_WAIT, until_closed(&mut socket)).await;
                    return;
                }
                // The client hung up without a close frame, or sent garbage.
                None | Some(Err(_)) => return,
            },
            () = tokio::time::sleep_until(next) => {
                number += 1;
                next += every;
                if socket.send(Message::Text(format!("tick {number}").into())).await.is_err() {
                    return;
                }
                stream.sent_one();
            }
        }
    }
}

/// The server's goodbye: close frame 1001, then up to [`WS_CLOSE_WAIT`] (and no later than the
/// drain deadline) for the client's close frame; dropping the socket then closes the connection.
async fn go_away(mut socket: WebSocket, stream: &mut Stream, deadline: Instant) {
    stream.end(StreamEnd::GoingAway);
    let frame = CloseFrame {
        code: WS_GOING_AWAY_CODE,
        reason: GOING_AWAY_REASON.into(),
    };
    if socket.send(Message::Close(Some(frame))).await.is_err() {
        // The client is gone already: nothing was sent.
        stream.end(StreamEnd::ClosedByClient);
        return;
    }
    stream.log().emit(LogLine::CloseFrameSent {
        protocol: StreamProtocol::Ws,
        stream: stream.number(),
        code: WS_GOING_AWAY_CODE,
        reason: GOING_AWAY_REASON.to_string(),
    });
    let wait = WS_CLOSE_WAIT.min(deadline.saturating_duration_since(Instant::now()));
    let _ = tokio::time::timeout(wait, until_closed(&mut socket)).await;
}

/// Reads until the client's close frame has been seen and the connection has ended (messages
/// after a close are dropped, as RFC 6455 says).
async fn until_closed(socket: &mut WebSocket) {
    while let Some(Ok(_)) = socket.recv().await {}
}
