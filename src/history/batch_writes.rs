//! Writing batches: a row when the batch starts (`IN_PROGRESS`, with the writer's pid) and one
//! row per node in the order the batch lists them; node updates as builds start and end; the
//! outcome. A node's builds are kept per attempt, so a resumed node (local: the same build id,
//! a new attempt; cloud retry: a new build) shows every try.

use chrono::{DateTime, Utc};
use rusqlite::{Transaction, params};

use super::error::{HistoryError, Result};
use super::store::{Store, int, ts};
use crate::model::{BackendKind, BatchKind, BatchNode, BatchResult, BuildId, NodeStatus};

/// A batch as it starts (the `BatchStarted` event).
#[derive(Clone, Debug)]
pub struct NewBatch<'a> {
    pub batch_id: &'a str,
    pub project: &'a str,
    pub backend: BackendKind,
    pub kind: BatchKind,
    pub nodes: &'a [BatchNode],
    pub started_at: DateTime<Utc>,
}

/// A node's status changed (the `BatchBuild` event).
#[derive(Clone, Debug)]
pub struct NodeUpdate<'a> {
    pub identifier: &'a str,
    pub build_id: Option<&'a str>,
    pub status: &'a NodeStatus,
    pub attempt: u32,
    pub at: DateTime<Utc>,
}

impl Store {
    /// Records a batch that has just started, or, for a batch id already recorded, its resume:
    /// the same row goes back to `IN_PROGRESS`, its nodes keep their builds (the resume's
    /// `BatchBuild`s update them). A local batch starting again is a resume, one more attempt;
    /// a cloud batch starting again is the same batch followed again, and its attempts are
    /// its nodes' (a retry's builds come as attempt 2, ...).
    pub fn begin_batch(&mut self, batch: &NewBatch<'_>) -> Result<()> {
        self.in_tx(|tx| insert_batch(tx, batch))
    }

    /// A node's status changed: the node takes it, and a node with a build records that
    /// build under its attempt.
    pub fn batch_node(&mut self, batch_id: &str, update: &NodeUpdate<'_>) -> Result<()> {
        if !self.batch_known(batch_id)? {
            return Ok(());
        }
        let state = NodeState {
            identifier: update.identifier,
            build_id: update.build_id,
            status: update.status,
            attempt: update.attempt,
            duration_ms: None,
            at: update.at,
        };
        self.in_tx(|tx| set_node(tx, batch_id, &state))
    }

    /// The batch ended: its status and duration, and every node's last build.
    pub fn finish_batch(
        &mut self,
        batch_id: &str,
        status: &NodeStatus,
        duration_ms: u64,
        nodes: &[BatchResult],
        at: DateTime<Utc>,
    ) -> Result<()> {
        if !self.batch_known(batch_id)? {
            return Ok(());
        }
        self.in_tx(|tx| {
            for node in nodes {
                let state = NodeState {
                    identifier: &node.identifier,
                    build_id: node.build_id.as_ref().map(BuildId::as_str),
                    status: &node.status,
                    attempt: node.attempt,
                    duration_ms: node.duration_ms,
                    at,
                };
                set_node(tx, batch_id, &state)?;
            }
            tx.execute(
                "UPDATE batches SET status = ?2, duration_ms = ?3, ended_at = ?4
                 WHERE batch_id = ?1",
                params![batch_id, status.as_str(), int(duration_ms), ts(at)],
            )?;
            Ok(())
        })
    }

    /// This process gives up on a batch it was recording (cbdash quits mid-batch): as for a
    /// batch whose writer died (see `Store::open`).
    pub(crate) fn mark_batch_abandoned(&mut self, batch_id: &str) -> Result<()> {
        self.in_tx(|tx| interrupt_batch(tx, batch_id))
    }

    /// Whether the batch has a row. Node events of a batch whose start this history never
    /// saw (a recorder opened mid-batch) have nothing to attach to and are left out.
    fn batch_known(&self, batch_id: &str) -> Result<bool> {
        self.conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM batches WHERE batch_id = ?1)",
                params![batch_id],
                |r| r.get(0),
            )
            .map_err(|e| self.db(e))
    }

    /// Runs `f` in one transaction: a batch's rows change together or not at all.
    fn in_tx(&mut self, f: impl FnOnce(&Transaction<'_>) -> rusqlite::Result<()>) -> Result<()> {
        let path = self.path.clone();
        let db = |source| HistoryError::Db { path, source };
        let run = |conn: &mut rusqlite::Connection| {
            let tx = conn.transaction()?;
            f(&tx)?;
            tx.commit()
        };
        run(&mut self.conn).map_err(db)
    }
}

