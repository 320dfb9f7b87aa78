//! `cbdash cloud reports`: a cloud build's test and coverage reports, or a report group's
//! trends.
//!
//! `reports BUILD_ID`: the build's `reportArns` (BatchGetBuilds) read through
//! [`reports::read_reports`] into the shared [`TestReport`]; plain prints what a run's summary
//! prints under `Reports` ([`plain_reports::lines`]: a line per report group, its failed
//! cases with the first line of their message; sanitized: a test's message is untrusted),
//! `--json` prints the NDJSON `report` lines a followed build emits
//! (`backend: "cloud"`). Exit code: 1 when a report FAILED, else 0; 2 bad input, 3 AWS errors.
//!
//! `reports --group ARN`: `GetReportGroupTrend` for every trend field of the group's type
//! (`PASS_RATE`, `DURATION`, `TOTAL` for a test group; `LINE_COVERAGE`, ... for coverage);
//! plain prints a row per field (average, min, max, the latest values), `--json` one
//! `report_trend` line per field.

use std::fmt::Write as _;
use std::io::Write as _;

use anyhow::Result;
use serde_json::json;

use super::UsageError;
use crate::engine::cloud::reports::{self, ReportOptions, Trend};
use crate::engine::cloud::{CloudClients, CloudError, projects};
use crate::headless::plain::sanitize;
use crate::headless::plain_reports;
use crate::model::{BackendKind, BuildId, ReportStatus, TestReport};

/// Values of each trend field shown in the plain table (the newest first).
const TREND_VALUES: usize = 8;

/// `cloud reports BUILD_ID` or `cloud reports --group ARN`.
pub async fn run(
    clients: &CloudClients,
    build_id: Option<&str>,
    group_arn: Option<&str>,
    last: u8,
    json: bool,
) -> Result<u8> {
    match (build_id, group_arn) {
        (Some(id), None) => build_reports(clients, id, json).await,
        (None, Some(arn)) => group_trends(clients, arn, last, json).await,
        _ => Err(UsageError("give a BUILD_ID or --group ARN (one of them)".into()).into()),
    }
}

async fn build_reports(clients: &CloudClients, id: &str, json: bool) -> Result<u8> {
    let build = projects::get_builds(&clients.codebuild, &[id.to_owned()])
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| CloudError::NotFound {
            what: format!("build {id}"),
        })?;
    if build.report_arns.is_empty() {
        if !json {
            out(&format!("build {id} has no reports"))?;
        }
        return Ok(0);
    }
    let found = reports::read_reports(
        &clients.codebuild,
        &clients.group,
        &build.report_arns,
        &ReportOptions::default(),
    )
    .await?;
    let build_id = BuildId(build.id.0.clone());
    if json {
        for r in &found {
            out(&r.to_ndjson(&build_id, BackendKind::Cloud).to_string())?;
        }
    } else {
        out(&plain(&found))?;
    }
    Ok(u8::from(
        found.iter().any(|r| r.status == ReportStatus::Failed),
    ))
}

/// The plain output: the same lines as the `Reports` section of a run's summary and of
/// `history RUN_ID` (one renderer, [`plain_reports::lines`]), each sanitized (a report's
/// names and messages are untrusted).
#[must_use]
pub fn plain(found: &[TestReport]) -> String {
    plain_reports::lines(found)
        .iter()
        .map(|l| sanitize(l))
        .collect::<Vec<_>>()
        .join("\n")
}

async fn group_trends(clients: &CloudClients, arn: &str, last: u8, json: bool) -> Result<u8> {
    let (kind, trends) = reports::group_trends(
        &clients.codebuild,
        &clients.group,
        arn,
        last,
        &ReportOptions::default(),
    )
    .await?;
    if json {
        for t in &trends {
            out(&trend_json(arn, kind.as_str(), t).to_string())?;
        }
    } else {
        out(&trend_table(arn, kind.as_str(), &trends))?;
    }
    Ok(0)
}

/// One `report_trend` NDJSON line.
#[must_use]
pub fn trend_json(arn: &str, kind: &str, t: &Trend) -> serde_json::Value {
    let reports: Vec<_> = t
        .reports
        .iter()
        .map(|(a, v)| json!({"report_arn": a, "value": v}))
        .collect();
    json!({"type": "report_trend", "group_arn": arn, "group_type": kind, "field": t.field,
        "average": t.average, "min": t.min, "max": t.max, "reports": reports})
}

/// The plain trends: a row per field.
#[must_use]
pub fn trend_table(arn: &str, kind: &str, trends: &[Trend]) -> String {
    let n = trends.first().map_or(0, |t| t.reports.len());
    let mut s = format!(
        "report group {} ({kind}), {}\n",
        sanitize(arn),
        crate::headless::count(n, "report")
    );
    let _ = writeln!(
        s,
        "{:<18} {:>10} {:>10} {:>10}  LATEST",
        "FIELD", "AVERAGE", "MIN", "MAX"
    );
    for t in trends {
        let dash = |v: &Option<String>| v.as_deref().map_or_else(|| "-".to_owned(), sanitize);
        let latest: Vec<String> = t
            .reports
            .iter()
            .take(TREND_VALUES)
            .map(|(_, v)| sanitize(v))
            .collect();
        let _ = writeln!(
            s,
            "{:<18} {:>10} {:>10} {:>10}  {}",
            t.field,
            dash(&t.average),
            dash(&t.min),
            dash(&t.max),
            latest.join(" ")
        );
    }
    s.trim_end().to_owned()
}

fn out(line: &str) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{line}")?;
    stdout.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CaseStatus, ReportBody, TestCase, TestSummary};

    #[test]
    fn the_plain_output_is_the_summarys_report_lines_sanitized() {
        let report = TestReport {
            group: "unit\u{1b}[2J".into(),
            format: "TEST".into(),
            status: ReportStatus::Failed,
            files: vec![],
            body: ReportBody::Test(TestSummary {
                tests: 1,
                failed: 1,
                duration_ms: 300,
                failed_cases: vec![TestCase {
                    name: "adds".into(),
                    prefix: "calc".into(),
                    status: CaseStatus::Failed,
                    message: Some("got \u{1b}]0;pwned\u{7}5\nsecond line".into()),
                    duration_ms: Some(3),
                }],
                ..TestSummary::default()
            }),
            warnings: vec![],
        };
        let text = plain(std::slice::from_ref(&report));
        assert_eq!(
            text,
            "unit (TEST) FAILED: 1 test, 0 passed, 1 failed, 0 errors, 0 skipped, 0.3s\n  \
             FAILED  calc.adds: got 5"
        );
        assert_eq!(
            plain_reports::section(&[report])[2..].join("\n"),
            "unit\u{1b}[2J (TEST) FAILED: 1 test, 0 passed, 1 failed, 0 errors, 0 skipped, 0.3s\n  \
             FAILED  calc.adds: got \u{1b}]0;pwned\u{7}5",
            "the run's summary has the same lines (its caller sanitizes them)"
        );
    }
}
