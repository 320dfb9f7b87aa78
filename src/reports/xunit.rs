//! TESTNGXML (`<testng-results>` → `<suite>` → `<test>` → `<class name>` →
//! `<test-method status name duration-ms is-config>` with `<exception>` → `<message>`,
//! `<full-stacktrace>`) and VISUALSTUDIOTRX (`<TestRun>` with `<Results>` →
//! `<UnitTestResult testId testName outcome duration>` → `Output/ErrorInfo/Message`,
//! `StackTrace`, and `<TestDefinitions>` → `<UnitTest id>` → `<TestMethod className>`, which
//! gives a result its prefix by `testId`; the definitions usually come after the results).

use std::collections::HashMap;
use std::io::BufRead;

use quick_xml::events::BytesStart;

use super::FileError;
use super::tally::TestTally;
use super::xml::{Case, Ev, Pull, attr, attr_is, bad_root, name};
use crate::model::CaseStatus;

/// Reads a `TestNG` results file; configuration methods (`is-config="true"`) are not tests.
pub fn parse_testng<R: BufRead>(reader: R) -> Result<TestTally, FileError> {
    let mut xml = Pull::new(reader);
    let mut t = TestTally::default();
    let mut class = String::new();
    let mut case: Option<Case> = None;
    let mut depth = 0usize;
    loop {
        match xml.next()? {
            Ev::Eof => break,
            Ev::Start(e, d) => {
                if let Some(why) = bad_root(&e, d, &["testng-results"]) {
                    return Err(xml.error(why));
                }
                depth = d;
                match (name(&e), case.as_mut()) {
                    ("class", None) => class = attr(&e, "name").unwrap_or_default(),
                    ("test-method", None) if !attr_is(&e, "is-config", "true") => {
                        case = Some(testng_case(&e, &class, d));
                    }
                    ("message" | "full-stacktrace", Some(c)) => c.grab.start(),
                    _ => {}
                }
            }
            Ev::Text(text) => grab(case.as_mut(), &text),
            Ev::End => {
                end(&mut case, depth, &mut t);
                depth = depth.saturating_sub(1);
            }
            Ev::Other => {}
        }
    }
    Ok(t)
}

fn testng_case(e: &BytesStart<'_>, class: &str, depth: usize) -> Case {
    let status = match attr(e, "status").unwrap_or_default().as_str() {
        "PASS" => CaseStatus::Succeeded,
        "FAIL" => CaseStatus::Failed,
        "SKIP" => CaseStatus::Skipped,
        _ => CaseStatus::Unknown,
    };
    let ms: u128 = attr(e, "duration-ms")
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    Case::new(
        class.to_owned(),
        attr(e, "name").unwrap_or_default(),
        ms * 1_000_000,
        status,
        depth,
    )
}

fn grab(case: Option<&mut Case>, text: &str) {
    if let Some(c) = case {
        c.grab.text(text);
    }
}

/// An element ends: stops grabbing text, and closes the case when it is the case's (`true`).
fn end(case: &mut Option<Case>, depth: usize, t: &mut TestTally) -> bool {
    if let Some(c) = case.as_mut() {
        c.grab.end(&mut c.message);
    }
    let Some(c) = case.take_if(|c| c.depth == depth) else {
        return false;
    };
    c.end(t);
    true
}

/// Reads a Visual Studio TRX file.
pub fn parse_trx<R: BufRead>(reader: R) -> Result<TestTally, FileError> {
    let mut xml = Pull::new(reader);
    let mut t = TestTally::default();
    let mut case: Option<Case> = None;
    // The open result's test id, whose definition names the class.
    let mut case_id = String::new();
    // The test ids of the kept failed cases, in their order, and the class of each test.
    let mut kept_ids: Vec<String> = Vec::new();
    let mut classes: HashMap<String, String> = HashMap::new();
    let mut definition: Option<String> = None;
    // Inside a result: nested results (data-driven rows) are part of it, not tests.
    let mut result_depth: Option<usize> = None;
    let mut depth = 0usize;
    loop {
        match xml.next()? {
            Ev::Eof => break,
            Ev::Start(e, d) => {
                if let Some(why) = bad_root(&e, d, &["TestRun"]) {
                    return Err(xml.error(why));
                }
                depth = d;
                match (name(&e), case.as_mut()) {
                    ("UnitTestResult", None) if result_depth.is_none() => {
                        result_depth = Some(d);
                        case = Some(trx_case(&e, d));
                        case_id = attr(&e, "testId").unwrap_or_default();
                    }
                    ("Message" | "StackTrace", Some(c)) => c.grab.start(),
                    ("UnitTest", None) => definition = attr(&e, "id"),
                    ("TestMethod", None) => {
                        if let (Some(id), Some(class)) = (definition.take(), attr(&e, "className"))
                        {
                            classes.insert(id, class);
                        }
                    }
                    _ => {}
                }
            }
            Ev::Text(text) => grab(case.as_mut(), &text),
            Ev::End => {
                let before = t.failed_cases.len();
                if end(&mut case, depth, &mut t) && t.failed_cases.len() > before {
                    kept_ids.push(std::mem::take(&mut case_id));
                }
                if result_depth == Some(depth) {
                    result_depth = None;
                }
                depth = depth.saturating_sub(1);
            }
            Ev::Other => {}
        }
    }
    for (c, id) in t.failed_cases.iter_mut().zip(&kept_ids) {
        if let Some(class) = classes.get(id) {
            c.prefix.clone_from(class);
        }
    }
    Ok(t)
}

fn trx_case(e: &BytesStart<'_>, depth: usize) -> Case {
    let status = match attr(e, "outcome").unwrap_or_default().as_str() {
        "Passed" => CaseStatus::Succeeded,
        "Failed" => CaseStatus::Failed,
        "Error" | "Timeout" | "Aborted" => CaseStatus::Error,
        "NotExecuted" => CaseStatus::Skipped,
        _ => CaseStatus::Unknown,
    };
    Case::new(
        String::new(),
        attr(e, "testName").unwrap_or_default(),
        trx_duration(&attr(e, "duration").unwrap_or_default()),
        status,
        depth,
    )
}

/// `hh:mm:ss.fffffff` → nanoseconds (bad text: 0).
fn trx_duration(text: &str) -> u128 {
    let mut parts = text.trim().rsplitn(3, ':');
    let secs = super::tally::secs_to_ns(parts.next().unwrap_or("0"));
    let mins: u128 = parts.next().and_then(|m| m.parse().ok()).unwrap_or(0);
    let hours: u128 = parts.next().and_then(|h| h.parse().ok()).unwrap_or(0);
    secs + (mins * 60 + hours * 3600) * 1_000_000_000
}

#[cfg(test)]
mod tests {
    #[test]
    fn trx_durations_read_hours_minutes_and_fractions() {
        assert_eq!(super::trx_duration("00:00:00.0150000"), 15_000_000);
        assert_eq!(super::trx_duration("01:02:03.5"), 3_723_500_000_000);
        assert_eq!(super::trx_duration("junk"), 0);
    }
}
