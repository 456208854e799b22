//! The regression gate: `compare` offline, and `run` with a gate and a
//! stored baseline against LocalStack.

use crate::support::*;

fn files(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    (
        write(dir, "base.jtl", &jtl(1, 4000, &[], 1.0)),
        write(dir, "same.jtl", &jtl(2, 4000, &[], 1.0)),
        write(dir, "slow.jtl", &jtl(3, 4000, &["checkout"], 1.5)),
    )
}

const GATE: &str = "criteria:\n  - { metric: p95, label: \"*\", max_increase: 10% }\n  - { metric: p95, label: total, max: 5s }\n  - { metric: error_rate, label: total, max: 2% }\n";

#[test]
fn same_system_twice_passes() {
    let dir = tempfile::tempdir().unwrap();
    let (base, same, _) = files(dir.path());
    let gate = write(dir.path(), "gate.yml", GATE);
    let out = run(stampede()
        .arg("compare")
        .arg(&same)
        .arg(&base)
        .arg("--gate")
        .arg(&gate));
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.ends_with("gate: PASS\n"), "{out:?}");
}

#[test]
fn slower_label_fails_naming_it_in_table_and_junit() {
    let dir = tempfile::tempdir().unwrap();
    let (base, _, slow) = files(dir.path());
    let gate = write(dir.path(), "gate.yml", GATE);
    let junit = dir.path().join("junit.xml");
    let md = dir.path().join("summary.md");
    let out = run(stampede()
        .arg("compare")
        .arg(&slow)
        .arg(&base)
        .arg("--gate")
        .arg(&gate)
        .arg("--junit")
        .arg(&junit)
        .arg("--markdown")
        .arg(&md));
    assert_eq!(out.code, 1, "{out:?}");
    let failing: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.contains(" FAIL "))
        .collect();
    assert_eq!(failing.len(), 1, "{out:?}");
    assert!(failing[0].contains("checkout"), "{out:?}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert_eq!(
        xml.matches("<testcase ").count(),
        6,
        "4 labels + 2 totals: {xml}"
    );
    assert_eq!(xml.matches("<failure type=\"fail\"").count(), 1, "{xml}");
    assert!(
        xml.contains("name=\"p95 * max_increase 10% [checkout]\">\n      <failure type=\"fail\""),
        "{xml}"
    );
    let md = std::fs::read_to_string(&md).unwrap();
    assert!(md.contains("**Gate: FAIL**"), "{md}");
}

#[test]
fn unstable_exits_0_unless_asked() {
    let dir = tempfile::tempdir().unwrap();
    let (base, _, slow) = files(dir.path());
    let gate = write(
        dir.path(),
        "gate.yml",
        "criteria:\n  - { metric: p95, label: \"*\", max_increase: 10%, verdict: unstable }\n",
    );
    let out = run(stampede()
        .arg("compare")
        .arg(&slow)
        .arg(&base)
        .arg("--gate")
        .arg(&gate));
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("gate: UNSTABLE"), "{out:?}");
    let out = run(stampede()
        .arg("compare")
        .arg(&slow)
        .arg(&base)
        .arg("--gate")
        .arg(&gate)
        .args(["--unstable-exit", "4"]));
    assert_eq!(out.code, 4, "{out:?}");
}

#[test]
fn summary_json_works_as_baseline() {
    let dir = tempfile::tempdir().unwrap();
    let (base, same, slow) = files(dir.path());
    let json = dir.path().join("base.json");
    let out = run(stampede()
        .arg("analyze")
        .arg(&base)
        .arg("--json")
        .arg(&json));
    assert_eq!(out.code, 0, "{out:?}");
    let gate = write(dir.path(), "gate.yml", GATE);
    assert_eq!(
        run(stampede()
            .arg("compare")
            .arg(&same)
            .arg(&json)
            .arg("--gate")
            .arg(&gate))
        .code,
        0
    );
    assert_eq!(
        run(stampede()
            .arg("compare")
            .arg(&slow)
            .arg(&json)
            .arg("--gate")
            .arg(&gate))
        .code,
        1
    );
}

#[test]
fn bad_gate_file_exits_2_with_line() {
    let dir = tempfile::tempdir().unwrap();
    let (base, same, _) = files(dir.path());
    let gate = write(
        dir.path(),
        "gate.yml",
        "criteria:\n  - { metric: p95, max: 1s }\n  - { metric: latency, max: 1s }\n",
    );
    let out = run(stampede()
        .arg("compare")
        .arg(&same)
        .arg(&base)
        .arg("--gate")
        .arg(&gate));
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("gate.yml:3: unknown metric `latency`"),
        "{out:?}"
    );
}

