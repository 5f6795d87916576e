//! The `server` binary: parse the flags, run the server, exit with its code.

use clap::Parser;
use graceful_server::Config;

#[tokio::main]
async fn main() {
    let code = match graceful_server::run(Config::parse()).await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error}");
            2
        }
    };
    std::process::exit(code);
}
