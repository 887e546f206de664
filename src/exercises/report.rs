//! `glassbox check`'s outputs: a line per exercise for people, JSON for
//! scripts, JUnit XML for CI graders (GitHub Classroom reads the exit code;
//! most CI systems read JUnit).

use std::fmt::Write as _;

use super::{Graded, Status};

/// Which output `--format` asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    Junit,
}

/// Counts over a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    pub total: usize,
    pub passed: usize,
    pub failed: usize,
    pub errors: usize,
}

impl Summary {
    pub fn of(results: &[Graded]) -> Summary {
        let count = |s: Status| results.iter().filter(|r| r.status == s).count();
        Summary {
            total: results.len(),
            passed: count(Status::Pass),
            failed: count(Status::Fail),
            errors: count(Status::Error),
        }
    }

    /// True when every exercise checked passed (and at least one was).
    pub fn all_passed(&self) -> bool {
        self.total > 0 && self.passed == self.total
    }
}

/// Renders `results` in `format`; `title` names the run (`glassbox check`).
pub fn render(format: Format, title: &str, results: &[Graded]) -> String {
    match format {
        Format::Text => text(results),
        Format::Json => json(title, results),
        Format::Junit => junit(title, results),
    }
}

/// One line per exercise: `PASS  topic 4  topic4-capped  Cap a container: evidence`.
pub fn text(results: &[Graded]) -> String {
    let mut out: String = results.iter().map(line).collect();
    out.push_str(&summary_line(results));
    out
}

/// One exercise's line.
pub fn line(r: &Graded) -> String {
    let word = match r.status {
        Status::Pass => "PASS ",
        Status::Fail => "FAIL ",
        Status::Error => "ERROR",
    };
    format!(
        "{word} {:>2}  {:<18}  {}: {}\n",
        r.topic, r.id, r.title, r.message
    )
}

/// `3 of 4 passed, 1 failed`.
pub fn summary_line(results: &[Graded]) -> String {
    let s = Summary::of(results);
    let mut out = format!("{} of {} passed", s.passed, s.total);
    if s.failed > 0 {
        let _ = write!(out, ", {} failed", s.failed);
    }
    if s.errors > 0 {
        let _ = write!(out, ", {} could not be checked", s.errors);
    }
    out.push('\n');
    out
}

/// `{"tool": …, "summary": {…}, "exercises": [{id, topic, title, kind, status, message, seconds}]}`.
pub fn json(title: &str, results: &[Graded]) -> String {
    let doc = serde_json::json!({
        "tool": title,
        "version": env!("CARGO_PKG_VERSION"),
        "summary": Summary::of(results),
        "exercises": results,
    });
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_else(|_| "{}".into());
    s.push('\n');
    s
}

/// JUnit XML: one `<testsuite>` per topic, one `<testcase>` per exercise, a
/// `<failure>` or `<error>` carrying the reason.
pub fn junit(title: &str, results: &[Graded]) -> String {
    let total = Summary::of(results);
    let time: f64 = results.iter().map(|r| r.seconds).sum();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" time=\"{time:.3}\">",
        xml_escape(title),
        total.total,
        total.failed,
        total.errors
    );
    let mut topics: Vec<u32> = results.iter().map(|r| r.topic).collect();
    topics.dedup();
    for topic in topics {
        let cases: Vec<&Graded> = results.iter().filter(|r| r.topic == topic).collect();
        let owned: Vec<Graded> = cases.iter().map(|c| (*c).clone()).collect();
        let s = Summary::of(&owned);
        let t: f64 = cases.iter().map(|r| r.seconds).sum();
        let _ = writeln!(
            out,
            "  <testsuite name=\"topic {topic}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"0\" time=\"{t:.3}\">",
            s.total, s.failed, s.errors
        );
        for r in cases {
            let _ = write!(
                out,
                "    <testcase classname=\"glassbox.topic{topic:02}\" name=\"{}\" time=\"{:.3}\"",
                xml_escape(&r.id),
                r.seconds
            );
            match r.status {
                Status::Pass => {
                    let _ = writeln!(
                        out,
                        ">\n      <system-out>{}</system-out>\n    </testcase>",
                        xml_escape(&r.message)
                    );
                }
                Status::Fail | Status::Error => {
                    let tag = if r.status == Status::Fail {
                        "failure"
                    } else {
                        "error"
                    };
                    let _ = writeln!(
                        out,
                        ">\n      <{tag} message=\"{}\" type=\"{}\">{}: {}</{tag}>\n    </testcase>",
                        xml_escape(&r.message),
                        r.kind.name(),
                        xml_escape(&r.title),
                        xml_escape(&r.message)
                    );
                }
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

/// Escapes text for an XML attribute or element; characters XML 1.0 cannot
/// carry at all (control characters) become U+FFFD.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\t' | '\r' => out.push(c),
            c if (c as u32) < 0x20 => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}
