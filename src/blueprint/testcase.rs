//! The files a JMeter plan refers to: CSV Data Set Config filenames, HTTP
//! file uploads and Include Controller files. A plan whose data file is
//! missing runs in JMeter with 0 samples and no error worth the name, so
//! `run` refuses it before anything is started or created.
//!
//! The plan is read as text: each element of these kinds (enabled) and
//! the file property inside it. JMeter resolves a relative path against
//! the plan's folder, and so does this. A path holding a JMeter expression
//! (`${...}`, `__P(...)`) cannot be decided before the run and is skipped.

use std::path::{Path, PathBuf};

/// One file a plan refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// 1-based line of the element in the plan.
    pub line: usize,
    /// What refers to it: `CSV Data Set Config "users"`.
    pub element: String,
    /// The path as the plan writes it.
    pub written: String,
    /// Where it resolves: relative paths from the plan's folder.
    pub resolved: PathBuf,
}

/// Element kinds whose file property names a file, and that property.
const KINDS: [(&str, &str, &str); 3] = [
    ("CSVDataSet", "CSV Data Set Config", "filename"),
    (
        "IncludeController",
        "Include Controller",
        "IncludeController.includepath",
    ),
    ("HTTPSamplerProxy", "HTTP Request", "File.path"),
];

/// The files `plan` (its text `xml`) refers to, in order.
pub fn references(plan: &Path, xml: &str) -> Vec<Reference> {
    let base = plan.parent().unwrap_or(Path::new("."));
    let mut out = Vec::new();
    for (tag, kind, prop) in KINDS {
        let open = format!("<{tag} ");
        let close = format!("</{tag}>");
        let mut from = 0;
        while let Some(at) = xml[from..].find(&open).map(|i| from + i) {
            let head_end = xml[at..].find('>').map_or(xml.len(), |i| at + i);
            let end = xml[at..].find(&close).map_or(xml.len(), |i| at + i);
            from = end.max(at + open.len());
            let head = &xml[at..head_end];
            if attr(head, "enabled").as_deref() == Some("false") {
                continue;
            }
            let name = attr(head, "testname").unwrap_or_default();
            for written in props(&xml[head_end..end], prop) {
                if written.is_empty() || written.contains("${") {
                    continue;
                }
                out.push(Reference {
                    line: 1 + xml[..at].matches('\n').count(),
                    element: format!("{kind} \"{name}\""),
                    resolved: base.join(&written),
                    written,
                });
            }
        }
    }
    out.sort_by_key(|r| r.line);
    out
}

/// The referenced files that do not exist, each as a message naming the
/// plan, the line, the element and the path.
pub fn missing(plan: &Path, xml: &str) -> Vec<String> {
    references(plan, xml)
        .into_iter()
        .filter(|r| !r.resolved.is_file())
        .map(|r| {
            format!(
                "{}:{}: {} refers to {}, which does not exist (looked for {}; relative paths are read from the plan's folder)",
                plan.display(),
                r.line,
                r.element,
                r.written,
                r.resolved.display()
            )
        })
        .collect()
}

/// For a run on AWS, whose bees get the plan file alone: each relative
/// reference, as a message (JMeter on a bee would not find it and run
/// with 0 samples). Absolute paths may be on the bees' image and are left
/// alone.
pub fn not_shipped(plan: &Path, xml: &str) -> Vec<String> {
    references(plan, xml)
        .into_iter()
        .filter(|r| Path::new(&r.written).is_relative())
        .map(|r| {
            format!(
                "{}:{}: {} refers to {}, which AWS mode does not ship to the bees yet (only the plan file goes):                  use a path that exists on the bees' image, or run in laptop mode",
                plan.display(),
                r.line,
                r.element,
                r.written
            )
        })
        .collect()
}

/// The values of `<stringProp name="PROP">VALUE</stringProp>` in `body`.
fn props(body: &str, prop: &str) -> Vec<String> {
    let open = format!("<stringProp name=\"{prop}\">");
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(at) = body[from..].find(&open).map(|i| from + i + open.len()) {
        let Some(len) = body[at..].find("</stringProp>") else {
            break;
        };
        out.push(unescape(body[at..at + len].trim()));
        from = at + len;
    }
    out
}

