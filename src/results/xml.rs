//! XML JTLs (`jmeter.save.saveservice.output_format=xml`), streamed: only
//! the tag being read is held (at most [`MAX_TAG`] bytes: a longer sample
//! tag is a malformed sample); text, comments, CDATA and processing
//! instructions are skipped as they pass.
//!
//! Each `httpSample` or `sample` element directly under the root is one
//! sample (`t` elapsed, `ts` timestamp, `s` success, `lb` label, `rm`
//! response message), read with the same row model as CSV
//! ([`Sample::parse`]). Samples nested in a sampler's sample are its
//! sub-samples (embedded resources, redirects): as in JMeter's listeners
//! when they load such a file, they belong to their parent and are not
//! counted on their own. Samples nested in a Transaction Controller's
//! parent sample are the transaction's samplers: they count, as the rows
//! JMeter writes for them in a CSV file do, and the controller's own
//! sample is left out of the total like any transaction's.

use std::io::BufRead;
use std::path::Path;

use super::ResultsError;
use super::aggregate::Aggregate;
use super::analyze::{FileReport, Malformed};
use super::jtl::Sample;

/// The longest tag read (1 MiB): a longer sample is malformed.
pub const MAX_TAG: usize = 1 << 20;

/// What the scanner is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Text,
    /// After `<`, until the markup's kind is known.
    Open,
    /// A start or end tag; `Some(q)` inside a value quoted with `q`.
    Tag(Option<u8>),
    /// `<!--`, until `-->`.
    Comment,
    /// `<![CDATA[`, until `]]>`.
    Cdata,
    /// `<?`, until `?>`.
    Pi,
    /// `<!DOCTYPE` and the like, until `>` outside brackets.
    Decl(u32),
}

/// Reads an XML JTL into an aggregate.
pub fn read<R: BufRead>(path: &Path, mut r: R) -> Result<(Aggregate, FileReport), ResultsError> {
    let mut scan = Scanner::default();
    loop {
        let buf = r.fill_buf().map_err(|source| ResultsError::Io {
            path: path.to_path_buf(),
            error: source,
        })?;
        if buf.is_empty() {
            break;
        }
        let n = buf.len();
        scan.feed(buf);
        r.consume(n);
    }
    if matches!(scan.state, State::Open | State::Tag(_)) {
        // Cut inside a tag (JMeter still writing, or killed): that tag
        // could not be read.
        scan.found.malformed.add(scan.tag_line);
    }
    let Found {
        agg,
        rows,
        malformed,
        ..
    } = scan.found;
    Ok((
        agg,
        FileReport {
            path: path.to_path_buf(),
            rows,
            malformed,
        },
    ))
}

/// The samples found so far.
#[derive(Default)]
struct Found {
    agg: Aggregate,
    rows: u64,
    malformed: Malformed,
    /// Sample elements open around the current position.
    depth: u32,
    /// How many of the outermost open samples are counted Transaction
    /// Controller samples, whose children count too. Always a prefix: a
    /// sample inside a sampler's sample is never counted, nor are its own
    /// children.
    open_transactions: u32,
}

impl Found {
    /// Whether a sample starting here is counted on its own.
    fn counts_here(&self) -> bool {
        self.depth == self.open_transactions
    }

    fn open(&mut self, counted_controller: bool) {
        if counted_controller && self.counts_here() {
            self.open_transactions += 1;
        }
        self.depth += 1;
    }

    fn close(&mut self) {
        if self.depth > 0 && self.counts_here() {
            self.open_transactions -= 1;
        }
        self.depth = self.depth.saturating_sub(1);
    }
}

/// The scanner's state between buffers.
struct Scanner {
    state: State,
    /// The tag being read (its first bytes only once it is too long).
    tag: Vec<u8>,
    too_long: bool,
    tag_line: u64,
    /// Markup's last bytes, for the `-->`, `]]>` and `?>` ends.
    tail: [u8; 2],
    line: u64,
    found: Found,
}

