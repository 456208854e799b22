//! Rendering a parsed blueprint, field by field, into a [`Plan`]; every
//! error names the file and line at fault.

use super::*;
use crate::input_file::{MAX_TEXT_BYTES, read_text};

pub(super) struct Loader<'a> {
    pub(super) path: &'a Path,
    pub(super) text: &'a str,
    pub(super) renderer: Renderer,
}

impl Loader<'_> {
    pub(super) fn at(&self, line: usize, message: impl Into<String>) -> BlueprintError {
        BlueprintError::At {
            path: self.path.to_path_buf(),
            line,
            message: message.into(),
        }
    }

    fn missing(&self, field: &str, why: &str) -> BlueprintError {
        self.at(1, format!("missing required field `{field}` ({why})"))
    }

    /// `metrics.give_up_after`: a duration from 1s to a day.
    fn give_up_after(&self, v: &Value, ctx: &Value) -> Result<Duration, BlueprintError> {
        let s = scalar_to_string(v).unwrap_or_default();
        let s = self.render("metrics.give_up_after", &s, ctx)?;
        parse_duration(&s)
            .filter(|t| (1..=crate::bee::config::MAX_GIVE_UP_AFTER_S).contains(t))
            .map(Duration::from_secs)
            .ok_or_else(|| {
                self.at(
                    line_of(self.text, "give_up_after:"),
                    format!(
                        "metrics.give_up_after: {s:?} is not a duration between 1s and 24h, like 30s or 2m"
                    ),
                )
            })
    }

    /// `metrics.rows`: all, errors or none.
    fn rows(&self, v: &Value, ctx: &Value) -> Result<RowsMode, BlueprintError> {
        let s = scalar_to_string(v).unwrap_or_default();
        let s = self.render("metrics.rows", &s, ctx)?;
        RowsMode::parse(s.trim()).ok_or_else(|| {
            self.at(
                line_of(self.text, "rows:"),
                format!("metrics.rows: {s:?} is not one of all, errors, none"),
            )
        })
    }

    /// `metrics.rollup_interval`: a duration from 1s to a minute.
    fn rollup_interval(&self, v: &Value, ctx: &Value) -> Result<Duration, BlueprintError> {
        let s = scalar_to_string(v).unwrap_or_default();
        let s = self.render("metrics.rollup_interval", &s, ctx)?;
        parse_duration(&s)
            .filter(|t| (1..=60).contains(t))
            .map(Duration::from_secs)
            .ok_or_else(|| {
                self.at(
                    line_of(self.text, "rollup_interval:"),
                    format!("metrics.rollup_interval: {s:?} is not a duration between 1s and 60s, like 1s or 5s"),
                )
            })
    }

    /// Renders one blueprint string; `field` names it in errors.
    pub(super) fn render(
        &self,
        field: &str,
        raw: &str,
        ctx: &Value,
    ) -> Result<String, BlueprintError> {
        self.renderer
            .render(raw, ctx)
            .map_err(|RenderFailure { line, message }| {
                let at = line_of(self.text, raw) + line.unwrap_or(1) - 1;
                self.at(at, format!("{field}: {message}"))
            })
    }

    fn render_value(&self, field: &str, v: &Value, ctx: &Value) -> Result<Value, BlueprintError> {
        Ok(match v {
            Value::String(s) => Value::String(self.render(field, s, ctx)?),
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|i| self.render_value(field, i, ctx))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, i)| {
                        Ok((
                            k.clone(),
                            self.render_value(&format!("{field}.{k}"), i, ctx)?,
                        ))
                    })
                    .collect::<Result<_, BlueprintError>>()?,
            ),
            other => other.clone(),
        })
    }

    pub(super) fn render_pairs(
        &self,
        section: &str,
        map: &BTreeMap<String, Value>,
        ctx: &Value,
    ) -> Result<Vec<(String, String)>, BlueprintError> {
        map.iter()
            .map(|(k, v)| {
                let field = format!("{section}.{k}");
                let s = scalar_to_string(v).ok_or_else(|| {
                    self.at(
                        line_of(self.text, &format!("{k}:")),
                        format!("{field}: must be a string or number"),
                    )
                })?;
                Ok((k.clone(), self.render(&field, &s, ctx)?))
            })
            .collect()
    }

    pub(super) fn plan(
        &mut self,
        raw: RawBlueprint,
        base: &Path,
        opts: &LoadOptions,
    ) -> Result<Plan, BlueprintError> {
        let build = Build::from_env(&opts.env);
        let (mut ctx, _) = self.context(&raw, opts, &build)?;

        let stack = self.render("stack", &raw.stack, &ctx)?;
        context::check_stack_name(&stack).map_err(|m| self.at(line_of(self.text, "stack:"), m))?;
        let target = self.target(&raw, &ctx)?;
        let bucket = match &raw.bucket {
            Some(b) => match self.render("bucket", b, &ctx) {
                Ok(b) => Some(b),
                Err(_) if opts.offline => Some(OFFLINE_BUCKET.to_string()),
                Err(e) => return Err(e),
            },
            None if opts.offline => Some(OFFLINE_BUCKET.to_string()),
            None => None,
        };
        let bucket = match (bucket, &target) {
            (Some(b), _) if !b.is_empty() => b,
            (_, Target::Local { .. }) => String::new(),
            (Some(_), Target::Aws) => {
                return Err(self.at(
                    line_of(self.text, "bucket:"),
                    "bucket: renders to an empty string",
                ));
            }
            (None, Target::Aws) => {
                return Err(self.missing("bucket", "the S3 bucket for testcases and results"));
            }
        };
        if matches!(target, Target::Aws) {
            context::check_bucket(&bucket)
                .map_err(|m| self.at(line_of(self.text, "bucket:"), m))?;
        }
        let run_id = opts
            .run_id
            .clone()
            .unwrap_or_else(|| context::default_run_id(&stack));
        context::check_run_id(&run_id)
            .map_err(|m| BlueprintError::Usage(format!("--run-id: {m}")))?;
        let testcase = match &raw.testcase {
            Some(t) => {
                let path = base.join(self.render("testcase", t, &ctx)?);
                // Checked now, so a missing file stops the run before
                // anything is uploaded or created.
                if !path.is_file() {
                    return Err(self.at(
                        line_of(self.text, "testcase:"),
                        format!("testcase: {} does not exist", path.display()),
                    ));
                }
                let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
                context::check_file_name("testcase", name.as_deref().unwrap_or_default())
                    .map_err(|m| self.at(line_of(self.text, "testcase:"), m))?;
                Some(path)
            }
            None => None,
        };
        let run = RunInfo::new(
            &run_id,
            &bucket,
            testcase.as_deref(),
            opts.bee_sha256.as_deref(),
        );
        ctx["run"] = serde_json::to_value(&run).unwrap_or_default();
        ctx["stack"] = Value::String(stack.clone());

        let parameters = self.render_pairs("parameters", &raw.parameters, &ctx)?;
        let tags = self.render_pairs("tags", &raw.tags, &ctx)?;
        let properties = self.render_pairs("properties", &raw.properties, &ctx)?;
        let userdata = self.userdata(&raw, base, &ctx)?;
        let template = match (&raw.template, &target) {
            (Some(t), _) => Some(self.template(t, base, &ctx, &userdata)?),
            (None, Target::Local { .. }) => None,
            (None, Target::Aws) => {
                return Err(self.missing("template", "the CloudFormation template"));
            }
        };
        if let Some(t) = &template
            && let Ok(doc) = serde_norway::from_str::<serde_norway::Value>(&t.body)
        {
            let broken = constraints::violations(&doc, &parameters);
            if !broken.is_empty() {
                return Err(self.at(line_of(self.text, "parameters:"), broken.join("; ")));
            }
        }
        let metrics = match &raw.metrics {
            Some(m) => Some(Metrics {
                es: match &m.es {
                    Some(e) => Some(self.render("metrics.es", e, &ctx)?).filter(|s| !s.is_empty()),
                    None => None,
                },
                index: match &m.index {
                    Some(i) => self.render("metrics.index", i, &ctx)?,
                    None => "stampede-results".to_string(),
                },
                give_up_after: match &m.give_up_after {
                    Some(v) => Some(self.give_up_after(v, &ctx)?),
                    None => None,
                },
                rows: match &m.rows {
                    Some(v) => self.rows(v, &ctx)?,
                    None => RowsMode::default(),
                },
                rollup_interval: match &m.rollup_interval {
                    Some(v) => self.rollup_interval(v, &ctx)?,
                    None => Duration::from_secs(1),
                },
            }),
            None => None,
        };
        let gate = match &raw.gate {
            Some(g) => Some(base.join(self.render("gate", g, &ctx)?)),
            None => None,
        };
        let timeout = match &raw.timeout {
            None => DEFAULT_TIMEOUT,
            Some(v) => {
                let s = scalar_to_string(v).unwrap_or_default();
                let s = self.render("timeout", &s, &ctx)?;
                parse_duration(&s)
                    .filter(|t| (1..=MAX_TIMEOUT.as_secs()).contains(t))
                    .map(Duration::from_secs)
                    .ok_or_else(|| {
                        self.at(
                            line_of(self.text, "timeout:"),
                            format!(
                                "timeout: {s:?} is not a duration between 1s and {}h, like 45m or 600s",
                                MAX_TIMEOUT.as_secs() / 3600
                            ),
                        )
                    })?
            }
        };
        let monitor = match &raw.monitor {
            Some(m) => Some(self.monitor(m, &ctx)?),
            None => None,
        };
        let region = match &raw.region {
            Some(r) => Some(self.render("region", r, &ctx)?).filter(|s| !s.is_empty()),
            None => None,
        };
        let limits = Limits::parse(raw.limits.as_ref(), &opts.env)
            .map_err(|m| self.at(line_of(self.text, "limits:"), m))?;
        Ok(Plan {
            limits,
            source: self.path.to_path_buf(),
            stack,
            region,
            run,
            build,
            template,
            parameters,
            tags,
            userdata,
            testcase,
            properties,
            metrics,
            gate,
            timeout,
            target,
            monitor,
        })
    }

    /// The rendering context before the stack is known: the environment,
    /// the build, and the variables (`--var` overriding the blueprint's).
    fn context(
        &self,
        raw: &RawBlueprint,
        opts: &LoadOptions,
        build: &Build,
    ) -> Result<(Value, serde_json::Map<String, Value>), BlueprintError> {
        let mut ctx = context::initial(&opts.env, build);
        let mut vars = serde_json::Map::new();
        for (k, v) in &raw.vars {
            vars.insert(k.clone(), self.render_value(&format!("vars.{k}"), v, &ctx)?);
        }
        for (k, v) in &opts.vars {
            if !raw.vars.contains_key(k) {
                return Err(BlueprintError::Usage(unknown_var(self.path, k, &raw.vars)));
            }
            vars.insert(k.clone(), Value::String(v.clone()));
        }
        ctx["vars"] = Value::Object(vars.clone());
        Ok((ctx, vars))
    }

    /// Where the bees run, rendering only what that needs.
    pub(super) fn target_only(
        &self,
        raw: &RawBlueprint,
        opts: &LoadOptions,
    ) -> Result<Target, BlueprintError> {
        let build = Build::from_env(&opts.env);
        let (ctx, _) = self.context(raw, opts, &build)?;
        self.target(raw, &ctx)
    }

    fn target(&self, raw: &RawBlueprint, ctx: &Value) -> Result<Target, BlueprintError> {
        let kind = match &raw.target {
            Some(t) => self.render("target", t, ctx)?,
            None => "aws".to_string(),
        };
        let line = line_of(self.text, "target:");
        match kind.as_str() {
            "aws" => Ok(Target::Aws),
            "local" => {
                let local = raw.local.as_ref();
                let number = |field: &str,
                              v: Option<&Value>|
                 -> Result<Option<u64>, BlueprintError> {
                    let Some(v) = v else { return Ok(None) };
                    let s = self.render(field, &scalar_to_string(v).unwrap_or_default(), ctx)?;
                    s.trim().parse().map(Some).map_err(|_| {
                        self.at(
                            line_of(self.text, "local:"),
                            format!("{field}: {s:?} is not a whole number"),
                        )
                    })
                };
                let bees = number("local.bees", local.and_then(|l| l.bees.as_ref()))?.unwrap_or(1);
                let serve = number("local.serve", local.and_then(|l| l.serve.as_ref()))?;
                if bees == 0 || bees > 64 {
                    return Err(self.at(
                        line_of(self.text, "bees:"),
                        "local.bees: must be between 1 and 64",
                    ));
                }
                let serve = match serve {
                    None => None,
                    // 0 asks for any free port.
                    Some(p) => Some(u16::try_from(p).map_err(|_| {
                        self.at(
                            line_of(self.text, "serve:"),
                            format!("local.serve: {p} is not a TCP port (0 to 65535)"),
                        )
                    })?),
                };
                Ok(Target::Local {
                    bees: bees as u32,
                    serve,
                })
            }
            other => Err(self.at(
                line,
                format!("target: {other:?} is neither `aws` nor `local`"),
            )),
        }
    }

    fn userdata(
        &self,
        raw: &RawBlueprint,
        base: &Path,
        ctx: &Value,
    ) -> Result<BTreeMap<String, String>, BlueprintError> {
        let mut out = BTreeMap::new();
        for (name, rel) in &raw.userdata {
            // The name becomes a file name (`render --out DIR` writes
            // userdata/NAME.sh): nothing that could leave that folder.
            if !context::is_plain_name(name) {
                return Err(self.at(
                    line_of(self.text, &format!("{name}:")),
                    format!(
                        "userdata name {name:?} may hold only letters, digits, `-` and `_` (up to 64)"
                    ),
                ));
            }
            let rel = self.render(&format!("userdata.{name}"), rel, ctx)?;
            let file = base.join(&rel);
            let script = read_text(&file, MAX_TEXT_BYTES).map_err(|e| {
                self.at(
                    line_of(self.text, &format!("{name}:")),
                    format!("userdata.{name}: {}: {e}", file.display()),
                )
            })?;
            let rendered = self
                .renderer
                .render(&script, ctx)
                .map_err(|f| BlueprintError::At {
                    path: file.clone(),
                    line: f.line.unwrap_or(1),
                    message: f.message,
                })?;
            out.insert(name.clone(), rendered);
        }
        Ok(out)
    }

    fn template(
        &self,
        rel: &str,
        base: &Path,
        ctx: &Value,
        userdata: &BTreeMap<String, String>,
    ) -> Result<Template, BlueprintError> {
        let rel = self.render("template", rel, ctx)?;
        let file = base.join(&rel);
        let source = read_text(&file, MAX_TEXT_BYTES).map_err(|e| {
            self.at(
                line_of(self.text, "template:"),
                format!("template: {}: {e}", file.display()),
            )
        })?;
        let at = |line: usize, message: String| BlueprintError::At {
            path: file.clone(),
            line,
            message,
        };
        let body = self
            .renderer
            .render_template(&source, ctx, userdata)
            .map_err(|f| at(f.line.unwrap_or(1), f.message))?;
        let format = if file
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        {
            serde_json::from_str::<Value>(&body).map_err(|e| {
                at(
                    e.line(),
                    format!("rendered template is not valid JSON: {e}"),
                )
            })?;
            "json"
        } else {
            serde_norway::from_str::<serde_norway::Value>(&body).map_err(|e| {
                at(
                    e.location().map_or(1, |l| l.line()),
                    format!("rendered template is not valid YAML: {}", yaml_message(&e)),
                )
            })?;
            "yaml"
        };
        Ok(Template { body, format })
    }
}

/// `--var K=V` for a K the blueprint does not declare, with the closest
/// declared name: a typo must not silently render the placeholder.
fn unknown_var(path: &Path, name: &str, declared: &BTreeMap<String, Value>) -> String {
    let close = declared
        .keys()
        .map(|k| (edit_distance(k, name), k))
        .filter(|(d, _)| *d <= 2)
        .min();
    let hint = match close {
        Some((_, k)) => format!(" (did you mean `{k}`?)"),
        None if declared.is_empty() => " (the blueprint declares no vars)".to_string(),
        None => format!(
            " (declared: {})",
            declared.keys().cloned().collect::<Vec<_>>().join(", ")
        ),
    };
    format!(
        "--var {name}: {} declares no variable `{name}` in `vars:`{hint}",
        path.display()
    )
}

/// Levenshtein distance, for "did you mean".
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}
