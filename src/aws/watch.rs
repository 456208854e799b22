//! The calls that watch the system under test: the Tagging API and the
//! describe calls of discovery, DescribeScalingActivities, and CloudWatch
//! GetMetricData. Answers come back as the plain records of
//! the monitor's discovery, so discovery stays testable without AWS.

use aws_config::SdkConfig;
use aws_config::retry::RetryConfig;
use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat, ScanBy};

use super::AwsError;
use super::shapes::{Group, GroupInstance, Query, StackResource, TaggedArn, TargetGroup};
use super::trace::CallTrace;

/// Resource types the Tagging API is asked for: the kinds with default
/// metrics. Auto Scaling groups are found by their own tag filter.
const TAGGED_TYPES: &[&str] = &[
    "ec2:instance",
    "elasticloadbalancing:loadbalancer",
    "elasticloadbalancing:targetgroup",
    "rds:db",
    "elasticache:cluster",
];

/// The clients of watching.
#[derive(Clone)]
pub struct Watch {
    tagging: aws_sdk_resourcegroupstagging::Client,
    autoscaling: aws_sdk_autoscaling::Client,
    elbv2: aws_sdk_elasticloadbalancingv2::Client,
    cfn: aws_sdk_cloudformation::Client,
    cloudwatch: aws_sdk_cloudwatch::Client,
}

/// One Auto Scaling activity.
#[derive(Debug, Clone)]
pub struct Activity {
    /// Its id (stable, so re-collecting does not duplicate the event).
    pub id: String,
    /// The group.
    pub group: String,
    /// What happened.
    pub description: String,
    /// Why.
    pub cause: String,
    /// What went wrong, for a failed activity (EC2's launch error).
    pub status_message: String,
    /// Start, epoch ms.
    pub start_ms: i64,
    /// End, epoch ms, once finished.
    pub end_ms: Option<i64>,
    /// Successful, Failed, InProgress...
    pub status: String,
}

/// One series as GetMetricData returned it.
#[derive(Debug, Clone, Default)]
pub struct MetricData {
    /// Epoch ms and value, oldest first.
    pub points: Vec<(i64, f64)>,
    /// Complete, PartialData, InternalError or Forbidden.
    pub status: String,
    /// CloudWatch's messages about this series, if any.
    pub messages: Vec<String>,
}

fn ms(t: &aws_sdk_cloudwatch::primitives::DateTime) -> i64 {
    t.to_millis().unwrap_or_default()
}

impl Watch {
    /// Clients from a loaded SDK configuration. CloudWatch retries are
    /// ours, so that throttling is counted and shown.
    pub fn new(sdk: &SdkConfig) -> Self {
        let cw = aws_sdk_cloudwatch::config::Builder::from(sdk)
            .retry_config(RetryConfig::disabled())
            // 500 queries over a long window can take a while to answer
            // (LocalStack needs about 45 s).
            .timeout_config(super::timeouts(std::time::Duration::from_secs(180)))
            .interceptor(CallTrace)
            .build();
        // Every client logs its calls under -v (see `super::trace`).
        macro_rules! traced {
            ($sdk_crate:ident) => {
                $sdk_crate::Client::from_conf(
                    $sdk_crate::config::Builder::from(sdk)
                        .interceptor(CallTrace)
                        .build(),
                )
            };
        }
        Watch {
            tagging: traced!(aws_sdk_resourcegroupstagging),
            autoscaling: traced!(aws_sdk_autoscaling),
            elbv2: traced!(aws_sdk_elasticloadbalancingv2),
            cfn: traced!(aws_sdk_cloudformation),
            cloudwatch: aws_sdk_cloudwatch::Client::from_conf(cw),
        }
    }

