//! Ships a run's files to S3 and builds the CreateStack request.

use anyhow::Context;
use chrono::{DateTime, Utc};

use crate::aws::S3;
use crate::aws::cfn::CreateRequest;
use crate::aws::s3::uri;
use crate::blueprint::Plan;
use crate::feed::Feed;

/// CloudFormation's limit for TemplateBody; larger templates go by URL.
pub const MAX_TEMPLATE_BODY: usize = 51_200;
/// Time after the run's timeout before `reap` may delete the stack.
pub const EXPIRY_GRACE: chrono::Duration = chrono::Duration::minutes(15);

/// Uploads the testcase, bee config, bee binary (unless that content is
/// already stored) and template; returns the CreateStack request.
pub async fn prepare(
    s3: &S3,
    plan: &Plan,
    bee_binary: &super::beebin::BeeBinary,
    ui: &Feed,
    now: DateTime<Utc>,
) -> anyhow::Result<CreateRequest> {
    let run = &plan.run;
    let config = serde_json::to_vec_pretty(&crate::engine::beeconf::aws_config(plan))?;
    let (_, key) = crate::aws::s3::parse_uri(&run.config_uri).context("bee config URI")?;
    s3.put(&run.bucket, key, config)
        .await
        .context("uploading the bee config")?;
    ui.info(&format!("uploaded the bee config to {}", run.config_uri));
    let mib = bee_binary.size as f64 / (1024.0 * 1024.0);
    if super::beebin::store(s3, &run.bucket, &run.bee_key, bee_binary).await? {
        ui.info(&format!(
            "uploaded the bee binary ({mib:.1} MiB) to {}",
            run.bee_uri
        ));
    } else {
        ui.info(&format!(
            "the bee binary ({mib:.1} MiB) is already stored at {}: not uploaded again",
            run.bee_uri
        ));
    }
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

/// Removes the run's inputs from S3 (bee config, testcase, template): the
/// bee config can carry the search cluster's password, and nothing reads
/// them once the stack is gone. Results stay, and so does the bee binary,
/// which is stored once per content for every run of that build.
pub async fn remove_inputs(s3: &S3, plan: &Plan, ui: &Feed) {
    let run = &plan.run;
    let results = run.results_prefix();
    let listed = match s3.list(&run.bucket, &format!("{}/", run.prefix)).await {
        Ok(l) => l,
        Err(e) => {
            ui.warn(&format!(
                "could not list the run's inputs to remove them: {e}; remove s3://{}/{}/ except results/ by hand",
                run.bucket, run.prefix
            ));
            return;
        }
    };
    let mut removed = 0;
    for (key, _) in listed.iter().filter(|(k, _)| !k.starts_with(&results)) {
        match s3.delete(&run.bucket, key).await {
            Ok(()) => removed += 1,
            Err(e) => ui.warn(&format!("could not remove {}: {e}", uri(&run.bucket, key))),
        }
    }
    tracing::debug!(removed, "removed the run's inputs");
}
