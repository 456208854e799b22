//! cfn-lint (pinned, installed by ci/services.sh) on every shipped
//! template, as rendered from every shipped blueprint that uses it.

use crate::support::*;

fn cfn_lint() -> Option<String> {
    match std::env::var("CFN_LINT") {
        Ok(v) if !v.is_empty() => Some(v),
        _ => {
            assert!(
                std::env::var("STAMPEDE_REQUIRE_SERVICES").is_err(),
                "CFN_LINT is not set: run `eval \"$(ci/services.sh lint)\"` first"
            );
            eprintln!("skipped: CFN_LINT is not set");
            None
        }
    }
}

fn lint_ok(lint: &str, template: &std::path::Path) -> Result<(), String> {
    let out = std::process::Command::new(lint)
        .args(["--regions", "us-east-1", "--"])
        .arg(template)
        .output()
        .unwrap();
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// The fleet options of the shipped blueprint: one instance type or
/// several, Spot above an on-demand base, explicit subnets. Each renders
/// to parameters the template accepts and a template cfn-lint accepts.
#[test]
fn fleet_options_render_to_templates_cfn_lint_accepts() {
    let Some(lint) = cfn_lint() else { return };
    for vars in [
        &["instance_types=c6i.large"][..],
        &[
            "instance_types=c6i.large, c5.large,m5.large",
            "on_demand_base=2",
            "on_demand_percent=25",
            "subnets=subnet-0a1,subnet-0b2,subnet-0c3",
        ],
    ] {
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = stampede();
        cmd.args(["render", "blueprints/jmeter.yml", "--out"])
            .arg(dir.path())
            .args(["--var", "target=https://shop.example.com"])
            .env("STAMPEDE_BUCKET", "lint-bucket")
            .env("BUILD_NUMBER", "1")
            .current_dir(root());
        for v in vars {
            cmd.args(["--var", v]);
        }
        let out = run(&mut cmd);
        assert_eq!(out.code, 0, "{vars:?}: {out:?}");
        let params: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join("parameters.json")).unwrap(),
        )
        .unwrap();
        let param = |k: &str| {
            params
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["ParameterKey"] == k)
                .map(|p| p["ParameterValue"].as_str().unwrap().to_string())
        };
        assert_eq!(param("InstanceType").as_deref(), Some("c6i.large"));
        let third = if vars.len() > 1 { "m5.large" } else { "" };
        assert_eq!(param("InstanceType3").as_deref(), Some(third), "{params}");
        if let Err(e) = lint_ok(&lint, &dir.path().join("template.yaml")) {
            panic!("cfn-lint with {vars:?}:\n{e}");
        }
    }
    // A type with a space is refused at render time, naming the parameter.
    let dir = tempfile::tempdir().unwrap();
    let out = run(stampede()
        .args(["render", "blueprints/jmeter.yml", "--out"])
        .arg(dir.path())
        .args(["--var", "instance_types=c6i.large,c5 large"])
        .env("STAMPEDE_BUCKET", "lint-bucket")
        .current_dir(root()));
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("parameters.InstanceType2"), "{out:?}");
}

#[test]
fn shipped_blueprints_render_to_templates_cfn_lint_accepts() {
    let Some(lint) = cfn_lint() else { return };
    let mut linted = Vec::new();
    for entry in std::fs::read_dir(root().join("blueprints")).unwrap() {
        let bp = entry.unwrap().path();
        let text = std::fs::read_to_string(&bp).unwrap();
        if text.contains("target: local") {
            continue;
        }
        let dir = tempfile::tempdir().unwrap();
        let out = run(stampede()
            .arg("render")
            .arg(&bp)
            .args(["--var", "target=https://shop.example.com", "--out"])
            .arg(dir.path())
            .env("STAMPEDE_BUCKET", "lint-bucket")
            .env("BUILD_NUMBER", "1"));
        assert_eq!(out.code, 0, "{}: {out:?}", bp.display());
        let template = dir.path().join("template.yaml");
        let lint_out = std::process::Command::new(&lint)
            .arg("--regions")
            .arg("us-east-1")
            .arg("--")
            .arg(&template)
            .output()
            .unwrap();
        assert!(
            lint_out.status.success(),
            "cfn-lint on {} rendered from {}:\n{}{}",
            template.display(),
            bp.display(),
            String::from_utf8_lossy(&lint_out.stdout),
            String::from_utf8_lossy(&lint_out.stderr)
        );
        linted.push(bp);
    }
    assert!(!linted.is_empty(), "no blueprint was linted");
}
