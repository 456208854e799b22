//! The `monitor:` section: rendered like every other string, then checked
//! (namespace, statistic, dimensions, period) so bad input stops the run
//! before anything is created.

use super::load::Loader;
use super::model::{RawMetric, RawMonitor};
use super::*;
use crate::monitor::spec::{self, MetricSpec, Spec, Stat};

impl Loader<'_> {
    pub(super) fn monitor(&self, raw: &RawMonitor, ctx: &Value) -> Result<Spec, BlueprintError> {
        let section = line_of(self.text, "monitor:");
        let tags = self.render_pairs("monitor.tags", &raw.tags, ctx)?;
        let mut stacks = Vec::new();
        for s in &raw.stacks {
            let name = self.render("monitor.stacks", s, ctx)?;
            if name.is_empty() {
                return Err(self.at(
                    line_of(self.text, s),
                    "monitor.stacks: a stack name renders to an empty string",
                ));
            }
            stacks.push(name);
        }
        let period = match &raw.period {
            None => spec::DEFAULT_PERIOD,
            Some(v) => {
                let line = self.line_after(section, "period:");
                let s = self.render(
                    "monitor.period",
                    &scalar_to_string(v).unwrap_or_default(),
                    ctx,
                )?;
                let n: u64 = s.trim().parse().map_err(|_| {
                    self.at(
                        line,
                        format!("monitor.period: {s:?} is not a whole number of seconds"),
                    )
                })?;
                spec::check_period(n).map_err(|m| self.at(line, format!("monitor.period: {m}")))?
            }
        };
        let metrics = raw
            .metrics
            .iter()
            .map(|m| self.metric(section, m, ctx))
            .collect::<Result<_, _>>()?;
        let index = |field: &str, v: &Option<String>, default: &str| match v {
            Some(i) => self.render(field, i, ctx),
            None => Ok(default.to_string()),
        };
        Ok(Spec {
            tags,
            stacks,
            period,
            metrics,
            index: index("monitor.index", &raw.index, spec::METRICS_INDEX)?,
            events_index: index(
                "monitor.events_index",
                &raw.events_index,
                spec::EVENTS_INDEX,
            )?,
        })
    }

    fn metric(
        &self,
        section: usize,
        raw: &RawMetric,
        ctx: &Value,
    ) -> Result<MetricSpec, BlueprintError> {
        let line = self.line_after(section, &raw.metric);
        let at = |m: String| self.at(line, format!("monitor.metrics: {m}"));
        let namespace = self.render("monitor.metrics.namespace", &raw.namespace, ctx)?;
        let metric = self.render("monitor.metrics.metric", &raw.metric, ctx)?;
        spec::check_namespace(&namespace).map_err(&at)?;
        spec::check_metric(&metric).map_err(&at)?;
        let stat = match &raw.stat {
            None => Stat::Average,
            Some(s) => {
                let s = self.render("monitor.metrics.stat", s, ctx)?;
                Stat::parse(&s).ok_or_else(|| {
                    at(format!(
                        "unknown statistic {s:?} for {namespace}/{metric} (Average, Sum, Minimum, Maximum, SampleCount or pNN)"
                    ))
                })?
            }
        };
        let mut dimensions = Vec::new();
        for (k, v) in &raw.dimensions {
            let Some(v) = scalar_to_string(v) else {
                return Err(at(format!(
                    "dimension {k} of {namespace}/{metric} must be a string"
                )));
            };
            let v = self.render("monitor.metrics.dimensions", &v, ctx)?;
            let d = spec::check_dimension(k, &v)
                .map_err(|m| at(format!("{namespace}/{metric}: {m}")))?;
            dimensions.push((k.clone(), d));
        }
        if dimensions.len() > 30 {
            return Err(at(format!(
                "{namespace}/{metric} has more than 30 dimensions"
            )));
        }
        Ok(MetricSpec {
            namespace,
            metric,
            dimensions,
            stat,
        })
    }

    /// The first line at or after `from` holding `needle`, so errors in
    /// `monitor:` point into that section and not at a same-named key
    /// elsewhere.
    fn line_after(&self, from: usize, needle: &str) -> usize {
        self.text
            .lines()
            .enumerate()
            .skip(from.saturating_sub(1))
            .find(|(_, l)| l.contains(needle))
            .map_or(from, |(i, _)| i + 1)
    }
}
