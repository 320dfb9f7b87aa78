//! Run history: an SQLite database of every local run and cloud build cbdash has seen.
//!
//! How it fits: `cbdash run` feeds each `BuildEvent` to a [`Recorder`], which writes a run row
//! as the build starts (`IN_PROGRESS`, with the writer's pid), phases as they start and end,
//! cache reports as the analyzer emits them, and the log into `logs/<uuid>.log.gz`. When the
//! build finishes it compares the run with the median of the project's last successful runs
//! ([`detect`]) and hands back `BuildEvent::Regression`s. `cbdash history` reads the
//! [`Store`].
//!
//! Batches: `BatchStarted` writes a batch row and its nodes in order, `BatchBuild` each node's
//! status and build per attempt, `BatchFinished` the outcome; a child build's run row names its
//! batch and node, and its regressions are judged against earlier builds of the same node
//! (same project and identifier), never against other tasks or builds outside batches.
//!
//! - `schema`: versioned migrations (`PRAGMA user_version`).
//! - `store`: opening (WAL, busy timeout, interrupted runs), paths.
//! - `writes` / `queries`: the SQL of runs; `batch_writes` / `batch_queries`: of batches;
//!   `cache_queries`: one Dockerfile's docker builds, step by step (`cbdash cache`);
//!   `docker_inputs`: of the miss explainer (each docker build's inputs and reason, the
//!   file hashes of its `COPY`/`ADD` steps).
//! - `logs`: compressed logs, their pruning.
//! - `regress`: the pure regression checks (phases and cache against the median of recent
//!   runs; a report group against its previous run: tests newly failing, line coverage down).
//! - `reports`: report groups, one row per group and run (schema v6).
//! - `replay`: a stored run as the events it was made of (the dashboard opens past builds).
//! - `liveness`: is a writer still alive.

mod batch_queries;
mod batch_writes;
mod cache_queries;
mod docker_inputs;
mod error;
mod liveness;
mod logs;
mod queries;
mod recorder;
mod regress;
mod replay;
mod reports;
mod schema;
mod store;
mod writes;

pub use batch_queries::{BatchDetail, BatchSummary, NodeBuild, NodeCounts, NodeRow};
pub use batch_writes::{NewBatch, NodeUpdate};
pub use cache_queries::DockerfileKey;
pub use docker_inputs::PreviousDockerBuild;
pub use error::{HistoryError, Result};
pub use logs::{Pruned, StoredLog};
pub use queries::{PhaseRow, RunDetail, RunSummary, StepRun};
pub use recorder::Recorder;
pub use regress::{RegressionRules, RunMetrics, detect, median};
pub use replay::{replay, with_stored_cache_reports};
pub use reports::{ReportRow, TrendPoint};
pub use schema::{CURRENT_VERSION, MIGRATIONS};
pub use store::{Store, StoreOptions};
pub use writes::{NewRun, PhaseEnd};

#[cfg(test)]
mod batch_tests;
#[cfg(test)]
mod cache_tests;
#[cfg(test)]
mod report_tests;
#[cfg(test)]
mod tests;
