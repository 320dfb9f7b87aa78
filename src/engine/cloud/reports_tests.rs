use aws_sdk_codebuild::types::{
    CodeCoverageReportSummary, Report, ReportStatusType, ReportType, TestReportSummary,
};

use super::*;

fn test_report() -> Report {
    let summary = TestReportSummary::builder()
        .total(7)
        .status_counts("SUCCEEDED", 3)
        .status_counts("FAILED", 2)
        .status_counts("ERROR", 1)
        .status_counts("SKIPPED", 1)
        .status_counts("UNKNOWN", 0)
        .duration_in_nano_seconds(2_500_000_000)
        .build()
        .expect("summary");
    Report::builder()
        .arn("arn:aws:codebuild:us-east-1:1:report/demo-unit:abc")
        .r#type(ReportType::Test)
        .name("demo-unit")
        .report_group_arn("arn:aws:codebuild:us-east-1:1:report-group/demo-unit")
        .status(ReportStatusType::Failed)
        .truncated(true)
        .test_summary(summary)
        .build()
}

#[test]
fn a_test_summary_maps_status_counts_and_nanoseconds() {
    let r = from_sdk(&test_report());
    assert_eq!(r.group, "demo-unit");
    assert_eq!(r.format, "TEST");
    assert_eq!(r.status, ReportStatus::Failed);
    assert_eq!(
        r.files,
        ["arn:aws:codebuild:us-east-1:1:report/demo-unit:abc"]
    );
    assert_eq!(r.warnings.len(), 1, "a truncated report says so");
    let ReportBody::Test(t) = r.body else {
        panic!("a test report")
    };
    assert_eq!(
        (
            t.tests,
            t.passed,
            t.failed,
            t.errors,
            t.skipped,
            t.duration_ms
        ),
        (7, 3, 2, 1, 1, 2500)
    );
}

#[test]
fn a_coverage_summary_without_branches_has_no_branch_rate() {
    let c = CodeCoverageReportSummary::builder()
        .line_coverage_percentage(84.5)
        .lines_covered(169)
        .lines_missed(31)
        .branch_coverage_percentage(0.0)
        .branches_covered(0)
        .branches_missed(0)
        .build();
    let r = Report::builder()
        .r#type(ReportType::CodeCoverage)
        .name("cov")
        .status(ReportStatusType::Succeeded)
        .code_coverage_summary(c)
        .build();
    let r = from_sdk(&r);
    assert_eq!(
        (r.group.as_str(), r.format.as_str()),
        ("cov", "CODE_COVERAGE")
    );
    let ReportBody::Coverage(c) = r.body else {
        panic!("a coverage report")
    };
    assert!((c.line_pct - 84.5).abs() < f64::EPSILON);
    assert_eq!(c.branch_pct, None);
    assert_eq!((c.lines_covered, c.lines_missed), (169, 31));
}

#[test]
fn a_case_keeps_its_message_and_duration() {
    let c = aws_sdk_codebuild::types::TestCase::builder()
        .name("adds")
        .prefix("calc")
        .status("ERROR")
        .duration_in_nano_seconds(3_000_000)
        .message("boom\n  at calc.rs:3")
        .build();
    let c = case_from_sdk(&c);
    assert_eq!(c.status, CaseStatus::Error);
    assert_eq!(c.duration_ms, Some(3));
    assert_eq!(c.message.as_deref(), Some("boom\n  at calc.rs:3"));
    let empty = case_from_sdk(
        &aws_sdk_codebuild::types::TestCase::builder()
            .message("")
            .build(),
    );
    assert_eq!((empty.status, empty.message), (CaseStatus::Unknown, None));
}

#[test]
fn trend_fields_follow_the_group_type() {
    let names = |k| {
        trend_fields(&k)
            .iter()
            .map(|f| f.as_str().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(ReportType::Test), ["PASS_RATE", "DURATION", "TOTAL"]);
    assert_eq!(names(ReportType::CodeCoverage).len(), 6);
    assert_eq!(names(ReportType::CodeCoverage)[0], "LINE_COVERAGE");
}
