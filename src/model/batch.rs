//! Batch builds (`batch:` in a buildspec, `StartBuildBatch` in the cloud): the vocabulary both
//! backends use to describe a set of builds run together.
//!
//! A batch is a set of ordinary builds of one project. Each child build emits the usual
//! [`BuildEvent`](super::BuildEvent)s, its `Started` carrying a [`BatchMember`]; the batch
//! itself adds three events: `BatchStarted` (the nodes and their edges), `BatchBuild` (a node's
//! status changed, including nodes that never start, such as the dependents of a failed task)
//! and `BatchFinished` (the outcome and every node's last build).

use std::fmt;

use serde::{Deserialize, Serialize};

use super::event::BuildId;
use super::phase::Status;

/// A batch's id as CodeBuild writes it: `<project>:<uuid>` (like a build id).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BatchId(pub String);

impl BatchId {
    /// A fresh id for a batch of `project`.
    #[must_use]
    pub fn new_for(project: &str) -> Self {
        Self(format!("{project}:{}", uuid::Uuid::new_v4()))
    }

    /// The project part (before the first `:`).
    #[must_use]
    pub fn project(&self) -> &str {
        self.0.split_once(':').map_or(self.0.as_str(), |(p, _)| p)
    }

    /// The uuid part (after the first `:`; the whole id when it has none): the name of the
    /// batch's record and artifacts folder.
    #[must_use]
    pub fn uuid(&self) -> &str {
        self.0.split_once(':').map_or(self.0.as_str(), |(_, u)| u)
    }

    /// The id as a string slice.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BatchId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Which of the four batch types a batch is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BatchKind {
    /// `build-graph`: tasks with `depend-on` edges.
    Graph,
    /// `build-list`: independent tasks, all at once.
    List,
    /// `build-matrix`: one build per combination of the dynamic values.
    Matrix,
    /// `build-fanout`: `parallelism` identical builds (test shards).
    Fanout,
}

impl BatchKind {
    /// `graph`, `list`, `matrix` or `fanout` (the NDJSON `kind`).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Graph => "graph",
            Self::List => "list",
            Self::Matrix => "matrix",
            Self::Fanout => "fanout",
        }
    }

    /// The buildspec key: `build-graph`, `build-list`, `build-matrix` or `build-fanout`.
    #[must_use]
    pub const fn key(self) -> &'static str {
        match self {
            Self::Graph => "build-graph",
            Self::List => "build-list",
            Self::Matrix => "build-matrix",
            Self::Fanout => "build-fanout",
        }
    }

    /// The kind of a buildspec key (`build-graph` ...).
    #[must_use]
    pub fn from_key(key: &str) -> Option<Self> {
        [Self::Graph, Self::List, Self::Matrix, Self::Fanout]
            .into_iter()
            .find(|k| k.key() == key)
    }
}

/// One node of a batch: a task that becomes one build (per attempt).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchNode {
    /// The task's `identifier` (`CODEBUILD_BATCH_BUILD_IDENTIFIER`).
    pub identifier: String,
    /// Graph edges: identifiers this task waits for (empty for roots and other kinds).
    pub depends_on: Vec<String>,
    /// A failure of this task does not fail the batch.
    pub ignore_failure: bool,
    /// What tells a generated build apart (a matrix combination's values, a fanout shard),
    /// for people; `None` when the identifier says it all.
    pub label: Option<String>,
}

/// A node's (or a batch's) status: CodeBuild's `StatusType`, plus `PENDING` (a node that has
/// not started), and any other word the API sends (`CLIENT_ERROR`, `RETRY` appear in AWS's own
/// examples) kept as it came, never dropped.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum NodeStatus {
    Pending,
    Is(Status),
    Other(String),
}

impl NodeStatus {
    /// The status as the API writes it: `PENDING`, `SUCCEEDED`, ... or the raw word.
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            Self::Pending => "PENDING",
            Self::Is(s) => s.as_str(),
            Self::Other(raw) => raw,
        }
    }

    /// Parses an API word; an unknown one is kept as [`NodeStatus::Other`].
    #[must_use]
    pub fn from_api(word: &str) -> Self {
        if word == "PENDING" {
            return Self::Pending;
        }
        Status::from_api(word).map_or_else(|| Self::Other(word.to_owned()), Self::Is)
    }

    /// Whether the node is done (it will not change without a retry or resume). An unknown
    /// word is not terminal: a later poll says more.
    #[must_use]
    pub fn is_terminal(&self) -> bool {
        matches!(self, Self::Is(s) if s.is_terminal())
    }

    /// Whether the node succeeded.
    #[must_use]
    pub fn succeeded(&self) -> bool {
        matches!(self, Self::Is(Status::Succeeded))
    }
}

impl From<Status> for NodeStatus {
    fn from(s: Status) -> Self {
        Self::Is(s)
    }
}

impl fmt::Display for NodeStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for NodeStatus {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for NodeStatus {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let word = String::deserialize(d)?;
        Ok(Self::from_api(&word))
    }
}

/// What a child build's `Started` says about its batch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchMember {
    pub batch_id: BatchId,
    pub identifier: String,
}

/// One node's last build at the end of a batch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchResult {
    pub identifier: String,
    /// `None` for a node that never started (a dependent of a failed task).
    pub build_id: Option<BuildId>,
    pub status: NodeStatus,
    /// Attempts so far (0 for a node that never started).
    pub attempt: u32,
    pub duration_ms: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_statuses_are_kept_as_they_came() {
        for word in ["PENDING", "SUCCEEDED", "TIMED_OUT", "CLIENT_ERROR", "RETRY"] {
            let s = NodeStatus::from_api(word);
            assert_eq!(s.as_str(), word);
            let json = serde_json::to_string(&s).expect("json");
            assert_eq!(json, format!("\"{word}\""));
            assert_eq!(serde_json::from_str::<NodeStatus>(&json).expect("parse"), s);
        }
        assert!(!NodeStatus::from_api("CLIENT_ERROR").is_terminal());
        assert!(!NodeStatus::Pending.is_terminal());
        assert!(NodeStatus::from_api("STOPPED").is_terminal());
    }

    #[test]
    fn kinds_round_trip_through_their_keys() {
        for k in [
            BatchKind::Graph,
            BatchKind::List,
            BatchKind::Matrix,
            BatchKind::Fanout,
        ] {
            assert_eq!(BatchKind::from_key(k.key()), Some(k));
        }
        assert_eq!(BatchKind::from_key("build-tree"), None);
    }
}
