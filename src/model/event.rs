//! `BuildEvent`: the one language backends speak to everything above them.
//!
//! A backend (local or cloud) emits events into a bounded channel; the headless printers turn
//! them into text or NDJSON, the history store records them and the TUI reducer folds them
//! into its state. Log lines travel in batches (`Logs`) so that a chatty `docker build` costs
//! one message per batch, not one per line.

use super::batch::{BatchId, BatchKind, BatchMember, BatchNode, BatchResult, NodeStatus};
use super::cache_report::CacheReport;
use super::diagnosis::Diagnosis;
use super::phase::{PhaseContext, PhaseKind, Status};
use super::regression::Regression;
use super::report::TestReport;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

/// A build's id as CodeBuild writes it: `<project>:<uuid>`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BuildId(pub String);

impl BuildId {
    /// A fresh id for a build of `project`.
    #[must_use]
    pub fn new_for(project: &str) -> Self {
        Self(format!("{project}:{}", uuid::Uuid::new_v4()))
    }

    /// The project part (before the first `:`).
    #[must_use]
    pub fn project(&self) -> &str {
        self.0.split_once(':').map_or(self.0.as_str(), |(p, _)| p)
    }

    /// The uuid part (after the first `:`), which CodeBuild also uses as the log stream name.
    #[must_use]
    pub fn uuid(&self) -> &str {
        self.0.split_once(':').map_or("", |(_, u)| u)
    }

    /// The id as a string slice.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BuildId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a build runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    Local,
    Cloud,
}

impl BackendKind {
    /// `local` or `cloud`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::Cloud => "cloud",
        }
    }
}

/// Which stream a log line came from. `Agent` lines are the `[Container] ...` lines that
/// CodeBuild's agent (or cbdash in its place) writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogStream {
    Stdout,
    Stderr,
    Agent,
}

/// One line of a build's log. Text is untrusted: it may hold any escape sequence, and
/// secrets are already masked by the backend before a line is emitted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    pub phase: Option<PhaseKind>,
    pub stream: LogStream,
    pub text: String,
}

impl LogLine {
    /// A line of a CodeBuild log as it reads: `[Container]` lines are the agent's, the rest the
    /// build's output (a CloudWatch log does not say which stream a line came from).
    #[must_use]
    pub fn from_log(phase: Option<PhaseKind>, text: &str) -> Self {
        Self {
            phase,
            stream: if text.starts_with("[Container]") {
                LogStream::Agent
            } else {
                LogStream::Stdout
            },
            text: text.to_owned(),
        }
    }
}

/// How loud a notice is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NoticeLevel {
    Info,
    Warning,
    Error,
}

/// How a keyed local cache (`cache.key`) was found when the build looked it up.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CacheLookup {
    /// The key itself was saved before: its content was restored.
    Hit,
    /// No cache has the key; the newest one whose key starts with a fallback key was restored.
    Fallback { restored_key: String },
    /// Nothing matched: the cache paths start as the image and the source have them.
    Miss,
    /// `action: save`: nothing is restored.
    NotRestored,
}

impl CacheLookup {
    /// `hit`, `fallback`, `miss` or `not_restored`.
    #[must_use]
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::Hit => "hit",
            Self::Fallback { .. } => "fallback",
            Self::Miss => "miss",
            Self::NotRestored => "not_restored",
        }
    }
}

