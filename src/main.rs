//! stampede: distributed load tests on AWS from one command.

mod atomic;
mod aws;
mod bee;
mod blueprint;
mod cli;
mod commands;
mod engine;
mod events;
mod exit;
mod fault;
mod feed;
mod gate;
mod input_file;
mod interrupt;
mod local;
mod metrics;
mod monitor;
mod redact;
mod render;
mod report;
mod results;
mod stack;
mod ui;

use std::process::ExitCode;
use std::time::Duration;

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
    let ended = commands::main(&runtime, cli);
    // A reader still busy after the command ended (one an interrupt cut
    // short) must not hold the exit.
    runtime.shutdown_timeout(Duration::from_millis(200));
    ExitCode::from(ended.code())
}
