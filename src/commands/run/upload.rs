//! Ships a run's files to S3 and builds the CreateStack request.

use std::path::Path;

use anyhow::Context;
use chrono::{DateTime, Utc};

use crate::aws::S3;
use crate::aws::cfn::CreateRequest;
use crate::aws::s3::uri;
use crate::blueprint::Plan;
use crate::ui::Reporter;

/// CloudFormation's limit for TemplateBody; larger templates go by URL.
pub const MAX_TEMPLATE_BODY: usize = 51_200;
/// Time after the run's timeout before `reap` may delete the stack.
pub const EXPIRY_GRACE: chrono::Duration = chrono::Duration::minutes(15);

/// Uploads the testcase, bee config, bee binary and template; returns the
/// CreateStack request.
pub async fn prepare(
    s3: &S3,
    plan: &Plan,
    bee_binary: &Path,
    ui: &Reporter,
    now: DateTime<Utc>,
) -> anyhow::Result<CreateRequest> {
    let run = &plan.run;
    let config = serde_json::to_vec_pretty(&super::beeconf::aws_config(plan))?;
    let (_, key) = crate::aws::s3::parse_uri(&run.config_uri).context("bee config URI")?;
    s3.put(&run.bucket, key, config)
        .await
        .context("uploading the bee config")?;
    let (_, key) = crate::aws::s3::parse_uri(&run.bee_uri).context("bee binary URI")?;
    s3.put_file(&run.bucket, key, bee_binary)
        .await
        .with_context(|| format!("uploading the bee binary {}", bee_binary.display()))?;
    ui.info(&format!(
        "uploaded the bee config and binary to s3://{}/{}/",
        run.bucket, run.prefix
    ));
    if let Some(tc) = &plan.testcase {
        let (_, key) = crate::aws::s3::parse_uri(&run.testcase_uri).context("testcase URI")?;
        s3.put_file(&run.bucket, key, tc)
            .await
            .with_context(|| format!("uploading testcase {}", tc.display()))?;
        ui.info(&format!(
            "uploaded {} to {}",
            tc.display(),
            run.testcase_uri
        ));
    }
    let template = plan
        .template
        .as_ref()
        .context("the blueprint has no template")?;
    let key = format!("{}/template.{}", run.prefix, template.format);
    s3.put(&run.bucket, &key, template.body.clone().into_bytes())
        .await
        .context("uploading the rendered template")?;
    let (body, url) = if template.body.len() > MAX_TEMPLATE_BODY {
        ui.info(&format!(
            "template is {} bytes (over {MAX_TEMPLATE_BODY}): passing it by URL from {}",
            template.body.len(),
            uri(&run.bucket, &key)
        ));
        (None, Some(s3.object_url(&run.bucket, &key)))
    } else {
        (Some(template.body.clone()), None)
    };
    Ok(CreateRequest {
        name: plan.stack.clone(),
        body,
        url,
        parameters: plan.parameters.clone(),
        tags: tags(plan, now),
        token: Some(crate::aws::cfn::request_token(&plan.run.id)),
    })
}

/// The blueprint's tags plus stampede's own: the run id and when `reap`
/// may consider the stack an orphan.
pub fn tags(plan: &Plan, now: DateTime<Utc>) -> Vec<(String, String)> {
    let timeout = chrono::Duration::from_std(plan.timeout).unwrap_or(chrono::Duration::hours(1));
    let expires = now + timeout + EXPIRY_GRACE;
    let mut tags = plan.tags.clone();
    tags.retain(|(k, _)| !k.starts_with("stampede:"));
    tags.push(("stampede:run-id".into(), plan.run.id.clone()));
    tags.push((
        "stampede:expires-at".into(),
        expires.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    ));
    tags
}
