//! Named fault injection for tests of what no emulator can produce on
//! demand: `STAMPEDE_FAULT=<name>` makes the named point fail. Nothing
//! sets it outside the tests.

/// The environment variable that names the fault to inject.
pub const VAR: &str = "STAMPEDE_FAULT";

/// Panics at the point `name` when the fault is asked for: proves that a
/// bug there cannot leave a paid stack behind.
pub fn panic_at(name: &str) {
    if std::env::var(VAR).is_ok_and(|v| v == name) {
        panic!("injected fault {VAR}={name}");
    }
}

/// How long a pause fault lasts unless `STAMPEDE_FAULT_PAUSE_S` says.
const PAUSE: std::time::Duration = std::time::Duration::from_secs(8);

/// Waits at the point `name` when `STAMPEDE_FAULT=pause-<name>`: a slow
/// upload, gather or deletion, which no emulator makes on demand, so that
/// a test's signal lands in that step.
pub async fn pause_at(name: &str) {
    let asked = std::env::var(VAR).is_ok_and(|v| v.strip_prefix("pause-") == Some(name));
    if asked {
        let pause = std::env::var("STAMPEDE_FAULT_PAUSE_S")
            .ok()
            .and_then(|s| s.parse().ok())
            .map_or(PAUSE, std::time::Duration::from_secs);
        tokio::time::sleep(pause).await;
    }
}

/// Whether the call at the point `name` must fail
/// (`STAMPEDE_FAULT=fail-<name>`): AWS refusing it, which LocalStack
/// never does.
pub fn fails_at(name: &str) -> bool {
    std::env::var(VAR).is_ok_and(|v| v.strip_prefix("fail-") == Some(name))
}
