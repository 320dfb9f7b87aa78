//! A cloud build's test and coverage reports, read from CodeBuild's report APIs into the
//! shared [`TestReport`] (the same type the local engine builds from the raw files).
//!
//! The calls, for the `reportArns` of a build: ONE `BatchGetReports` per 100 reports (the
//! summaries), then per test report `DescribeTestCases` filtered on `FAILED` first and then on
//! `ERROR` (paged, stopping at [`MAX_FAILED_CASES`]: the failures are what a user looks for,
//! and what CodeBuild keeps when it truncates), and per coverage report
//! `DescribeCodeCoverages` (paged) for the number of files. Throttling and 5xx wait and try
//! again with the poller's backoff ([`super::schedule::backoff_delay`]); other errors return.
//! Report groups' trends (`GetReportGroupTrend`) are here too, for `cbdash cloud reports --group`.
//!
//! The mapping from the SDK's shapes is pure ([`from_sdk`], [`trend_fields`]), tested without
//! a network.

use std::time::Duration;

use aws_sdk_codebuild::Client;
use aws_sdk_codebuild::types::{
    Report, ReportGroupTrendFieldType, ReportStatusType, ReportType, TestCaseFilter,
};

use crate::model::{
    CaseStatus, CoverageSummary, MAX_FAILED_CASES, ReportBody, ReportStatus, TestCase, TestReport,
    TestSummary,
};

use super::CloudError;
use super::client::classify;
use super::schedule::{Intervals, backoff_delay, random_jitter};

/// `BatchGetReports` takes at most this many ARNs.
const MAX_ARNS: usize = 100;
/// Tries of one call before a throttle or a 5xx is given up on.
const ATTEMPTS: u32 = 5;
/// Pages of `DescribeCodeCoverages` read to count a report's files (100 files a page): a
/// report of more files says `files` is at least this many pages' worth.
const MAX_COVERAGE_PAGES: usize = 50;

/// What cloud reports name as their format: the API does not keep the file format of the
/// buildspec, only the report's type, which is shown in its place (see the README's
/// fidelity table).
#[must_use]
pub fn format_of(r: &Report) -> String {
    r.r#type().map_or("TEST", ReportType::as_str).to_owned()
}

/// The report group's name: the last part of `reportGroupArn`
/// (`arn:aws:codebuild:<r>:<a>:report-group/<name>`), else the report's `name`.
#[must_use]
pub fn group_of(r: &Report) -> String {
    r.report_group_arn()
        .and_then(|a| a.rsplit_once(":report-group/").map(|(_, n)| n))
        .or_else(|| r.name())
        .unwrap_or("report")
        .to_owned()
}

/// A report's summary as a [`TestReport`] with no failed cases yet (pure).
#[must_use]
pub fn from_sdk(r: &Report) -> TestReport {
    let status = r.status().map_or(ReportStatus::Incomplete, |s| {
        ReportStatus::parse(s.as_str())
    });
    let body = match (r.test_summary(), r.code_coverage_summary()) {
        (_, Some(c))
            if r.r#type() == Some(&ReportType::CodeCoverage) || r.test_summary().is_none() =>
        {
            ReportBody::Coverage(coverage(c))
        }
        (Some(t), _) => ReportBody::Test(test_summary(t)),
        (None, _) => ReportBody::Test(TestSummary::default()),
    };
    let mut warnings = Vec::new();
    if r.truncated() == Some(true) {
        warnings.push(
            "CodeBuild truncated this report: some test cases are not kept (the failures are)"
                .to_owned(),
        );
    }
    TestReport {
        group: group_of(r),
        format: format_of(r),
        status,
        files: r.arn().map(str::to_owned).into_iter().collect(),
        body,
        warnings,
    }
}

fn count(v: i32) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// `statusCounts` and `durationInNanoSeconds` as counts; `UNKNOWN` only counts in `tests`.
fn test_summary(t: &aws_sdk_codebuild::types::TestReportSummary) -> TestSummary {
    let by = |k: &str| count(t.status_counts().get(k).copied().unwrap_or(0));
    TestSummary {
        tests: count(t.total()),
        passed: by("SUCCEEDED"),
        failed: by("FAILED"),
        skipped: by("SKIPPED"),
        errors: by("ERROR"),
        duration_ms: u64::try_from(t.duration_in_nano_seconds() / 1_000_000).unwrap_or(0),
        failed_cases: Vec::new(),
        failed_more: 0,
    }
}

