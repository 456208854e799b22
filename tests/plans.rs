//! Test plans as people write them, in laptop mode with real JMeter:
//! JMeter's own non-HTTP components, and plugins that are missing.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;

use serde_json::Value;

use crate::support::*;

/// A line echo server on a free port, until the process ends.
fn echo_server() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            std::thread::spawn(move || {
                let mut out = stream.try_clone().unwrap();
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if out.write_all(format!("{line}\n").as_bytes()).is_err() {
                        break;
                    }
                }
            });
        }
    });
    port
}

/// Runs `blueprint` in laptop mode (no search cluster), reports into
/// `dir/report`.
pub fn laptop_run(jmeter: &str, blueprint: &Path, dir: &Path) -> Output {
    run(stampede()
        .args(["run", "--output", "plain", "--report"])
        .arg(dir.join("report"))
        .arg(blueprint)
        .env_remove("STAMPEDE_ES_URL")
        .env("JMETER_HOME", jmeter))
}

/// The run's summary.json.
pub fn summary(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("report/summary.json")).unwrap())
        .unwrap()
}

/// A label's count and errors in a summary.
pub fn counts(summary: &Value, label: &str) -> (u64, u64) {
    let l = summary["labels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["label"] == label)
        .unwrap_or_else(|| panic!("no label {label:?} in {summary}"));
    (l["count"].as_u64().unwrap(), l["errors"].as_u64().unwrap())
}

/// JMeter's OS Process and TCP samplers (ApacheJMeter_native and _tcp)
/// load and run: `ci/jmeter.sh` assembles every one of JMeter's own
/// components, as the distribution a bee installs has them.
#[test]
fn an_os_process_and_a_tcp_sampler_run_in_laptop_mode() {
    let Some(jmeter) = jmeter_home() else { return };
    let dir = tempfile::tempdir().unwrap();
    let port = echo_server();
    let blueprint = write(
        dir.path(),
        "native.yml",
        &format!(
            "stack: native\ntarget: local\nlocal: {{ bees: 1 }}\ntestcase: {}\ntimeout: 5m\n\
             properties: {{ loops: \"5\", tcp_port: \"{port}\" }}\n",
            fixture("plans/native.jmx").display()
        ),
    );
    let out = laptop_run(&jmeter, &blueprint, dir.path());
    assert_eq!(out.code, 0, "{out:?}");
    let s = summary(dir.path());
    assert_eq!(counts(&s, "os process"), (5, 0), "{s}");
    assert_eq!(counts(&s, "tcp"), (5, 0), "{s}");
    let rows = jtl_rows(&dir.path().join("report/results/bee-1.jtl.gz"));
    assert_eq!(s["total"]["count"].as_u64(), Some(rows));
}

/// A plan whose thread group is a plugin's, without the plugin: the run's
/// message quotes JMeter's line naming the class, not only "Problem
/// loading XML", and names the plugin that provides it.
#[test]
fn a_missing_plugin_is_named_with_its_class() {
    let Some(jmeter) = jmeter_home() else { return };
    let dir = tempfile::tempdir().unwrap();
    let blueprint = write(
        dir.path(),
        "stepping.yml",
        &format!(
            "stack: stepping\ntarget: local\nlocal: {{ bees: 1 }}\ntestcase: {}\ntimeout: 5m\n",
            fixture("plans/stepping.jmx").display()
        ),
    );
    let out = laptop_run(&jmeter, &blueprint, dir.path());
    assert_ne!(out.code, 0, "{out:?}");
    let text = format!("{}\n{}", out.stdout, out.stderr);
    assert!(text.contains("Problem loading XML"), "{out:?}");
    assert!(
        text.contains(
            "CannotResolveClassException: kg.apc.jmeter.threads.SteppingThreadGroup \
             (provided by the JMeter plugin jmeter-plugins-casutg"
        ),
        "{out:?}"
    );
}

/// An HTTP target that answers 200 and keeps every request body (headers
/// and Content-Length body), until the process ends.
fn recording_target() -> (u16, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::Read;
    let bodies = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let kept = bodies.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            let kept = kept.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut out = stream;
                loop {
                    let mut length = 0usize;
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        if let Some((k, v)) = line.split_once(':')
                            && k.eq_ignore_ascii_case("content-length")
                        {
                            length = v.trim().parse().unwrap_or(0);
                        }
                        if line == "\r\n" {
                            break;
                        }
                    }
                    let mut body = vec![0; length];
                    if reader.read_exact(&mut body).is_err() {
                        return;
                    }
                    kept.lock()
                        .unwrap()
                        .push(String::from_utf8_lossy(&body).into_owned());
                    let _ = out.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
                }
            });
        }
    });
    (port, bodies)
}

