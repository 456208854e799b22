//! What a bee leaves behind to explain itself: its own log lines, kept in
//! memory (so they can still be uploaded when the disk is full), and the
//! ends of JMeter's logs; and JMeter's first error line with the lines
//! naming a missing class (see [`super::cause`]), for the Done reason. Users of distributed load tools most often cannot see why a
//! worker never came online: this is what `run` prints for such a bee.

use std::collections::VecDeque;
use std::io::Read;
use std::path::Path;
use std::sync::Mutex;

use crate::redact::redact;

/// Bee log lines kept (the newest).
const KEEP_LINES: usize = 400;
/// A longer line is cut: the trail stays small whatever is logged.
const MAX_LINE: usize = 1000;
/// JMeter log lines added to the uploaded trail.
const JMETER_TAIL: usize = 40;
/// At most this much of a JMeter log is read looking for its first error.
const SCAN_BYTES: u64 = 1 << 20;

/// The bee's log, newest lines kept, secrets masked.
#[derive(Debug, Default)]
pub struct Trail {
    lines: Mutex<VecDeque<String>>,
}

impl Trail {
    /// Records one log line.
    pub fn line(&self, text: &str) {
        let mut text = redact(text);
        if text.len() > MAX_LINE {
            let mut cut = MAX_LINE;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
            text.push_str(" [cut]");
        }
        let stamped = format!("{} {text}", chrono::Utc::now().format("%H:%M:%S%.3f"));
        if let Ok(mut lines) = self.lines.lock() {
            if lines.len() == KEEP_LINES {
                lines.pop_front();
            }
            lines.push_back(stamped);
        }
    }

    /// The text uploaded as `<bee>.log`: the bee's lines, then the ends of
    /// JMeter's output and log from `workdir`.
    pub fn text(&self, workdir: &Path) -> String {
        let mut out = String::from("--- bee\n");
        if let Ok(lines) = self.lines.lock() {
            for l in lines.iter() {
                out.push_str(l);
                out.push('\n');
            }
        }
        for name in ["jmeter.out", "jmeter.err", "jmeter.log"] {
            let tail = tail_lines(&workdir.join(name), JMETER_TAIL);
            if !tail.is_empty() {
                out.push_str(&format!("--- {name} (last lines)\n"));
                for l in tail {
                    out.push_str(&redact(&l));
                    out.push('\n');
                }
            }
        }
        out
    }
}

/// JMeter's first error in `workdir`: what it printed (for example "Could
/// not find the TestPlan class!"), else the first ERROR line of jmeter.log.
pub fn jmeter_first_error(workdir: &Path) -> Option<String> {
    let printed = ["jmeter.err", "jmeter.out"].iter().find_map(|name| {
        scan(&workdir.join(name)).into_iter().find(|l| {
            let lower = l.to_ascii_lowercase();
            ["error", "could not", "exception", "failed", "not found"]
                .iter()
                .any(|w| lower.contains(w))
        })
    });
    let line = printed.or_else(|| {
        scan(&workdir.join("jmeter.log")).into_iter().find_map(|l| {
            l.split_once(" ERROR ")
                .map(|(_, msg)| msg.trim().to_string())
        })
    })?;
    let line: String = redact(line.trim()).chars().take(300).collect();
    // The first line ("Problem loading XML from ...") rarely says what to
    // do; the lines naming a missing class do.
    let cause = ["jmeter.out", "jmeter.err", "jmeter.log"]
        .iter()
        .map(|name| scan(&workdir.join(name)))
        .find_map(|lines| super::cause::explain(lines.iter().map(String::as_str)));
    Some(match cause {
        Some(c) => format!(
            "{line}; {}",
            redact(&c).chars().take(600).collect::<String>()
        ),
        None => line,
    })
}

/// The first lines of a file (up to [`SCAN_BYTES`]); none when unreadable.
fn scan(path: &Path) -> Vec<String> {
    let mut buf = Vec::new();
    if let Ok(f) = std::fs::File::open(path) {
        let _ = f.take(SCAN_BYTES).read_to_end(&mut buf);
    }
    String::from_utf8_lossy(&buf)
        .lines()
        .map(str::to_string)
        .filter(|l| !l.trim().is_empty())
        .collect()
}

/// The last `n` lines of a file, reading at most [`SCAN_BYTES`] from its end.
fn tail_lines(path: &Path, n: usize) -> Vec<String> {
    use std::io::{Seek, SeekFrom};
    let Ok(mut f) = std::fs::File::open(path) else {
        return Vec::new();
    };
    let len = f.metadata().map_or(0, |m| m.len());
    let _ = f.seek(SeekFrom::Start(len.saturating_sub(SCAN_BYTES)));
    let mut buf = Vec::new();
    let _ = f.take(SCAN_BYTES).read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| l.chars().take(MAX_LINE).collect())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jmeters_printed_error_comes_first_then_its_log() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("jmeter.log"),
            "2026-11-25 10:00:00,000 INFO o.a.j.JMeter: Version 5.6.3\n\
             2026-11-25 10:00:01,000 ERROR o.a.j.s.SaveService: Conversion error com.thoughtworks.xstream.converters.ConversionException\n",
        )
        .unwrap();
        assert_eq!(
            jmeter_first_error(dir.path()).unwrap(),
            "o.a.j.s.SaveService: Conversion error com.thoughtworks.xstream.converters.ConversionException"
        );
        std::fs::write(
            dir.path().join("jmeter.out"),
            "Creating summariser <summary>\nError in NonGUIDriver java.lang.IllegalArgumentException: Problem loading XML from:'/x.jmx'\n",
        )
        .unwrap();
        assert!(
            jmeter_first_error(dir.path())
                .unwrap()
                .starts_with("Error in NonGUIDriver")
        );
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(jmeter_first_error(empty.path()), None);
    }

    #[test]
    fn the_trail_is_bounded_masked_and_ends_with_jmeters_log() {
        let dir = tempfile::tempdir().unwrap();
        let trail = Trail::default();
        trail.line("shipping to https://elastic:hunter2@es.example:9200");
        for i in 0..(KEEP_LINES + 10) {
            trail.line(&format!("line {i} {}", "x".repeat(5000)));
        }
        let lines: Vec<String> = (0..100).map(|i| format!("jmeter line {i}")).collect();
        std::fs::write(dir.path().join("jmeter.log"), lines.join("\n")).unwrap();
        let text = trail.text(dir.path());
        assert!(!text.contains("hunter2"));
        assert!(!text.contains("line 0 "), "the oldest lines go first");
        assert!(text.contains(&format!("line {} ", KEEP_LINES + 9)));
        assert!(text.len() < KEEP_LINES * (MAX_LINE + 40) + 10_000);
        assert!(text.contains("--- jmeter.log (last lines)\n"));
        assert!(text.trim_end().ends_with("jmeter line 99"));
        assert!(!text.contains("jmeter line 59\n"));
    }
}
