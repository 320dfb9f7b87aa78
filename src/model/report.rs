//! Test and coverage reports: what a build's `reports:` section produced, local or cloud.
//!
//! The local engine parses the raw files (`JUnit`, `NUnit`, `TRX`, `Cobertura`, ...) into a
//! [`TestReport`]; the cloud backend builds the same type from CodeBuild's report APIs
//! (`BatchGetReports`, `DescribeTestCases`, `DescribeCodeCoverages`). The NDJSON printer writes
//! [`TestReport::to_ndjson`], the plain printer lists groups and failed cases, the history keeps
//! one row per group and run, and the dashboard's Reports panel draws them. No IO here.
//!
//! Statuses use CodeBuild's words (`SUCCEEDED`, `FAILED`, ...), so a local report and a cloud
//! one read the same.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::event::{BackendKind, BuildId};

/// At most this many failed cases travel with a report; the rest are counted in
/// [`TestSummary::failed_more`].
pub const MAX_FAILED_CASES: usize = 100;

/// A test case's outcome, as CodeBuild names it (`TestCase.status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CaseStatus {
    Succeeded,
    Failed,
    /// An unexpected error (a `JUnit` `<error>`, a not-runnable `NUnit` test).
    Error,
    /// Did not run.
    Skipped,
    /// Anything else.
    Unknown,
}

impl CaseStatus {
    /// `SUCCEEDED`, `FAILED`, ...
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "SUCCEEDED",
            Self::Failed => "FAILED",
            Self::Error => "ERROR",
            Self::Skipped => "SKIPPED",
            Self::Unknown => "UNKNOWN",
        }
    }

    /// CodeBuild's word back to a status (cloud `TestCase.status` is a plain string).
    #[must_use]
    pub fn parse(s: &str) -> Self {
        match s.to_ascii_uppercase().as_str() {
            "SUCCEEDED" => Self::Succeeded,
            "FAILED" => Self::Failed,
            "ERROR" => Self::Error,
            "SKIPPED" => Self::Skipped,
            _ => Self::Unknown,
        }
    }

    /// Failed or errored: what a user wants to see first.
    #[must_use]
    pub const fn is_failure(self) -> bool {
        matches!(self, Self::Failed | Self::Error)
    }
}

/// A report's status (`ReportStatusType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReportStatus {
    Generating,
    /// Every test case succeeded (for coverage: the report was read).
    Succeeded,
    /// Some test case did not.
    Failed,
    /// Bad paths or configuration, or files that could not be read.
    Incomplete,
}

impl ReportStatus {
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Generating => "GENERATING",
            Self::Succeeded => "SUCCEEDED",
            Self::Failed => "FAILED",
            Self::Incomplete => "INCOMPLETE",
        }
    }

    /// CodeBuild's word back to a status; `DELETING` and unknown words read as incomplete.
    #[must_use]
    pub fn parse(s: &str) -> Self {
        match s.to_ascii_uppercase().as_str() {
            "GENERATING" => Self::Generating,
            "SUCCEEDED" => Self::Succeeded,
            "FAILED" => Self::Failed,
            _ => Self::Incomplete,
        }
    }
}

/// One test case (failed ones travel with the report).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestCase {
    pub name: String,
    /// The class, fixture or feature the case belongs to (CodeBuild's `prefix`).
    pub prefix: String,
    pub status: CaseStatus,
    /// The failure message or stack trace (untrusted: sanitize before drawing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
}

/// The counts of a test report (`TestReportSummary`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestSummary {
    pub tests: u64,
    pub passed: u64,
    pub failed: u64,
    pub skipped: u64,
    pub errors: u64,
    pub duration_ms: u64,
    /// Failed and errored cases, at most [`MAX_FAILED_CASES`].
    pub failed_cases: Vec<TestCase>,
    /// Failed cases beyond [`MAX_FAILED_CASES`].
    #[serde(default)]
    pub failed_more: u64,
}

