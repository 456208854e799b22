//! Blueprint loading: rendering, variables and the errors users meet.

use std::fs;

use super::*;

struct Dir(tempfile::TempDir);

impl Dir {
    fn new() -> Self {
        Dir(tempfile::tempdir().unwrap())
    }
    fn file(&self, name: &str, body: &str) -> PathBuf {
        let p = self.0.path().join(name);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, body).unwrap();
        p
    }
}

fn opts() -> LoadOptions {
    LoadOptions {
        env: BTreeMap::from([
            ("BUCKET".into(), "my-bucket".into()),
            ("BUILD_NUMBER".into(), "42".into()),
            ("JOB_NAME".into(), "shop".into()),
        ]),
        ..LoadOptions::default()
    }
}

const TEMPLATE: &str = "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  Bee:\n    Type: AWS::EC2::Instance\n    Properties:\n      UserData:\n        Fn::Base64: {{userdata \"Bee\"}}\n";

const BLUEPRINT: &str = r#"stack: "shop-loadtest-{{build.number}}"
region: us-east-1
template: templates/bees.yaml
bucket: "{{env.BUCKET}}"
vars: { bees: 4, threads: 50, duration: 600 }
testcase: testcases/checkout.jmx
parameters:
  BeeCount: "{{vars.bees}}"
  Threads: 50
  Timeout: "{{add vars.duration 900}}"
tags: { Project: shop }
userdata:
  Bee: templates/bee.sh
"#;

fn project() -> (Dir, PathBuf) {
    let d = Dir::new();
    d.file("templates/bees.yaml", TEMPLATE);
    d.file(
        "templates/bee.sh",
        "#!/bin/bash\necho \"run {{run.id}}\" > /tmp/x\nURL='${ReadyHandle}'\n",
    );
    d.file("testcases/checkout.jmx", "<jmeterTestPlan/>");
    let bp = d.file("bp.yml", BLUEPRINT);
    (d, bp)
}

#[test]
fn renders_every_value_with_env_vars_and_build() {
    let (_d, bp) = project();
    let mut o = opts();
    o.run_id = Some("r1".into());
    let plan = load(&bp, &o).unwrap();
    assert_eq!(plan.stack, "shop-loadtest-42");
    assert_eq!(plan.run.bucket, "my-bucket");
    assert_eq!(plan.run.config_uri, "s3://my-bucket/stampede/r1/bee.json");
    assert_eq!(
        plan.parameters,
        vec![
            ("BeeCount".to_string(), "4".to_string()),
            ("Threads".to_string(), "50".to_string()),
            ("Timeout".to_string(), "1500".to_string()),
        ]
    );
    assert!(plan.userdata["Bee"].contains("echo \"run r1\""));
    let t = plan.template.unwrap();
    assert_eq!(t.format, "yaml");
    assert!(
        t.body.contains(
            r##"{"Fn::Sub": "#!/bin/bash\necho \"run r1\" > /tmp/x\nURL='${ReadyHandle}'\n"}"##
        ),
        "{}",
        t.body
    );
}

#[test]
fn var_overrides_beat_blueprint_vars() {
    let (_d, bp) = project();
    let mut o = opts();
    o.vars = vec![("bees".into(), "9".into())];
    let plan = load(&bp, &o).unwrap();
    assert_eq!(
        plan.parameters[0],
        ("BeeCount".to_string(), "9".to_string())
    );
}

#[test]
fn run_id_defaults_to_stack_and_timestamp() {
    let (_d, bp) = project();
    let plan = load(&bp, &opts()).unwrap();
    assert!(
        plan.run.id.starts_with("shop-loadtest-42-20"),
        "{}",
        plan.run.id
    );
}

fn err(bp: &Path) -> String {
    load(bp, &opts()).unwrap_err().to_string()
}

#[test]
fn unknown_variable_names_file_line_and_name() {
    let (d, _) = project();
    let bp = d.file(
        "bad.yml",
        &BLUEPRINT.replace("\"{{vars.bees}}\"", "\"{{vars.beez}}\""),
    );
    let e = err(&bp);
    assert!(
        e.ends_with("bad.yml:8: parameters.BeeCount: unknown name `vars.beez`"),
        "{e}"
    );
}

