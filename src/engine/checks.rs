//! Everything that can be checked before the first paid call, checked at
//! once: a user fixes every problem in one round, and nothing is uploaded
//! or created while any remains.

use std::path::Path;
use std::time::Duration;

use super::plan::{BaselineChoice, RunPlan};
use crate::aws::{AwsErrorKind, Clients};
use crate::blueprint::limits::{human, instance_hours};
use crate::blueprint::{Plan, Target};
use crate::engine::store::Store;
use crate::exit::{InfraError, InputError};
use crate::feed::Feed;
use crate::gate::Baseline;

/// One problem found before the run.
#[derive(Debug)]
pub struct Problem {
    /// Whether AWS refused (exit 3) rather than the input being bad (2).
    pub aws: bool,
    /// What is wrong and what to do.
    pub text: String,
}

/// The problems found so far.
#[derive(Debug, Default)]
pub struct Checks {
    /// In the order found.
    pub problems: Vec<Problem>,
}

/// What a run would create, for `--dry-run` and the limits.
#[derive(Debug, Clone, PartialEq)]
pub struct Footprint {
    /// Bees (instances or local processes).
    pub bees: u64,
    /// The instance type, when the template says.
    pub instance_type: Option<String>,
    /// The run's timeout.
    pub timeout: Duration,
}

impl Checks {
    /// Checks that need no network: what preparing the plan found
    /// (gate, baseline file), the output paths, the limits.
    pub fn local(plan: &mut RunPlan) -> Self {
        let mut c = Checks {
            problems: std::mem::take(&mut plan.problems),
        };
        c.testcase_files(&plan.blueprint);
        let e = &plan.exports;
        c.writable_dir(&e.report, "--report");
        for (flag, file) in [("--junit", &e.junit), ("--markdown", &e.markdown)] {
            if let Some(f) = file {
                let dir = f.parent().filter(|d| !d.as_os_str().is_empty());
                c.writable_dir(dir.unwrap_or(Path::new(".")), flag);
            }
        }
        let (b, f) = (&plan.blueprint, &plan.footprint);
        for v in b.limits.violations(f.bees, f.timeout) {
            c.input(format!(
                "{}: limits: {v} (raise `limits:` or the STAMPEDE_MAX_* environment, or run smaller)",
                b.source.display()
            ));
        }
        c
    }

    /// A problem in the input (exit 2).
    pub fn input(&mut self, text: String) {
        self.problems.push(Problem { aws: false, text });
    }

    /// A problem AWS caused (exit 3).
    pub fn refused(&mut self, text: String) {
        self.problems.push(Problem { aws: true, text });
    }

    /// Every file the plan refers to exists: JMeter runs a plan whose CSV
    /// file is missing with 0 samples.
    fn testcase_files(&mut self, plan: &Plan) {
        let Some(path) = &plan.testcase else { return };
        // A plan is a few MiB at most; the bound keeps a wrong path (a
        // device, a huge file) from filling memory.
        match crate::input_file::read_text(path, 256 << 20) {
            Ok(xml) if plan.target == Target::Aws => {
                for m in crate::blueprint::testcase::not_shipped(path, &xml) {
                    self.input(m);
                }
            }
            Ok(xml) => {
                for m in crate::blueprint::testcase::missing(path, &xml) {
                    self.input(m);
                }
            }
            Err(e) => self.input(format!("{}: cannot read the testcase: {e}", path.display())),
        }
    }

    fn writable_dir(&mut self, dir: &Path, flag: &str) {
        // A probe file, removed at once: creating the folder alone does not
        // prove that files can be written into it.
        let probe = dir.join(format!(".stampede-probe-{}", std::process::id()));
        let ok = std::fs::create_dir_all(dir)
            .and_then(|()| std::fs::write(&probe, b""))
            .and_then(|()| std::fs::remove_file(&probe));
        if let Err(e) = ok {
            self.input(format!("{flag}: cannot write into {}: {e}", dir.display()));
        }
    }

    /// Checks against AWS: credentials, bucket, a fresh run prefix, a free
    /// stack name; and resolves the gate's baseline that lives in S3.
    pub async fn remote(&mut self, run: &mut RunPlan, clients: &Clients, feed: &Feed) {
        let plan = &run.blueprint;
        match clients.sts.caller().await {
            Ok(arn) => feed.info(&format!("credentials: {arn}")),
            Err(e) => {
                // Every later call would fail the same way.
                self.refused(e.to_string());
                return;
            }
        }
        let prefix = format!("{}/", plan.run.prefix);
        match clients.s3.any(&plan.run.bucket, &prefix).await {
            Ok(false) => {}
            Ok(true) => self.input(format!(
                "run id {}: s3://{}/{prefix} already holds files of another run; a run never reads results it did not produce: pick a new --run-id",
                plan.run.id, plan.run.bucket
            )),
            Err(e) if e.kind == AwsErrorKind::NotFound => self.input(format!(
                "{}: bucket {} does not exist ({e})",
                plan.source.display(),
                plan.run.bucket
            )),
            Err(e) => self.refused(e.to_string()),
        }
        match clients.cfn.describe(&plan.stack).await {
            Ok(None) => {}
            Ok(Some(info)) if info.status == "DELETE_COMPLETE" => {}
            Ok(Some(info)) => self.input(format!(
                "stack {} already exists ({}): delete it with `stampede delete {}` or choose another name",
                plan.stack, info.status, plan.stack
            )),
            Err(e) => self.refused(e.to_string()),
        }
        self.baseline(run, clients, feed).await;
    }