/// The totals of a coverage report (`CodeCoverageReportSummary`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CoverageSummary {
    /// Covered lines over all lines, 0..=100.
    pub line_pct: f64,
    /// Covered branches over all branches, 0..=100 (`None` when the format has no branches).
    pub branch_pct: Option<f64>,
    pub lines_covered: u64,
    pub lines_missed: u64,
    pub branches_covered: u64,
    pub branches_missed: u64,
    /// How many source files the report covers.
    pub files: u64,
}

/// What a report holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ReportBody {
    Test(TestSummary),
    Coverage(CoverageSummary),
}

/// One report group's report for one build.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TestReport {
    /// The group: the `reports:` key (local) or the report group's name (cloud).
    pub group: String,
    /// The file format, upper case (`JUNITXML`, `COBERTURAXML`, ...).
    pub format: String,
    pub status: ReportStatus,
    /// The raw files read (local) or the report ARN (cloud).
    pub files: Vec<String>,
    pub body: ReportBody,
    /// Files that could not be read, each as `file:line: why` (never fails the build).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl TestReport {
    /// The NDJSON line (`{"type":"report",...}`): the kind's fields flattened beside the
    /// group's; `failures` (failed + errors) is kept for readers of the first version.
    #[must_use]
    pub fn to_ndjson(&self, build_id: &BuildId, backend: BackendKind) -> serde_json::Value {
        let mut line = json!({
            "type": "report",
            "build_id": build_id.as_str(),
            "backend": backend.as_str(),
            "group": self.group,
            "format": self.format,
            "status": self.status.as_str(),
            "files": self.files,
        });
        match &self.body {
            ReportBody::Test(t) => {
                line["kind"] = json!("test");
                line["tests"] = json!(t.tests);
                line["passed"] = json!(t.passed);
                line["failed"] = json!(t.failed);
                line["failures"] = json!(t.failed + t.errors);
                line["skipped"] = json!(t.skipped);
                line["errors"] = json!(t.errors);
                line["duration_ms"] = json!(t.duration_ms);
                line["failed_cases"] = json!(t.failed_cases);
                line["failed_more"] = json!(t.failed_more);
            }
            ReportBody::Coverage(c) => {
                line["kind"] = json!("coverage");
                line["line_pct"] = json!(c.line_pct);
                line["branch_pct"] = json!(c.branch_pct);
                line["lines_covered"] = json!(c.lines_covered);
                line["lines_missed"] = json!(c.lines_missed);
                line["branches_covered"] = json!(c.branches_covered);
                line["branches_missed"] = json!(c.branches_missed);
                line["files_covered"] = json!(c.files);
            }
        }
        if !self.warnings.is_empty() {
            line["warnings"] = json!(self.warnings);
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_test_report_line_keeps_the_first_version_fields() {
        let r = TestReport {
            group: "unit".into(),
            format: "JUNITXML".into(),
            status: ReportStatus::Failed,
            files: vec!["r.xml".into()],
            body: ReportBody::Test(TestSummary {
                tests: 4,
                passed: 1,
                failed: 1,
                skipped: 1,
                errors: 1,
                duration_ms: 12,
                failed_cases: vec![TestCase {
                    name: "adds".into(),
                    prefix: "calc".into(),
                    status: CaseStatus::Failed,
                    message: Some("1 != 2".into()),
                    duration_ms: Some(3),
                }],
                failed_more: 0,
            }),
            warnings: vec![],
        };
        let v = r.to_ndjson(&BuildId("p:u".into()), BackendKind::Local);
        assert_eq!(v["kind"], "test");
        assert_eq!(v["failures"], 2);
        assert_eq!(v["tests"], 4);
        assert_eq!(v["files"][0], "r.xml");
        assert_eq!(v["failed_cases"][0]["status"], "FAILED");
        assert_eq!(v["failed_cases"][0]["message"], "1 != 2");
        assert_eq!(v["backend"], "local");
        assert!(v.get("warnings").is_none());
    }

    #[test]
    fn statuses_read_codebuilds_words() {
        assert_eq!(CaseStatus::parse("error"), CaseStatus::Error);
        assert_eq!(CaseStatus::parse("weird"), CaseStatus::Unknown);
        assert_eq!(ReportStatus::parse("DELETING"), ReportStatus::Incomplete);
        assert!(CaseStatus::Error.is_failure());
    }
}
