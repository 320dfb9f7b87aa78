//! Reading batches: the recent ones of a project (or of all), and one batch with its nodes in
//! the order the batch lists them, each with its builds in attempt order.

use rusqlite::{OptionalExtension, Row, params};
use serde::Serialize;

use super::error::Result;
use super::store::{Store, uint};

/// One past batch, as `cbdash history` lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BatchSummary {
    pub batch_id: String,
    pub project: String,
    pub backend: String,
    /// `graph`, `list`, `matrix` or `fanout`.
    pub kind: String,
    /// The API word (`SUCCEEDED`, `FAILED`, `STOPPED`, `IN_PROGRESS`, or one it sent raw).
    pub status: String,
    /// cbdash died while it ran: stopped without an outcome.
    pub interrupted: bool,
    /// Runs of the batch: 1, plus one per resume (local) or retry (cloud).
    pub attempts: u32,
    pub started_at: String,
    pub ended_at: Option<String>,
    pub duration_ms: Option<u64>,
    /// Nodes by their current status.
    pub nodes: NodeCounts,
}

/// How many of a batch's nodes ended how.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct NodeCounts {
    pub total: u32,
    pub succeeded: u32,
    /// `FAILED`, `FAULT`, `TIMED_OUT`.
    pub failed: u32,
    pub stopped: u32,
}

/// One node of a batch with its builds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NodeRow {
    pub identifier: String,
    pub depends_on: Vec<String>,
    pub ignore_failure: bool,
    pub label: Option<String>,
    /// The node's current status (`PENDING` until it starts; `STOPPED` for a dependent of a
    /// failed task that never started).
    pub status: String,
    /// Its latest build, if it ever started.
    pub build_id: Option<String>,
    /// Attempts so far (0: never started).
    pub attempt: u32,
    pub duration_ms: Option<u64>,
    /// Every build of the node, oldest attempt first.
    pub builds: Vec<NodeBuild>,
}

/// One attempt of a node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NodeBuild {
    pub attempt: u32,
    pub build_id: String,
    pub status: String,
    pub started_at: Option<String>,
    pub ended_at: Option<String>,
    pub duration_ms: Option<u64>,
}

/// `cbdash history show BATCH_ID`: a batch with its nodes in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BatchDetail {
    #[serde(flatten)]
    pub batch: BatchSummary,
    pub builds: Vec<NodeRow>,
}

const BATCH_COLUMNS: &str = "b.batch_id, b.project, b.backend, b.kind, b.status,
    b.interrupted, b.attempts, b.started_at, b.ended_at, b.duration_ms,
    (SELECT COUNT(*) FROM batch_nodes n WHERE n.batch_id = b.batch_id),
    (SELECT COUNT(*) FROM batch_nodes n WHERE n.batch_id = b.batch_id
        AND n.status = 'SUCCEEDED'),
    (SELECT COUNT(*) FROM batch_nodes n WHERE n.batch_id = b.batch_id
        AND n.status IN ('FAILED', 'FAULT', 'TIMED_OUT')),
    (SELECT COUNT(*) FROM batch_nodes n WHERE n.batch_id = b.batch_id
        AND n.status = 'STOPPED')";

fn batch_row(r: &Row<'_>) -> rusqlite::Result<BatchSummary> {
    Ok(BatchSummary {
        batch_id: r.get(0)?,
        project: r.get(1)?,
        backend: r.get(2)?,
        kind: r.get(3)?,
        status: r.get(4)?,
        interrupted: r.get(5)?,
        attempts: r.get(6)?,
        started_at: r.get(7)?,
        ended_at: r.get(8)?,
        duration_ms: r.get::<_, Option<i64>>(9)?.map(uint),
        nodes: NodeCounts {
            total: r.get(10)?,
            succeeded: r.get(11)?,
            failed: r.get(12)?,
            stopped: r.get(13)?,
        },
    })
}