#[test]
fn unknown_variable_in_userdata_names_the_script() {
    let (d, bp) = project();
    d.file("templates/bee.sh", "#!/bin/bash\n\necho {{vars.nope}}\n");
    let e = err(&bp);
    assert!(e.ends_with("bee.sh:3: unknown name `vars.nope`"), "{e}");
}

#[test]
fn unknown_userdata_name_in_template() {
    let (d, bp) = project();
    d.file(
        "templates/bees.yaml",
        &TEMPLATE.replace("\"Bee\"", "\"Worker\""),
    );
    let e = err(&bp);
    assert!(
        e.contains(
            "bees.yaml:7: unknown userdata name \"Worker\" (the blueprint's userdata has: Bee)"
        ),
        "{e}"
    );
}

#[test]
fn yaml_error_names_the_line() {
    let (d, _) = project();
    let bp = d.file("bad.yml", "stack: x\nvars: { a: 1\nbucket: bkt\n");
    let e = err(&bp);
    assert!(e.contains("bad.yml:"), "{e}");
    assert!(!e.contains(" at line "), "{e}");
}

#[test]
fn missing_required_field() {
    let (d, _) = project();
    let bp = d.file("bad.yml", "stack: x\nbucket: bkt\n");
    assert!(
        err(&bp).ends_with(
            "bad.yml:1: missing required field `template` (the CloudFormation template)"
        )
    );
    let bp = d.file("bad2.yml", "bucket: bkt\n");
    assert!(err(&bp).contains("missing field `stack`"), "{}", err(&bp));
}

#[test]
fn unknown_field_is_rejected() {
    let (d, _) = project();
    let bp = d.file("bad.yml", "stack: x\nbukket: b\n");
    let e = err(&bp);
    assert!(e.contains("bad.yml:2: unknown field `bukket`"), "{e}");
}

#[test]
fn missing_template_file_names_blueprint_line_and_path() {
    let (d, _) = project();
    let bp = d.file(
        "bad.yml",
        &BLUEPRINT.replace("templates/bees.yaml", "templates/nope.yaml"),
    );
    let e = err(&bp);
    assert!(
        e.contains("bad.yml:3: template: ") && e.contains("cannot read it"),
        "{e}"
    );
    assert!(e.contains("nope.yaml"), "{e}");
}

#[test]
fn missing_blueprint_file() {
    let d = Dir::new();
    let e = err(&d.0.path().join("none.yml"));
    assert!(e.contains("none.yml: cannot read"), "{e}");
}

#[test]
fn invalid_stack_name() {
    let (d, _) = project();
    let bp = d.file(
        "bad.yml",
        &BLUEPRINT.replace("shop-loadtest-", "shop_loadtest_"),
    );
    assert!(err(&bp).contains("bad.yml:1: stack: \"shop_loadtest_42\" is not a valid stack name"));
}

#[test]
fn json_templates_keep_their_format() {
    let (d, _) = project();
    d.file(
        "templates/bees.json",
        "{\"Resources\": {\"B\": {\"Type\": \"AWS::EC2::Instance\", \"Properties\": {\"UserData\": {\"Fn::Base64\": {{userdata \"Bee\"}}}}}}}",
    );
    let bp = d.file("j.yml", &BLUEPRINT.replace("bees.yaml", "bees.json"));
    let plan = load(&bp, &opts()).unwrap();
    let t = plan.template.unwrap();
    assert_eq!(t.format, "json");
    let v: Value = serde_json::from_str(&t.body).unwrap();
    let sub = v["Resources"]["B"]["Properties"]["UserData"]["Fn::Base64"]["Fn::Sub"]
        .as_str()
        .unwrap();
    assert!(sub.starts_with("#!/bin/bash\necho \"run "));
}

