//! The bee binary is stored once per content: a second run of the same
//! build finds it in S3 and does not upload it again (LocalStack S3).

use sha2::{Digest, Sha256};

use crate::lifecycle::{BUCKET, runtime, s3_client, sdk, seed};
use crate::support::*;

/// A bee binary of its own for this test: an ELF header (what the run
/// checks) and a nonce, so no other test has stored the same content.
fn unique_binary(dir: &std::path::Path) -> (std::path::PathBuf, String) {
    let mut body = vec![0u8; 64];
    let mut f = std::fs::File::open(env!("CARGO_BIN_EXE_stampede")).unwrap();
    std::io::Read::read_exact(&mut f, &mut body).unwrap();
    body.extend_from_slice(unique("nonce").as_bytes());
    let path = dir.join("stampede");
    std::fs::write(&path, &body).unwrap();
    let hex = Sha256::digest(&body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    (path, hex)
}

/// When the object at `key` was last written, or `None`.
fn last_modified(url: &str, key: &str) -> Option<i64> {
    runtime().block_on(async {
        let s3 = s3_client(&sdk(url).await);
        let head = s3.head_object().bucket(BUCKET).key(key).send().await.ok()?;
        head.last_modified().map(|t| t.secs())
    })
}

fn run_once(url: &str, bin: &std::path::Path) -> Output {
    let build = unique("bb").replace("bb-", "");
    run(against(url)
        .args(["run", "blueprints/jmeter.yml", "--output", "plain"])
        .env("STAMPEDE_BEE_BINARY", bin)
        .env("STAMPEDE_BUCKET", BUCKET)
        .env("BUILD_NUMBER", &build)
        .current_dir(root()))
}

#[test]
fn a_second_run_does_not_upload_the_same_bee_binary_again() {
    let Some(url) = localstack() else { return };
    seed(&url, &[]);
    let dir = tempfile::tempdir().unwrap();
    let (bin, sha) = unique_binary(dir.path());
    let key = format!("stampede/_bin/sha256-{sha}/stampede");
    let uri = format!("s3://{BUCKET}/{key}");

    let first = run_once(&url, &bin);
    // No bee plays along, so the run has no results (exit 1); the
    // binary's journey is what is tested.
    assert_eq!(first.code, 1, "{first:?}");
    assert!(
        first
            .stdout
            .contains(&format!("uploaded the bee binary (0.0 MiB) to {uri}")),
        "{first:?}"
    );
    let stored = last_modified(&url, &key).expect("the binary is stored by its content hash");
    // S3 times have whole seconds: a second upload must be able to show.
    std::thread::sleep(std::time::Duration::from_millis(1100));

    let second = run_once(&url, &bin);
    assert_eq!(second.code, 1, "{second:?}");
    assert!(
        second
            .stdout
            .contains(&format!("is already stored at {uri}: not uploaded again")),
        "{second:?}"
    );
    assert!(
        !second.stdout.contains("uploaded the bee binary"),
        "{second:?}"
    );
    assert_eq!(
        last_modified(&url, &key),
        Some(stored),
        "the object was written again"
    );
    // The run's own inputs are removed; the shared binary stays for the
    // next run of this build.
    assert!(last_modified(&url, &key).is_some());
}
