//! `cbdash cloud reports`: a cloud build's test and coverage reports, or a report group's
//! trends.
//!
//! `reports BUILD_ID`: the build's `reportArns` (BatchGetBuilds) read through
//! [`reports::read_reports`] into the shared [`TestReport`]; plain prints a table (one row per
//! report group) and each group's failed cases with their messages (sanitized: a test's
//! message is untrusted), `--json` prints the NDJSON `report` lines a followed build emits
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
use crate::model::{BackendKind, BuildId, ReportBody, ReportStatus, TestReport};

/// Values of each trend field shown in the plain table (the newest first).
const TREND_VALUES: usize = 8;
/// Lines of a failed case's message shown in the plain table.
const MESSAGE_LINES: usize = 3;

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
        out(&table(&found))?;
    }
    Ok(u8::from(
        found.iter().any(|r| r.status == ReportStatus::Failed),
    ))
}

/// The plain table: a row per report, then each group's failed cases.
#[must_use]
pub fn table(found: &[TestReport]) -> String {
    let mut s = format!(
        "{:<28} {:<13} {:<10} {}\n",
        "GROUP", "TYPE", "STATUS", "RESULT"
    );
    for r in found {
        let _ = writeln!(
            s,
            "{:<28} {:<13} {:<10} {}",
            sanitize(&r.group),
            r.format,
            r.status.as_str(),
            result(r)
        );
    }
    for r in found {
        let ReportBody::Test(t) = &r.body else {
            continue;
        };
        if t.failed_cases.is_empty() {
            continue;
        }
        let _ = writeln!(s, "\n{}: failed cases", sanitize(&r.group));
        for c in &t.failed_cases {
            let took = c
                .duration_ms
                .map(|ms| format!(" ({ms} ms)"))
                .unwrap_or_default();
            let name = if c.prefix.is_empty() || c.name.starts_with(&c.prefix) {
                c.name.clone()
            } else {
                format!("{}.{}", c.prefix, c.name)
            };
            let _ = writeln!(s, "  {:<7} {}{took}", c.status.as_str(), sanitize(&name));
            let msg = c.message.as_deref().unwrap_or_default();
            for line in msg.lines().take(MESSAGE_LINES) {
                let _ = writeln!(s, "          {}", sanitize(line));
            }
        }
        if t.failed_more > 0 {
            let _ = writeln!(s, "  … and {} more", t.failed_more);
        }
    }
    for w in found
        .iter()
        .flat_map(|r| r.warnings.iter().map(move |w| (r, w)))
    {
        let _ = writeln!(s, "warning: {}: {}", sanitize(&w.0.group), sanitize(w.1));
    }
    s.trim_end().to_owned()
}

fn result(r: &TestReport) -> String {
    match &r.body {
        ReportBody::Test(t) => format!(
            "{} tests: {} passed, {} failed, {} errors, {} skipped in {:.1}s",
            t.tests,
            t.passed,
            t.failed,
            t.errors,
            t.skipped,
            ms_to_secs(t.duration_ms)
        ),
        ReportBody::Coverage(c) => {
            let branches = c
                .branch_pct
                .map_or_else(|| "-".to_owned(), |b| format!("{b:.1}%"));
            format!(
                "lines {:.1}% ({}/{}), branches {branches}, {} files",
                c.line_pct,
                c.lines_covered,
                c.lines_covered + c.lines_missed,
                c.files
            )
        }
    }
}

#[allow(clippy::cast_precision_loss)] // durations of a test run fit an f64 exactly
fn ms_to_secs(ms: u64) -> f64 {
    ms as f64 / 1000.0
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
    let mut s = format!("report group {} ({kind}), {n} reports\n", sanitize(arn));
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
