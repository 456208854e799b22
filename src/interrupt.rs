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
}

impl Interrupt {
    /// Listens for SIGINT and SIGTERM.
    pub fn install() -> Self {
        let this = Interrupt::default();
        let task = this.clone();
        tokio::spawn(async move { task.listen().await });
        this
    }

    async fn listen(self) {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            tracing::warn!("cannot listen for signals; Ctrl-C will not clean up");
            return;
        };
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
            match stack {
                Some(s) => eprintln!(
                    "{name} again: exiting now. Stack {s} may still exist and cost money; delete it with:\n  stampede delete {s}"
                ),
                None => eprintln!("{name} again: exiting now"),
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
