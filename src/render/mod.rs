//! Handlebars rendering of blueprint values, templates and userdata.
//!
//! Strict mode (an unknown name is an error) and no HTML escaping: we
//! render YAML, JSON and shell, never HTML.

mod helpers;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use handlebars::{Handlebars, RenderError, RenderErrorReason};
use serde_json::Value;

pub use helpers::OutputTable;

/// Why rendering one template string failed, and where inside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderFailure {
    /// 1-based line inside the rendered string, when known.
    pub line: Option<usize>,
    /// What went wrong, naming the name at fault.
    pub message: String,
}

/// Renders template strings against one context.
pub struct Renderer {
    plain: Handlebars<'static>,
    outputs: Arc<Mutex<OutputTable>>,
}

impl Renderer {
    /// A renderer whose `{{output "stack" "Key"}}` helper answers from
    /// `outputs`; misses are recorded there for the caller to fetch.
    pub fn new(outputs: OutputTable) -> Self {
        let outputs = Arc::new(Mutex::new(outputs));
        let mut plain = base_registry();
        helpers::register_output(&mut plain, outputs.clone());
        Renderer { plain, outputs }
    }

    /// Renders one string.
    pub fn render(&self, template: &str, ctx: &Value) -> Result<String, RenderFailure> {
        if !template.contains("{{") {
            return Ok(template.to_string());
        }
        self.plain.render_template(template, ctx).map_err(failure)
    }

    /// Renders a CloudFormation template, where `{{userdata "Name"}}`
    /// becomes `{"Fn::Sub": "<script>"}` holding an already rendered script.
    pub fn render_template(
        &self,
        template: &str,
        ctx: &Value,
        userdata: &BTreeMap<String, String>,
    ) -> Result<String, RenderFailure> {
        let mut hb = base_registry();
        helpers::register_output(&mut hb, self.outputs.clone());
        helpers::register_userdata(&mut hb, userdata.clone());
        hb.render_template(template, ctx).map_err(failure)
    }

    /// The `(stack, key)` outputs that templates asked for and the table
    /// did not hold.
    pub fn missing_outputs(&self) -> Vec<(String, String)> {
        self.outputs.lock().map(|t| t.missing()).unwrap_or_default()
    }
}

fn base_registry() -> Handlebars<'static> {
    let mut hb = Handlebars::new();
    hb.set_strict_mode(true);
    hb.register_escape_fn(handlebars::no_escape);
    helpers::register_arithmetic(&mut hb);
    helpers::register_lists(&mut hb);
    hb
}

fn failure(err: RenderError) -> RenderFailure {
    let (line, message) = match err.reason() {
        RenderErrorReason::MissingVariable(Some(name)) => match name.strip_prefix("env.") {
            Some(var) => (
                err.line_no,
                format!("environment variable `{var}` is not set"),
            ),
            None => (err.line_no, format!("unknown name `{name}`")),
        },
        RenderErrorReason::MissingVariable(None) => (err.line_no, "unknown name".to_string()),
        RenderErrorReason::HelperNotFound(name) => {
            (err.line_no, format!("unknown helper `{name}`"))
        }
        RenderErrorReason::TemplateError(t) => (
            t.pos().map(|(l, _)| l).or(err.line_no),
            format!("template syntax: {}", t.reason()),
        ),
        other => (err.line_no, other.to_string()),
    };
    RenderFailure { line, message }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ctx() -> Value {
        json!({"vars": {"bees": 4, "name": "a&b <x>"}, "env": {}})
    }

    #[test]
    fn renders_without_html_escaping() {
        let r = Renderer::new(OutputTable::default());
        assert_eq!(r.render("{{vars.name}}", &ctx()).unwrap(), "a&b <x>");
        assert_eq!(r.render("n={{vars.bees}}", &ctx()).unwrap(), "n=4");
    }

    #[test]
    fn unknown_name_is_an_error_naming_it() {
        let r = Renderer::new(OutputTable::default());
        let err = r.render("x\n{{vars.nope}}", &ctx()).unwrap_err();
        assert_eq!(err.message, "unknown name `vars.nope`");
        assert_eq!(err.line, Some(2));
    }

    #[test]
    fn add_helper_sums_numbers_and_numeric_strings() {
        let r = Renderer::new(OutputTable::default());
        assert_eq!(
            r.render("{{add vars.bees \"900\"}}", &ctx()).unwrap(),
            "904"
        );
    }

    #[test]
    fn item_helper_picks_one_item_of_a_list() {
        let r = Renderer::new(OutputTable::default());
        let t = "{{item \"c6i.large, c5.large\" 0}}|{{item \"c6i.large, c5.large\" 1}}|{{item \"c6i.large\" 4}}|";
        assert_eq!(r.render(t, &ctx()).unwrap(), "c6i.large|c5.large||");
        assert!(r.render("{{item \"a\" \"x\"}}", &ctx()).is_err());
    }

    #[test]
    fn userdata_becomes_fn_sub_with_script_intact() {
        let r = Renderer::new(OutputTable::default());
        let script = "#!/bin/bash\necho \"hi\" \\\nURL='${ReadyHandle}' X=${!HOME}\n";
        let ud = BTreeMap::from([("Bee".to_string(), script.to_string())]);
        let out = r
            .render_template(
                "UserData:\n  Fn::Base64: {{userdata \"Bee\"}}\n",
                &ctx(),
                &ud,
            )
            .unwrap();
        let doc: serde_norway::Value = serde_norway::from_str(&out).unwrap();
        let sub = &doc["UserData"]["Fn::Base64"]["Fn::Sub"];
        assert_eq!(sub.as_str().unwrap(), script);
    }

    #[test]
    fn unknown_userdata_name_is_an_error() {
        let r = Renderer::new(OutputTable::default());
        let err = r
            .render_template("a: 1\nb: {{userdata \"Nope\"}}\n", &ctx(), &BTreeMap::new())
            .unwrap_err();
        assert!(
            err.message.contains("unknown userdata name \"Nope\""),
            "{err:?}"
        );
        assert_eq!(err.line, Some(2));
    }

    #[test]
    fn output_helper_records_misses() {
        let mut table = OutputTable::default();
        table.insert("net", "VpcId", "vpc-1");
        let r = Renderer::new(table);
        assert_eq!(
            r.render("{{output \"net\" \"VpcId\"}}", &ctx()).unwrap(),
            "vpc-1"
        );
        r.render("{{output \"db\" \"Host\"}}", &ctx()).unwrap();
        assert_eq!(
            r.missing_outputs(),
            vec![("db".to_string(), "Host".to_string())]
        );
    }
}
