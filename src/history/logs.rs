//! Compressed build logs: `logs/<build-uuid>.log.gz` next to the database, flushed at every
//! batch so a killed cbdash leaves a readable prefix, and pruned oldest first when their
//! total size passes the budget.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use rusqlite::params;

use super::error::{HistoryError, Result};
use super::store::{Store, int, uint};

/// An open compressed log.
#[derive(Debug)]
pub(crate) struct LogWriter {
    path: PathBuf,
    gz: GzEncoder<BufWriter<File>>,
    /// A batch's lines joined, so the compressor is called once per batch rather than twice
    /// per line (each call has a fixed cost that dominated a flood of short lines).
    joined: Vec<u8>,
}

impl LogWriter {
    pub fn create(path: &Path) -> Result<Self> {
        Self::open(path, false)
    }

    /// Continues an existing log (a resumed build): a new gzip member after the old ones,
    /// which `read_log` reads as one stream.
    pub fn append(path: &Path) -> Result<Self> {
        Self::open(path, true)
    }

    fn open(path: &Path, append: bool) -> Result<Self> {
        let err = |source| HistoryError::Log {
            path: path.to_owned(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .append(append)
            .truncate(!append)
            .open(path)
            .map_err(err)?;
        Ok(Self {
            path: path.to_owned(),
            gz: GzEncoder::new(BufWriter::new(file), Compression::fast()),
            joined: Vec::new(),
        })
    }

    /// Appends lines (each gets a `\n`).
    pub fn write_lines<'a>(&mut self, lines: impl Iterator<Item = &'a str>) -> Result<()> {
        self.joined.clear();
        for line in lines {
            self.joined.extend_from_slice(line.as_bytes());
            self.joined.push(b'\n');
        }
        self.gz.write_all(&self.joined).map_err(|e| self.err(e))
    }

    /// Makes everything written so far readable from the file (a gzip sync flush).
    pub fn flush(&mut self) -> Result<()> {
        self.gz.flush().map_err(|e| self.err(e))
    }

    /// Completes the gzip stream; returns the compressed size.
    pub fn close(self) -> Result<u64> {
        let path = self.path.clone();
        let err = |source| HistoryError::Log {
            path: path.clone(),
            source,
        };
        let mut inner = self.gz.finish().map_err(err)?;
        inner.flush().map_err(err)?;
        let file = inner.into_inner().map_err(|e| err(e.into_error()))?;
        file.sync_data().map_err(err)?;
        Ok(file.metadata().map_err(err)?.len())
    }

    fn err(&self, source: std::io::Error) -> HistoryError {
        HistoryError::Log {
            path: self.path.clone(),
            source,
        }
    }
}

/// A stored log, decompressed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredLog {
    pub text: String,
    /// The gzip stream ends early: cbdash was killed while writing it.
    pub truncated: bool,
}

/// Reads a compressed log, keeping what can be read of a truncated one.
pub(crate) fn read_log(path: &Path) -> Result<StoredLog> {
    let file = File::open(path).map_err(|source| HistoryError::Log {
        path: path.to_owned(),
        source,
    })?;
    let mut bytes = Vec::new();
    let truncated = MultiGzDecoder::new(file).read_to_end(&mut bytes).is_err();
    Ok(StoredLog {
        text: String::from_utf8_lossy(&bytes).into_owned(),
        truncated,
    })
}

/// What pruning removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pruned {
    pub logs: u32,
    pub bytes: u64,
}

impl Store {
    /// A run's stored log, if it is still kept.
    pub fn read_log(&self, build_id: &str) -> Result<Option<StoredLog>> {
        match self.log_path(build_id)? {
            Some(path) if path.exists() => read_log(&path).map(Some),
            _ => Ok(None),
        }
    }

    /// Records a closed log's size.
    pub(crate) fn set_log_bytes(&self, build_id: &str, bytes: u64) -> Result<()> {
        self.conn
            .execute(
                "UPDATE runs SET log_bytes = ?2 WHERE build_id = ?1",
                params![build_id, int(bytes)],
            )
            .map_err(|e| self.db(e))?;
        Ok(())
    }

    /// A log is being written again (a resumed build): it has no final size, so pruning
    /// leaves it alone until it is closed.
    pub(crate) fn reopen_log(&self, build_id: &str) -> Result<()> {
        self.conn
            .execute(
                "UPDATE runs SET log_bytes = NULL WHERE build_id = ?1",
                params![build_id],
            )
            .map_err(|e| self.db(e))?;
        Ok(())
    }

    /// Deletes the oldest logs until the kept ones fit `log_budget_bytes` (runs stay, with
    /// no log). Logs still being written (no size yet) are never pruned.
    pub fn prune_logs(&self) -> Result<Pruned> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT build_id, log_path, log_bytes FROM runs
                 WHERE log_path IS NOT NULL AND log_bytes IS NOT NULL ORDER BY started_at ASC",
            )
            .map_err(|e| self.db(e))?;
        let logs: Vec<(String, String, u64)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, uint(r.get(2)?))))
            .and_then(Iterator::collect)
            .map_err(|e| self.db(e))?;
        let mut total: u64 = logs.iter().map(|l| l.2).sum();
        let mut pruned = Pruned::default();
        for (build_id, file, bytes) in logs {
            if total <= self.opts.log_budget_bytes {
                break;
            }
            let path = self.logs_dir().join(&file);
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => return Err(HistoryError::Log { path, source }),
            }
            self.conn
                .execute(
                    "UPDATE runs SET log_path = NULL, log_bytes = NULL WHERE build_id = ?1",
                    params![build_id],
                )
                .map_err(|e| self.db(e))?;
            total = total.saturating_sub(bytes);
            pruned.logs += 1;
            pruned.bytes += bytes;
        }
        Ok(pruned)
    }
}
