//! NUNITXML (`NUnit` 2: `<test-results>` → nested `<test-suite type name>` → `<results>` →
//! `<test-case name result executed success time>`) and NUNIT3XML (`<test-run>` →
//! `<test-suite>` → `<test-case fullname classname result label duration>`), each case's
//! message from `<failure>`/`<reason>` → `<message>` and `<stack-trace>`.
//!
//! Mapping (reference §3.4, §3.5): `NUnit` 2's name is the test-case name (already full), its
//! prefix the enclosing fixture's full name; `NotRunnable` counts as `ERROR`, as CodeBuild's
//! own example shows. `NUnit` 3's name is `fullname`, its prefix `classname`; `Failed` with the
//! label `Error` (an exception) or `Invalid` (not runnable) is `ERROR`.

use std::io::BufRead;

use quick_xml::events::BytesStart;

use super::FileError;
use super::tally::{TestTally, secs_to_ns};
use super::xml::{Case, Ev, Pull, attr, bad_root, name};
use crate::model::CaseStatus;

/// The `NUnit` version being read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Version {
    V2,
    V3,
}

/// Reads an `NUnit` 2 XML file.
pub fn parse_v2<R: BufRead>(reader: R) -> Result<TestTally, FileError> {
    parse(reader, Version::V2)
}

/// Reads an `NUnit` 3 XML file.
pub fn parse_v3<R: BufRead>(reader: R) -> Result<TestTally, FileError> {
    parse(reader, Version::V3)
}

fn parse<R: BufRead>(reader: R, version: Version) -> Result<TestTally, FileError> {
    let root: &[&str] = match version {
        Version::V2 => &["test-results"],
        Version::V3 => &["test-run"],
    };
    let mut xml = Pull::new(reader);
    let mut t = TestTally::default();
    // The fixture name parts of the open `<test-suite>`s (`NUnit` 2), `None` for suites that
    // are not part of a name (assembly, parameterized test), with their depth.
    let mut suites: Vec<(usize, Option<String>)> = Vec::new();
    let mut case: Option<Case> = None;
    let mut depth = 0usize;
    loop {
        match xml.next()? {
            Ev::Eof => break,
            Ev::Start(e, d) => {
                if let Some(why) = bad_root(&e, d, root) {
                    return Err(xml.error(why));
                }
                depth = d;
                match (name(&e), case.as_mut()) {
                    ("test-suite", None) => suites.push((d, suite_part(&e))),
                    ("test-case", None) => case = Some(start_case(&e, version, &suites, d)),
                    ("message" | "stack-trace", Some(c)) => c.grab.start(),
                    _ => {}
                }
            }
            Ev::Text(text) => {
                if let Some(c) = case.as_mut() {
                    c.grab.text(&text);
                }
            }
            Ev::End => {
                if let Some(c) = case.as_mut() {
                    c.grab.end(&mut c.message);
                }
                if let Some(c) = case.take_if(|c| c.depth == depth) {
                    c.end(&mut t);
                }
                if suites.last().is_some_and(|(sd, _)| *sd == depth) {
                    suites.pop();
                }
                depth = depth.saturating_sub(1);
            }
            Ev::Other => {}
        }
    }
    Ok(t)
}

/// The part a suite adds to a fixture's full name (`NUnit` 2 names fixtures briefly and
/// namespaces one part at a time).
fn suite_part(e: &BytesStart<'_>) -> Option<String> {
    let kind = attr(e, "type").unwrap_or_default();
    match kind.as_str() {
        "Assembly" | "Project" | "ParameterizedTest" | "Theory" | "ParameterizedFixture" => None,
        _ => attr(e, "name"),
    }
}

fn start_case(
    e: &BytesStart<'_>,
    v: Version,
    suites: &[(usize, Option<String>)],
    depth: usize,
) -> Case {
    let result = attr(e, "result").unwrap_or_default();
    let (name, prefix, status, ns) = match v {
        Version::V2 => {
            let prefix = suites
                .iter()
                .filter_map(|(_, p)| p.as_deref())
                .collect::<Vec<_>>()
                .join(".");
            let status = v2_status(&result, attr(e, "executed").as_deref());
            let ns = secs_to_ns(&attr(e, "time").unwrap_or_default());
            (attr(e, "name").unwrap_or_default(), prefix, status, ns)
        }
        Version::V3 => {
            let name = attr(e, "fullname")
                .or_else(|| attr(e, "name"))
                .unwrap_or_default();
            let prefix = attr(e, "classname").unwrap_or_else(|| {
                name.rsplit_once('.')
                    .map(|(p, _)| p.to_owned())
                    .unwrap_or_default()
            });
            let status = v3_status(&result, attr(e, "label").as_deref());
            let ns = secs_to_ns(&attr(e, "duration").unwrap_or_default());
            (name, prefix, status, ns)
        }
    };
    Case::new(prefix, name, ns, status, depth)
}

fn v2_status(result: &str, executed: Option<&str>) -> CaseStatus {
    match result {
        "Success" => CaseStatus::Succeeded,
        "Failure" => CaseStatus::Failed,
        "Error" | "NotRunnable" => CaseStatus::Error,
        "Ignored" | "Skipped" => CaseStatus::Skipped,
        "" if executed.is_some_and(|x| x.eq_ignore_ascii_case("false")) => CaseStatus::Skipped,
        _ => CaseStatus::Unknown,
    }
}

fn v3_status(result: &str, label: Option<&str>) -> CaseStatus {
    match (result, label) {
        ("Passed", _) => CaseStatus::Succeeded,
        ("Failed", Some("Error" | "Invalid")) => CaseStatus::Error,
        ("Failed", _) => CaseStatus::Failed,
        ("Skipped", _) => CaseStatus::Skipped,
        _ => CaseStatus::Unknown,
    }
}
