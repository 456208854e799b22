//! The handlebars context: `env`, `vars`, `build`, `run`, `stack`.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;
use serde_json::{Value, json};

/// The build being tested, from Jenkins' environment.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Build {
    /// JOB_NAME, or `local`.
    pub job: String,
    /// BUILD_NUMBER, or a UTC timestamp so laptop runs don't collide.
    pub number: String,
    /// GIT_COMMIT, or `unknown`.
    pub commit: String,
}

impl Build {
    /// Reads JOB_NAME, BUILD_NUMBER and GIT_COMMIT.
    pub fn from_env(env: &BTreeMap<String, String>) -> Self {
        let get = |k: &str| env.get(k).filter(|v| !v.is_empty()).cloned();
        Build {
            job: get("JOB_NAME").unwrap_or_else(|| "local".into()),
            number: get("BUILD_NUMBER")
                .unwrap_or_else(|| chrono::Utc::now().format("%Y%m%d%H%M%S").to_string()),
            commit: get("GIT_COMMIT").unwrap_or_else(|| "unknown".into()),
        }
    }
}

/// One run's identity and where its files live in S3.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RunInfo {
    /// The run id.
    pub id: String,
    /// The bucket.
    pub bucket: String,
    /// Key prefix of everything this run stores: `stampede/<id>`.
    pub prefix: String,
    /// The bee config.
    pub config_uri: String,
    /// The bee binary.
    pub bee_uri: String,
    /// The testcase.
    pub testcase_uri: String,
}

impl RunInfo {
    /// Locations for run `id` in `bucket`.
    pub fn new(id: &str, bucket: &str, testcase: Option<&Path>) -> Self {
        let prefix = format!("stampede/{id}");
        let name = testcase
            .and_then(|t| t.file_name())
            .map_or("testcase.jmx".into(), |n| n.to_string_lossy().into_owned());
        RunInfo {
            id: id.to_string(),
            bucket: bucket.to_string(),
            config_uri: format!("s3://{bucket}/{prefix}/bee.json"),
            bee_uri: format!("s3://{bucket}/{prefix}/bin/stampede"),
            testcase_uri: format!("s3://{bucket}/{prefix}/testcase/{name}"),
            prefix,
        }
    }

    /// Key prefix of the bees' result files.
    pub fn results_prefix(&self) -> String {
        format!("{}/results/", self.prefix)
    }
}

/// The context before `vars` and `run` are known.
pub fn initial(env: &BTreeMap<String, String>, build: &Build) -> Value {
    json!({ "env": env, "build": build, "vars": {} })
}

/// `<stack>-<UTC timestamp>`.
pub fn default_run_id(stack: &str) -> String {
    format!("{stack}-{}", chrono::Utc::now().format("%Y%m%dT%H%M%SZ"))
}

/// A run id goes into S3 keys, the bee's shell script and the bee role's
/// IAM policy: letters, digits, `.`, `_` and `-`, starting with a letter or
/// digit, at most 128 characters. `$(...)` would run on every bee as root,
/// and `*` would widen the bee role to every run's files.
pub fn check_run_id(id: &str) -> Result<(), String> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && id.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        && !id.contains("..");
    if ok {
        Ok(())
    } else {
        Err(format!(
            "run id {id:?} is not valid (letters, digits, `.`, `_` and `-`, starting with a letter or digit, at most 128)"
        ))
    }
}

/// S3's bucket naming rule (3 to 63 lowercase letters, digits, `.` and
/// `-`, starting and ending with a letter or digit). The name reaches the
/// bee's script and IAM policy, so nothing else may pass.
pub fn check_bucket(name: &str) -> Result<(), String> {
    let ok = (3..=63).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-'))
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
        && !name.contains("..");
    if ok {
        Ok(())
    } else {
        Err(format!(
            "bucket: {name:?} is not a valid S3 bucket name (3 to 63 lowercase letters, digits, `.` and `-`)"
        ))
    }
}

/// The testcase's file name becomes part of an S3 key and of the bee's
/// command line.
pub fn check_file_name(field: &str, name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 255
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{field}: file name {name:?} may only hold letters, digits, `.`, `_` and `-`"
        ))
    }
}

/// A name that is safe as a file name and a handlebars argument: letters,
/// digits, `-` and `_`, 1 to 64 of them.
pub fn is_plain_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
}

/// CloudFormation's rule: a letter, then letters, digits and hyphens, at
/// most 128 characters.
pub fn check_stack_name(name: &str) -> Result<(), String> {
    let ok = name.len() <= 128
        && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "stack: {name:?} is not a valid stack name (a letter, then letters, digits and hyphens, at most 128)"
        ))
    }
}
