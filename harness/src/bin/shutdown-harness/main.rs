//! The `shutdown-harness` command: a thin layer over the library (see `cli`).

mod cli;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    cli::main().await
}