fn coverage(c: &aws_sdk_codebuild::types::CodeCoverageReportSummary) -> CoverageSummary {
    let branches_covered = count(c.branches_covered().unwrap_or(0));
    let branches_missed = count(c.branches_missed().unwrap_or(0));
    CoverageSummary {
        line_pct: c.line_coverage_percentage().unwrap_or(0.0),
        // A report without branches says 0%: shown as none, as a local one without them is.
        branch_pct: c
            .branch_coverage_percentage()
            .filter(|_| branches_covered + branches_missed > 0),
        lines_covered: count(c.lines_covered().unwrap_or(0)),
        lines_missed: count(c.lines_missed().unwrap_or(0)),
        branches_covered,
        branches_missed,
        files: 0,
    }
}

/// A test case as the shared model has it.
#[must_use]
pub fn case_from_sdk(c: &aws_sdk_codebuild::types::TestCase) -> TestCase {
    TestCase {
        name: c.name().unwrap_or_default().to_owned(),
        prefix: c.prefix().unwrap_or_default().to_owned(),
        status: CaseStatus::parse(c.status().unwrap_or_default()),
        message: c.message().filter(|m| !m.is_empty()).map(str::to_owned),
        duration_ms: c
            .duration_in_nano_seconds()
            .and_then(|n| u64::try_from(n / 1_000_000).ok()),
    }
}