#[test]
fn short_form_tags_survive_rendering() {
    let (d, bp) = project();
    d.file(
        "templates/bees.yaml",
        &format!("{TEMPLATE}Outputs:\n  Id:\n    Value: !Ref Bee\n"),
    );
    let plan = load(&bp, &opts()).unwrap();
    assert!(plan.template.unwrap().body.contains("Value: !Ref Bee"));
}

#[test]
fn local_target_needs_no_bucket_or_template() {
    let d = Dir::new();
    d.file("t.jmx", "<jmeterTestPlan/>");
    let bp = d.file(
        "l.yml",
        "stack: quick\ntarget: local\nlocal: { bees: 2 }\ntestcase: t.jmx\n",
    );
    let plan = load(&bp, &opts()).unwrap();
    assert_eq!(
        plan.target,
        Target::Local {
            bees: 2,
            serve: None
        }
    );
    assert!(plan.template.is_none());
}

#[test]
fn missing_testcase_names_the_line() {
    let (d, _) = project();
    let bp = d.file("bad.yml", &BLUEPRINT.replace("checkout.jmx", "nope.jmx"));
    let e = err(&bp);
    assert!(
        e.contains("bad.yml:6: testcase: ") && e.ends_with("nope.jmx does not exist"),
        "{e}"
    );
}

fn with_monitor(section: &str) -> Result<Plan, BlueprintError> {
    let (d, _) = project();
    let bp = d.file("mon.yml", &format!("{BLUEPRINT}{section}"));
    load(&bp, &opts())
}

#[test]
fn monitor_section_is_rendered_and_checked() {
    let plan = with_monitor(
        r#"monitor:
  tags: { Environment: int, Project: "{{vars.bees}}x" }
  stacks: ["shop-int-{{build.number}}"]
  period: 10
  metrics:
    - { namespace: System/Detail/Linux, metric: MemoryUtilization, dimensions: { AutoScalingGroupName: "*" }, stat: Average }
    - { namespace: Shop, metric: OrdersPlaced, stat: Sum }
"#,
    )
    .unwrap();
    let m = plan.monitor.unwrap();
    assert_eq!(
        m.tags,
        vec![
            ("Environment".into(), "int".into()),
            ("Project".into(), "4x".into())
        ]
    );
    assert_eq!(m.stacks, vec!["shop-int-42".to_string()]);
    assert_eq!(m.period, 10);
    assert_eq!(m.metrics.len(), 2);
    assert_eq!(m.metrics[1].stat, crate::monitor::spec::Stat::Sum);
    assert_eq!(
        m.metrics[0].dimensions,
        vec![(
            "AutoScalingGroupName".into(),
            crate::monitor::spec::DimValue::Any
        )]
    );
    assert_eq!(m.index, "stampede-metrics");
}

#[test]
fn monitor_bad_input_names_file_and_line() {
    let base_lines = BLUEPRINT.lines().count();
    let cases = [
        (
            "monitor:\n  tags: { A: b }\n  metrics:\n    - { namespace: Shop, metric: Orders, stat: Median }\n",
            4,
            "unknown statistic \"Median\"",
        ),
        (
            "monitor:\n  tags: { A: b }\n  metrics:\n    - { namespace: AWS/Rds, metric: CPUUtilization }\n",
            4,
            "unknown AWS namespace",
        ),
        (
            "monitor:\n  tags: { A: b }\n  metrics:\n    - { namespace: Shop, metric: Orders, dimensions: { Color: \"*\" } }\n",
            4,
            "only works for dimensions discovery fills in",
        ),
        (
            "monitor:\n  tags: { A: b }\n  metrics:\n    - { namespace: Shop, metric: Orders, dimensions: { Store: [1, 2] } }\n",
            4,
            "must be a string",
        ),
        ("monitor:\n  tags: { A: b }\n  period: 45\n", 3, "period 45"),
        (
            "monitor:\n  tags: { A: b }\n  period: soon\n",
            3,
            "not a whole number",
        ),
    ];
    for (section, line, msg) in cases {
        let e = with_monitor(section).unwrap_err().to_string();
        assert!(
            e.contains(&format!("mon.yml:{}:", base_lines + line)),
            "{section}: {e}"
        );
        assert!(e.contains(msg), "{section}: {e}");
    }
}