impl Default for Scanner {
    fn default() -> Self {
        Scanner {
            state: State::Text,
            tag: Vec::new(),
            too_long: false,
            tag_line: 1,
            tail: [0; 2],
            line: 1,
            found: Found::default(),
        }
    }
}

impl Scanner {
    /// Reads the next bytes of the file.
    fn feed(&mut self, buf: &[u8]) {
        let mut i = 0;
        while i < buf.len() {
            if self.state == State::Text {
                // Text goes by whole: only its newlines count.
                let Some(off) = memchr::memchr(b'<', &buf[i..]) else {
                    self.line += memchr::memchr_iter(b'\n', &buf[i..]).count() as u64;
                    return;
                };
                self.line += memchr::memchr_iter(b'\n', &buf[i..i + off]).count() as u64;
                i += off + 1;
                self.state = State::Open;
                self.tag.clear();
                self.too_long = false;
                self.tag_line = self.line;
                continue;
            }
            let c = buf[i];
            i += 1;
            self.line += u64::from(c == b'\n');
            self.state = self.markup(c);
            self.tail = [self.tail[1], c];
        }
    }

    /// The state after markup byte `c`.
    fn markup(&mut self, c: u8) -> State {
        let ended = |tail: [u8; 2], end: &[u8; 2]| &tail == end && c == b'>';
        match self.state {
            State::Text => State::Text,
            State::Open => self.open(c),
            State::Tag(quote) => self.in_tag(quote, c),
            State::Comment if ended(self.tail, b"--") => State::Text,
            State::Cdata if ended(self.tail, b"]]") => State::Text,
            State::Pi if self.tail[1] == b'?' && c == b'>' => State::Text,
            State::Decl(0) if c == b'>' => State::Text,
            State::Decl(d) if c == b'[' => State::Decl(d + 1),
            State::Decl(d) if c == b']' => State::Decl(d.saturating_sub(1)),
            s => s,
        }
    }

    /// Just after `<`: which kind of markup this is.
    fn open(&mut self, c: u8) -> State {
        self.tag.push(c);
        match &self.tag[..] {
            b"?" => State::Pi,
            b"!--" => State::Comment,
            b"![CDATA[" => State::Cdata,
            t if t[0] == b'!' && (b"!--".starts_with(t) || b"![CDATA[".starts_with(t)) => {
                State::Open
            }
            t if t[0] == b'!' => State::Decl(u32::from(c == b'[')),
            _ if c == b'>' => {
                self.tag.pop();
                element(&self.tag, self.tag_line, &mut self.found);
                State::Text
            }
            _ => State::Tag(None),
        }
    }

    /// Inside a start or end tag; `quote` is the open attribute quote.
    fn in_tag(&mut self, quote: Option<u8>, c: u8) -> State {
        if self.tag.len() >= MAX_TAG {
            // Only the name is needed from here on.
            self.too_long = true;
            self.tag.truncate(64);
        }
        match (quote, c) {
            (None, b'>') if self.too_long => {
                let empty = self.tail[1] == b'/';
                overlong(&self.tag, empty, self.tag_line, &mut self.found);
                State::Text
            }
            (None, b'>') => {
                element(&self.tag, self.tag_line, &mut self.found);
                State::Text
            }
            (None, b'"' | b'\'') => {
                self.tag.push(c);
                State::Tag(Some(c))
            }
            (Some(q), _) if q == c => {
                self.tag.push(c);
                State::Tag(None)
            }
            _ => {
                self.tag.push(c);
                State::Tag(quote)
            }
        }
    }
}

fn is_sample(name: &[u8]) -> bool {
    name == b"httpSample" || name == b"sample"
}

/// The name of the element a start tag (without its `<`) opens.
fn name(tag: &[u8]) -> &[u8] {
    let end = tag
        .iter()
        .position(|c| c.is_ascii_whitespace() || *c == b'/')
        .unwrap_or(tag.len());
    &tag[..end]
}

