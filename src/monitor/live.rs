//! A few lines about the system under test for the live view: the load
//! balancers' requests/s and 5xx, the groups' CPU average and max, the
//! databases' connections; each marked with the age of its newest point,
//! since CloudWatch publishes minutes late.

use super::collect::Series;

/// One line per watched resource that has the headline metrics.
pub fn lines(series: &[Series], now_ms: i64) -> Vec<String> {
    let mut out = Vec::new();
    let last = |ns: &str, metric: &str, stat: &str, dim: &str, id: &str| {
        series
            .iter()
            .find(|s| {
                s.query.namespace == ns
                    && s.query.metric == metric
                    && s.query.stat.to_string() == stat
                    && s.query.dimensions.len() == 1
                    && s.query.dimensions[0].0 == dim
                    && s.query.dimensions[0].1 == id
            })
            .and_then(|s| {
                s.points
                    .last()
                    .map(|p| (p.0 + i64::from(s.query.period) * 1000, p.1, s.query.period))
            })
    };
    let ids = |ns: &str, metric: &str, dim: &str| {
        let mut v: Vec<String> = series
            .iter()
            .filter(|s| s.query.namespace == ns && s.query.metric == metric)
            .filter(|s| s.query.dimensions.len() == 1 && s.query.dimensions[0].0 == dim)
            .map(|s| s.query.dimensions[0].1.clone())
            .collect();
        v.dedup();
        v
    };
    for lb in ids("AWS/ApplicationELB", "RequestCount", "LoadBalancer") {
        let Some((at, n, period)) = last(
            "AWS/ApplicationELB",
            "RequestCount",
            "Sum",
            "LoadBalancer",
            &lb,
        ) else {
            continue;
        };
        let errors = last(
            "AWS/ApplicationELB",
            "HTTPCode_Target_5XX_Count",
            "Sum",
            "LoadBalancer",
            &lb,
        )
        .map_or(0.0, |p| p.1);
        out.push(format!(
            "alb {lb}: {:.1} req/s, {errors} 5xx ({})",
            n / f64::from(period.max(1)),
            age(now_ms - at)
        ));
    }
    for g in ids("AWS/EC2", "CPUUtilization", "AutoScalingGroupName") {
        let avg = last(
            "AWS/EC2",
            "CPUUtilization",
            "Average",
            "AutoScalingGroupName",
            &g,
        );
        let max = last(
            "AWS/EC2",
            "CPUUtilization",
            "Maximum",
            "AutoScalingGroupName",
            &g,
        );
        if let Some((at, a, _)) = avg {
            let m = max.map_or(String::new(), |m| format!(", max {:.0}%", m.1));
            out.push(format!(
                "group {g}: cpu avg {a:.0}%{m} ({})",
                age(now_ms - at)
            ));
        }
    }
    for db in ids("AWS/RDS", "DatabaseConnections", "DBInstanceIdentifier") {
        if let Some((at, n, _)) = last(
            "AWS/RDS",
            "DatabaseConnections",
            "Average",
            "DBInstanceIdentifier",
            &db,
        ) {
            out.push(format!(
                "db {db}: {n:.0} connections ({})",
                age(now_ms - at)
            ));
        }
    }
    out
}

/// `40s old`, `3m old`.
fn age(ms: i64) -> String {
    let s = (ms / 1000).max(0);
    if s < 120 {
        format!("{s}s old")
    } else {
        format!("{}m old", s / 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::query::Query;
    use crate::monitor::spec::Stat;

    fn s(ns: &str, metric: &str, stat: Stat, dim: (&str, &str), points: &[(i64, f64)]) -> Series {
        Series {
            query: Query {
                namespace: ns.into(),
                metric: metric.into(),
                dimensions: vec![(dim.0.into(), dim.1.into())],
                stat,
                period: 60,
            },
            points: points.to_vec(),
        }
    }

    #[test]
    fn headline_metrics_with_their_age() {
        let t = 1_700_000_000_000;
        let series = vec![
            s(
                "AWS/ApplicationELB",
                "RequestCount",
                Stat::Sum,
                ("LoadBalancer", "app/shop/1"),
                &[(t, 600.0), (t + 60_000, 1200.0)],
            ),
            s(
                "AWS/ApplicationELB",
                "HTTPCode_Target_5XX_Count",
                Stat::Sum,
                ("LoadBalancer", "app/shop/1"),
                &[(t + 60_000, 3.0)],
            ),
            s(
                "AWS/EC2",
                "CPUUtilization",
                Stat::Average,
                ("AutoScalingGroupName", "web"),
                &[(t, 41.2)],
            ),
            s(
                "AWS/EC2",
                "CPUUtilization",
                Stat::Maximum,
                ("AutoScalingGroupName", "web"),
                &[(t, 77.0)],
            ),
            s(
                "AWS/RDS",
                "DatabaseConnections",
                Stat::Average,
                ("DBInstanceIdentifier", "db1"),
                &[],
            ),
        ];
        let now = t + 240_000;
        assert_eq!(
            lines(&series, now),
            vec![
                "alb app/shop/1: 20.0 req/s, 3 5xx (2m old)".to_string(),
                "group web: cpu avg 41%, max 77% (3m old)".to_string(),
            ]
        );
    }
}