    /// Resources carrying every tag in `tags` (GetResources).
    pub async fn tagged(&self, tags: &[(String, String)]) -> Result<Vec<TaggedArn>, AwsError> {
        let what = tags_text(tags);
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut req = self.tagging.get_resources();
            for (k, v) in tags {
                req = req.tag_filters(
                    aws_sdk_resourcegroupstagging::types::TagFilter::builder()
                        .key(k)
                        .values(v)
                        .build(),
                );
            }
            for t in TAGGED_TYPES {
                req = req.resource_type_filters(*t);
            }
            let page = req
                .set_pagination_token(token.take())
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("tag:GetResources", &what, e))?;
            out.extend(
                page.resource_tag_mapping_list()
                    .iter()
                    .filter_map(|m| m.resource_arn())
                    .map(|arn| TaggedArn { arn: arn.into() }),
            );
            match page.pagination_token().filter(|t| !t.is_empty()) {
                Some(t) => token = Some(t.to_string()),
                None => return Ok(out),
            }
        }
    }

    /// Groups carrying every tag in `tags`.
    pub async fn groups_by_tags(&self, tags: &[(String, String)]) -> Result<Vec<Group>, AwsError> {
        let filters = tags
            .iter()
            .map(|(k, v)| {
                aws_sdk_autoscaling::types::Filter::builder()
                    .name(format!("tag:{k}"))
                    .values(v)
                    .build()
            })
            .collect();
        self.groups(Some(filters), None, &tags_text(tags)).await
    }

    /// Describes groups by name (50 per call, the API's limit).
    pub async fn describe_groups(&self, names: &[String]) -> Result<Vec<Group>, AwsError> {
        let mut out = Vec::new();
        for chunk in names.chunks(50) {
            out.extend(
                self.groups(None, Some(chunk.to_vec()), &chunk.join(","))
                    .await?,
            );
        }
        Ok(out)
    }

    async fn groups(
        &self,
        filters: Option<Vec<aws_sdk_autoscaling::types::Filter>>,
        names: Option<Vec<String>>,
        what: &str,
    ) -> Result<Vec<Group>, AwsError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .autoscaling
                .describe_auto_scaling_groups()
                .set_filters(filters.clone())
                .set_auto_scaling_group_names(names.clone())
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| {
                    AwsError::from_sdk("autoscaling:DescribeAutoScalingGroups", what, e)
                })?;
            for g in page.auto_scaling_groups() {
                out.push(Group {
                    auto_scaling_group_name: g.auto_scaling_group_name().unwrap_or_default().into(),
                    instances: g
                        .instances()
                        .iter()
                        .filter_map(|i| i.instance_id())
                        .map(|id| GroupInstance {
                            instance_id: id.into(),
                        })
                        .collect(),
                    target_group_arns: g.target_group_arns().to_vec(),
                    load_balancer_names: g.load_balancer_names().to_vec(),
                });
            }
            match page.next_token().filter(|t| !t.is_empty()) {
                Some(t) => token = Some(t.to_string()),
                None => return Ok(out),
            }
        }
    }

    /// Describes target groups by ARN (20 per call).
    pub async fn target_groups(&self, arns: &[String]) -> Result<Vec<TargetGroup>, AwsError> {
        let mut out = Vec::new();
        for chunk in arns.chunks(20) {
            let page = self
                .elbv2
                .describe_target_groups()
                .set_target_group_arns(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| {
                    AwsError::from_sdk(
                        "elasticloadbalancing:DescribeTargetGroups",
                        chunk.join(","),
                        e,
                    )
                })?;
            out.extend(page.target_groups().iter().map(|t| TargetGroup {
                target_group_arn: t.target_group_arn().unwrap_or_default().into(),
                load_balancer_arns: t.load_balancer_arns().to_vec(),
            }));
        }
        Ok(out)
    }

    /// Every resource of a stack.
    pub async fn stack_resources(&self, stack: &str) -> Result<Vec<StackResource>, AwsError> {
        let out = self
            .cfn
            .describe_stack_resources()
            .stack_name(stack)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("cloudformation:DescribeStackResources", stack, e))?;
        Ok(out
            .stack_resources()
            .iter()
            .map(|r| StackResource {
                physical_resource_id: r.physical_resource_id().map(str::to_string),
                resource_type: r.resource_type().unwrap_or_default().into(),
            })
            .collect())
    }

    /// A group's scaling activities that started at or after `since_ms`
    /// (the API lists newest first, so paging stops at the first older).
    pub async fn activities(&self, group: &str, since_ms: i64) -> Result<Vec<Activity>, AwsError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .autoscaling
                .describe_scaling_activities()
                .auto_scaling_group_name(group)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| {
                    AwsError::from_sdk("autoscaling:DescribeScalingActivities", group, e)
                })?;
            let mut older = false;
            for a in page.activities() {
                let start_ms = a.start_time().map(ms).unwrap_or_default();
                if start_ms < since_ms {
                    older = true;
                    continue;
                }
                out.push(Activity {
                    id: a.activity_id().unwrap_or_default().into(),
                    group: group.into(),
                    description: a.description().unwrap_or_default().into(),
                    cause: a.cause().unwrap_or_default().into(),
                    status_message: a.status_message().unwrap_or_default().into(),
                    start_ms,
                    end_ms: a.end_time().map(ms),
                    status: a
                        .status_code()
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_default(),
                });
            }
            match page.next_token().filter(|t| !t.is_empty()) {
                Some(t) if !older => token = Some(t.to_string()),
                _ => return Ok(out),
            }
        }
    }

    /// One GetMetricData call (all its pages) for at most 500 queries;
    /// the answer is in the order of `queries`.
    pub async fn metric_data(
        &self,
        queries: &[Query],
        start_ms: i64,
        end_ms: i64,
    ) -> Result<(Vec<MetricData>, u32), AwsError> {
        let mut out = vec![MetricData::default(); queries.len()];
        let mut token: Option<String> = None;
        let mut calls = 0;
        loop {
            calls += 1;
            let page = self
                .cloudwatch
                .get_metric_data()
                .set_metric_data_queries(Some(sdk_queries(queries)))
                .start_time(aws_sdk_cloudwatch::primitives::DateTime::from_millis(
                    start_ms,
                ))
                .end_time(aws_sdk_cloudwatch::primitives::DateTime::from_millis(
                    end_ms,
                ))
                .scan_by(ScanBy::TimestampAscending)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| {
                    AwsError::from_sdk(
                        "cloudwatch:GetMetricData",
                        format!("{} queries", queries.len()),
                        e,
                    )
                })?;
            for r in page.metric_data_results() {
                let Some(i) = r
                    .id()
                    .and_then(|id| id.strip_prefix('q'))
                    .and_then(|n| n.parse::<usize>().ok())
                    .filter(|i| *i < out.len())
                else {
                    continue;
                };
                let d = &mut out[i];
                d.points.extend(
                    r.timestamps()
                        .iter()
                        .map(ms)
                        .zip(r.values().iter().copied()),
                );
                d.status = r
                    .status_code()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default();
                d.messages.extend(
                    r.messages()
                        .iter()
                        .filter_map(|m| m.value())
                        .map(str::to_string),
                );
            }
            match page.next_token().filter(|t| !t.is_empty()) {
                Some(t) => token = Some(t.to_string()),
                None => return Ok((out, calls)),
            }
        }
    }
}

/// `q<index>`: ids must start with a lower-case letter and be unique
/// within one call.
fn sdk_queries(queries: &[Query]) -> Vec<MetricDataQuery> {
    queries
        .iter()
        .enumerate()
        .map(|(i, q)| {
            let mut metric = Metric::builder()
                .namespace(&q.namespace)
                .metric_name(&q.metric);
            for (k, v) in &q.dimensions {
                metric = metric.dimensions(Dimension::builder().name(k).value(v).build());
            }
            MetricDataQuery::builder()
                .id(format!("q{i}"))
                .metric_stat(
                    MetricStat::builder()
                        .metric(metric.build())
                        .period(q.period as i32)
                        .stat(q.stat.to_string())
                        .build(),
                )
                .return_data(true)
                .build()
        })
        .collect()
}

/// `K=V, K2=V2` for messages.
pub fn tags_text(tags: &[(String, String)]) -> String {
    tags.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}
