//! Everything that can be checked before the first paid call, checked at
//! once: a user fixes every problem in one round, and nothing is uploaded
//! or created while any remains.

use std::path::Path;
use std::time::Duration;

use crate::aws::{AwsErrorKind, Clients};
use crate::blueprint::limits::{human, instance_hours};
use crate::blueprint::{Plan, Target};
use crate::cli::RunArgs;
use crate::exit::{InfraError, InputError};
use crate::gate::{Baseline, Gate};
use crate::results::store::Store;
use crate::ui::Reporter;

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
    fn input(&mut self, text: String) {
        self.problems.push(Problem { aws: false, text });
    }

    fn refused(&mut self, text: String) {
        self.problems.push(Problem { aws: true, text });
    }

    /// Checks that need no network: gate, baseline file, paths, limits.
    pub fn local(plan: &Plan, args: &RunArgs, footprint: &Footprint) -> Self {
        let mut c = Checks::default();
        if let Some(path) = args.gate.as_ref().or(plan.gate.as_ref()) {
            match Gate::read(path) {
                Err(e) => c.input(e.to_string()),
                Ok(g) => {
                    if let Baseline::Path(p) = &g.baseline
                        && let Err(e) = crate::results::load_run(p)
                    {
                        c.input(format!("{}: baseline: {e}", path.display()));
                    }
                }
            }
        }
        c.testcase_files(plan);
        c.writable_dir(&args.report, "--report");
        for (flag, file) in [("--junit", &args.junit), ("--markdown", &args.markdown)] {
            if let Some(f) = file {
                let dir = f.parent().filter(|d| !d.as_os_str().is_empty());
                c.writable_dir(dir.unwrap_or(Path::new(".")), flag);
            }
        }
        for v in plan.limits.violations(footprint.bees, footprint.timeout) {
            c.input(format!(
                "{}: limits: {v} (raise `limits:` or the STAMPEDE_MAX_* environment, or run smaller)",
                plan.source.display()
            ));
        }
        c
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
    /// stack name, and the gate's baseline.
    pub async fn remote(&mut self, plan: &Plan, args: &RunArgs, clients: &Clients, ui: &Reporter) {
        match clients.sts.caller().await {
            Ok(arn) => ui.info(&format!("credentials: {arn}")),
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
        self.baseline(plan, args, clients, ui).await;
    }

    async fn baseline(&mut self, plan: &Plan, args: &RunArgs, clients: &Clients, ui: &Reporter) {
        let Some(path) = args.gate.as_ref().or(plan.gate.as_ref()) else {
            return;
        };
        let Ok(gate) = Gate::read(path) else { return };
        match &gate.baseline {
            Baseline::Previous => {
                let store = Store::new(&clients.s3, &plan.run.bucket, &plan.build.job);
                match store.latest_passed().await {
                    Ok(Some((build, _))) => ui.info(&format!(
                        "baseline: build {build} of {} (the last that passed)",
                        plan.build.job
                    )),
                    Ok(None) => ui.info(&format!(
                        "baseline: none yet for {} (first build): relative criteria will pass",
                        plan.build.job
                    )),
                    Err(e) => self.refused(format!("{}: baseline: {e:#}", path.display())),
                }
            }
            Baseline::S3(uri) => match crate::aws::s3::parse_uri(uri) {
                None => self.input(format!(
                    "{}: baseline {uri} is not an s3:// URI",
                    path.display()
                )),
                Some((bucket, key)) => match clients.s3.any(bucket, key).await {
                    Ok(true) => {}
                    Ok(false) => {
                        self.input(format!("{}: baseline {uri} does not exist", path.display()))
                    }
                    Err(e) => self.refused(format!("{}: baseline: {e}", path.display())),
                },
            },
            Baseline::Path(_) => {}
        }
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
