//! Merged fanout reports (reference §3.7): the same group's reports of a batch's shards as one
//! report, as CodeBuild attaches to the batch. Test counts are summed, the duration is the
//! longest shard's, the failed cases are the union (up to [`MAX_FAILED_CASES`]); coverage
//! counts are summed and the percentages recomputed. Status: `INCOMPLETE` when any shard's is
//! (or is still generating), else `FAILED` when any failed, else `SUCCEEDED`.
//!
//! A report carries totals, not per-file coverage, so the merged `files` is the largest
//! shard's count (shards usually cover the same sources) — a choice; CodeBuild keeps per file
//! the shard with the best line coverage, which [`super::tally::CoverageTally::merge`] does
//! within one group's raw files.

use crate::model::{
    CoverageSummary, MAX_FAILED_CASES, ReportBody, ReportStatus, TestReport, TestSummary,
};

use super::tally::pct;

/// The merged report of `shards` (`None` without shards, or when they mix test and
/// coverage reports).
#[must_use]
pub fn merge(shards: &[TestReport]) -> Option<TestReport> {
    let first = shards.first()?;
    let body = match &first.body {
        ReportBody::Test(_) => ReportBody::Test(merge_tests(shards)?),
        ReportBody::Coverage(_) => ReportBody::Coverage(merge_coverage(shards)?),
    };
    let status = if shards.iter().any(|r| {
        matches!(
            r.status,
            ReportStatus::Incomplete | ReportStatus::Generating
        )
    }) {
        ReportStatus::Incomplete
    } else if shards.iter().any(|r| r.status == ReportStatus::Failed) {
        ReportStatus::Failed
    } else {
        ReportStatus::Succeeded
    };
    Some(TestReport {
        group: first.group.clone(),
        format: first.format.clone(),
        status,
        files: shards
            .iter()
            .flat_map(|r| r.files.iter().cloned())
            .collect(),
        body,
        warnings: shards
            .iter()
            .flat_map(|r| r.warnings.iter().cloned())
            .collect(),
    })
}

fn merge_tests(shards: &[TestReport]) -> Option<TestSummary> {
    let mut m = TestSummary::default();
    for r in shards {
        let ReportBody::Test(t) = &r.body else {
            return None;
        };
        m.tests += t.tests;
        m.passed += t.passed;
        m.failed += t.failed;
        m.skipped += t.skipped;
        m.errors += t.errors;
        m.duration_ms = m.duration_ms.max(t.duration_ms);
        m.failed_more += t.failed_more;
        for c in &t.failed_cases {
            if m.failed_cases.len() < MAX_FAILED_CASES {
                m.failed_cases.push(c.clone());
            } else {
                m.failed_more += 1;
            }
        }
    }
    Some(m)
}

fn merge_coverage(shards: &[TestReport]) -> Option<CoverageSummary> {
    let mut m = CoverageSummary::default();
    let mut branches = false;
    for r in shards {
        let ReportBody::Coverage(c) = &r.body else {
            return None;
        };
        m.lines_covered += c.lines_covered;
        m.lines_missed += c.lines_missed;
        m.branches_covered += c.branches_covered;
        m.branches_missed += c.branches_missed;
        m.files = m.files.max(c.files);
        branches |= c.branch_pct.is_some();
    }
    m.line_pct = pct(m.lines_covered, m.lines_missed);
    m.branch_pct = branches.then(|| pct(m.branches_covered, m.branches_missed));
    Some(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::{Format, GroupParse};

    fn parsed(format: Format, data: &[u8]) -> TestReport {
        let mut g = GroupParse::new("g", format);
        g.add("f", data);
        g.finish()
    }

    #[test]
    fn shards_sum_counts_take_the_longest_duration_and_join_failures() {
        let junit = include_bytes!("../../tests/fixtures/reports/junit.xml");
        let passing = br#"<testsuite name="s" tests="1"><testcase classname="c" name="ok" time="0.5"/></testsuite>"#;
        let m = merge(&[
            parsed(Format::JunitXml, junit),
            parsed(Format::JunitXml, passing),
        ])
        .expect("merged");
        assert_eq!(m.status, ReportStatus::Failed);
        let ReportBody::Test(t) = &m.body else {
            panic!("test body")
        };
        assert_eq!(
            (t.tests, t.passed, t.failed, t.errors, t.skipped),
            (5, 2, 1, 1, 1)
        );
        assert_eq!(t.duration_ms, 500);
        assert_eq!(t.failed_cases.len(), 2);
        assert_eq!(m.files, ["f", "f"]);
    }

    #[test]
    fn coverage_shards_sum_and_recompute_and_incomplete_wins() {
        let cob = include_bytes!("../../tests/fixtures/reports/cobertura.xml");
        let lcov = include_bytes!("../../tests/fixtures/reports/lcov.info");
        let mut second = parsed(Format::LcovInfo, lcov);
        let m = merge(&[parsed(Format::CoberturaXml, cob), second.clone()]).expect("merged");
        let ReportBody::Coverage(c) = &m.body else {
            panic!("coverage body")
        };
        assert_eq!((c.lines_covered, c.lines_missed, c.files), (7, 4, 2));
        assert!((c.line_pct - 700.0 / 11.0).abs() < 1e-9);
        assert_eq!(c.branch_pct, Some(50.0));
        assert_eq!(m.status, ReportStatus::Succeeded);
        second.status = ReportStatus::Incomplete;
        let m = merge(&[parsed(Format::CoberturaXml, cob), second]).expect("merged");
        assert_eq!(m.status, ReportStatus::Incomplete);
        let test = parsed(
            Format::JunitXml,
            include_bytes!("../../tests/fixtures/reports/junit.xml"),
        );
        assert!(merge(&[parsed(Format::CoberturaXml, cob), test]).is_none());
        assert!(merge(&[]).is_none());
    }
}
