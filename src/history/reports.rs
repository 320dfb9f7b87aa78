//! Report groups in the history: one row per group and run (schema v6) with what a trend
//! needs (pass rate, duration, line and branch coverage), the failed cases' names, and the
//! whole report as JSON (the dashboard's past builds show it as it was).

use rusqlite::{OptionalExtension, params};

use super::error::Result;
use super::store::{Store, int, uint};
use crate::model::{ReportBody, TestReport};

/// What the regression check needs of one group's report.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReportRow {
    pub group: String,
    /// Passed over all tests, in percent (test reports).
    pub pass_rate: Option<f64>,
    /// Covered lines over all lines, in percent (coverage reports).
    pub line_pct: Option<f64>,
    /// `prefix name` of each failed or errored case kept with the report.
    pub failed_cases: Vec<String>,
    /// Whether `failed_cases` names every failure (none were counted beyond the limit).
    pub failed_complete: bool,
}

/// One run's point of a group's trend.
#[derive(Clone, Debug, PartialEq)]
pub struct TrendPoint {
    pub build_id: String,
    pub pass_rate: Option<f64>,
    pub line_pct: Option<f64>,
    pub duration_ms: Option<u64>,
}

/// A case's name as the history keeps it.
#[must_use]
pub fn case_key(prefix: &str, name: &str) -> String {
    if prefix.is_empty() || name.starts_with(prefix) {
        name.to_owned()
    } else {
        format!("{prefix}.{name}")
    }
}

#[allow(clippy::cast_precision_loss)] // counts far below 2^52
fn pass_rate(passed: u64, tests: u64) -> Option<f64> {
    (tests > 0).then(|| passed as f64 * 100.0 / tests as f64)
}

impl Store {
    /// Records a group's report (a second report of the same group replaces the first).
    pub fn save_report(&self, build_id: &str, r: &TestReport) -> Result<()> {
        let json = serde_json::to_string(r).map_err(|e| self.corrupt(format!("report: {e}")))?;
        let (kind, tests, passed, rate, dur, failed, complete, line, branch) = match &r.body {
            ReportBody::Test(t) => {
                let names: Vec<String> = t
                    .failed_cases
                    .iter()
                    .map(|c| case_key(&c.prefix, &c.name))
                    .collect();
                (
                    "test",
                    Some(int(t.tests)),
                    Some(int(t.passed)),
                    pass_rate(t.passed, t.tests),
                    Some(int(t.duration_ms)),
                    names,
                    t.failed_more == 0,
                    None,
                    None,
                )
            }
            ReportBody::Coverage(c) => (
                "coverage",
                None,
                None,
                None,
                None,
                Vec::new(),
                true,
                Some(c.line_pct),
                c.branch_pct,
            ),
        };
        let failed = serde_json::to_string(&failed).unwrap_or_else(|_| "[]".into());
        self.conn
            .execute(
                "INSERT OR REPLACE INTO report_groups (build_id, report_group, format, kind, status,
                     tests, passed, pass_rate, duration_ms, line_pct, branch_pct, failed_cases,
                     failed_complete, report)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
                params![
                    build_id,
                    r.group,
                    r.format,
                    kind,
                    r.status.as_str(),
                    tests,
                    passed,
                    rate,
                    dur,
                    line,
                    branch,
                    failed,
                    complete,
                    json
                ],
            )
            .map_err(|e| self.db(e))?;
        Ok(())
    }

    /// A run's reports, by group name.
    pub fn reports(&self, build_id: &str) -> Result<Vec<TestReport>> {
        self.json_rows(
            "SELECT report FROM report_groups WHERE build_id = ?1 ORDER BY report_group",
            build_id,
            "report",
        )
    }

    /// A run's report rows, for the regression check (incomplete reports say nothing).
    pub fn report_rows(&self, build_id: &str) -> Result<Vec<ReportRow>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT report_group, pass_rate, line_pct, failed_cases, failed_complete
                 FROM report_groups WHERE build_id = ?1 AND status != 'INCOMPLETE'
                 ORDER BY report_group",
            )
            .map_err(|e| self.db(e))?;
        stmt.query_map(params![build_id], row)
            .and_then(Iterator::collect)
            .map_err(|e| self.db(e))
    }

    /// The same group's complete report in the run before `exclude` of the same project,
    /// backend and batch task.
    pub fn previous_report(
        &self,
        project: &str,
        backend: &str,
        identifier: Option<&str>,
        exclude: &str,
        group: &str,
    ) -> Result<Option<ReportRow>> {
        self.conn
            .query_row(
                "SELECT g.report_group, g.pass_rate, g.line_pct, g.failed_cases, g.failed_complete
                 FROM report_groups g JOIN runs r ON r.build_id = g.build_id
                 WHERE r.project = ?1 AND r.backend = ?2 AND r.batch_identifier IS ?3
                     AND r.build_id != ?4 AND g.report_group = ?5 AND g.status != 'INCOMPLETE'
                     AND r.started_at <= (SELECT started_at FROM runs WHERE build_id = ?4)
                 ORDER BY r.started_at DESC LIMIT 1",
                params![project, backend, identifier, exclude, group],
                row,
            )
            .optional()
            .map_err(|e| self.db(e))
    }

    /// Per run, newest first, a group's pass rate or line coverage and duration (a trend).
    pub fn report_trend(&self, project: &str, group: &str, n: usize) -> Result<Vec<TrendPoint>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT g.build_id, g.pass_rate, g.line_pct, g.duration_ms
                 FROM report_groups g JOIN runs r ON r.build_id = g.build_id
                 WHERE r.project = ?1 AND g.report_group = ?2
                 ORDER BY r.started_at DESC LIMIT ?3",
            )
            .map_err(|e| self.db(e))?;
        stmt.query_map(params![project, group, int(n)], |r| {
            let dur: Option<i64> = r.get(3)?;
            Ok(TrendPoint {
                build_id: r.get(0)?,
                pass_rate: r.get(1)?,
                line_pct: r.get(2)?,
                duration_ms: dur.map(uint),
            })
        })
        .and_then(Iterator::collect)
        .map_err(|e| self.db(e))
    }
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ReportRow> {
    let failed: String = r.get(3)?;
    Ok(ReportRow {
        group: r.get(0)?,
        pass_rate: r.get(1)?,
        line_pct: r.get(2)?,
        failed_cases: serde_json::from_str(&failed).unwrap_or_default(),
        failed_complete: r.get(4)?,
    })
}
