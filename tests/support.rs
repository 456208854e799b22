//! Test helpers: a command builder for the binary, project paths, and the
//! emulator environment that `ci/services.sh up` exports.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// How long one command of a test may take (STAMPEDE_TEST_TIME_LIMIT
/// seconds, 300 by default): a service that vanished mid-test fails the
/// test instead of hanging it until its own 600 s timeouts.
pub fn time_limit() -> Duration {
    let secs = std::env::var("STAMPEDE_TEST_TIME_LIMIT")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    Duration::from_secs(secs)
}

/// Waits for `child` for at most [`time_limit`], then kills it and fails
/// the test.
pub fn wait_limited(child: &mut Child) -> ExitStatus {
    wait_within(child, time_limit())
}

/// Waits for `child` for at most `limit`, then kills it and fails the test.
pub fn wait_within(child: &mut Child, limit: Duration) -> ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("waiting for a child") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "pid {} ran past the test time limit of {limit:?} (STAMPEDE_TEST_TIME_LIMIT) and was killed",
                child.id(),
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `wait_with_output`, within [`time_limit`].
pub fn finish(mut child: Child) -> std::process::Output {
    fn drain(pipe: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<Vec<u8>> {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            buf
        })
    }
    let (out, err) = (drain(child.stdout.take()), drain(child.stderr.take()));
    let status = wait_limited(&mut child);
    std::process::Output {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    }
}

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

/// A stand-in bee binary: the real binary's ELF header only. LocalStack
/// starts no instances, so nothing runs it, and uploading the 300 MB debug
/// binary on every run would only fill LocalStack's memory.
fn bee_stand_in() -> PathBuf {
    static PATH: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PATH.get_or_init(|| {
        let mut head = vec![0u8; 64];
        let mut f = std::fs::File::open(env!("CARGO_BIN_EXE_stampede")).unwrap();
        std::io::Read::read_exact(&mut f, &mut head).unwrap();
        let path =
            std::env::temp_dir().join(format!("stampede-bee-stand-in-{}", std::process::id()));
        std::fs::write(&path, head).unwrap();
        path
    })
    .clone()
}

/// A command pointed at LocalStack.
pub fn against(url: &str) -> Command {
    let mut cmd = stampede();
    cmd.env("STAMPEDE_BEE_BINARY", bee_stand_in());
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

/// The child's stdout lines as they arrive, with when each arrived.
pub fn stdout_lines(child: &mut Child) -> std::sync::mpsc::Receiver<(Instant, String)> {
    use std::io::BufRead;
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().expect("stdout is piped");
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send((Instant::now(), line));
        }
    });
    rx
}

/// Output of a finished command, as text.
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs and captures.
pub fn run(cmd: &mut Command) -> Output {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let out = finish(child);
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

/// A JMeter 5.x JTL of `n` samples per label from a seeded generator;
/// labels in `slower` take `factor` times longer. Labels include one with
/// a comma, quoted as JMeter quotes it.
pub fn jtl(seed: u64, n: usize, slower: &[&str], factor: f64) -> String {
    let labels = [
        ("home", 40.0),
        ("search, filtered", 120.0),
        ("checkout", 300.0),
        ("api/items", 25.0),
    ];
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move || {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        (state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut out = String::from(
        "timeStamp,elapsed,label,responseCode,responseMessage,threadName,dataType,success,failureMessage,bytes,sentBytes,grpThreads,allThreads,URL,Latency,IdleTime,Connect\n",
    );
    for i in 0..n {
        for (label, median) in labels {
            let m = if slower.contains(&label) {
                median * factor
            } else {
                median
            };
            let (u1, u2) = (next().max(1e-12), next());
            let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
            let elapsed = (m * (0.5 * z).exp()).round().max(1.0) as u64;
            let ok = next() > 0.005;
            let quoted = if label.contains(',') {
                format!("\"{label}\"")
            } else {
                label.to_string()
            };
            out.push_str(&format!(
                "{},{elapsed},{quoted},{},{},Users 1-{},text,{ok},{},512,128,10,10,http://t/{i},{},0,1\n",
                1_700_000_000_000u64 + i as u64 * 25,
                if ok { 200 } else { 500 },
                if ok { "OK" } else { "Server Error" },
                i % 10,
                if ok { "" } else { "\"status 500, expected 200\"" },
                elapsed / 2
            ));
        }
    }
    out
}

/// OpenSearch's URL (from `ci/services.sh up`), or `None` when not up.
pub fn opensearch() -> Option<String> {
    service("STAMPEDE_ES_URL")
}

/// JMETER_HOME (from `ci/jmeter.sh`), or `None` when not assembled.
pub fn jmeter_home() -> Option<String> {
    service("JMETER_HOME")
}

/// A tiny HTTP target on a free port: answers 200 to everything, with
/// keep-alive, until the process ends.
pub fn http_target() -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut out = stream;
                let mut line = String::new();
                loop {
                    line.clear();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    if line == "\r\n" {
                        let _ = out.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
                    }
                }
            });
        }
    });
    format!("http://{addr}")
}