/// A plan with a CSV Data Set and an HTTP file upload, both beside it and
/// written as relative paths: every CSV row is used once, the file is
/// uploaded with each, and summary.json counts what the JTL holds.
#[test]
fn a_plan_with_a_csv_data_set_and_an_upload_file_runs_with_its_files() {
    let Some(jmeter) = jmeter_home() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (port, bodies) = recording_target();
    let blueprint = write(
        dir.path(),
        "login.yml",
        &format!(
            "stack: login\ntarget: local\nlocal: {{ bees: 1 }}\ntestcase: {}\ntimeout: 5m\n\
             properties: {{ port: \"{port}\" }}\n",
            fixture("plans/login/login.jmx").display()
        ),
    );
    let out = laptop_run(&jmeter, &blueprint, dir.path());
    assert_eq!(out.code, 0, "{out:?}");
    let s = summary(dir.path());
    let rows = jtl_rows(&dir.path().join("report/results/bee-1.jtl.gz"));
    assert_eq!(counts(&s, "login"), (3, 0), "{s}");
    assert_eq!(s["total"]["count"].as_u64(), Some(rows));
    let bodies = bodies.lock().unwrap();
    assert_eq!(bodies.len(), 3, "{bodies:?}");
    for (body, user) in bodies.iter().zip(["ada", "bob", "cy"]) {
        assert!(body.contains(&format!("\r\n\r\n{user}\r\n")), "{body}");
        assert!(body.contains("stampede avatar bytes"), "{body}");
    }
}

/// A data file the plan refers to that is missing is bad input: exit 2
/// naming the plan, the line, the element and the path, and no bee starts.
#[test]
fn a_missing_data_file_exits_2_naming_the_element_and_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let plan = std::fs::read_to_string(fixture("plans/login/login.jmx")).unwrap();
    let jmx = write(dir.path(), "login.jmx", &plan);
    std::fs::write(dir.path().join("avatar.txt"), "x").unwrap();
    let blueprint = write(
        dir.path(),
        "login.yml",
        "stack: login\ntarget: local\nlocal: { bees: 1 }\ntestcase: login.jmx\ntimeout: 5m\n",
    );
    // No JMeter is needed: nothing starts.
    let out = laptop_run("/nonexistent-jmeter", &blueprint, dir.path());
    assert_eq!(out.code, 2, "{out:?}");
    let text = format!("{}\n{}", out.stdout, out.stderr);
    assert!(
        text.contains(&format!(
            "{}:27: CSV Data Set Config \"users\" refers to users.csv, which does not exist",
            jmx.display()
        )),
        "{out:?}"
    );
    assert!(!dir.path().join("report/bees").exists(), "a bee started");
}

/// On AWS, whose bees get the plan file alone, a relative data file is
/// refused with the other checks, before anything is uploaded or created
/// (exit 2): on a bee JMeter would run the plan with 0 samples.
#[test]
fn a_relative_data_file_stops_an_aws_run_before_create_stack() {
    let Some(url) = localstack() else { return };
    let dir = tempfile::tempdir().unwrap();
    let plan = std::fs::read_to_string(fixture("plans/login/login.jmx")).unwrap();
    write(dir.path(), "login.jmx", &plan);
    write(dir.path(), "users.csv", "user,pass\nada,a1\n");
    let shipped = std::fs::read_to_string(root().join("blueprints/jmeter.yml")).unwrap();
    let blueprint = shipped
        .replace("../templates/", &format!("{}/templates/", root().display()))
        .replace("../testcases/quickstart.jmx", "login.jmx");
    let blueprint = write(dir.path(), "aws.yml", &blueprint);
    let out = run(against(&url)
        .args(["run", "--output", "plain", "--report"])
        .arg(dir.path().join("report"))
        .arg(&blueprint)
        .env("STAMPEDE_BUCKET", "stampede-plans-it"));
    assert_eq!(out.code, 2, "{out:?}");
    let text = format!("{}\n{}", out.stdout, out.stderr);
    assert!(
        text.contains(
            "CSV Data Set Config \"users\" refers to users.csv, which AWS mode does not ship"
        ) && text.contains("HTTP Request \"login\" refers to avatar.txt"),
        "{out:?}"
    );
    assert!(text.contains("before anything was created"), "{out:?}");
}
