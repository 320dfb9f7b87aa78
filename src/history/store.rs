//! `Store`: the open database. Opening applies migrations, turns on WAL and a busy timeout
//! (two cbdash processes may write at once) and marks runs and batches whose writer died as
//! interrupted.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::error::{HistoryError, Result};
use super::schema;

/// How the history is kept.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// The most the compressed logs may take together; the oldest are pruned first.
    pub log_budget_bytes: u64,
    /// How long a write waits for another process's write to finish.
    pub busy_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            log_budget_bytes: 512 * 1024 * 1024,
            busy_timeout: Duration::from_secs(10),
        }
    }
}

/// The run-history database and its log directory (`logs/` next to it).
#[derive(Debug)]
pub struct Store {
    pub(crate) conn: Connection,
    pub(crate) path: PathBuf,
    pub(crate) opts: StoreOptions,
}

impl Store {
    /// `history.sqlite` in the user's data directory (`~/.local/share/cbdash` on Linux).
    pub fn default_path() -> Result<PathBuf> {
        directories::ProjectDirs::from("", "", "cbdash")
            .map(|d| d.data_dir().join("history.sqlite"))
            .ok_or(HistoryError::NoDataDir)
    }

    /// Opens (creating or migrating) the database at `path` with default options.
    pub fn open(path: &Path) -> Result<Self> {
        Self::open_with(path, StoreOptions::default())
    }

    /// Opens (creating or migrating) the database at `path`.
    pub fn open_with(path: &Path, opts: StoreOptions) -> Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| HistoryError::Log {
                path: dir.to_owned(),
                source,
            })?;
        }
        let db = |source| HistoryError::Db {
            path: path.to_owned(),
            source,
        };
        let mut conn = Connection::open(path).map_err(db)?;
        conn.busy_timeout(opts.busy_timeout).map_err(db)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(db)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(db)?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(db)?;
        let found = schema::version(&conn).map_err(db)?;
        if found > schema::CURRENT_VERSION {
            return Err(HistoryError::TooNew {
                path: path.to_owned(),
                found,
                known: schema::CURRENT_VERSION,
            });
        }
        schema::migrate(&mut conn).map_err(db)?;
        let store = Self {
            conn,
            path: path.to_owned(),
            opts,
        };
        store.mark_interrupted()?;
        Ok(store)
    }

    /// The schema version of the open database.
    pub fn schema_version(&self) -> Result<u32> {
        schema::version(&self.conn).map_err(|e| self.db(e))
    }

    /// Where compressed logs live: `logs/` next to the database.
    #[must_use]
    pub fn logs_dir(&self) -> PathBuf {
        self.path
            .parent()
            .map_or_else(|| PathBuf::from("logs"), |d| d.join("logs"))
    }

    /// The database file.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn db(&self, source: rusqlite::Error) -> HistoryError {
        HistoryError::Db {
            path: self.path.clone(),
            source,
        }
    }

    pub(crate) fn corrupt(&self, message: impl Into<String>) -> HistoryError {
        HistoryError::Corrupt {
            path: self.path.clone(),
            message: message.into(),
        }
    }

    /// Runs left `IN_PROGRESS` by a process that is gone (killed, crashed, power cut) become
    /// `STOPPED` with the `interrupted` flag; everything they recorded stays.
    fn mark_interrupted(&self) -> Result<()> {
        let mut stmt = self
            .conn
            .prepare("SELECT build_id, writer_pid FROM runs WHERE status = 'IN_PROGRESS'")
            .map_err(|e| self.db(e))?;
        let open: Vec<(String, Option<u32>)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .and_then(Iterator::collect)
            .map_err(|e| self.db(e))?;
        for (build_id, pid) in open {
            if pid.is_some_and(super::liveness::pid_alive) {
                continue;
            }
            self.conn
                .execute(
                    "UPDATE runs SET status = 'STOPPED', interrupted = 1,
                        ended_at = COALESCE(ended_at,
                            (SELECT MAX(ended_at) FROM phases p WHERE p.build_id = runs.build_id),
                            started_at)
                     WHERE build_id = ?1 AND status = 'IN_PROGRESS'",
                    params![build_id],
                )
                .map_err(|e| self.db(e))?;
            self.conn
                .execute(
                    "UPDATE phases SET status = 'STOPPED' WHERE build_id = ?1 AND status = 'IN_PROGRESS'",
                    params![build_id],
                )
                .map_err(|e| self.db(e))?;
        }
        self.mark_interrupted_batches()
    }

    /// Batches left `IN_PROGRESS` by a process that is gone: as runs, `STOPPED` and
    /// interrupted, with their waiting and running nodes `STOPPED`.
    fn mark_interrupted_batches(&self) -> Result<()> {
        let mut stmt = self
            .conn
            .prepare("SELECT batch_id, writer_pid FROM batches WHERE status = 'IN_PROGRESS'")
            .map_err(|e| self.db(e))?;
        let open: Vec<(String, Option<u32>)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .and_then(Iterator::collect)
            .map_err(|e| self.db(e))?;
        for (batch_id, pid) in open {
            if pid.is_some_and(super::liveness::pid_alive) {
                continue;
            }
            super::batch_writes::interrupt_batch(&self.conn, &batch_id).map_err(|e| self.db(e))?;
        }
        Ok(())
    }

    /// This process gives up on a run it was writing (cbdash quits mid-build).
    pub(crate) fn mark_abandoned(&self, build_id: &str) -> Result<()> {
        self.conn
            .execute(
                "UPDATE runs SET status = 'STOPPED', interrupted = 1,
                    ended_at = COALESCE(ended_at, started_at)
                 WHERE build_id = ?1 AND status = 'IN_PROGRESS'",
                params![build_id],
            )
            .map_err(|e| self.db(e))?;
        Ok(())
    }

    /// The log path recorded for a run, if its log is still kept.
    pub(crate) fn log_path(&self, build_id: &str) -> Result<Option<PathBuf>> {
        self.conn
            .query_row(
                "SELECT log_path FROM runs WHERE build_id = ?1",
                params![build_id],
                |r| r.get::<_, Option<String>>(0),
            )
            .optional()
            .map(|p| p.flatten().map(|p| self.logs_dir().join(p)))
            .map_err(|e| self.db(e))
    }
}

/// Timestamps are stored as RFC 3339 UTC with milliseconds, so text order is time order.
pub(crate) fn ts(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// SQLite integers are signed: a count or duration in, saturating.
pub(crate) fn int(v: impl TryInto<i64>) -> i64 {
    v.try_into().unwrap_or(i64::MAX)
}

/// A stored integer out as unsigned (negative values, which cbdash never writes, become 0).
pub(crate) fn uint(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}