    /// Resolves `baseline: previous` or an `s3://` baseline once: the
    /// build named here is the one the verdict uses.
    async fn baseline(&mut self, run: &mut RunPlan, clients: &Clients, feed: &Feed) {
        let BaselineChoice::Pending(pending) = &run.gate.baseline else {
            return;
        };
        let plan = &run.blueprint;
        let path = run.gate.path.clone().unwrap_or_default();
        let resolved = match pending {
            Baseline::Previous => {
                let store = Store::new(&clients.s3, &plan.run.bucket, &plan.build.job);
                match store.latest_passed().await {
                    Ok(Some((build, summary))) => BaselineChoice::Found {
                        name: format!("build {build} of {} (the last that passed)", plan.build.job),
                        summary: Box::new(summary),
                    },
                    Ok(None) => BaselineChoice::None(format!(
                        "none yet (first build) for {}: relative criteria pass",
                        plan.build.job
                    )),
                    Err(e) => {
                        return self.refused(format!("{}: baseline: {e:#}", path.display()));
                    }
                }
            }
            Baseline::S3(uri) => {
                let Some((bucket, key)) = crate::aws::s3::parse_uri(uri) else {
                    return self.input(format!(
                        "{}: baseline {uri} is not an s3:// URI",
                        path.display()
                    ));
                };
                match Store::new(&clients.s3, bucket, "").get_key(key).await {
                    Ok(summary) => BaselineChoice::Found {
                        name: uri.clone(),
                        summary: Box::new(summary),
                    },
                    Err(e) => {
                        return self.input(format!("{}: baseline {uri}: {e:#}", path.display()));
                    }
                }
            }
            Baseline::Path(_) => return,
        };
        match &resolved {
            BaselineChoice::Found { name, .. } => feed.info(&format!("baseline: {name}")),
            BaselineChoice::None(why) => feed.info(&format!("baseline: {why}")),
            BaselineChoice::Pending(_) => {}
        }
        run.gate.baseline = resolved;
    }

    /// Every problem in one error: exit 2 when any is bad input, else 3.
    pub fn into_result(self) -> anyhow::Result<()> {
        if self.problems.is_empty() {
            return Ok(());
        }
        let n = self.problems.len();
        let any_input = self.problems.iter().any(|p| !p.aws);
        let list: Vec<String> = self
            .problems
            .into_iter()
            .map(|p| format!("  - {}", p.text))
            .collect();
        let text = format!(
            "{n} problem(s) found before anything was created:\n{}",
            list.join("\n")
        );
        Err(if any_input {
            InputError(text).into()
        } else {
            InfraError(text).into()
        })
    }
}

impl Footprint {
    /// What `plan` would start: the `BeeCount` and `InstanceType`
    /// (`InstanceType2` ... `InstanceType5`) parameters, or the template's
    /// defaults for them.
    pub fn of(plan: &Plan) -> Self {
        let (bees, instance_type) = match plan.target {
            Target::Local { bees, .. } => (u64::from(bees), Some("local process".to_string())),
            Target::Aws => (
                parameter(plan, "BeeCount")
                    .and_then(|b| b.trim().parse().ok())
                    .unwrap_or(1),
                instance_types(plan),
            ),
        };
        Footprint {
            bees,
            instance_type,
            timeout: plan.timeout,
        }
    }

    /// The result object's fields for `--dry-run`.
    pub fn fields(&self, plan: &Plan) -> serde_json::Map<String, serde_json::Value> {
        let mut m = serde_json::Map::new();
        m.insert("bees".into(), self.bees.into());
        m.insert("instance_type".into(), self.instance_type.clone().into());
        m.insert("timeout_s".into(), self.timeout.as_secs().into());
        m.insert(
            "instance_hours_max".into(),
            instance_hours(self.bees, self.timeout).into(),
        );
        m.insert("message".into(), self.describe(plan).into());
        m
    }

    /// One line for `--dry-run`.
    pub fn describe(&self, plan: &Plan) -> String {
        let what = match plan.target {
            Target::Aws => format!(
                "stack {} with {} bee(s) of {}",
                plan.stack,
                self.bees,
                self.instance_type
                    .as_deref()
                    .map_or("the template's instance type".to_string(), types)
            ),
            Target::Local { .. } => format!("{} local bee(s)", self.bees),
        };
        format!(
            "dry run: would create {what}, for at most {} (the timeout): at most {:.1} instance-hours",
            human(self.timeout),
            instance_hours(self.bees, self.timeout)
        )
    }
}

/// `c6i.large` for one type; `c6i.large (else c5.large, m6i.large)` for
/// a list in order of preference.
fn types(list: &str) -> String {
    let mut items = list.split(',').map(str::trim).filter(|t| !t.is_empty());
    let first = items.next().unwrap_or(list).to_string();
    let rest: Vec<&str> = items.collect();
    if rest.is_empty() {
        first
    } else {
        format!("{first} (else {})", rest.join(", "))
    }
}

/// The instance types in order of preference, comma separated.
fn instance_types(plan: &Plan) -> Option<String> {
    let first = parameter(plan, "InstanceType")?;
    let rest = (2..=5).filter_map(|i| parameter(plan, &format!("InstanceType{i}")));
    let all: Vec<String> = std::iter::once(first)
        .chain(rest)
        .filter(|t| !t.trim().is_empty())
        .collect();
    Some(all.join(","))
}

/// A parameter's value from the blueprint, else the template's default.
fn parameter(plan: &Plan, name: &str) -> Option<String> {
    if let Some((_, v)) = plan.parameters.iter().find(|(k, _)| k == name) {
        return Some(v.clone());
    }
    let template = plan.template.as_ref()?;
    let doc: serde_norway::Value = serde_norway::from_str(&template.body).ok()?;
    let default = doc.get("Parameters")?.get(name)?.get("Default")?;
    match default {
        serde_norway::Value::String(s) => Some(s.clone()),
        serde_norway::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}