fn insert_batch(tx: &Transaction<'_>, batch: &NewBatch<'_>) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO batches (batch_id, project, backend, kind, started_at, status, writer_pid)
         VALUES (?1, ?2, ?3, ?4, ?5, 'IN_PROGRESS', ?6)
         ON CONFLICT (batch_id) DO UPDATE SET status = 'IN_PROGRESS',
             attempts = attempts + (excluded.backend = 'local'),
             writer_pid = excluded.writer_pid, interrupted = 0, ended_at = NULL",
        params![
            batch.batch_id,
            batch.project,
            batch.backend.as_str(),
            batch.kind.as_str(),
            ts(batch.started_at),
            std::process::id(),
        ],
    )?;
    for (position, node) in batch.nodes.iter().enumerate() {
        // A list of strings always serialises.
        let depends_on = serde_json::to_string(&node.depends_on).unwrap_or_else(|_| "[]".into());
        tx.execute(
            "INSERT INTO batch_nodes (batch_id, identifier, position, depends_on, ignore_failure,
                 label)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (batch_id, identifier) DO UPDATE SET position = excluded.position,
                 depends_on = excluded.depends_on, ignore_failure = excluded.ignore_failure,
                 label = excluded.label",
            params![
                batch.batch_id,
                node.identifier,
                int(position),
                depends_on,
                node.ignore_failure,
                node.label
            ],
        )?;
    }
    Ok(())
}

/// A node's state as an event gives it.
struct NodeState<'a> {
    identifier: &'a str,
    build_id: Option<&'a str>,
    status: &'a NodeStatus,
    attempt: u32,
    duration_ms: Option<u64>,
    at: DateTime<Utc>,
}

fn set_node(
    conn: &rusqlite::Connection,
    batch_id: &str,
    n: &NodeState<'_>,
) -> rusqlite::Result<()> {
    // A node the batch did not list (a cloud poll may show more than the spec said) is still
    // kept, after the listed ones.
    conn.execute(
        "INSERT INTO batch_nodes (batch_id, identifier, position, status, build_id, attempt,
             duration_ms)
         VALUES (?1, ?2,
             (SELECT COALESCE(MAX(position) + 1, 0) FROM batch_nodes WHERE batch_id = ?1),
             ?3, ?4, ?5, ?6)
         ON CONFLICT (batch_id, identifier) DO UPDATE SET status = excluded.status,
             build_id = COALESCE(excluded.build_id, build_id),
             attempt = MAX(attempt, excluded.attempt),
             duration_ms = COALESCE(excluded.duration_ms, duration_ms)",
        params![
            batch_id,
            n.identifier,
            n.status.as_str(),
            n.build_id,
            n.attempt,
            n.duration_ms.map(int)
        ],
    )?;
    // A cloud batch counts its retries by its nodes' attempts (following it again is not one).
    conn.execute(
        "UPDATE batches SET attempts = MAX(attempts, ?2) WHERE batch_id = ?1",
        params![batch_id, n.attempt],
    )?;
    let Some(build_id) = n.build_id else {
        return Ok(());
    };
    let ended = n.status.is_terminal().then(|| ts(n.at));
    conn.execute(
        "INSERT INTO batch_builds (batch_id, identifier, attempt, build_id, status, started_at,
             ended_at, duration_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (batch_id, identifier, attempt) DO UPDATE SET build_id = excluded.build_id,
             status = excluded.status, ended_at = COALESCE(excluded.ended_at, ended_at),
             duration_ms = COALESCE(excluded.duration_ms, duration_ms)",
        params![
            batch_id,
            n.identifier,
            n.attempt,
            build_id,
            n.status.as_str(),
            ts(n.at),
            ended,
            n.duration_ms.map(int)
        ],
    )?;
    Ok(())
}

/// A batch nobody will finish: `STOPPED` and interrupted, as are its nodes and builds that
/// were still running or waiting (they will not start now).
pub(crate) fn interrupt_batch(conn: &rusqlite::Connection, batch_id: &str) -> rusqlite::Result<()> {
    let open = "('IN_PROGRESS', 'PENDING', 'QUEUED')";
    conn.execute(
        "UPDATE batches SET status = 'STOPPED', interrupted = 1,
             ended_at = COALESCE(ended_at,
                 (SELECT MAX(ended_at) FROM batch_builds b WHERE b.batch_id = batches.batch_id),
                 started_at)
         WHERE batch_id = ?1 AND status = 'IN_PROGRESS'",
        params![batch_id],
    )?;
    conn.execute(
        &format!(
            "UPDATE batch_nodes SET status = 'STOPPED' WHERE batch_id = ?1 AND status IN {open}"
        ),
        params![batch_id],
    )?;
    conn.execute(
        &format!(
            "UPDATE batch_builds SET status = 'STOPPED' WHERE batch_id = ?1 AND status IN {open}"
        ),
        params![batch_id],
    )?;
    Ok(())
}