/// The value of attribute `name` in a start tag.
fn attr(head: &str, name: &str) -> Option<String> {
    let key = format!(" {name}=\"");
    let at = head.find(&key)? + key.len();
    let len = head[at..].find('"')?;
    Some(unescape(&head[at..at + len]))
}

/// XML's five named entities (all a JMeter plan writes in these values).
fn unescape(v: &str) -> String {
    v.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAN: &str = r#"<jmeterTestPlan><hashTree>
<CSVDataSet guiclass="TestBeanGUI" testclass="CSVDataSet" testname="users &amp; roles" enabled="true">
  <stringProp name="filename">data/users.csv</stringProp>
</CSVDataSet>
<CSVDataSet guiclass="TestBeanGUI" testclass="CSVDataSet" testname="off" enabled="false">
  <stringProp name="filename">gone.csv</stringProp>
</CSVDataSet>
<CSVDataSet guiclass="TestBeanGUI" testclass="CSVDataSet" testname="by property" enabled="true">
  <stringProp name="filename">${__P(users,users.csv)}</stringProp>
</CSVDataSet>
<HTTPSamplerProxy guiclass="HttpTestSampleGui" testclass="HTTPSamplerProxy" testname="upload" enabled="true">
  <elementProp name="HTTPsampler.Files" elementType="HTTPFileArgs">
    <collectionProp name="HTTPFileArgs.files">
      <elementProp name="avatar.png" elementType="HTTPFileArg">
        <stringProp name="File.path">/srv/avatar.png</stringProp>
      </elementProp>
    </collectionProp>
  </elementProp>
</HTTPSamplerProxy>
<IncludeController guiclass="IncludeControllerGui" testclass="IncludeController" testname="login steps" enabled="true">
  <stringProp name="IncludeController.includepath">fragments/login.jmx</stringProp>
</IncludeController>
</hashTree></jmeterTestPlan>"#;

    #[test]
    fn references_name_their_element_and_line_and_skip_what_cannot_be_decided() {
        let refs = references(Path::new("/plans/shop.jmx"), PLAN);
        let got: Vec<(usize, &str, &str, &Path)> = refs
            .iter()
            .map(|r| {
                (
                    r.line,
                    r.element.as_str(),
                    r.written.as_str(),
                    r.resolved.as_path(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    2,
                    "CSV Data Set Config \"users & roles\"",
                    "data/users.csv",
                    Path::new("/plans/data/users.csv")
                ),
                (
                    11,
                    "HTTP Request \"upload\"",
                    "/srv/avatar.png",
                    Path::new("/srv/avatar.png")
                ),
                (
                    20,
                    "Include Controller \"login steps\"",
                    "fragments/login.jmx",
                    Path::new("/plans/fragments/login.jmx")
                ),
            ]
        );
    }

    #[test]
    fn aws_runs_refuse_relative_references_and_leave_absolute_ones() {
        let refused = not_shipped(Path::new("/plans/shop.jmx"), PLAN);
        assert_eq!(refused.len(), 2, "{refused:?}");
        assert!(refused[0].starts_with("/plans/shop.jmx:2: CSV Data Set Config"));
        assert!(refused[1].contains("fragments/login.jmx, which AWS mode does not ship"));
    }

    #[test]
    fn only_missing_files_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("data")).unwrap();
        std::fs::write(dir.path().join("data/users.csv"), "u,p\n").unwrap();
        let plan = dir.path().join("shop.jmx");
        let missing = missing(&plan, PLAN);
        assert_eq!(missing.len(), 2, "{missing:?}");
        assert!(
            missing[0].starts_with(&format!(
                "{}:11: HTTP Request \"upload\" refers to /srv/avatar.png, which does not exist",
                plan.display()
            )),
            "{missing:?}"
        );
        assert!(
            missing[1]
                .contains(":20: Include Controller \"login steps\" refers to fragments/login.jmx")
        );
    }
}
