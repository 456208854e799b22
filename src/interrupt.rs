//! SIGINT and SIGTERM. The first signal cancels the waiting so the command
//! can clean up (delete its stack); a second one exits at once, saying
//! what is left behind and how to remove it.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;

use crate::exit;

/// Shared view of the signals a command received.
#[derive(Clone, Default)]
pub struct Interrupt {
    token: CancellationToken,
    code: Arc<AtomicU8>,
    stack: Arc<Mutex<Option<String>>>,
    /// `--output json`: a second signal still ends with a result object.
    json: bool,
}

impl Interrupt {
    /// Listens for SIGINT and SIGTERM; `json` when a second signal's exit
    /// must still print the final result object.
    pub fn install(json: bool) -> Self {
        let this = Interrupt {
            json,
            ..Interrupt::default()
        };
        use tokio::signal::unix::{SignalKind, signal};
        // Registered here, before the caller goes on: a signal that comes
        // a moment later is already ours, not the default handler's.
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(term), Ok(int)) => {
                let task = this.clone();
                tokio::spawn(async move { task.listen(term, int).await });
            }
            _ => tracing::warn!("cannot listen for signals; Ctrl-C will not clean up"),
        }
        this
    }

    async fn listen(
        self,
        mut term: tokio::signal::unix::Signal,
        mut int: tokio::signal::unix::Signal,
    ) {
        loop {
            let code = tokio::select! {
                _ = term.recv() => exit::SIGTERM,
                _ = int.recv() => exit::SIGINT,
            };
            let name = if code == exit::SIGTERM {
                "SIGTERM"
            } else {
                "SIGINT"
            };
            let stack = self.stack.lock().ok().and_then(|s| s.clone());
            if self.code.swap(code, Ordering::SeqCst) == 0 {
                match &stack {
                    Some(s) => eprintln!(
                        "{name}: stopping and deleting stack {s} (signal again to exit at once)"
                    ),
                    None => eprintln!("{name}: stopping"),
                }
                self.token.cancel();
                continue;
            }
            let message = match stack {
                Some(s) => format!(
                    "{name} again: exiting now. Stack {s} may still exist and cost money; delete it with:\n  stampede delete {s}"
                ),
                None => format!("{name} again: exiting now"),
            };
            eprintln!("{message}");
            if self.json {
                // The process ends here, so this is the command's one
                // result object.
                let result = exit::result_object(
                    exit::Outcome::Interrupted { code },
                    Some(&message),
                    serde_json::Map::new(),
                );
                println!("{result}");
            }
            std::process::exit(i32::from(code));
        }
    }

    /// Cancelled by the first signal.
    pub fn token(&self) -> &CancellationToken {
        &self.token
    }

    /// The exit code the signal asks for, once one arrived.
    pub fn exit_code(&self) -> Option<u8> {
        match self.code.load(Ordering::SeqCst) {
            0 => None,
            c => Some(c),
        }
    }

    /// Names the stack a second signal would leave behind.
    pub fn guard(&self, stack: &str) {
        if let Ok(mut s) = self.stack.lock() {
            *s = Some(stack.to_string());
        }
    }

    /// The stack is gone; a second signal leaves nothing behind.
    pub fn release(&self) {
        if let Ok(mut s) = self.stack.lock() {
            *s = None;
        }
    }
}
