//! cbdash's own diagnostics go to a file (`tracing`), never to the terminal the dashboard draws
//! on. The level comes from `CBDASH_LOG` (default `info`).

use std::path::{Path, PathBuf};

/// The default log file: `cbdash/cbdash.log` in the user's state or data directory.
#[must_use]
pub fn default_log_file() -> Option<PathBuf> {
    let dirs = directories::ProjectDirs::from("", "", "cbdash")?;
    let dir = dirs.state_dir().unwrap_or_else(|| dirs.data_local_dir());
    Some(dir.join("cbdash.log"))
}

/// Starts file logging. Failing to open the log file is not fatal: cbdash runs without it.
pub fn init(path: Option<&Path>) {
    let Some(path) = path.map(Path::to_path_buf).or_else(default_log_file) else {
        return;
    };
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let Ok(file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
    else {
        return;
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("CBDASH_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(std::sync::Mutex::new(file))
        .try_init();
}