/// Runs `call` again after the poller's backoff while it is throttled or fails with a 5xx,
/// at most [`ATTEMPTS`] times.
async fn retrying<T, F, Fut>(intervals: &Intervals, mut call: F) -> Result<T, CloudError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, CloudError>>,
{
    let mut attempt = 1;
    loop {
        match call().await {
            Err(e) if e.is_retryable() && attempt < ATTEMPTS => {
                tokio::time::sleep(backoff_delay(intervals, attempt, random_jitter())).await;
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// How to read reports.
#[derive(Clone, Copy, Debug)]
pub struct ReportOptions {
    /// Backoff on throttling.
    pub intervals: Intervals,
    /// While a report is still `GENERATING`, ask again this often, at most `waits` times.
    pub generating_wait: Duration,
    pub waits: u32,
}

impl Default for ReportOptions {
    fn default() -> Self {
        Self {
            intervals: Intervals::default(),
            generating_wait: Duration::from_secs(2),
            waits: 10,
        }
    }
}

/// The summaries of `arns` (ONE `BatchGetReports` per 100), in the order asked; ARNs
/// CodeBuild does not know are left out.
pub async fn get_reports(
    cb: &Client,
    group: &str,
    arns: &[String],
    opts: &ReportOptions,
) -> Result<Vec<Report>, CloudError> {
    let mut out = Vec::new();
    for chunk in arns.chunks(MAX_ARNS) {
        let got = retrying(&opts.intervals, || async {
            cb.batch_get_reports()
                .set_report_arns(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| classify("BatchGetReports", group, &e))
        })
        .await?;
        out.extend(got.reports().iter().cloned());
    }
    Ok(out)
}

/// The summaries of `arns`, asked again while any is `GENERATING` (the build may end before
/// CodeBuild has processed its reports), up to `opts.waits` times.
async fn settled_reports(
    cb: &Client,
    group: &str,
    arns: &[String],
    opts: &ReportOptions,
) -> Result<Vec<Report>, CloudError> {
    let mut reports = get_reports(cb, group, arns, opts).await?;
    for _ in 0..opts.waits {
        if !reports
            .iter()
            .any(|r| r.status() == Some(&ReportStatusType::Generating))
        {
            break;
        }
        tokio::time::sleep(opts.generating_wait).await;
        reports = get_reports(cb, group, arns, opts).await?;
    }
    Ok(reports)
}

/// Every report of a build: summaries, failed and errored cases, coverage file counts.
pub async fn read_reports(
    cb: &Client,
    group: &str,
    arns: &[String],
    opts: &ReportOptions,
) -> Result<Vec<TestReport>, CloudError> {
    let mut out = Vec::new();
    for r in settled_reports(cb, group, arns, opts).await? {
        let mut report = from_sdk(&r);
        let arn = r.arn().unwrap_or_default();
        match &mut report.body {
            ReportBody::Test(t) => fill_failed_cases(cb, group, arn, t, opts).await?,
            ReportBody::Coverage(c) => c.files = coverage_files(cb, group, arn, opts).await?,
        }
        out.push(report);
    }
    Ok(out)
}

/// `DescribeTestCases` with `FAILED`, then `ERROR`, paged, until [`MAX_FAILED_CASES`];
/// `failed_more` counts the failures the summary has beyond the cases kept.
async fn fill_failed_cases(
    cb: &Client,
    group: &str,
    arn: &str,
    t: &mut TestSummary,
    opts: &ReportOptions,
) -> Result<(), CloudError> {
    for (status, n) in [("FAILED", t.failed), ("ERROR", t.errors)] {
        if n == 0 {
            continue;
        }
        let mut token: Option<String> = None;
        while t.failed_cases.len() < MAX_FAILED_CASES {
            let room = MAX_FAILED_CASES - t.failed_cases.len();
            let page = retrying(&opts.intervals, || async {
                cb.describe_test_cases()
                    .report_arn(arn)
                    .filter(TestCaseFilter::builder().status(status).build())
                    .max_results(i32::try_from(room.min(100)).unwrap_or(100))
                    .set_next_token(token.clone())
                    .send()
                    .await
                    .map_err(|e| classify("DescribeTestCases", group, &e))
            })
            .await?;
            let cases = page.test_cases().iter().map(case_from_sdk).take(room);
            t.failed_cases.extend(cases);
            token = page
                .next_token()
                .filter(|s| !s.is_empty())
                .map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
    }
    let kept = u64::try_from(t.failed_cases.len()).unwrap_or(u64::MAX);
    t.failed_more = (t.failed + t.errors).saturating_sub(kept);
    Ok(())
}

/// How many files a coverage report covers (`DescribeCodeCoverages`, paged).
async fn coverage_files(
    cb: &Client,
    group: &str,
    arn: &str,
    opts: &ReportOptions,
) -> Result<u64, CloudError> {
    let mut files = 0u64;
    let mut token: Option<String> = None;
    for _ in 0..MAX_COVERAGE_PAGES {
        let page = retrying(&opts.intervals, || async {
            cb.describe_code_coverages()
                .report_arn(arn)
                .max_results(100)
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|e| classify("DescribeCodeCoverages", group, &e))
        })
        .await?;
        files += u64::try_from(page.code_coverages().len()).unwrap_or(0);
        token = page
            .next_token()
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    Ok(files)
}

/// One trend field of a report group (`GetReportGroupTrend`).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Trend {
    /// `PASS_RATE`, `LINE_COVERAGE`, ...
    pub field: String,
    pub average: Option<String>,
    pub min: Option<String>,
    pub max: Option<String>,
    /// `(report ARN, value)`, as CodeBuild returns them.
    pub reports: Vec<(String, String)>,
}

/// The trend fields of a group of `kind` (`TEST` or `CODE_COVERAGE`), in CodeBuild's order.
#[must_use]
pub fn trend_fields(kind: &ReportType) -> Vec<ReportGroupTrendFieldType> {
    use ReportGroupTrendFieldType as F;
    match kind {
        ReportType::CodeCoverage => vec![
            F::LineCoverage,
            F::LinesCovered,
            F::LinesMissed,
            F::BranchCoverage,
            F::BranchesCovered,
            F::BranchesMissed,
        ],
        _ => vec![F::PassRate, F::Duration, F::Total],
    }
}

/// A report group's trends: its type (`BatchGetReportGroups`), then one
/// `GetReportGroupTrend` per field of that type, over the latest `last` reports.
pub async fn group_trends(
    cb: &Client,
    group: &str,
    group_arn: &str,
    last: u8,
    opts: &ReportOptions,
) -> Result<(ReportType, Vec<Trend>), CloudError> {
    let groups = retrying(&opts.intervals, || async {
        cb.batch_get_report_groups()
            .report_group_arns(group_arn)
            .send()
            .await
            .map_err(|e| classify("BatchGetReportGroups", group, &e))
    })
    .await?;
    let kind = groups
        .report_groups()
        .first()
        .and_then(|g| g.r#type().cloned())
        .ok_or_else(|| CloudError::NotFound {
            what: format!("report group {group_arn}"),
        })?;
    let mut trends = Vec::new();
    for field in trend_fields(&kind) {
        let out = retrying(&opts.intervals, || async {
            cb.get_report_group_trend()
                .report_group_arn(group_arn)
                .trend_field(field.clone())
                .num_of_reports(i32::from(last.clamp(1, 100)))
                .send()
                .await
                .map_err(|e| classify("GetReportGroupTrend", group, &e))
        })
        .await?;
        let stats = out.stats();
        trends.push(Trend {
            field: field.as_str().to_owned(),
            average: stats.and_then(|s| s.average()).map(str::to_owned),
            min: stats.and_then(|s| s.min()).map(str::to_owned),
            max: stats.and_then(|s| s.max()).map(str::to_owned),
            reports: out
                .raw_data()
                .iter()
                .map(|d| {
                    (
                        d.report_arn().unwrap_or_default().to_owned(),
                        d.data().unwrap_or_default().to_owned(),
                    )
                })
                .collect(),
        });
    }
    Ok((kind, trends))
}

#[cfg(test)]
#[path = "reports_tests.rs"]
mod tests;