/// Two builds of one job through `run`: the first passes and becomes the
/// baseline; the second, slower in checkout, fails the gate and leaves the
/// pointer where it was.
#[test]
fn run_gates_against_the_previous_passing_build() {
    let Some(url) = localstack() else { return };
    let dir = tempfile::tempdir().unwrap();
    let job = unique("job");
    let gate = write(
        dir.path(),
        "gate.yml",
        &format!("baseline: previous\n{GATE}"),
    );
    let builds = [
        ("1", jtl(1, 3000, &[], 1.0), 0),
        ("2", jtl(2, 3000, &["checkout"], 1.5), 1),
        ("3", jtl(3, 3000, &[], 1.0), 0),
    ];
    for (build, body, want) in builds {
        let run_id = format!("{job}-{build}");
        let bees = crate::lifecycle::bees_upload(
            &url,
            &run_id,
            vec![(
                format!("stampede/{run_id}/results/i-1.jtl.gz"),
                crate::lifecycle::gzip(body.as_bytes()),
            )],
        );
        let junit = dir.path().join(format!("junit-{build}.xml"));
        let out = run(against(&url)
            .args([
                "run",
                "blueprints/jmeter.yml",
                "--output",
                "plain",
                "--run-id",
                &run_id,
                "--gate",
            ])
            .arg(&gate)
            .arg("--junit")
            .arg(&junit)
            .arg("--report")
            .arg(dir.path().join(build))
            .env("STAMPEDE_BUCKET", crate::lifecycle::BUCKET)
            .env("JOB_NAME", &job)
            .env("BUILD_NUMBER", format!("{build}{}", std::process::id()))
            .current_dir(root()));
        bees.join().unwrap();
        assert_eq!(out.code, want, "build {build}: {out:?}");
        match build {
            "1" => {
                assert!(
                    out.stdout.contains("baseline: none yet (first build)"),
                    "{out:?}"
                );
                assert!(out.stdout.contains("is now the baseline"), "{out:?}");
            }
            "2" => {
                assert!(
                    out.stdout
                        .contains(&format!("baseline: build 1{}", std::process::id())),
                    "{out:?}"
                );
                assert!(out.stdout.contains("gate: FAIL"), "{out:?}");
                assert!(!out.stdout.contains("is now the baseline"), "{out:?}");
                assert!(out.stdout.contains("== deleted"), "{out:?}");
                let xml = std::fs::read_to_string(&junit).unwrap();
                assert!(
                    xml.contains("[checkout]\">\n      <failure type=\"fail\""),
                    "{xml}"
                );
            }
            _ => assert!(
                out.stdout
                    .contains(&format!("baseline: build 1{}", std::process::id())),
                "build 2 did not move the pointer: {out:?}"
            ),
        }
    }
}

/// A label with a newline and control bytes (a JTL may hold any): the
/// JUnit XML stays well-formed, the markdown table keeps one row per check.
#[test]
fn control_characters_in_labels_keep_junit_and_markdown_intact() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("timeStamp,elapsed,label,success\n");
    for i in 0..200 {
        text.push_str(&format!(
            "{},{},\"a\nb\x01c\x1b\",true\n",
            1_700_000_000_000u64 + i,
            10 + i % 7
        ));
    }
    let base = write(dir.path(), "base.jtl", &text);
    let cur = write(dir.path(), "cur.jtl", &text);
    let gate = write(
        dir.path(),
        "gate.yml",
        "criteria:\n  - { metric: p95, label: \"*\", max_increase: 10% }\n",
    );
    let junit = dir.path().join("junit.xml");
    let md = dir.path().join("gate.md");
    let out = run(stampede()
        .arg("compare")
        .arg(&cur)
        .arg(&base)
        .arg("--gate")
        .arg(&gate)
        .arg("--junit")
        .arg(&junit)
        .arg("--markdown")
        .arg(&md));
    assert_eq!(out.code, 0, "{out:?}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    let forbidden = |c: char| c.is_control() && !matches!(c, '\t' | '\n' | '\r');
    assert!(!xml.contains(forbidden), "{xml:?}");
    assert!(xml.contains("a&#10;b\\u{1}c\\u{1b}"), "{xml}");
    let md = std::fs::read_to_string(&md).unwrap();
    assert!(md.contains("| a\\nb\\u{1}c\\u{1b} |"), "{md}");
    assert!(out.stdout.contains("a\\nb\\u{1}c\\u{1b}"), "{out:?}");
}
