//! Guardrails on what a run may cost: a blueprint's `limits:` section, and
//! the same limits from the environment for a whole Jenkins. The stricter
//! of the two applies.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use super::model::{parse_duration, scalar_to_string};

/// The `limits` section as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    /// Most bees a run may start.
    pub bees: Option<Value>,
    /// Longest a run may take (its timeout), e.g. `2h`.
    pub duration: Option<Value>,
    /// Most instance-hours (bees × timeout) a run may book.
    pub instance_hours: Option<Value>,
}

/// The limits in force; `None` means unlimited.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Limits {
    /// Most bees.
    pub bees: Option<u64>,
    /// Longest timeout.
    pub duration: Option<Duration>,
    /// Most instance-hours.
    pub instance_hours: Option<f64>,
}

/// The environment variables that set limits for every run of a machine.
pub const ENV_BEES: &str = "STAMPEDE_MAX_BEES";
/// See [`ENV_BEES`].
pub const ENV_DURATION: &str = "STAMPEDE_MAX_DURATION";
/// See [`ENV_BEES`].
pub const ENV_INSTANCE_HOURS: &str = "STAMPEDE_MAX_INSTANCE_HOURS";

impl Limits {
    /// Parses the blueprint's section (already rendered values) and the
    /// environment; the error names the field.
    pub fn parse(raw: Option<&RawLimits>, env: &BTreeMap<String, String>) -> Result<Self, String> {
        let text = |v: Option<&Value>| v.and_then(scalar_to_string);
        let none = RawLimits::default();
        let raw = raw.unwrap_or(&none);
        let mine = Limits {
            bees: count("limits.bees", text(raw.bees.as_ref()))?,
            duration: duration("limits.duration", text(raw.duration.as_ref()))?,
            instance_hours: hours("limits.instance_hours", text(raw.instance_hours.as_ref()))?,
        };
        let site = Limits {
            bees: count(ENV_BEES, env.get(ENV_BEES).cloned())?,
            duration: duration(ENV_DURATION, env.get(ENV_DURATION).cloned())?,
            instance_hours: hours(ENV_INSTANCE_HOURS, env.get(ENV_INSTANCE_HOURS).cloned())?,
        };
        Ok(Limits {
            bees: stricter(mine.bees, site.bees, u64::min),
            duration: stricter(mine.duration, site.duration, Duration::min),
            instance_hours: stricter(mine.instance_hours, site.instance_hours, f64::min),
        })
    }

    /// Every way `bees` bees for `timeout` break these limits.
    pub fn violations(&self, bees: u64, timeout: Duration) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(max) = self.bees
            && bees > max
        {
            out.push(format!("{bees} bees is over the limit of {max}"));
        }
        if let Some(max) = self.duration
            && timeout > max
        {
            out.push(format!(
                "a timeout of {} is over the limit of {}",
                human(timeout),
                human(max)
            ));
        }
        let booked = instance_hours(bees, timeout);
        if let Some(max) = self.instance_hours
            && booked > max
        {
            out.push(format!(
                "up to {booked:.1} instance-hours is over the limit of {max}"
            ));
        }
        out
    }
}

/// The most instance-hours `bees` bees can run for `timeout`.
pub fn instance_hours(bees: u64, timeout: Duration) -> f64 {
    bees as f64 * timeout.as_secs_f64() / 3600.0
}

/// `1h30m` style.
pub fn human(d: Duration) -> String {
    let s = d.as_secs();
    match (s / 3600, s % 3600 / 60, s % 60) {
        (0, 0, sec) => format!("{sec}s"),
        (0, m, 0) => format!("{m}m"),
        (h, 0, 0) => format!("{h}h"),
        (h, m, 0) => format!("{h}h{m}m"),
        (h, m, sec) => format!("{h}h{m}m{sec}s"),
    }
}

fn stricter<T>(a: Option<T>, b: Option<T>, min: fn(T, T) -> T) -> Option<T> {
    match (a, b) {
        (Some(a), Some(b)) => Some(min(a, b)),
        (a, b) => a.or(b),
    }
}

fn count(field: &str, v: Option<String>) -> Result<Option<u64>, String> {
    v.map(|s| {
        s.trim()
            .parse::<u64>()
            .map_err(|_| format!("{field}: {s:?} is not a whole number"))
    })
    .transpose()
}

fn duration(field: &str, v: Option<String>) -> Result<Option<Duration>, String> {
    v.map(|s| {
        parse_duration(&s)
            .map(Duration::from_secs)
            .ok_or_else(|| format!("{field}: {s:?} is not a duration like 2h or 90m"))
    })
    .transpose()
}

fn hours(field: &str, v: Option<String>) -> Result<Option<f64>, String> {
    v.map(|s| {
        s.trim()
            .parse::<f64>()
            .ok()
            .filter(|h| h.is_finite() && *h >= 0.0)
            .ok_or_else(|| format!("{field}: {s:?} is not a number of hours"))
    })
    .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stricter_limit_applies_and_every_violation_is_named() {
        let raw = RawLimits {
            bees: Some(Value::from(50)),
            duration: Some(Value::from("2h")),
            instance_hours: None,
        };
        let env = BTreeMap::from([
            (ENV_BEES.to_string(), "20".to_string()),
            (ENV_INSTANCE_HOURS.to_string(), "10".to_string()),
        ]);
        let l = Limits::parse(Some(&raw), &env).unwrap();
        assert_eq!(l.bees, Some(20));
        assert_eq!(l.duration, Some(Duration::from_secs(7200)));
        let v = l.violations(30, Duration::from_secs(3 * 3600));
        assert_eq!(v.len(), 3, "{v:?}");
        assert!(v[0].contains("30 bees"), "{v:?}");
        assert!(v[2].contains("90.0 instance-hours"), "{v:?}");
        assert!(l.violations(4, Duration::from_secs(600)).is_empty());
    }

    #[test]
    fn bad_limits_name_the_field() {
        let env = BTreeMap::from([(ENV_DURATION.to_string(), "soon".to_string())]);
        let e = Limits::parse(None, &env).unwrap_err();
        assert!(e.contains("STAMPEDE_MAX_DURATION"), "{e}");
    }
}