/// Counts documents of `run_id` (and `bee`, if given) in `index`.
pub fn es_count(es: &str, index: &str, run_id: &str, bee: Option<&str>) -> u64 {
    let mut filter = vec![serde_json::json!({"term": {"run_id": run_id}})];
    if let Some(b) = bee {
        filter.push(serde_json::json!({"term": {"bee": b}}));
    }
    let body = serde_json::json!({"query": {"bool": {"filter": filter}}});
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let c = reqwest::Client::new();
            c.post(format!("{es}/{index}/_refresh"))
                .send()
                .await
                .unwrap();
            let v: serde_json::Value = c
                .post(format!("{es}/{index}/_count"))
                .json(&body)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            // An index that was never created holds nothing: with
            // `metrics.rows: errors`, a run without errors creates none.
            if v["error"]["type"] == "index_not_found_exception" {
                return 0;
            }
            v["count"].as_u64().unwrap_or_else(|| panic!("{v}"))
        })
}

/// Data rows in a JTL (plain or gzipped): lines after the header.
pub fn jtl_rows(path: &Path) -> u64 {
    let raw = std::fs::read(path).unwrap();
    let text = if raw.starts_with(&[0x1f, 0x8b]) {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&raw[..]), &mut s).unwrap();
        s
    } else {
        String::from_utf8(raw).unwrap()
    };
    text.lines().skip(1).filter(|l| !l.is_empty()).count() as u64
}

/// LocalStack 2026.3.0's URL, the CloudWatch emulator (`ci/services.sh up
/// cloudwatch`), or `None` when not up.
pub fn cloudwatch() -> Option<String> {
    service("STAMPEDE_CLOUDWATCH_URL")
}

/// moto's URL (Tagging API, AutoScaling, ELBv2, EC2), or `None`.
pub fn moto() -> Option<String> {
    service("STAMPEDE_MOTO_URL")
}

/// The Python of moto's venv (it has boto3), or `None`.
pub fn moto_python() -> Option<String> {
    service("STAMPEDE_MOTO_PYTHON")
}

/// A command whose AWS calls go to moto, CloudWatch's to LocalStack
/// 2026.3.0.
pub fn watching(moto: &str, cloudwatch: &str) -> Command {
    let mut cmd = stampede();
    cmd.env("AWS_ENDPOINT_URL", moto)
        .env("AWS_ENDPOINT_URL_CLOUDWATCH", cloudwatch)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1");
    cmd
}

/// Runs tests/fixtures/monitor/world.py with `spec` (groups and load
/// balancers in moto, metric data in CloudWatch); returns its JSON answer.
pub fn world(
    python: &str,
    moto: &str,
    cloudwatch: &str,
    spec: &serde_json::Value,
) -> serde_json::Value {
    use std::io::Write;
    let mut child = Command::new(python)
        .arg(fixture("monitor/world.py"))
        .env("STAMPEDE_MOTO_URL", moto)
        .env("AWS_ENDPOINT_URL_CLOUDWATCH", cloudwatch)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("world.py starts");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(spec.to_string().as_bytes())
        .unwrap();
    let out = finish(child);
    assert!(
        out.status.success(),
        "world.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Runs a search on `index` (after a refresh) and returns the answer.
pub fn es_search(es: &str, index: &str, body: &serde_json::Value) -> serde_json::Value {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let c = reqwest::Client::new();
            c.post(format!("{es}/{index}/_refresh"))
                .send()
                .await
                .unwrap();
            c.post(format!("{es}/{index}/_search"))
                .json(body)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap()
        })
}
