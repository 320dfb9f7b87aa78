//! Reading the history: run lists, one run in full, the baseline of recent successful runs
//! and the last build durations of instructions.

use std::collections::HashMap;

use rusqlite::{OptionalExtension, Row, params};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::Result;
use super::regress::RunMetrics;
use super::store::{Store, uint};
use crate::model::{CacheReport, PhaseKind, Regression, RegressionKind, TestReport};

/// One line of `cbdash history`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunSummary {
    pub build_id: String,
    pub project: String,
    pub backend: String,
    pub image: Option<String>,
    /// How the build reached Docker (`none`, `host_socket`, `privileged`); `None` before v4.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub docker: Option<String>,
    pub source_version: Option<String>,
    pub status: String,
    pub interrupted: bool,
    pub exit_code: Option<i64>,
    pub started_at: String,
    pub ended_at: Option<String>,
    pub duration_ms: Option<u64>,
    /// Cached over cacheable steps of the run's finished docker builds, in percent.
    pub cache_hit_pct: Option<f64>,
    /// The batch the build was a child of (from v5).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch_id: Option<String>,
    /// Its node's identifier in that batch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identifier: Option<String>,
}

/// One phase attempt of a run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PhaseRow {
    pub phase: String,
    pub attempt: u32,
    pub status: String,
    pub started_at: Option<String>,
    pub ended_at: Option<String>,
    pub duration_ms: Option<u64>,
    pub context_code: String,
    pub context_message: String,
}

/// `cbdash history show`: a run with its phases, cache reports, test reports and regressions.
/// Which runs of a docker build step [`Store::last_step_durations`] reads: the last time it
/// was built (what a cache hit saves) or the last time it came from the cache (what a miss
/// loses against it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepRun {
    Built,
    Cached,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunDetail {
    #[serde(flatten)]
    pub run: RunSummary,
    pub phases: Vec<PhaseRow>,
    pub cache_reports: Vec<CacheReport>,
    /// Its report groups' reports as they were (by group name), so a past build shows them.
    pub reports: Vec<TestReport>,
    pub regressions: Vec<Regression>,
    /// `env.exported-variables` at the build's end (masked values as `***`).
    pub exported_variables: std::collections::BTreeMap<String, String>,
}

const SUMMARY_COLUMNS: &str = "r.build_id, r.project, r.backend, r.image, r.source_version,
    r.status, r.interrupted, r.exit_code, r.started_at, r.ended_at, r.duration_ms,
    (SELECT 100.0 * SUM(steps_cached) / NULLIF(SUM(steps_total), 0) FROM cache_reports c
        WHERE c.build_id = r.build_id AND c.finished = 1), r.docker, r.batch_id,
    r.batch_identifier";

fn summary_row(r: &Row<'_>) -> rusqlite::Result<RunSummary> {
    Ok(RunSummary {
        build_id: r.get(0)?,
        project: r.get(1)?,
        backend: r.get(2)?,
        image: r.get(3)?,
        source_version: r.get(4)?,
        status: r.get(5)?,
        interrupted: r.get(6)?,
        exit_code: r.get(7)?,
        started_at: r.get(8)?,
        ended_at: r.get(9)?,
        duration_ms: r.get::<_, Option<i64>>(10)?.map(uint),
        cache_hit_pct: r.get(11)?,
        docker: r.get(12)?,
        batch_id: r.get(13)?,
        identifier: r.get(14)?,
    })
}

