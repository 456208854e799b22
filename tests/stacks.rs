//! `observe`, `delete` and `reap` against LocalStack, and the second
//! signal during a run.

use std::time::Duration;

use aws_sdk_cloudformation as cfn;

use crate::lifecycle::stack_status;
use crate::support::*;

fn create(url: &str, name: &str, tags: &[(&str, &str)]) {
    let template = r#"{"Resources": {"P": {"Type": "AWS::SSM::Parameter", "Properties": {"Type": "String", "Value": "v"}}}}"#;
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
                .endpoint_url(url)
                .region(aws_config::Region::new("us-east-1"))
                .credentials_provider(cfn::config::Credentials::new(
                    "test", "test", None, None, "tests",
                ))
                .load()
                .await;
            let mut req = cfn::Client::new(&conf)
                .create_stack()
                .stack_name(name)
                .template_body(template);
            for (k, v) in tags {
                req = req.tags(cfn::types::Tag::builder().key(*k).value(*v).build());
            }
            req.send().await.unwrap();
        });
}

#[test]
fn observe_follows_until_settled_and_delete_follows_to_the_end() {
    let Some(url) = localstack() else { return };
    let name = unique("it-obs");
    create(&url, &name, &[]);
    let out = run(against(&url).args(["observe", &name, "--output", "plain"]));
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout
            .contains("P  AWS::SSM::Parameter  CREATE_COMPLETE"),
        "{out:?}"
    );
    assert!(
        out.stdout
            .contains(&format!("stack {name} is CREATE_COMPLETE")),
        "{out:?}"
    );
    let out = run(against(&url).args(["delete", &name, "--output", "plain"]));
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout
            .contains("P  AWS::SSM::Parameter  DELETE_COMPLETE"),
        "{out:?}"
    );
    assert!(
        !out.stdout.contains("CREATE_COMPLETE"),
        "old events are not repeated: {out:?}"
    );
    assert!(out.stdout.contains("== deleted"), "{out:?}");
    assert_eq!(stack_status(&url, &name), None);
    let out = run(against(&url).args(["delete", &name]));
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.contains("does not exist; nothing to delete"),
        "{out:?}"
    );
    let out = run(against(&url).args(["observe", &name]));
    assert_eq!(out.code, 2, "{out:?}");
}

#[test]
fn reap_deletes_only_expired_stampede_stacks() {
    let Some(url) = localstack() else { return };
    let (old, fresh) = (unique("it-old"), unique("it-fresh"));
    create(
        &url,
        &old,
        &[("stampede:expires-at", "2020-01-01T00:00:00Z")],
    );
    create(
        &url,
        &fresh,
        &[("stampede:expires-at", "2999-01-01T00:00:00Z")],
    );
    std::thread::sleep(Duration::from_secs(2));
    let out = run(against(&url).args(["reap", "--dry-run", "--output", "plain"]));
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.contains(&format!("would delete {old}")),
        "{out:?}"
    );
    assert!(!out.stdout.contains(&fresh), "{out:?}");
    assert!(stack_status(&url, &old).is_some());
    let out = run(against(&url).args(["reap", "--output", "plain"]));
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(stack_status(&url, &old), None);
    assert!(stack_status(&url, &fresh).is_some());
    let _ = run(against(&url).args(["delete", &fresh]));
}

/// A second signal does not wait for the deletion: it exits at once and
/// says which stack may remain and how to delete it.
#[test]
fn second_signal_exits_at_once_naming_the_stack() {
    let Some(url) = localstack() else { return };
    let stack = unique("it-twice");
    let (_dir, child, _lines, _) = crate::lifecycle::start_slow_run(&url, &stack);
    let pid = child.id().to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    std::thread::sleep(Duration::from_millis(150));
    std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    let out = finish(child);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains(&format!("Stack {stack} may still exist")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("stampede delete {stack}")),
        "{stderr}"
    );
    // What the message says works.
    let out = run(against(&url).args(["delete", &stack]));
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(stack_status(&url, &stack), None);
}
