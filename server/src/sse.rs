//! `GET /events?every=100ms&for=10s`: server-sent events, numbered, one every `every`, ending
//! after `for`; at a graceful shutdown, a last `going-away` event and the end of the stream.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, Uri};
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::Stream as FuturesStream;
use server_contract::stream::{
    DEFAULT_EVERY, DEFAULT_FOR, GOING_AWAY_REASON, SSE_GOING_AWAY_EVENT,
};
use server_contract::{StreamEnd, StreamProtocol};
use tokio::time::Instant;

use crate::query::{BadRequest, stream_duration};
use crate::request_id::request_id;
use crate::state::AppState;
use crate::streams::Stream;

#[derive(serde::Deserialize)]
pub(crate) struct EventsQuery {
    every: Option<String>,
    #[serde(rename = "for")]
    lasting: Option<String>,
}

/// `GET /events`: event 1 at once (so the client knows the stream is live), then one every
/// `every` (default 100ms) while less than `for` (default 10s) has passed; the stream ends at
/// `for`. Each event is `id: N` and `data: N`. A bad `every` or `for` gets `400`.
pub(crate) async fn events(
    State(state): State<AppState>,
    Query(query): Query<EventsQuery>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, BadRequest> {
    let every = stream_duration(query.every.as_deref(), "every", DEFAULT_EVERY)?;
    let lasting = stream_duration(query.lasting.as_deref(), "for", DEFAULT_FOR)?;
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let stream = state
        .streams
        .open(StreamProtocol::Sse, path, request_id(&headers));
    Ok(Sse::new(numbered(stream, every, lasting)).into_response())
}

/// Where an event stream is.
struct Events {
    stream: Stream,
    every: Duration,
    next: Instant,
    end: Instant,
    number: u64,
    /// The going-away event has been sent: the stream ends at its next poll.
    said_goodbye: bool,
}

/// The events of one stream: numbered until `lasting` has passed, or a going-away event at a
/// graceful shutdown.
fn numbered(
    stream: Stream,
    every: Duration,
    lasting: Duration,
) -> impl FuturesStream<Item = Result<Event, Infallible>> {
    let start = Instant::now();
    let events = Events {
        stream,
        every,
        next: start,
        end: start + lasting,
        number: 0,
        said_goodbye: false,
    };
    futures_util::stream::unfold(events, |mut events| async move {
        if events.said_goodbye {
            return None;
        }
        let wake = events.next.min(events.end);
        tokio::select! {
            // A shutdown that has begun wins over a tick that is also due.
            biased;
            _deadline = events.stream.going_away() => {
                events.said_goodbye = true;
                events.stream.end(StreamEnd::GoingAway);
                let goodbye = Event::default()
                    .event(SSE_GOING_AWAY_EVENT)
                    .data(GOING_AWAY_REASON);
                Some((Ok(goodbye), events))
            }
            () = tokio::time::sleep_until(wake) => {
                if events.next >= events.end {
                    events.stream.end(StreamEnd::Completed);
                    // Dropping `events` closes the stream, logged as completed.
                    return None;
                }
                events.number += 1;
                events.next += events.every;
                events.stream.sent_one();
                let number = events.number.to_string();
                let event = Event::default().id(&number).data(number);
                Some((Ok(event), events))
            }
        }
    })
}
