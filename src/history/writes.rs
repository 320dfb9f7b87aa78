//! Writing runs: one row at start (`IN_PROGRESS`, with the writer's pid), phases as they
//! start and end, cache reports, regressions, and the final status.

use chrono::{DateTime, Utc};
use rusqlite::params;

use super::error::{HistoryError, Result};
use super::store::{Store, int, ts};
use crate::model::{
    BackendKind, BatchMember, CacheReport, PhaseContext, PhaseKind, Regression, Status,
};

/// A run as it starts.
#[derive(Clone, Debug)]
pub struct NewRun<'a> {
    pub build_id: &'a str,
    pub project: &'a str,
    pub backend: BackendKind,
    pub image: &'a str,
    pub docker: crate::model::DockerAccess,
    /// The batch and node the build is a child of; `None` outside batches.
    pub batch: Option<&'a BatchMember>,
    pub started_at: DateTime<Utc>,
}

/// A phase as it ends.
#[derive(Clone, Debug)]
pub struct PhaseEnd<'a> {
    pub phase: PhaseKind,
    pub attempt: u32,
    pub status: Status,
    pub duration_ms: u64,
    pub context: &'a PhaseContext,
    pub ended_at: DateTime<Utc>,
}

impl Store {
    /// Records a run that has just started (`IN_PROGRESS`, owned by this process). Seeing the
    /// same build again (a cloud build followed twice) keeps the first row.
    pub fn begin_run(&self, run: &NewRun<'_>) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO runs (build_id, project, backend, image, started_at, status, writer_pid,
                     docker, batch_id, batch_identifier)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'IN_PROGRESS', ?6, ?7, ?8, ?9)
                 ON CONFLICT (build_id) DO UPDATE SET status = 'IN_PROGRESS',
                     writer_pid = excluded.writer_pid, interrupted = 0,
                     docker = excluded.docker,
                     batch_id = COALESCE(excluded.batch_id, batch_id),
                     batch_identifier = COALESCE(excluded.batch_identifier, batch_identifier)",
                params![
                    run.build_id,
                    run.project,
                    run.backend.as_str(),
                    run.image,
                    ts(run.started_at),
                    std::process::id(),
                    serde_json::to_value(run.docker)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned)),
                    run.batch.map(|b| b.batch_id.as_str()),
                    run.batch.map(|b| b.identifier.as_str())
                ],
            )
            .map_err(|e| self.db(e))?;
        Ok(())
    }

    /// Records the commit or branch a run built.
    pub fn set_source_version(&self, build_id: &str, version: &str) -> Result<()> {
        self.conn
            .execute(
                "UPDATE runs SET source_version = ?2 WHERE build_id = ?1",
                params![build_id, version],
            )
            .map_err(|e| self.db(e))?;
        Ok(())
    }

    /// Records where a run's compressed log is (relative to `logs_dir`).
    pub(crate) fn set_log_path(&self, build_id: &str, file: &str) -> Result<()> {
        self.conn
            .execute(
                "UPDATE runs SET log_path = ?2 WHERE build_id = ?1",
                params![build_id, file],
            )
            .map_err(|e| self.db(e))?;
        Ok(())
    }

    /// A phase began: an `IN_PROGRESS` row, so a killed run still shows where it was.
    pub fn phase_started(
        &self,
        build_id: &str,
        phase: PhaseKind,
        attempt: u32,
        at: DateTime<Utc>,
    ) -> Result<()> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO phases (build_id, phase, attempt, status, started_at)
                 VALUES (?1, ?2, ?3, 'IN_PROGRESS', ?4)",
                params![build_id, phase.as_str(), attempt, ts(at)],
            )
            .map_err(|e| self.db(e))?;
        Ok(())
    }

    /// A phase ended.
    pub fn phase_finished(&self, build_id: &str, end: &PhaseEnd<'_>) -> Result<()> {
        let started = end
            .ended_at
            .checked_sub_signed(chrono::Duration::milliseconds(
                i64::try_from(end.duration_ms).unwrap_or(i64::MAX),
            ))
            .unwrap_or(end.ended_at);
        self.conn
            .execute(
                "INSERT INTO phases (build_id, phase, attempt, status, started_at, ended_at,
                     duration_ms, context_code, context_message)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                 ON CONFLICT (build_id, phase, attempt) DO UPDATE SET status = excluded.status,
                     ended_at = excluded.ended_at, duration_ms = excluded.duration_ms,
                     context_code = excluded.context_code,
                     context_message = excluded.context_message",
                params![
                    build_id,
                    end.phase.as_str(),
                    end.attempt,
                    end.status.as_str(),
                    ts(started),
                    ts(end.ended_at),
                    int(end.duration_ms),
                    end.context.status_code,
                    end.context.message
                ],
            )
            .map_err(|e| self.db(e))?;
        Ok(())
    }

    /// Stores a cache report (replacing the live one of the same docker build); a finished
    /// report also stores its steps, for the time-saved lookup.
    pub fn save_cache_report(&mut self, build_id: &str, report: &CacheReport) -> Result<()> {
        let json = serde_json::to_string(report).map_err(|e| self.corrupt(e.to_string()))?;
        let path = self.path.clone();
        let db = |source| HistoryError::Db {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(db)?;
        tx.execute(
            "INSERT OR REPLACE INTO cache_reports (build_id, docker_build, image, builder,
                 steps_total, steps_cached, finished, report)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                build_id,
                report.docker_build,
                report.image,
                report.builder.as_str(),
                report.steps_total,
                report.steps_cached,
                report.finished,
                json
            ],
        )
        .map_err(db)?;
        if report.finished {
            for (pos, step) in report.steps.iter().enumerate() {
                tx.execute(
                    "INSERT OR REPLACE INTO cache_steps (build_id, docker_build, position, step,
                         instruction, cached, duration_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![
                        build_id,
                        report.docker_build,
                        int(pos),
                        step.index,
                        step.instruction,
                        step.cached,
                        step.duration_ms.map(int)
                    ],
                )
                .map_err(db)?;
            }
        }
        tx.commit().map_err(db)
    }

    /// Adds regressions found for a run after the ones it has: a run may get them in more
    /// than one call (a backend's `BuildEvent::Regression`s as they come, then the checks at
    /// its end), and none replaces another. One the run already has (same kind, phase and
    /// message: two processes following one cloud build) is not added twice.
    pub fn save_regressions(&self, build_id: &str, found: &[Regression]) -> Result<()> {
        for r in found {
            // Numbered in the statement itself: the next after the run's last.
            self.conn
                .execute(
                    "INSERT INTO regressions (build_id, seq, phase, kind, message,
                         baseline, current, baseline_runs)
                     SELECT ?1,
                         (SELECT COALESCE(MAX(seq) + 1, 0) FROM regressions WHERE build_id = ?1),
                         ?2, ?3, ?4, ?5, ?6, ?7
                     WHERE NOT EXISTS (SELECT 1 FROM regressions WHERE build_id = ?1
                         AND phase IS ?2 AND kind = ?3 AND message = ?4)",
                    params![
                        build_id,
                        r.phase.map(PhaseKind::as_str),
                        r.kind.as_str(),
                        r.message,
                        r.baseline,
                        r.current,
                        r.baseline_runs
                    ],
                )
                .map_err(|e| self.db(e))?;
        }
        Ok(())
    }

    /// Forgets a run's regressions: it starts again (a resume, a cloud build followed
    /// again) and is judged again at its new end.
    pub fn clear_regressions(&self, build_id: &str) -> Result<()> {
        self.conn
            .execute(
                "DELETE FROM regressions WHERE build_id = ?1",
                params![build_id],
            )
            .map_err(|e| self.db(e))?;
        Ok(())
    }

    /// The run ended. Its COMPLETED phase, which starts as the build ends and never
    /// finishes on its own (as in `BatchGetBuilds`, it has a start and no status), takes the
    /// build's final status, so a finished build shows no phase in progress.
    pub fn finish_run(
        &self,
        build_id: &str,
        status: Status,
        duration_ms: u64,
        at: DateTime<Utc>,
    ) -> Result<()> {
        self.conn
            .execute(
                "UPDATE runs SET status = ?2, exit_code = ?3, duration_ms = ?4, ended_at = ?5
                 WHERE build_id = ?1",
                params![
                    build_id,
                    status.as_str(),
                    status.exit_code(),
                    int(duration_ms),
                    ts(at)
                ],
            )
            .map_err(|e| self.db(e))?;
        self.conn
            .execute(
                "UPDATE phases SET status = ?2, ended_at = ?3
                 WHERE build_id = ?1 AND phase = 'COMPLETED' AND status = 'IN_PROGRESS'",
                params![build_id, status.as_str(), ts(at)],
            )
            .map_err(|e| self.db(e))?;
        Ok(())
    }

    /// Records a build's exported variables (values as the event carries them: masked).
    pub fn save_exported(
        &self,
        build_id: &str,
        vars: &std::collections::BTreeMap<String, String>,
    ) -> Result<()> {
        let json = serde_json::to_string(vars).unwrap_or_else(|_| "{}".into());
        self.conn
            .execute(
                "UPDATE runs SET exported_variables = ?2 WHERE build_id = ?1",
                params![build_id, json],
            )
            .map_err(|e| self.db(e))?;
        Ok(())
    }
}