/// Everything a backend reports about a build.
#[derive(Clone, Debug, PartialEq)]
pub enum BuildEvent {
    /// The build exists; phases follow.
    Started {
        build_id: BuildId,
        project: String,
        backend: BackendKind,
        image: String,
        /// How the build's `docker` commands reach a daemon (shown in the dashboard's title).
        docker: super::DockerAccess,
        /// The batch this build belongs to, if any (its node's identifier).
        batch: Option<BatchMember>,
        at: DateTime<Utc>,
    },
    /// A batch exists: its nodes and their edges. Its builds' events follow, each build's
    /// `Started` naming the batch.
    BatchStarted {
        batch_id: BatchId,
        project: String,
        backend: BackendKind,
        kind: BatchKind,
        builds: Vec<BatchNode>,
        at: DateTime<Utc>,
    },
    /// A batch node's status changed: it started (with its build), finished, or ended without
    /// starting (`STOPPED`, a dependent of a failed task); in the cloud, any status a poll
    /// shows (`PENDING` ...).
    BatchBuild {
        batch_id: BatchId,
        identifier: String,
        build_id: Option<BuildId>,
        status: NodeStatus,
        attempt: u32,
        at: DateTime<Utc>,
    },
    /// The batch ended: its status and every node's last build.
    BatchFinished {
        batch_id: BatchId,
        status: NodeStatus,
        duration_ms: u64,
        builds: Vec<BatchResult>,
        at: DateTime<Utc>,
    },
    /// A phase began (attempt counts from 1; RETRY and resume add attempts).
    PhaseStarted {
        build_id: BuildId,
        phase: PhaseKind,
        attempt: u32,
        at: DateTime<Utc>,
    },
    /// A batch of log lines, in order.
    Logs {
        build_id: BuildId,
        lines: Vec<LogLine>,
    },
    /// A phase ended.
    PhaseFinished {
        build_id: BuildId,
        phase: PhaseKind,
        attempt: u32,
        status: Status,
        duration_ms: u64,
        context: PhaseContext,
        at: DateTime<Utc>,
    },
    /// The commit the build's source resolved to: a cloud build's `resolvedSourceVersion`
    /// (once `DOWNLOAD_SOURCE` has resolved it), a local build's git `HEAD` when its project
    /// is a git checkout. The history keeps it; the miss explainer of a cloud build diffs two
    /// of them.
    SourceVersion { build_id: BuildId, version: String },
    /// Artifacts were copied out.
    Artifacts {
        build_id: BuildId,
        dir: PathBuf,
        files: Vec<String>,
    },
    /// A report group's test or coverage report was read (`reports:` in the buildspec, or
    /// CodeBuild's report APIs for a cloud build).
    Report {
        build_id: BuildId,
        backend: BackendKind,
        report: TestReport,
    },
    /// Something the user should know that is not a log line (a throttled poll, a warning
    /// about the Docker socket being mounted).
    Notice {
        build_id: Option<BuildId>,
        level: NoticeLevel,
        message: String,
    },
    /// The layer-cache analyzer's view of one `docker build` in the log: live updates
    /// (`report.finished == false`) while it runs, then the final report.
    Cache {
        build_id: BuildId,
        report: CacheReport,
    },
    /// The finished build is slower, or hits the cache less, than its recent runs.
    Regression {
        build_id: BuildId,
        regression: Regression,
    },
    /// The log shows a known way to fail (`crate::diagnose`): once per build and rule.
    Diagnosis {
        build_id: BuildId,
        diagnosis: Diagnosis,
    },
    /// A keyed local cache was looked up (at `DOWNLOAD_SOURCE`): the evaluated key and what
    /// was restored.
    CacheKey {
        build_id: BuildId,
        key: String,
        lookup: CacheLookup,
    },
    /// A local build paused at a breakpoint (`codebuild-breakpoint` in a command, or the
    /// first failing command under `cbdash run --debug`) and waits for `codebuild-resume`;
    /// its timeout keeps running. `attach` is the command that opens a shell there.
    Breakpoint {
        build_id: BuildId,
        phase: PhaseKind,
        /// The buildspec command that paused (under `--debug`, the one that failed).
        command: String,
        /// The container's name.
        container: String,
        attach: String,
        /// Paused by `--debug` after a failure rather than by `codebuild-breakpoint`.
        on_failure: bool,
    },
    /// A paused build goes on (`codebuild-resume` ran).
    Resumed { build_id: BuildId },
    /// A cloud build's Session Manager debug session can be joined (`debugSession.
    /// sessionTarget` appeared): `command` is the exact command line that joins it.
    DebugSession {
        build_id: BuildId,
        target: String,
        command: String,
    },
    /// The build ended.
    Finished {
        build_id: BuildId,
        status: Status,
        duration_ms: u64,
        at: DateTime<Utc>,
        /// `env.exported-variables` with their values at the end of the build (masked
        /// values stay `***`); empty when the buildspec exports none.
        exported_variables: BTreeMap<String, String>,
    },
}

impl BuildEvent {
    /// The build this event is about, if any.
    #[must_use]
    pub fn build_id(&self) -> Option<&BuildId> {
        match self {
            Self::Started { build_id, .. }
            | Self::PhaseStarted { build_id, .. }
            | Self::Logs { build_id, .. }
            | Self::PhaseFinished { build_id, .. }
            | Self::Artifacts { build_id, .. }
            | Self::Report { build_id, .. }
            | Self::Finished { build_id, .. }
            | Self::Cache { build_id, .. }
            | Self::CacheKey { build_id, .. }
            | Self::Regression { build_id, .. }
            | Self::Diagnosis { build_id, .. }
            | Self::Breakpoint { build_id, .. }
            | Self::Resumed { build_id }
            | Self::SourceVersion { build_id, .. }
            | Self::DebugSession { build_id, .. } => Some(build_id),
            Self::Notice { build_id, .. } => build_id.as_ref(),
            Self::BatchStarted { .. } | Self::BatchBuild { .. } | Self::BatchFinished { .. } => {
                None
            }
        }
    }
}

/// What a finished build amounts to, returned by `Backend::run`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildOutcome {
    pub build_id: BuildId,
    pub status: Status,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_id_splits_project_and_uuid() {
        let id = BuildId::new_for("demo");
        assert_eq!(id.project(), "demo");
        assert_eq!(id.uuid().len(), 36);
        let id = BuildId("a:b:c".into());
        assert_eq!(id.project(), "a");
        assert_eq!(id.uuid(), "b:c");
    }
}
