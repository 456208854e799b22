//! `stampede render` and bad input: offline, exit 2, nothing created.

use crate::support::*;

#[test]
fn renders_the_shipped_blueprint_offline() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(stampede()
        .args([
            "render",
            "blueprints/jmeter.yml",
            "--var",
            "target=https://shop.example.com",
            "--out",
        ])
        .arg(dir.path())
        .env("STAMPEDE_BUCKET", "my-bucket")
        .env("BUILD_NUMBER", "7")
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9") // nothing listens: proves no AWS call
        .current_dir(root()));
    assert_eq!(out.code, 0, "{out:?}");
    let template = std::fs::read_to_string(dir.path().join("template.yaml")).unwrap();
    assert!(
        template.contains("\"Fn::Sub\": \"#!/bin/bash"),
        "userdata is embedded"
    );
    assert!(
        template.contains("stampede/stampede-jmeter-7-"),
        "run prefix is rendered"
    );
    let params: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("parameters.json")).unwrap())
            .unwrap();
    let target = params
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["ParameterKey"] == "TargetUrl")
        .unwrap();
    assert_eq!(target["ParameterValue"], "https://shop.example.com");
    let script = std::fs::read_to_string(dir.path().join("userdata/Bee.sh")).unwrap();
    assert!(script.starts_with("#!/bin/bash"));
}

#[test]
fn render_without_out_prints_the_template() {
    let out = run(stampede()
        .args(["render", "blueprints/jmeter.yml"])
        .env("STAMPEDE_BUCKET", "bkt")
        .current_dir(root()));
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("AWSTemplateFormatVersion"));
}

#[test]
fn unknown_variable_exits_2_naming_file_line_and_name() {
    let out = run(stampede()
        .args(["render", "blueprints/jmeter.yml"])
        .current_dir(root()));
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr
            .contains("blueprints/jmeter.yml:16: bucket: unknown name `env.STAMPEDE_BUCKET`"),
        "{out:?}"
    );
}

#[test]
fn missing_blueprint_exits_2() {
    let out = run(stampede().args(["render", "nope.yml"]));
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("nope.yml: cannot read"), "{out:?}");
}

#[test]
fn yaml_error_exits_2_with_line() {
    let dir = tempfile::tempdir().unwrap();
    let bp = write(
        dir.path(),
        "bp.yml",
        "stack: a\nbucket: bkt\ntemplate: t.yaml\nparameters:\n  A: [1\n",
    );
    let out = run(stampede().arg("render").arg(&bp));
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("bp.yml:"), "{out:?}");
}

#[test]
fn bad_blueprint_creates_nothing_in_aws() {
    // `run` with a broken blueprint must fail before any AWS call: the
    // endpoint below refuses connections, so any call would exit 3.
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "t.yaml",
        "Resources:\n  A:\n    Type: AWS::SSM::Parameter\n    Properties: { Type: String, Value: {{userdata \"Nope\"}} }\n",
    );
    let bp = write(
        dir.path(),
        "bp.yml",
        "stack: a\nbucket: bkt\ntemplate: t.yaml\n",
    );
    let out = run(stampede()
        .arg("run")
        .arg(&bp)
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_REGION", "us-east-1"));
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr
            .contains("t.yaml:4: unknown userdata name \"Nope\""),
        "{out:?}"
    );
}

#[test]
fn a_bee_binary_that_is_not_x86_64_linux_is_refused_before_any_aws_call() {
    let dir = tempfile::tempdir().unwrap();
    let fake = write(
        dir.path(),
        "stampede-macos",
        "\u{cf}\u{fa}\u{ed}\u{fe} not an ELF",
    );
    let out = run(stampede()
        .args(["run", "blueprints/jmeter.yml", "--bee-binary"])
        .arg(&fake)
        .env("STAMPEDE_BUCKET", "bkt")
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_REGION", "us-east-1")
        .current_dir(root()));
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("is not an x86_64 Linux executable"),
        "{out:?}"
    );
}
