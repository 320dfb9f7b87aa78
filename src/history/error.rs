//! The history's errors.

use std::path::PathBuf;

/// What can go wrong with the history database or its logs.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// The database could not be opened, read or written.
    #[error("history database {path}: {source}")]
    Db {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    /// A log file could not be written or read.
    #[error("history log {path}: {source}")]
    Log {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The database was written by a newer cbdash.
    #[error(
        "history database {path} has schema version {found}, newer than this cbdash knows ({known}); upgrade cbdash or pass --history with another file"
    )]
    TooNew {
        path: PathBuf,
        found: u32,
        known: u32,
    },
    /// No user data directory could be determined.
    #[error("no data directory for the history database; pass --history PATH")]
    NoDataDir,
    /// A stored value could not be decoded.
    #[error("history database {path}: bad stored value: {message}")]
    Corrupt { path: PathBuf, message: String },
}

/// The history's result type.
pub type Result<T, E = HistoryError> = std::result::Result<T, E>;
