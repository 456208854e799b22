//! One module per subcommand, each with a plain `run`.

mod analyze;
mod annotate;
mod bee;
mod collect;
pub mod compare;

mod delete;
mod live_view;
mod observe;
mod plan;
mod reap;
mod render;
mod report;
mod run;
mod ship;
mod swarm;

use std::process::ExitCode;

use crate::cli::{Cli, Command};

/// Runs the chosen subcommand.
pub async fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    let g = &cli.global;
    match cli.command {
        Command::Run(args) => run::run(g, args).await,
        Command::Render(args) => render::run(g, args).await,
        Command::Observe(args) => observe::run(g, args).await,
        Command::Delete(args) => delete::run(g, args).await,
        Command::Reap(args) => reap::run(g, args).await,
        Command::Analyze(args) => analyze::run(g, args).await,
        Command::Compare(args) => compare::run(g, args).await,
        Command::Report(args) => report::run(g, args).await,
        Command::Ship(args) => ship::run(g, args).await,
        Command::Bee(args) => bee::run(g, args).await,
        Command::Collect(args) => collect::run(g, args).await,
        Command::Annotate(args) => annotate::run(g, args).await,
        Command::LiveView(args) => live_view::run(args).await,
        Command::Swarm(args) => swarm::run(args).await,
    }
}