impl Store {
    /// The most recent batches, newest first, of one project or of all.
    pub fn recent_batches(&self, project: Option<&str>, limit: usize) -> Result<Vec<BatchSummary>> {
        let sql = format!(
            "SELECT {BATCH_COLUMNS} FROM batches b WHERE (?1 IS NULL OR b.project = ?1)
             ORDER BY b.started_at DESC LIMIT ?2"
        );
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.db(e))?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        stmt.query_map(params![project, limit], batch_row)
            .and_then(Iterator::collect)
            .map_err(|e| self.db(e))
    }

    /// One batch with its nodes, or `None` when the id is unknown. As for runs, a unique
    /// prefix of the uuid part, or of the whole id, also finds it.
    pub fn batch(&self, batch_id: &str) -> Result<Option<BatchDetail>> {
        let sql = format!(
            "SELECT {BATCH_COLUMNS} FROM batches b WHERE b.batch_id = ?1
                OR b.batch_id LIKE ?1 || '%' OR b.batch_id LIKE '%:' || ?1 || '%'
             ORDER BY (b.batch_id = ?1) DESC, b.started_at DESC LIMIT 1"
        );
        let batch = self
            .conn
            .query_row(&sql, params![batch_id], batch_row)
            .optional()
            .map_err(|e| self.db(e))?;
        let Some(batch) = batch else { return Ok(None) };
        let builds = self.batch_nodes(&batch.batch_id)?;
        Ok(Some(BatchDetail { batch, builds }))
    }

    fn batch_nodes(&self, batch_id: &str) -> Result<Vec<NodeRow>> {
        let mut stmt = self
            .conn
            .prepare(
                // A node's duration, until the batch's end gives it, is its build's.
                "SELECT n.identifier, n.depends_on, n.ignore_failure, n.label, n.status,
                     n.build_id, n.attempt, COALESCE(n.duration_ms, r.duration_ms)
                 FROM batch_nodes n LEFT JOIN runs r ON r.build_id = n.build_id
                 WHERE n.batch_id = ?1 ORDER BY n.position",
            )
            .map_err(|e| self.db(e))?;
        let rows: Vec<(NodeRow, String)> = stmt
            .query_map(params![batch_id], |r| {
                Ok((
                    NodeRow {
                        identifier: r.get(0)?,
                        depends_on: Vec::new(),
                        ignore_failure: r.get(2)?,
                        label: r.get(3)?,
                        status: r.get(4)?,
                        build_id: r.get(5)?,
                        attempt: r.get(6)?,
                        duration_ms: r.get::<_, Option<i64>>(7)?.map(uint),
                        builds: Vec::new(),
                    },
                    r.get(1)?,
                ))
            })
            .and_then(Iterator::collect)
            .map_err(|e| self.db(e))?;
        rows.into_iter()
            .map(|(mut node, depends_on)| {
                node.depends_on = serde_json::from_str(&depends_on)
                    .map_err(|e| self.corrupt(format!("depends_on of {}: {e}", node.identifier)))?;
                node.builds = self.node_builds(batch_id, &node.identifier)?;
                Ok(node)
            })
            .collect()
    }

    fn node_builds(&self, batch_id: &str, identifier: &str) -> Result<Vec<NodeBuild>> {
        let mut stmt = self
            .conn
            .prepare(
                // Until the batch's end gives a build's duration, its run's stands in, for
                // the node's latest attempt only (a resumed build's run adds all attempts).
                "SELECT b.attempt, b.build_id, b.status, b.started_at, b.ended_at,
                     COALESCE(b.duration_ms,
                         CASE WHEN b.attempt = n.attempt THEN r.duration_ms END)
                 FROM batch_builds b
                 JOIN batch_nodes n ON n.batch_id = b.batch_id AND n.identifier = b.identifier
                 LEFT JOIN runs r ON r.build_id = b.build_id
                 WHERE b.batch_id = ?1 AND b.identifier = ?2 ORDER BY b.attempt",
            )
            .map_err(|e| self.db(e))?;
        stmt.query_map(params![batch_id, identifier], |r| {
            Ok(NodeBuild {
                attempt: r.get(0)?,
                build_id: r.get(1)?,
                status: r.get(2)?,
                started_at: r.get(3)?,
                ended_at: r.get(4)?,
                duration_ms: r.get::<_, Option<i64>>(5)?.map(uint),
            })
        })
        .and_then(Iterator::collect)
        .map_err(|e| self.db(e))
    }
}
