//! Checking a request's query parameters: one the server will not serve is refused with `400`
//! and the reason.

use std::time::Duration;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::config::{MAX_DELAY, parse_duration};

/// A request the server will not serve: answered `400` with the reason on one line.
pub(crate) struct BadRequest(pub(crate) String);

impl IntoResponse for BadRequest {
    fn into_response(self) -> Response {
        (StatusCode::BAD_REQUEST, format!("{}\n", self.0)).into_response()
    }
}

/// Parses a stream's `every` or `for`: a duration from 1 ms to [`MAX_DELAY`], or `default` when
/// absent.
pub(crate) fn stream_duration(
    text: Option<&str>,
    name: &str,
    default: Duration,
) -> Result<Duration, BadRequest> {
    let Some(text) = text else {
        return Ok(default);
    };
    let duration = parse_duration(text).map_err(BadRequest)?;
    if duration < Duration::from_millis(1) || duration > MAX_DELAY {
        return Err(BadRequest(format!(
            "{name}={text:?} must be from 1ms to 10m"
        )));
    }
    Ok(duration)
}
