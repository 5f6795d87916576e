//! `check` on the real engine: nginx (a real server) under SIGTERM and SIGQUIT, our own images,
//! testcontainers, bad input, and the CLI.

mod common;

use std::time::Duration;

use shutdown_harness::check::{CheckOptions, check_image};
use shutdown_harness::report::human;
use shutdown_harness::{StopSignal, docker, third_party};

fn nginx_options(signal: StopSignal) -> CheckOptions {
    CheckOptions {
        requests: 3,
        stop_timeout: Duration::from_secs(8),
        signal: Some(signal),
        stop_after: Duration::from_secs(1),
        after_stop: Duration::from_millis(500),
        startup_timeout: Duration::from_secs(20),
        ..CheckOptions::new(third_party::HTTP_PORT, third_party::NGINX_SLOW_PATH)
    }
}

#[tokio::test]
async fn measure() {
    let docker = docker::connect().await.unwrap();
    let image = third_party::nginx_image(&docker).await.unwrap();
    println!("{image}");
    for signal in [StopSignal::Sigterm, StopSignal::Sigquit] {
        let result = check_image(&docker, &image, &nginx_options(signal))
            .await
            .unwrap();
        println!("{}", human::render_scenario(&result));
        println!("{:#?}", result.observation.requests);
        println!(
            "exit {:?} stop {:?} pid1 {:?}",
            result.observation.exit_code, result.observation.stop_duration, result.observation.pid1
        );
        println!("{:#?}", result.verdict);
    }
    let image = third_party::busybox_httpd_image(&docker).await.unwrap();
    let options = CheckOptions {
        requests: 2,
        stop_timeout: Duration::from_secs(6),
        signal: None,
        stop_after: Duration::from_secs(1),
        after_stop: Duration::from_millis(500),
        startup_timeout: Duration::from_secs(20),
        ..CheckOptions::new(third_party::HTTP_PORT, third_party::BUSYBOX_SLOW_PATH)
    };
    let result = check_image(&docker, &image, &options).await.unwrap();
    println!("{}", human::render_scenario(&result));
    println!("{:#?}", result.observation.requests);
    println!(
        "exit {:?} stop {:?} pid1 {:?}",
        result.observation.exit_code, result.observation.stop_duration, result.observation.pid1
    );
}
