//! Test helpers: a command builder for the binary, project paths, and the
//! emulator environment that `ci/services.sh up` exports.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A file under tests/fixtures.
pub fn fixture(rel: &str) -> PathBuf {
    root().join("tests/fixtures").join(rel)
}

/// The stampede binary with a clean, predictable environment.
pub fn stampede() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_stampede"));
    cmd.env_remove("STAMPEDE_OUTPUT")
        .env_remove("JOB_NAME")
        .env_remove("BUILD_NUMBER")
        .env_remove("GIT_COMMIT")
        .env("NO_COLOR", "1");
    cmd
}

/// LocalStack's URL, or `None` (and a note) when the services are not up.
/// `.ci/run` sets STAMPEDE_REQUIRE_SERVICES=1, so in CI a missing service
/// fails the test instead of skipping it.
pub fn localstack() -> Option<String> {
    service("STAMPEDE_LOCALSTACK_URL")
}

fn service(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Some(v),
        _ => {
            assert!(
                std::env::var("STAMPEDE_REQUIRE_SERVICES").is_err(),
                "{var} is not set: run `eval \"$(ci/services.sh up)\"` first"
            );
            eprintln!("skipped: {var} is not set (run `eval \"$(ci/services.sh up)\"`)");
            None
        }
    }
}

/// A command pointed at LocalStack.
pub fn against(url: &str) -> Command {
    let mut cmd = stampede();
    cmd.env("AWS_ENDPOINT_URL", url)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("STAMPEDE_POLL_INTERVAL", "0.5");
    cmd
}

/// A unique, valid stack name for one test.
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{prefix}-{}-{nanos}", std::process::id())
}

/// Output of a finished command, as text.
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs and captures.
pub fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("the binary runs");
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

impl std::fmt::Debug for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Writes `body` to `dir/name`, creating folders.
pub fn write(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, body).unwrap();
    p
}
