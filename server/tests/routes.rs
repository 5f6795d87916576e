//! The routes, driven in-process through `app()`.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use clap::Parser;
use graceful_server::{Config, app};
use http_body_util::BodyExt;
use tower::ServiceExt;

struct Answer {
    status: StatusCode,
    content_length: Option<String>,
    body: Vec<u8>,
}

async fn call(uri: &str) -> Answer {
    let config = Config::parse_from(["server", "--delay", "50ms"]);
    let request = Request::get(uri).body(Body::empty()).unwrap();
    let response = tokio::time::timeout(Duration::from_secs(5), app(&config).oneshot(request))
        .await
        .expect("no response within 5 s")
        .unwrap();
    let status = response.status();
    let content_length = response
        .headers()
        .get("content-length")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    Answer {
        status,
        content_length,
        body,
    }
}

#[tokio::test]
async fn root_waits_the_configured_delay_then_answers_ok() {
    let started = Instant::now();
    let answer = call("/").await;
    assert!(started.elapsed() >= Duration::from_millis(50));
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body, b"OK\n");
}

#[tokio::test]
async fn root_delay_can_be_set_per_request() {
    for delay in ["0", "1", "1ms", "0s"] {
        let answer = call(&format!("/?delay={delay}")).await;
        assert_eq!(answer.status, StatusCode::OK, "delay={delay}");
    }
}

#[tokio::test]
async fn bad_or_huge_delays_are_rejected_with_a_reason() {
    for delay in ["soon", "-5", "601s", "11m", "1e3", "99999999999999999999ms"] {
        let answer = call(&format!("/?delay={delay}")).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "delay={delay}");
        let reason = String::from_utf8(answer.body).unwrap();
        assert!(
            reason.ends_with('\n') && reason.lines().count() == 1,
            "{reason:?}"
        );
    }
}

#[tokio::test]
async fn healthz_answers_at_once() {
    let answer = call("/healthz").await;
    assert_eq!(answer.status, StatusCode::OK);
}

#[tokio::test]
async fn unknown_paths_are_not_found() {
    assert_eq!(call("/nope").await.status, StatusCode::NOT_FOUND);
    assert_eq!(call("/healthz/extra").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn download_sends_the_declared_bytes_at_about_the_rate() {
    let started = Instant::now();
    let answer = call("/download?bytes=3000&rate=10000").await;
    let took = started.elapsed();
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.content_length.as_deref(), Some("3000"));
    assert_eq!(answer.body.len(), 3000);
    // 1000-byte chunks at 10000 B/s: the last leaves 0.2 s after the first.
    assert!(took >= Duration::from_millis(200), "took {took:?}");
    assert!(took < Duration::from_secs(2), "took {took:?}");
}

#[tokio::test]
async fn download_rejects_bad_values() {
    for query in [
        "",
        "bytes=10",
        "rate=10",
        "bytes=10&rate=0",
        "bytes=-1&rate=10",
        "bytes=1073741825&rate=10",
        "bytes=ten&rate=10",
    ] {
        let answer = call(&format!("/download?{query}")).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{query}");
    }
}

#[tokio::test]
async fn download_of_nothing_is_empty() {
    let answer = call("/download?bytes=0&rate=1").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.content_length.as_deref(), Some("0"));
    assert!(answer.body.is_empty());
}
