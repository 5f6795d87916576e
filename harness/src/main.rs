//! The `shutdown-harness` command: a few lines calling the library.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    shutdown_harness::cli::main().await
}
