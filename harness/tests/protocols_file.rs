//! `scenarios/protocols.toml` on the real engine: a representative subset behaves as its file
//! says, stream expectations included (close codes, GOAWAY frames, cut streams), and a failed
//! stream expectation is a typed failure with its evidence.
//!
//! Timing measured here (2 cores): about 5 s once the images exist.

mod common;

use shutdown_harness::protocol::MAX_STREAM_ID;
use shutdown_harness::{Failure, RunOptions};

use common::{assert_run_left_nothing, engine, failed_report, named, scenario, workspace};

/// Our server's WebSocket said goodbye (1001) and its gRPC stream cut by an abrupt exit (no
/// GOAWAY); a third-party server losing its streams by default (python3 as PID 1 drops SIGTERM:
/// 1006 at SIGKILL) and nginx saving its download with SIGQUIT (a single GOAWAY); our h2c
/// server's two-step GOAWAY around a request in flight.
const SUBSET: [&str; 5] = [
    "protocols/websocket/graceful",
    "protocols/h2c/graceful/request-in-flight",
    "protocols/grpc/abrupt",
    "python-websockets/exec-form/unhandled",
    "nginx-h2c/sigquit",
];

#[tokio::test]
async fn a_subset_of_the_protocol_cells_behaves_as_its_file_says() {
    let mut subset = named(&SUBSET);
    let engine = engine().await;
    let options = RunOptions::new(Some(workspace()));
    let results = shutdown_harness::run_scenarios(Some(&engine), &subset, &options, &mut ())
        .await
        .expect("the run completes");
    assert_run_left_nothing(&options.run_id).await;
    assert!(results.passed(), "{}", failed_report(&results));
    let nginx = scenario(&results, "nginx-h2c/sigquit");
    // The connection open at the signal got one GOAWAY, naming the download's stream.
    let first = nginx
        .observation
        .connections
        .iter()
        .min_by_key(|c| c.opened)
        .expect("a connection");
    assert_eq!(first.goaways.len(), 1, "{first:?}");
    assert_eq!(first.goaways[0].last_stream_id, 1, "{first:?}");
    // Ours sent two: 2^31-1 with a PING, then, the PING answered, the request's stream.
    let ours = scenario(&results, "protocols/h2c/graceful/request-in-flight");
    let first = ours
        .observation
        .connections
        .iter()
        .min_by_key(|c| c.opened)
        .expect("a connection");
    let last_ids: Vec<u32> = first.goaways.iter().map(|g| g.last_stream_id).collect();
    assert_eq!(last_ids, [MAX_STREAM_ID, 1], "{first:?}");
    assert!(
        first
            .pings
            .first()
            .is_some_and(|ping| *ping < first.goaways[1].at),
        "the PING times the second GOAWAY: {first:?}"
    );

    // The same unhandled cell expected to say goodbye fails on the close code, with the code
    // the client saw.
    let unhandled = subset
        .iter_mut()
        .find(|s| s.name == "python-websockets/exec-form/unhandled")
        .expect("in the subset");
    unhandled.expect.streams.close_code = Some(1001);
    let seen = scenario(&results, "python-websockets/exec-form/unhandled");
    let verdict = shutdown_harness::verdict(unhandled, &seen.observation);
    let close: Vec<&Failure> = verdict
        .failures
        .iter()
        .filter(|f| f.kind() == "close-code")
        .collect();
    assert_eq!(close.len(), 1, "{:#?}", verdict.failures);
    assert!(
        matches!(close[0], Failure::CloseCode { expected: 1001, seen, .. } if seen == "1006"),
        "{close:?}"
    );
}
