//! `stampede render`: the template, parameters and userdata, offline.

use anyhow::Context;

use super::Ctx;
use crate::cli::RenderArgs;
use crate::exit::Ended;

/// Renders the blueprint and prints or writes the results.
pub async fn run(ctx: &Ctx<'_>, args: RenderArgs) -> anyhow::Result<Ended> {
    let global = ctx.global;
    let sha256 = match args.bee_binary.clone() {
        Some(path) => {
            let bin = tokio::task::spawn_blocking(move || {
                crate::engine::aws::beebin::prepare(Some(&path))
            })
            .await
            .map_err(|e| anyhow::anyhow!("preparing the bee binary: {e}"))??;
            Some(bin.sha256.clone())
        }
        None => None,
    };
    let plan = super::plan::load(&args.blueprint, global, true, sha256).await?;
    if plan.run.bucket == crate::blueprint::OFFLINE_BUCKET {
        eprintln!(
            "note: {}: the bucket is not set; rendered with the placeholder `{}` (run needs the real one)",
            plan.source.display(),
            crate::blueprint::OFFLINE_BUCKET
        );
    }
    let Some(template) = &plan.template else {
        anyhow::bail!(crate::exit::InputError(format!(
            "{}: a local-target blueprint has no template to render",
            plan.source.display()
        )));
    };
    let Some(dir) = args.out else {
        print!("{}", template.body);
        return Ok(Ended::passed());
    };
    let write = |name: &str, body: &str| -> anyhow::Result<()> {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&path, body).with_context(|| format!("writing {}", path.display()))
    };
    write(&format!("template.{}", template.format), &template.body)?;
    let params: Vec<_> = plan
        .parameters
        .iter()
        .map(|(k, v)| serde_json::json!({"ParameterKey": k, "ParameterValue": v}))
        .collect();
    write(
        "parameters.json",
        &(serde_json::to_string_pretty(&params)? + "\n"),
    )?;
    for (name, script) in &plan.userdata {
        write(&format!("userdata/{name}.sh"), script)?;
    }
    eprintln!("rendered {} into {}", plan.source.display(), dir.display());
    Ok(Ended::passed().with("out", dir.display().to_string()))
}
