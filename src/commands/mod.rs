//! One module per subcommand, each with a plain `run` that returns how it
//! ended. This layer decides the one result object and exit code of every
//! command, on every path: success, error, panic and signal.

mod analyze;
mod annotate;
mod bee;
mod collect;
pub mod compare;

mod delete;
mod live_view;
mod observe;
mod outcome;
mod plan;
mod reap;
mod render;
mod report;
mod run;
mod ship;
mod swarm;

use crate::cli::{Cli, Command, GlobalArgs};
use crate::exit::{Ended, Outcome};
use crate::feed::Feed;
use crate::interrupt::Interrupt;

/// What every command is given: the global flags, the event feed its
/// output goes through, and the signals received.
pub struct Ctx<'a> {
    /// `--output`, `--region`, `--profile`, ...
    pub global: &'a GlobalArgs,
    /// Where events go; the sinks render them.
    pub feed: &'a Feed,
    /// SIGINT / SIGTERM.
    pub interrupt: &'a Interrupt,
}

/// Runs the command and ends it: the result object goes out through the
/// feed (once, whatever happened) and the returned ending's code is the
/// process's.
pub fn main(runtime: &tokio::runtime::Runtime, cli: Cli) -> Ended {
    let feed = crate::ui::feed(cli.global.output);
    let json = cli.global.output == crate::cli::OutputMode::Json;
    let handles_signals = handles_signals(&cli.command);
    let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        runtime.block_on(async {
            // Installed before anything else: a signal during the checks
            // or an upload is handled like one later on.
            let interrupt = Interrupt::install(json);
            let ctx = Ctx {
                global: &cli.global,
                feed: &feed,
                interrupt: &interrupt,
            };
            tokio::select! {
                r = dispatch(&ctx, cli.command) => r,
                // Commands that hold nothing to clean up stop at once.
                () = interrupt.token().cancelled(), if !handles_signals => {
                    Ok(interrupted(&interrupt, "interrupted"))
                }
            }
        })
    }));
    let ended = match ran {
        Ok(Ok(ended)) => ended,
        Ok(Err(err)) => {
            let message = crate::ui::redact(&format!("{err:#}"));
            eprintln!("error: {message}");
            Ended::new(outcome::of_error(&err)).saying(message)
        }
        // A panic is a bug: it exits 4, never 1 ("slower"), and `run` has
        // already deleted its stack (see the engine's guard).
        Err(_) => {
            let message = "internal error: stampede panicked (a bug; the message is above)";
            eprintln!("error: {message}");
            Ended::new(Outcome::Internal).saying(message)
        }
    };
    feed.finish(ended.result());
    ended
}

/// The ending of a command stopped by a signal.
fn interrupted(interrupt: &Interrupt, message: &str) -> Ended {
    Ended::new(Outcome::Interrupted {
        code: interrupt.exit_code().unwrap_or(crate::exit::SIGINT),
    })
    .saying(message)
}

/// Commands that watch for signals themselves, because they have
/// something to stop or clean up (a stack, bees, a follow loop).
fn handles_signals(c: &Command) -> bool {
    matches!(
        c,
        Command::Run(_)
            | Command::Observe(_)
            | Command::Delete(_)
            | Command::Reap(_)
            | Command::Collect(_)
            | Command::Ship(_)
            | Command::Bee(_)
            | Command::LiveView(_)
    )
}

/// Runs the chosen subcommand.
async fn dispatch(ctx: &Ctx<'_>, command: Command) -> anyhow::Result<Ended> {
    match command {
        Command::Run(args) => run::run(ctx, args).await,
        Command::Render(args) => render::run(ctx, args).await,
        Command::Observe(args) => observe::run(ctx, args).await,
        Command::Delete(args) => delete::run(ctx, args).await,
        Command::Reap(args) => reap::run(ctx, args).await,
        Command::Analyze(args) => analyze::run(ctx, args).await,
        Command::Compare(args) => compare::run(ctx, args).await,
        Command::Report(args) => report::run(ctx, args).await,
        Command::Ship(args) => ship::run(ctx, args).await,
        Command::Bee(args) => bee::run(ctx, args).await,
        Command::Collect(args) => collect::run(ctx, args).await,
        Command::Annotate(args) => annotate::run(ctx, args).await,
        Command::LiveView(args) => live_view::run(ctx, args).await,
        Command::Swarm(args) => swarm::run(args).await,
    }
}
