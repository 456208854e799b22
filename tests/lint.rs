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
