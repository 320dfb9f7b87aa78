//! The plain output's report lines: one line per group as its report arrives, and the
//! `Reports` section of the summary (after the phase table): each group's counts or
//! coverage, its failed cases with the first line of their message, and the files that
//! could not be read. Report text is untrusted: the caller sanitises every line.

use std::fmt::Write as _;

use super::count;
use crate::model::{ReportBody, TestReport};

/// Failed cases the summary lists per group (the NDJSON report carries up to 100).
const LISTED: usize = 20;

/// `report unit (JUNITXML) FAILED: 4 tests, 1 passed, 1 failed, 1 error, 1 skipped, 0.3s` or
/// `report cov (COBERTURAXML) SUCCEEDED: lines 81.2% (13/16), branches 60.0% (3/5), 2 files`.
#[must_use]
pub fn report_line(r: &TestReport) -> String {
    let head = format!("report {} ({}) {}", r.group, r.format, r.status.as_str());
    let body = match &r.body {
        ReportBody::Test(t) => format!(
            "{}, {} passed, {} failed, {}, {} skipped, {:.1}s",
            count(t.tests, "test"),
            t.passed,
            t.failed,
            count(t.errors, "error"),
            t.skipped,
            secs(t.duration_ms)
        ),
        ReportBody::Coverage(c) => {
            let lines = format!(
                "lines {:.1}% ({}/{})",
                c.line_pct,
                c.lines_covered,
                c.lines_covered + c.lines_missed
            );
            let branches = c.branch_pct.map_or_else(String::new, |b| {
                format!(
                    ", branches {b:.1}% ({}/{})",
                    c.branches_covered,
                    c.branches_covered + c.branches_missed
                )
            });
            format!("{lines}{branches}, {}", count(c.files, "file"))
        }
    };
    let warn = match r.warnings.len() {
        0 => String::new(),
        n => format!(" ({})", count(n, "warning")),
    };
    format!("{head}: {body}{warn}")
}

/// The summary's `Reports` section (empty without reports): a blank line, `Reports`, then
/// [`lines`].
#[must_use]
pub fn section(reports: &[TestReport]) -> Vec<String> {
    if reports.is_empty() {
        return Vec::new();
    }
    let mut out = vec![String::new(), "Reports".to_owned()];
    out.extend(lines(reports));
    out
}

/// The one plain rendering of a list of reports, shared by the run's summary, `history
/// RUN_ID` and `cloud reports BUILD_ID`: per group its counts or coverage line, its first
/// failed cases with the first line of their message, a count of the rest, its warnings.
#[must_use]
pub fn lines(reports: &[TestReport]) -> Vec<String> {
    let mut out = Vec::new();
    for r in reports {
        out.push(report_line(r).trim_start_matches("report ").to_owned());
        if let ReportBody::Test(t) = &r.body {
            for c in t.failed_cases.iter().take(LISTED) {
                let name = if c.prefix.is_empty() || c.name.starts_with(&c.prefix) {
                    c.name.clone()
                } else {
                    format!("{}.{}", c.prefix, c.name)
                };
                let mut line = format!("  {:<7} {name}", c.status.as_str());
                if let Some(m) = c
                    .message
                    .as_deref()
                    .and_then(|m| m.lines().find(|l| !l.trim().is_empty()))
                {
                    let _ = write!(line, ": {}", m.trim());
                }
                out.push(line);
            }
            let more = t.failed_more + t.failed_cases.len().saturating_sub(LISTED) as u64;
            if more > 0 {
                out.push(format!("  ... and {more} more failed"));
            }
        }
        for w in &r.warnings {
            out.push(format!("  warning: {w}"));
        }
    }
    out
}

#[allow(clippy::cast_precision_loss)] // durations far below 2^52 ms
fn secs(ms: u64) -> f64 {
    ms as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{
        CaseStatus, CoverageSummary, MAX_FAILED_CASES, ReportStatus, TestCase, TestSummary,
    };

    fn case(name: &str, status: CaseStatus, message: Option<&str>) -> TestCase {
        TestCase {
            name: name.into(),
            prefix: "calc.AddTest".into(),
            status,
            message: message.map(Into::into),
            duration_ms: Some(1),
        }
    }

    #[test]
    fn the_section_lists_groups_failed_cases_and_warnings() {
        let mut cases = vec![
            case(
                "overflows",
                CaseStatus::Failed,
                Some("\nexpected 0, got -1\n  at x"),
            ),
            case("calc.AddTest.by_zero", CaseStatus::Error, None),
        ];
        cases.extend(
            (0..MAX_FAILED_CASES - 2).map(|i| case(&format!("c{i}"), CaseStatus::Failed, None)),
        );
        let unit = TestReport {
            group: "unit".into(),
            format: "JUNITXML".into(),
            status: ReportStatus::Failed,
            files: vec!["a.xml".into(), "bad.xml".into()],
            body: ReportBody::Test(TestSummary {
                tests: 205,
                passed: 100,
                failed: 104,
                skipped: 0,
                errors: 1,
                duration_ms: 1_250,
                failed_cases: cases,
                failed_more: 5,
            }),
            warnings: vec!["bad.xml:3: ill-formed".into()],
        };
        let cov = TestReport {
            group: "cov".into(),
            format: "JACOCOXML".into(),
            status: ReportStatus::Succeeded,
            files: vec!["j.xml".into()],
            body: ReportBody::Coverage(CoverageSummary {
                line_pct: 75.0,
                branch_pct: None,
                lines_covered: 3,
                lines_missed: 1,
                files: 1,
                ..CoverageSummary::default()
            }),
            warnings: vec![],
        };
        let lines = section(&[unit, cov]);
        assert_eq!(lines[..2], ["", "Reports"]);
        assert_eq!(
            lines[2],
            "unit (JUNITXML) FAILED: 205 tests, 100 passed, 104 failed, 1 error, 0 skipped, 1.2s (1 warning)"
        );
        assert_eq!(
            lines[3],
            "  FAILED  calc.AddTest.overflows: expected 0, got -1"
        );
        assert_eq!(lines[4], "  ERROR   calc.AddTest.by_zero");
        assert_eq!(lines[3 + LISTED], "  ... and 85 more failed");
        assert_eq!(lines[4 + LISTED], "  warning: bad.xml:3: ill-formed");
        assert_eq!(
            lines[5 + LISTED],
            "cov (JACOCOXML) SUCCEEDED: lines 75.0% (3/4), 1 file"
        );
        assert!(section(&[]).is_empty());
        assert!(super::lines(&[]).is_empty());
    }
}
