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
