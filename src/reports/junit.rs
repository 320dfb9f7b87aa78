//! JUNITXML: `<testsuites>` → `<testsuite name tests failures errors skipped time>` (nested
//! suites allowed) → `<testcase classname name time>` with `<failure>`, `<error>` or
//! `<skipped>`. Counts come from the test cases; a suite that lists no case counts by its
//! attributes (some tools write summaries only). A suite or root whose `tests` is below
//! `failures + errors + skipped` is what CodeBuild refuses (reference §3.3): flagged as
//! `negative`.

use std::io::BufRead;

use quick_xml::events::BytesStart;

use super::FileError;
use super::tally::{TestTally, secs_to_ns};
use super::xml::{Case, Ev, Pull, append, attr, bad_root, name, num, with_attr};
use crate::model::CaseStatus;

/// A suite while it is open.
struct Suite {
    name: String,
    /// `tests`, `failures`, `errors`, `skipped`, as written.
    counts: Option<(u64, u64, u64, u64)>,
    time: String,
    /// Whether a case (or a nested suite's counts) was counted under it.
    counted: bool,
}

/// The suite attribute counts, and whether they go negative.
fn counts(e: &BytesStart<'_>, t: &mut TestTally) -> Option<(u64, u64, u64, u64)> {
    let tests = num(e, "tests")?;
    let f = num(e, "failures").unwrap_or(0);
    let er = num(e, "errors").unwrap_or(0);
    let s = num(e, "skipped").unwrap_or(0);
    if f + er + s > tests {
        t.negative = true;
    }
    Some((tests, f, er, s))
}

/// Reads one JUnit XML file.
pub fn parse<R: BufRead>(reader: R) -> Result<TestTally, FileError> {
    let mut xml = Pull::new(reader);
    let mut t = TestTally::default();
    let mut suites: Vec<Suite> = Vec::new();
    let mut case: Option<Case> = None;
    // Element names of the open elements we care about, to match their ends.
    let mut open: Vec<&'static str> = Vec::new();
    loop {
        let ev = xml.next()?;
        match ev {
            Ev::Eof => break,
            Ev::Start(e, depth) => {
                if let Some(why) = bad_root(&e, depth, &["testsuites", "testsuite"]) {
                    return Err(xml.error(why));
                }
                open.push(start(&e, depth, &mut t, &mut suites, &mut case));
            }
            Ev::Text(text) => {
                if let Some(c) = case.as_mut() {
                    c.grab.text(&text);
                }
            }
            Ev::End => match open.pop() {
                Some("failure" | "error") => {
                    if let Some(c) = case.as_mut() {
                        c.grab.end(&mut c.message);
                    }
                }
                Some("testcase") => {
                    if let Some(c) = case.take() {
                        c.end(&mut t);
                        if let Some(s) = suites.last_mut() {
                            s.counted = true;
                        }
                    }
                }
                Some("testsuite") => {
                    if let Some(s) = suites.pop() {
                        end_suite(&s, &mut t, suites.last_mut());
                    }
                }
                _ => {}
            },
            Ev::Other => {}
        }
    }
    Ok(t)
}

/// An element starts (at `depth`): returns the name to remember for its end.
fn start(
    e: &BytesStart<'_>,
    depth: usize,
    t: &mut TestTally,
    suites: &mut Vec<Suite>,
    case: &mut Option<Case>,
) -> &'static str {
    let n = name(e);
    match (n, case.as_mut()) {
        ("testsuites", _) => {
            counts(e, t);
            "testsuites"
        }
        ("testsuite", None) => {
            suites.push(Suite {
                name: attr(e, "name").unwrap_or_default(),
                counts: counts(e, t),
                time: attr(e, "time").unwrap_or_default(),
                counted: false,
            });
            "testsuite"
        }
        ("testcase", None) => {
            let suite = suites.last().map(|s| s.name.as_str()).unwrap_or_default();
            *case = Some(Case::new(
                attr(e, "classname").unwrap_or_else(|| suite.to_owned()),
                attr(e, "name").unwrap_or_default(),
                with_attr(e, "time", secs_to_ns).unwrap_or(0),
                CaseStatus::Succeeded,
                depth,
            ));
            "testcase"
        }
        ("failure" | "error", Some(c)) => {
            // An error outweighs a failure in the same case.
            if n == "error" || c.status != CaseStatus::Error {
                c.status = if n == "error" {
                    CaseStatus::Error
                } else {
                    CaseStatus::Failed
                };
            }
            if let Some(m) = attr(e, "message") {
                append(&mut c.message, &m);
            }
            c.grab.start();
            if n == "error" { "error" } else { "failure" }
        }
        ("skipped", Some(c)) => {
            if c.status == CaseStatus::Succeeded {
                c.status = CaseStatus::Skipped;
            }
            "skipped"
        }
        _ => "",
    }
}

/// A suite ends: without cases of its own or of nested suites, its attributes count.
fn end_suite(s: &Suite, t: &mut TestTally, parent: Option<&mut Suite>) {
    let mut counted = s.counted;
    if !counted && let Some((tests, f, er, sk)) = s.counts {
        t.tests += tests;
        t.failed += f;
        t.errors += er;
        t.skipped += sk;
        t.passed += tests.saturating_sub(f + er + sk);
        t.duration_ns += secs_to_ns(&s.time);
        counted = tests > 0;
    }
    if let Some(parent) = parent {
        parent.counted |= counted;
    }
}
