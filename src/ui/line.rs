//! The one-line form of an event, shared by the terminal and plain modes.

use crate::aws::stack_event::StackEvent;

use super::redact;

/// `HH:MM:SS  [nested-stack/]Logical  Type  STATUS  reason`.
pub fn event(e: &StackEvent, nested: bool) -> String {
    let prefix = if nested {
        format!("{}/", e.stack_name)
    } else {
        String::new()
    };
    let mut s = format!(
        "{}  {prefix}{}  {}  {}",
        e.time.format("%H:%M:%S"),
        e.logical_id,
        e.resource_type,
        e.status
    );
    if let Some(r) = e.reason.as_deref().filter(|r| !r.is_empty()) {
        s.push_str("  ");
        s.push_str(&redact(r));
    }
    s
}