#[test]
fn metrics_give_up_after_is_a_bounded_duration() {
    let d = Dir::new();
    d.file("t.jmx", "<jmeterTestPlan/>");
    let head = "stack: quick\ntarget: local\nlocal: { bees: 1 }\ntestcase: t.jmx\n";
    let bp = d.file(
        "ok.yml",
        &format!("{head}metrics: {{ es: http://x:9200, give_up_after: 45s }}\n"),
    );
    let plan = load(&bp, &opts()).unwrap();
    assert_eq!(
        plan.metrics.unwrap().give_up_after,
        Some(Duration::from_secs(45))
    );
    let bp = d.file(
        "bad.yml",
        &format!("{head}metrics:\n  es: http://x:9200\n  give_up_after: 2d\n"),
    );
    let e = err(&bp);
    assert!(
        e.contains("bad.yml:7") && e.contains("give_up_after"),
        "{e}"
    );
}

#[test]
fn metrics_rows_and_rollup_interval_are_checked_and_default() {
    use crate::metrics::rollup::RowsMode;
    let d = Dir::new();
    d.file("t.jmx", "<jmeterTestPlan/>");
    let head = "stack: quick\ntarget: local\nlocal: { bees: 1 }\ntestcase: t.jmx\n";
    let bp = d.file(
        "default.yml",
        &format!("{head}metrics: {{ es: http://x:9200 }}\n"),
    );
    let m = load(&bp, &opts()).unwrap().metrics.unwrap();
    assert_eq!(
        (m.rows, m.rollup_interval),
        (RowsMode::Errors, Duration::from_secs(1))
    );
    let bp = d.file(
        "set.yml",
        &format!("{head}metrics: {{ es: http://x:9200, rows: none, rollup_interval: 5s }}\n"),
    );
    let m = load(&bp, &opts()).unwrap().metrics.unwrap();
    assert_eq!(
        (m.rows, m.rollup_interval),
        (RowsMode::None, Duration::from_secs(5))
    );
    let bp = d.file(
        "bad.yml",
        &format!("{head}metrics:\n  es: http://x:9200\n  rows: some\n"),
    );
    let e = err(&bp);
    assert!(
        e.contains("bad.yml:7") && e.contains("all, errors, none"),
        "{e}"
    );
    let bp = d.file(
        "slow.yml",
        &format!("{head}metrics:\n  es: http://x:9200\n  rollup_interval: 2m\n"),
    );
    let e = err(&bp);
    assert!(
        e.contains("slow.yml:7") && e.contains("rollup_interval"),
        "{e}"
    );
}

#[test]
fn a_userdata_name_that_could_leave_its_folder_is_refused() {
    let (d, _) = project();
    let bp = d.file(
        "evil.yml",
        &BLUEPRINT.replace("  Bee: templates/bee.sh", "  \"../../x\": templates/bee.sh"),
    );
    let err = load(&bp, &opts()).unwrap_err().to_string();
    assert!(
        err.contains("evil.yml:") && err.contains("userdata name \"../../x\""),
        "{err}"
    );
}

#[test]
fn a_blueprint_with_a_byte_order_mark_loads() {
    let (d, _) = project();
    let bp = d.file("bom.yml", &format!("\u{feff}{BLUEPRINT}"));
    assert_eq!(load(&bp, &opts()).unwrap().stack, "shop-loadtest-42");
}

#[test]
fn a_blueprint_that_is_a_fifo_is_an_error_not_a_hang() {
    let (d, _) = project();
    let p = d.0.path().join("fifo.yml");
    if !std::process::Command::new("mkfifo")
        .arg(&p)
        .status()
        .is_ok_and(|s| s.success())
    {
        eprintln!("SKIP: mkfifo is not available");
        return;
    }
    let err = load(&p, &opts()).unwrap_err().to_string();
    assert!(err.contains("fifo.yml: it is a FIFO"), "{err}");
}
