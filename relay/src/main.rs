//! The `delay-relay` binary: parses its command line and relays until it is stopped.

use clap::Parser;
use delay_relay::{Config, relay};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let config = Config::parse();
    if let Err(error) = relay(&config.routes, config.latency).await {
        eprintln!("error: {error}");
        std::process::exit(2);
    }
}
