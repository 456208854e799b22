//! stampede: distributed load tests on AWS from one command.

mod aws;
mod bee;
mod blueprint;
mod cli;
mod commands;
mod events;
mod exit;
mod fault;
mod gate;
mod input_file;
mod interrupt;
mod local;
mod metrics;
mod monitor;
mod render;
mod report;
mod results;
mod stack;
mod ui;

use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let default = match cli.global.verbose {
        0 => "warn,stampede=info",
        1 => "warn,stampede=debug",
        _ => "info,stampede=trace",
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            EnvFilter::try_from_env("STAMPEDE_LOG").unwrap_or_else(|_| EnvFilter::new(default)),
        )
        .without_time()
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(exit::INFRA);
        }
    };
    let json = cli.global.output == cli::OutputMode::Json;
    // A panic is a bug: it exits 4, never 1 ("slower"), and `run` has
    // already deleted its stack (see `commands::run`'s guard).
    let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        runtime.block_on(commands::dispatch(cli))
    }));
    let (outcome, message) = match ran {
        Ok(Ok(code)) => return code,
        Ok(Err(err)) => (
            exit::Outcome::of_error(&err),
            ui::redact(&format!("{err:#}")),
        ),
        Err(_) => (
            exit::Outcome::Internal,
            "internal error: stampede panicked (a bug; the message is above)".to_string(),
        ),
    };
    eprintln!("error: {message}");
    if json {
        // A machine reader gets a final result object on every exit path.
        println!(
            "{}",
            serde_json::json!({
                "type": "result",
                "status": outcome.status(),
                "exit_code": outcome.code(),
                "message": message,
            })
        );
    }
    ExitCode::from(outcome.code())
}
