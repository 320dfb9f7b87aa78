//! The application layer: everything a command or the dashboard does with the engine, below
//! `commands/` (which only turns parsed arguments into calls here) and above the engine, the
//! history, the TUI and the headless printers.
//!
//! - [`request`]: a project's `.cbdash.toml` with one run's overrides → a `BuildRequest`.
//! - [`pipeline`]: the taps every event stream goes through (cache reports, diagnoses, the
//!   history recorder), for the dashboard and headless runs alike.
//! - [`explain`]: the inputs of the cache-miss explainer (the docker build's command line,
//!   Dockerfile, the hashes of the files a missed `COPY` copies) and the history's last build.
//! - [`output`] and [`headless`]: printing a build (plain or NDJSON), the signal handling and
//!   exit codes of `run`, `resume` and `cloud watch`.
//! - [`batch`]: local batches (`run --batch`, `resume BATCH_ID`); [`batch_files`]: the task
//!   buildspecs a batch names, checked for `cbdash validate`.
//! - [`rerun`]: `run --watch`, a build run again on every change.
//! - [`reproduce`]: a cloud build's settings run locally.
//! - [`cloud_batch`]: `cbdash cloud` on batches (start, watch, retry, stop, list).
//! - [`attach`]: a kept build's shell connected to this terminal.
//! - [`dashboard`]: the dashboard's setup, its effect executor and the backends behind it.
//! - [`exit`]: errors → exit codes.

pub mod attach;
pub mod batch;
pub mod batch_files;
pub mod cache;
pub mod cloud_batch;
pub mod cloud_reports;
pub mod dashboard;
pub mod exit;
pub mod explain;
pub mod git_diff;
pub mod headless;
pub mod output;
pub mod pipeline;
pub mod reproduce;
pub mod request;
pub mod rerun;

/// The invocation or its input is invalid (exit code 2): a message that says what was wrong
/// and how to fix it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);