/// A start tag longer than [`MAX_TAG`] (`tag` holds its first bytes): a
/// malformed sample if it opens one.
fn overlong(tag: &[u8], empty: bool, line: u64, found: &mut Found) {
    if !is_sample(name(tag)) {
        return;
    }
    if found.counts_here() {
        found.malformed.add(line);
    }
    if !empty {
        found.open(false);
    }
}

/// One start or end tag (without its `<` and `>`), at `line`.
fn element(tag: &[u8], line: u64, found: &mut Found) {
    if let Some(end) = tag.strip_prefix(b"/") {
        if is_sample(end.trim_ascii()) {
            found.close();
        }
        return;
    }
    let name_end = name(tag).len();
    if !is_sample(&tag[..name_end]) {
        return;
    }
    let empty = tag.ends_with(b"/");
    let mut controller = false;
    if found.counts_here() {
        let attrs = Attributes::read(&tag[name_end..]);
        let sample = attrs.and_then(|a| a.sample());
        match sample {
            Some((ts, elapsed, success, label, message)) => {
                match Sample::parse(ts, elapsed, &label, success, None, message) {
                    Some(s) => {
                        controller = s.controller;
                        found.agg.record(&s);
                        found.rows += 1;
                    }
                    None => found.malformed.add(line),
                }
            }
            None => found.malformed.add(line),
        }
    }
    if !empty {
        found.open(controller);
    }
}

/// A sample tag's attributes that the row model reads.
#[derive(Default)]
struct Attributes<'a> {
    t: Option<&'a [u8]>,
    ts: Option<&'a [u8]>,
    s: Option<&'a [u8]>,
    lb: Option<Vec<u8>>,
    /// Raw: only its plain-text start is looked at.
    rm: Option<&'a [u8]>,
}

impl<'a> Attributes<'a> {
    /// `name="value"` pairs; `None` when they do not read as such.
    fn read(mut rest: &'a [u8]) -> Option<Self> {
        let mut a = Attributes::default();
        loop {
            rest = rest.trim_ascii_start();
            if rest.is_empty() || rest == b"/" {
                return Some(a);
            }
            let eq = rest.iter().position(|&c| c == b'=')?;
            let name = rest[..eq].trim_ascii();
            rest = rest[eq + 1..].trim_ascii_start();
            let q = *rest.first().filter(|q| matches!(q, b'"' | b'\''))?;
            let close = 1 + rest[1..].iter().position(|&c| c == q)?;
            let value = &rest[1..close];
            rest = &rest[close + 1..];
            match name {
                b"t" => a.t = Some(value),
                b"ts" => a.ts = Some(value),
                b"s" => a.s = Some(value),
                b"lb" => a.lb = Some(unescape(value)?),
                b"rm" => a.rm = Some(value),
                _ => {}
            }
        }
    }

    /// Timestamp, elapsed, success (if saved), label and response message.
    #[allow(clippy::type_complexity)]
    fn sample(
        self,
    ) -> Option<(
        &'a [u8],
        &'a [u8],
        Option<&'a [u8]>,
        Vec<u8>,
        Option<&'a [u8]>,
    )> {
        Some((
            self.ts?,
            self.t?,
            self.s,
            self.lb.unwrap_or_default(),
            self.rm,
        ))
    }
}

