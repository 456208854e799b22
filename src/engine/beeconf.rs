//! The bee config and binary a run ships beside its testcase.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::bee::{BeeConfig, Coordinator, EsTarget};
use crate::blueprint::Plan;
use crate::exit::InputError;
use crate::feed::Feed;

/// The config every bee of an AWS run reads; per-instance values come
/// from the userdata's environment.
pub fn aws_config(plan: &Plan) -> BeeConfig {
    BeeConfig {
        run_id: plan.run.id.clone(),
        stack: plan.stack.clone(),
        testcase: plan.run.testcase_uri.clone(),
        results: format!("s3://{}/{}", plan.run.bucket, plan.run.results_prefix()),
        properties: plan.properties.iter().cloned().collect(),
        duration_s: None,
        hard_timeout_s: plan.timeout.as_secs(),
        ready_timeout_s: 900,
        late_start_s: 120,
        es: es_target(plan),
        coordinator: Coordinator::Cloudformation,
        ready_url: None,
        done_url: None,
        bee_id: None,
        jmeter: None,
        workdir: None,
        region: plan.region.clone(),
    }
}

/// Where bees ship rows, if anywhere.
pub fn es_target(plan: &Plan) -> Option<EsTarget> {
    let m = plan.metrics.as_ref()?;
    Some(EsTarget {
        url: m.es.clone()?,
        index: m.index.clone(),
        give_up_after_s: m
            .give_up_after
            .map_or_else(crate::bee::config::default_give_up_after, |d| d.as_secs()),
        rows: m.rows,
        rollup_interval_ms: m.rollup_interval.as_millis() as u64,
    })
}

/// How long the run waits for the search cluster to answer at the start.
const PROBE: std::time::Duration = std::time::Duration::from_secs(5);

/// The plan's search cluster if it answers now. One that does not (a
/// stale `STAMPEDE_ES_URL`, say) is one warning, and the run goes on
/// without shipping: its results come from the JTLs either way.
pub async fn reachable_es_target(plan: &Plan, ui: &Feed) -> Option<EsTarget> {
    let target = es_target(plan)?;
    let checked = match crate::metrics::es::Es::connect(&target.url).await {
        Ok(es) => es.probe(PROBE).await,
        Err(e) => Err(e),
    };
    match checked {
        Ok(()) => Some(target),
        Err(e) => {
            ui.warn(&format!(
                "the search cluster is unreachable ({e}): the run goes on without shipping; the live view and the summary come from the bees' JTLs"
            ));
            None
        }
    }
}

/// The bee binary: `--bee-binary`, or this executable. It must be an
/// x86_64 Linux ELF, or no bee could start it: checked before anything is
/// created.
pub fn binary(given: Option<&Path>) -> anyhow::Result<PathBuf> {
    let path = match given {
        Some(p) => p.to_path_buf(),
        None => std::env::current_exe().context("finding this executable")?,
    };
    let mut head = Vec::with_capacity(20);
    std::fs::File::open(&path)
        .and_then(|f| f.take(20).read_to_end(&mut head))
        .map_err(|e| InputError(format!("the bee binary {}: {e}", path.display())))?;
    // ELF magic, 64-bit class, machine 0x3E (x86-64).
    let elf_x86_64 = head.len() == 20
        && &head[..4] == b"\x7fELF"
        && head[4] == 2
        && u16::from_le_bytes([head[18], head[19]]) == 0x3E;
    if !elf_x86_64 {
        anyhow::bail!(InputError(format!(
            "the bee binary {} is not an x86_64 Linux executable; build one (cargo build --release --target x86_64-unknown-linux-gnu) and pass --bee-binary",
            path.display()
        )));
    }
    Ok(path)
}
