//! The client's request id, when it is one the log can carry (no spaces, nothing long).

use axum::http::HeaderMap;

/// The client's request id ([`server_contract::REQUEST_ID_HEADER`]), when it is one the log can
/// carry: no spaces, nothing long.
pub(crate) fn request_id(headers: &HeaderMap) -> Option<String> {
    loggable_id(
        headers
            .get(server_contract::REQUEST_ID_HEADER)?
            .to_str()
            .ok()?,
    )
}

/// `id`, if the log can carry it: no spaces, nothing long.
pub(crate) fn loggable_id(id: &str) -> Option<String> {
    (id.len() <= 64 && id.bytes().all(|b| b.is_ascii_graphic())).then(|| id.to_string())
}