/// An attribute value with its entity and character references replaced.
fn unescape(v: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(v.len());
    let mut i = 0;
    while i < v.len() {
        if v[i] != b'&' {
            out.push(v[i]);
            i += 1;
            continue;
        }
        let semi = i + v[i..].iter().position(|&c| c == b';')?;
        let entity = &v[i + 1..semi];
        let ch = match entity {
            b"amp" => '&',
            b"lt" => '<',
            b"gt" => '>',
            b"quot" => '"',
            b"apos" => '\'',
            _ => {
                let num = std::str::from_utf8(entity.strip_prefix(b"#")?).ok()?;
                let code = match num.strip_prefix(['x', 'X']) {
                    Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                    None => num.parse().ok()?,
                };
                char::from_u32(code)?
            }
        };
        let mut b = [0u8; 4];
        out.extend_from_slice(ch.encode_utf8(&mut b).as_bytes());
        i = semi + 1;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_str(s: &str) -> Result<(Aggregate, FileReport), ResultsError> {
        read(
            Path::new("t.jtl"),
            std::io::BufReader::with_capacity(7, s.as_bytes()),
        )
    }

    #[test]
    fn top_level_samples_only_with_escapes_comments_and_cdata() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE testResults [ <!ENTITY x "y"> ]>
<testResults version="1.2">
<!-- a comment with <httpSample t="1"/> inside -->
<httpSample t="14720" lt="9770" ts="1296846793179" s="true" lb="Home &amp; &quot;away&quot;&#10;2" rc="200">
  <httpSample t="5" ts="1296846793179" s="false" lb="Home-0"/>
  <sample t="6" ts="1296846793179" s="false" lb="Home-1"><sample t="1" ts="1" lb="deep"/></sample>
  <responseData class="java.lang.String"><![CDATA[ <httpSample t="1" ts="2" lb="x"/> ]]> &lt;b&gt;</responseData>
</httpSample>
<sample t='3' ts='2023-11-14T22:13:20.123Z' s='False' lb='b > a'/>
<httpSample t="x" ts="1" lb="bad"/>
<httpSample ts="1" lb="no elapsed"></httpSample>
</testResults>
"#;
        let (agg, report) = read_str(xml).unwrap();
        let labels: Vec<&str> = agg.labels.iter().map(|(l, _)| l.as_str()).collect();
        assert_eq!(labels, ["Home & \"away\"\n2", "b > a"]);
        assert_eq!(report.rows, 2);
        assert_eq!(agg.total().errors, 1);
        assert_eq!(report.malformed.first_lines, [11, 12]);
        let b = &agg.labels.iter().find(|(l, _)| l == "b > a").unwrap().1;
        assert_eq!(b.first_ts, 1_700_000_000_123);
    }

    /// What JMeter 5.6.3 writes for a Transaction Controller that
    /// generates a parent sample (nested in another), around a sampler
    /// with an embedded resource: the transactions' samplers count, the
    /// transactions keep their rows out of the total, and the resource
    /// stays its sampler's.
    #[test]
    fn a_parent_transactions_samplers_count_and_the_transaction_does_not() {
        let tx = "Number of samples in transaction : 2, number of failing samples : 1";
        let xml = format!(
            r#"<testResults version="1.2">
<sample t="76" ts="1000" s="false" lb="browse" rm="{tx}">
  <sample t="10" ts="1001" s="true" lb="search" rm="OK">
    <httpSample t="3" ts="1001" s="true" lb="search-0" rm="OK"/>
  </sample>
  <sample t="66" ts="1011" s="false" lb="details" rm="{tx}">
    <sample t="66" ts="1011" s="false" lb="item" rm="OK"/>
  </sample>
</sample>
<sample t="8" ts="1090" s="true" lb="logout" rm="OK"/>
</testResults>"#
        );
        let (agg, report) = read_str(&xml).unwrap();
        let labels: Vec<(&str, bool)> = agg
            .labels
            .iter()
            .map(|(l, s)| (l.as_str(), s.transaction))
            .collect();
        assert_eq!(
            labels,
            [
                ("browse", true),
                ("search", false),
                ("details", true),
                ("item", false),
                ("logout", false)
            ]
        );
        assert_eq!(report.rows, 5);
        let total = agg.total();
        assert_eq!((total.count, total.errors), (3, 1));
    }

    #[test]
    fn a_huge_sample_tag_is_a_malformed_sample_at_its_line() {
        let xml = format!(
            "<testResults>\n<httpSample t=\"1\" ts=\"1\" lb=\"{}\"><sample t=\"1\" ts=\"1\"/></httpSample>\n\
             <httpSample t=\"2\" ts=\"2\" lb=\"ok\"/>\n<x a=\"{}\"/></testResults>",
            "x".repeat(MAX_TAG),
            "y".repeat(MAX_TAG)
        );
        let (agg, report) = read_str(&xml).unwrap();
        assert_eq!((agg.count(), report.malformed.first_lines), (1, vec![2]));
    }
}