impl Store {
    /// The most recent runs, newest first, of one project or of all.
    pub fn list_runs(&self, project: Option<&str>, limit: usize) -> Result<Vec<RunSummary>> {
        let sql = format!(
            "SELECT {SUMMARY_COLUMNS} FROM runs r WHERE (?1 IS NULL OR r.project = ?1)
             ORDER BY r.started_at DESC LIMIT ?2"
        );
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.db(e))?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        stmt.query_map(params![project, limit], summary_row)
            .and_then(Iterator::collect)
            .map_err(|e| self.db(e))
    }

    /// One run in full, or `None` when the id is unknown. A unique prefix of the uuid
    /// part, or of the whole id, also finds it.
    pub fn run(&self, build_id: &str) -> Result<Option<RunDetail>> {
        let sql = format!(
            "SELECT {SUMMARY_COLUMNS} FROM runs r WHERE r.build_id = ?1
                OR r.build_id LIKE ?1 || '%' OR r.build_id LIKE '%:' || ?1 || '%'
             ORDER BY (r.build_id = ?1) DESC, r.started_at DESC LIMIT 1"
        );
        let run = self
            .conn
            .query_row(&sql, params![build_id], summary_row)
            .optional()
            .map_err(|e| self.db(e))?;
        let Some(run) = run else { return Ok(None) };
        let phases = self.phases(&run.build_id)?;
        let cache_reports = self.cache_reports(&run.build_id)?;
        let reports = self.reports(&run.build_id)?;
        let regressions = self.regressions(&run.build_id)?;
        let exported_variables = self.exported(&run.build_id)?;
        Ok(Some(RunDetail {
            run,
            phases,
            cache_reports,
            reports,
            regressions,
            exported_variables,
        }))
    }

    fn exported(&self, build_id: &str) -> Result<std::collections::BTreeMap<String, String>> {
        let json: String = self
            .conn
            .query_row(
                "SELECT exported_variables FROM runs WHERE build_id = ?1",
                params![build_id],
                |r| r.get(0),
            )
            .map_err(|e| self.db(e))?;
        Ok(serde_json::from_str(&json).unwrap_or_default())
    }

    fn phases(&self, build_id: &str) -> Result<Vec<PhaseRow>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT phase, attempt, status, started_at, ended_at, duration_ms, context_code,
                     context_message FROM phases WHERE build_id = ?1
                 ORDER BY attempt",
            )
            .map_err(|e| self.db(e))?;
        let mut rows: Vec<PhaseRow> = stmt
            .query_map(params![build_id], |r| {
                Ok(PhaseRow {
                    phase: r.get(0)?,
                    attempt: r.get(1)?,
                    status: r.get(2)?,
                    started_at: r.get(3)?,
                    ended_at: r.get(4)?,
                    duration_ms: r.get::<_, Option<i64>>(5)?.map(uint),
                    context_code: r.get(6)?,
                    context_message: r.get(7)?,
                })
            })
            .and_then(Iterator::collect)
            .map_err(|e| self.db(e))?;
        // Phases in CodeBuild's order, attempts in order (timestamps can tie).
        rows.sort_by_key(|p| (PhaseKind::from_api(&p.phase), p.attempt));
        Ok(rows)
    }

    fn cache_reports(&self, build_id: &str) -> Result<Vec<CacheReport>> {
        self.json_rows(
            "SELECT report FROM cache_reports WHERE build_id = ?1 ORDER BY docker_build",
            build_id,
            "cache report",
        )
    }

    /// The JSON documents `sql` gives for one run (`?1`: its build id), decoded; `what` names
    /// them in the error a bad one gives.
    pub(super) fn json_rows<T: DeserializeOwned>(
        &self,
        sql: &str,
        build_id: &str,
        what: &str,
    ) -> Result<Vec<T>> {
        let mut stmt = self.conn.prepare(sql).map_err(|e| self.db(e))?;
        let texts: Vec<String> = stmt
            .query_map(params![build_id], |r| r.get(0))
            .and_then(Iterator::collect)
            .map_err(|e| self.db(e))?;
        texts
            .iter()
            .map(|t| serde_json::from_str(t).map_err(|e| self.corrupt(format!("{what}: {e}"))))
            .collect()
    }

    fn regressions(&self, build_id: &str) -> Result<Vec<Regression>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT phase, kind, message, baseline, current, baseline_runs FROM regressions
                 WHERE build_id = ?1 ORDER BY seq",
            )
            .map_err(|e| self.db(e))?;
        stmt.query_map(params![build_id], |r| {
            let phase: Option<String> = r.get(0)?;
            let kind: String = r.get(1)?;
            Ok(Regression {
                phase: phase.as_deref().and_then(PhaseKind::from_api),
                kind: RegressionKind::parse(&kind),
                message: r.get(2)?,
                baseline: r.get(3)?,
                current: r.get(4)?,
                baseline_runs: r.get(5)?,
            })
        })
        .and_then(Iterator::collect)
        .map_err(|e| self.db(e))
    }

    /// Metrics of one run, for the regression check: each phase's last attempt.
    pub fn metrics(&self, build_id: &str) -> Result<RunMetrics> {
        let mut stmt = self
            .conn
            .prepare(
                // The last attempt of each phase: a resumed phase's earlier, failed attempts
                // say nothing about how long the phase takes.
                "SELECT phase, duration_ms FROM phases p
                 WHERE build_id = ?1 AND duration_ms IS NOT NULL
                   AND attempt = (SELECT MAX(attempt) FROM phases q
                                  WHERE q.build_id = p.build_id AND q.phase = p.phase
                                    AND q.duration_ms IS NOT NULL)",
            )
            .map_err(|e| self.db(e))?;
        let phases: Vec<(String, u64)> = stmt
            .query_map(params![build_id], |r| Ok((r.get(0)?, uint(r.get(1)?))))
            .and_then(Iterator::collect)
            .map_err(|e| self.db(e))?;
        let cache_hit_pct: Option<f64> = self
            .conn
            .query_row(
                "SELECT 100.0 * SUM(steps_cached) / NULLIF(SUM(steps_total), 0)
                 FROM cache_reports WHERE build_id = ?1 AND finished = 1",
                params![build_id],
                |r| r.get(0),
            )
            .map_err(|e| self.db(e))?;
        Ok(RunMetrics {
            phases: phases
                .into_iter()
                .filter_map(|(p, ms)| PhaseKind::from_api(&p).map(|p| (p, ms)))
                .collect(),
            cache_hit_pct,
        })
    }

    /// The metrics of the last `n` successful runs of a project and backend outside batches,
    /// newest first, leaving out `exclude` (the run being judged).
    pub fn baseline(
        &self,
        project: &str,
        backend: &str,
        exclude: &str,
        n: usize,
    ) -> Result<Vec<RunMetrics>> {
        self.task_baseline(project, backend, None, exclude, n)
    }

    /// The metrics of the last `n` successful runs of a project and backend that ran as the
    /// batch task `identifier` (in any batch of the project), or outside batches for `None`;
    /// newest first, leaving out `exclude`. A batch's tasks run different commands, so a
    /// task is only ever compared with itself.
    pub fn task_baseline(
        &self,
        project: &str,
        backend: &str,
        identifier: Option<&str>,
        exclude: &str,
        n: usize,
    ) -> Result<Vec<RunMetrics>> {
        let mut stmt = self
            .conn
            .prepare(
                // `IS`: NULL (outside batches) matches NULL.
                "SELECT build_id FROM runs WHERE project = ?1 AND backend = ?2
                     AND batch_identifier IS ?3
                     AND status = 'SUCCEEDED' AND build_id != ?4
                 ORDER BY started_at DESC LIMIT ?5",
            )
            .map_err(|e| self.db(e))?;
        let n = i64::try_from(n).unwrap_or(i64::MAX);
        let ids: Vec<String> = stmt
            .query_map(params![project, backend, identifier, exclude, n], |r| {
                r.get(0)
            })
            .and_then(Iterator::collect)
            .map_err(|e| self.db(e))?;
        ids.iter().map(|id| self.metrics(id)).collect()
    }

    /// For each instruction of a project's docker builds: how long it took the most recent
    /// time it ran as `ran` says. A built step without a duration is skipped (nothing to
    /// save against); a cached step without one counts as 0 (docker printed none for a
    /// quick cache hit), the baseline of `cache::time_lost`.
    pub fn last_step_durations(&self, project: &str, ran: StepRun) -> Result<HashMap<String, u64>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT s.instruction, s.duration_ms FROM cache_steps s
                 JOIN runs r ON r.build_id = s.build_id
                 WHERE r.project = ?1 AND s.cached = ?2
                   AND (s.cached = 1 OR s.duration_ms IS NOT NULL)
                 ORDER BY r.started_at ASC",
            )
            .map_err(|e| self.db(e))?;
        let rows: Vec<(String, u64)> = stmt
            .query_map(params![project, ran == StepRun::Cached], |r| {
                Ok((r.get(0)?, r.get::<_, Option<i64>>(1)?.map_or(0, uint)))
            })
            .and_then(Iterator::collect)
            .map_err(|e| self.db(e))?;
        // Oldest first, so the newest duration of each instruction wins.
        Ok(rows.into_iter().collect())
    }
}
