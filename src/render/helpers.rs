//! The helpers blueprints and templates may call: `add`, `item`,
//! `output`, `userdata`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use handlebars::{
    Context, Handlebars, Helper, HelperResult, Output, RenderContext, RenderError,
    RenderErrorReason,
};

/// Outputs of other stacks, fetched before rendering. Lookups that miss
/// are remembered so the caller can fetch them and render again.
#[derive(Debug, Default, Clone)]
pub struct OutputTable {
    values: BTreeMap<(String, String), String>,
    missing: BTreeSet<(String, String)>,
}

impl OutputTable {
    /// Records one output value.
    pub fn insert(&mut self, stack: &str, key: &str, value: &str) {
        self.values
            .insert((stack.to_string(), key.to_string()), value.to_string());
    }

    /// The lookups that missed, sorted.
    pub fn missing(&self) -> Vec<(String, String)> {
        self.missing.iter().cloned().collect()
    }
}

fn param_str<'a>(h: &'a Helper, idx: usize, helper: &'static str) -> Result<&'a str, RenderError> {
    let value = h
        .param(idx)
        .ok_or(RenderErrorReason::ParamNotFoundForIndex(helper, idx))?;
    value
        .value()
        .as_str()
        .ok_or_else(|| RenderErrorReason::InvalidParamType("string").into())
}

/// `{{add a b ...}}`: integer sum, so a blueprint can say "duration + grace".
pub fn register_arithmetic(hb: &mut Handlebars<'static>) {
    hb.register_helper(
        "add",
        Box::new(
            |h: &Helper,
             _: &Handlebars,
             _: &Context,
             _: &mut RenderContext,
             out: &mut dyn Output|
             -> HelperResult {
                let mut sum: i64 = 0;
                for p in h.params() {
                    let v = p.value();
                    let n = v
                        .as_i64()
                        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
                        .ok_or_else(|| {
                            RenderErrorReason::Other(format!("add: {v} is not a whole number"))
                        })?;
                    sum = sum.saturating_add(n);
                }
                out.write(&sum.to_string())?;
                Ok(())
            },
        ),
    );
}

/// `{{item "a,b,c" 1}}`: one item (0-based, trimmed) of a comma separated
/// list, or nothing when the list is shorter, so that one blueprint
/// variable can fill numbered template parameters.
pub fn register_lists(hb: &mut Handlebars<'static>) {
    hb.register_helper(
        "item",
        Box::new(
            |h: &Helper,
             _: &Handlebars,
             _: &Context,
             _: &mut RenderContext,
             out: &mut dyn Output|
             -> HelperResult {
                let list = param_str(h, 0, "item")?;
                let v = h
                    .param(1)
                    .ok_or(RenderErrorReason::ParamNotFoundForIndex("item", 1))?
                    .value();
                let index = v
                    .as_u64()
                    .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
                    .ok_or_else(|| {
                        RenderErrorReason::Other(format!("item: {v} is not an index"))
                    })?;
                let found = list
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .nth(usize::try_from(index).unwrap_or(usize::MAX));
                out.write(found.unwrap_or_default())?;
                Ok(())
            },
        ),
    );
}

/// `{{output "stack" "Key"}}`: another stack's output.
pub fn register_output(hb: &mut Handlebars<'static>, table: Arc<Mutex<OutputTable>>) {
    hb.register_helper(
        "output",
        Box::new(
            move |h: &Helper,
                  _: &Handlebars,
                  _: &Context,
                  _: &mut RenderContext,
                  out: &mut dyn Output|
                  -> HelperResult {
                let stack = param_str(h, 0, "output")?;
                let key = param_str(h, 1, "output")?;
                let k = (stack.to_string(), key.to_string());
                let mut t = table
                    .lock()
                    .map_err(|_| RenderErrorReason::Other("output table poisoned".into()))?;
                match t.values.get(&k) {
                    Some(v) => out.write(v)?,
                    None => {
                        t.missing.insert(k);
                    }
                }
                Ok(())
            },
        ),
    );
}

/// `{{userdata "Name"}}`: the named script as `{"Fn::Sub": "..."}`, a JSON
/// flow value that YAML and JSON templates both accept. JSON string
/// escaping keeps quotes, backslashes and newlines; `${...}` is left for
/// Fn::Sub.
pub fn register_userdata(hb: &mut Handlebars<'static>, scripts: BTreeMap<String, String>) {
    hb.register_helper(
        "userdata",
        Box::new(
            move |h: &Helper,
                  _: &Handlebars,
                  _: &Context,
                  _: &mut RenderContext,
                  out: &mut dyn Output|
                  -> HelperResult {
                let name = param_str(h, 0, "userdata")?;
                let script = scripts.get(name).ok_or_else(|| {
                    let known: Vec<&str> = scripts.keys().map(String::as_str).collect();
                    RenderErrorReason::Other(format!(
                        "unknown userdata name {name:?} (the blueprint's userdata has: {})",
                        if known.is_empty() {
                            "nothing".to_string()
                        } else {
                            known.join(", ")
                        }
                    ))
                })?;
                let quoted = serde_json::to_string(script)
                    .map_err(|e| RenderErrorReason::Other(e.to_string()))?;
                out.write(&format!("{{\"Fn::Sub\": {quoted}}}"))?;
                Ok(())
            },
        ),
    );
}
