//! A CodeBuild batch as cbdash sees it ([`BatchSnapshot`]), and the [`BatchTracker`] that turns
//! successive BatchGetBuildBatches answers into the shared batch events. Pure: the batch poller
//! feeds it SDK values, the tests feed it values built by hand.
//!
//! What is emitted, and when:
//! - `BatchStarted` once the batch's build groups are known (the internal `DOWNLOAD_SOURCE`
//!   group is not a node: it becomes a notice, see [`DOWNLOAD_SOURCE`]); a batch that ends
//!   before any group appears (a batch spec that does not validate) still gets one, empty.
//! - `BatchBuild` whenever a node's status or build changes, whatever the word (`PENDING`,
//!   `CLIENT_ERROR` ... are kept raw); a retry's new build counts one more attempt
//!   (`priorBuildSummaryList` holds the earlier ones).
//! - `BatchFinished` once, from [`BatchTracker::finish`], after the poller's last
//!   BatchGetBuilds of the children still running: a child's own final status wins over the
//!   group's summary, which lags behind.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::model::{
    BackendKind, BatchId, BatchKind, BatchMember, BatchNode, BatchResult, BuildEvent, BuildId,
    NodeStatus, NoticeLevel, Status,
};

/// The group CodeBuild adds to every batch for its internal build that fetches the source and
/// reads the `batch:` section (reference §1.1, §2.2). It is not a task of the user's: it is
/// left out of the nodes, and its end is told as a notice (an error when it did not succeed,
/// which is where a batch spec that does not validate shows).
pub const DOWNLOAD_SOURCE: &str = "DOWNLOAD_SOURCE";

/// One attempt of a group: `BuildSummary`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SummarySnapshot {
    /// The build, from the summary's build ARN (`None` when CodeBuild sent none yet).
    pub build_id: Option<BuildId>,
    pub status: NodeStatus,
    pub requested_on: Option<DateTime<Utc>>,
}

/// One group (task) of a batch: `BuildGroup`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupSnapshot {
    pub identifier: String,
    pub depends_on: Vec<String>,
    pub ignore_failure: bool,
    /// The latest attempt.
    pub current: Option<SummarySnapshot>,
    /// Earlier attempts (after `RetryBuildBatch`), oldest first.
    pub prior: Vec<SummarySnapshot>,
}

impl GroupSnapshot {
    /// The attempt of the current build: 1 + the earlier ones; 0 when there is no build yet.
    #[must_use]
    pub fn attempt(&self) -> u32 {
        self.current.as_ref().map_or(0, |_| {
            u32::try_from(self.prior.len()).unwrap_or(u32::MAX - 1) + 1
        })
    }

    /// The node's status: the current attempt's, `PENDING` before there is one.
    #[must_use]
    pub fn status(&self) -> NodeStatus {
        self.current
            .as_ref()
            .map_or(NodeStatus::Pending, |c| c.status.clone())
    }

    /// The current build, if any.
    #[must_use]
    pub fn build_id(&self) -> Option<&BuildId> {
        self.current.as_ref().and_then(|c| c.build_id.as_ref())
    }

    /// Whether this is CodeBuild's internal [`DOWNLOAD_SOURCE`] group.
    #[must_use]
    pub fn is_internal(&self) -> bool {
        self.identifier == DOWNLOAD_SOURCE
    }

    /// Whether the current build has started (so BatchGetBuilds has something to say about
    /// it): anything but `PENDING`.
    #[must_use]
    pub fn has_started(&self) -> bool {
        self.build_id().is_some() && self.status() != NodeStatus::Pending
    }
}

/// What BatchGetBuildBatches says about one batch, reduced to what cbdash shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchSnapshot {
    pub id: BatchId,
    pub project: String,
    /// `buildBatchNumber`: 1, 2, ... per project.
    pub number: Option<i64>,
    pub status: NodeStatus,
    pub current_phase: Option<String>,
    /// `complete`: the batch has ended (its children may still be converging).
    pub complete: bool,
    pub source_version: Option<String>,
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
    /// Every group, [`DOWNLOAD_SOURCE`] included, in the answer's order.
    pub groups: Vec<GroupSnapshot>,
}

impl BatchSnapshot {
    /// The user's tasks: every group but [`DOWNLOAD_SOURCE`].
    pub fn nodes(&self) -> impl Iterator<Item = &GroupSnapshot> {
        self.groups.iter().filter(|g| !g.is_internal())
    }

    /// The batch's kind, as far as the API tells (see [`kind_of`]).
    #[must_use]
    pub fn kind(&self) -> BatchKind {
        kind_of(self.nodes())
    }

    /// Duration in ms (start to end, or to `now` while it runs).
    #[must_use]
    pub fn duration_ms(&self, now: DateTime<Utc>) -> u64 {
        match self.start {
            Some(s) => u64::try_from((self.end.unwrap_or(now) - s).num_milliseconds()).unwrap_or(0),
            None => 0,
        }
    }

    /// From the SDK's `BuildBatch`. Statuses the SDK does not know land in its `Unknown`
    /// variant, whose `as_str` is the word as sent: kept raw, never dropped.
    #[must_use]
    pub fn from_sdk(b: &aws_sdk_codebuild::types::BuildBatch) -> Self {
        let id = BatchId(b.id().unwrap_or_default().to_owned());
        Self {
            project: b
                .project_name()
                .map_or_else(|| id.project().to_owned(), str::to_owned),
            id,
            number: b.build_batch_number(),
            status: b
                .build_batch_status()
                .map_or(NodeStatus::Is(Status::InProgress), |s| {
                    NodeStatus::from_api(s.as_str())
                }),
            current_phase: b.current_phase().map(str::to_owned),
            complete: b.complete(),
            source_version: b.source_version().map(str::to_owned),
            start: b.start_time().and_then(to_chrono),
            end: b.end_time().and_then(to_chrono),
            groups: b.build_groups().iter().map(group_from_sdk).collect(),
        }
    }
}

/// The kind of a cloud batch. BatchGetBuildBatches does not say which of the four build types
/// a batch is, so: `graph` when any task depends on another, else `list` (a matrix or fanout
/// batch has no edges either; its identifiers are shown verbatim). One place, so a better
/// rule (a look at the buildspec) can replace it.
pub fn kind_of<'a>(mut nodes: impl Iterator<Item = &'a GroupSnapshot>) -> BatchKind {
    if nodes.any(|g| !g.depends_on.is_empty()) {
        BatchKind::Graph
    } else {
        BatchKind::List
    }
}

/// The build id in a build ARN (`arn:aws:codebuild:<r>:<a>:build/<project>:<uuid>`); a bare
/// id is taken as is.
#[must_use]
pub fn build_id_of_arn(arn: &str) -> Option<BuildId> {
    let id = match arn.split_once(":build/") {
        Some((_, id)) => id,
        None if arn.starts_with("arn:") => return None,
        None => arn,
    };
    (!id.is_empty()).then(|| BuildId(id.to_owned()))
}

/// The batch id in a batch ARN (`...:build-batch/<project>:<uuid>`) or a bare id; `None` for
/// a build ARN.
#[must_use]
pub fn batch_id_of(text: &str) -> Option<BatchId> {
    match text.split_once(":build-batch/") {
        Some((_, id)) if !id.is_empty() => Some(BatchId(id.to_owned())),
        Some(_) => None,
        None if text.starts_with("arn:") => None,
        None => Some(BatchId(text.to_owned())),
    }
}

fn group_from_sdk(g: &aws_sdk_codebuild::types::BuildGroup) -> GroupSnapshot {
    GroupSnapshot {
        identifier: g.identifier().unwrap_or_default().to_owned(),
        depends_on: g.depends_on().to_vec(),
        ignore_failure: g.ignore_failure(),
        current: g.current_build_summary().map(summary_from_sdk),
        prior: g
            .prior_build_summary_list()
            .iter()
            .map(summary_from_sdk)
            .collect(),
    }
}

fn summary_from_sdk(s: &aws_sdk_codebuild::types::BuildSummary) -> SummarySnapshot {
    SummarySnapshot {
        build_id: s.arn().and_then(build_id_of_arn),
        status: s
            .build_status()
            .map_or(NodeStatus::Pending, |st| NodeStatus::from_api(st.as_str())),
        requested_on: s.requested_on().and_then(to_chrono),
    }
}

fn to_chrono(t: &aws_sdk_codebuild::primitives::DateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.secs(), t.subsec_nanos())
}

/// What a tracker last told about a node.
#[derive(Clone, Debug, PartialEq, Eq)]
struct NodeState {
    build_id: Option<BuildId>,
    status: NodeStatus,
    attempt: u32,
}

/// A child build's end as BatchGetBuilds told it: its status and duration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChildEnd {
    pub status: Status,
    pub duration_ms: u64,
}

/// Turns one batch's successive snapshots into events, each change told once.
#[derive(Debug)]
pub struct BatchTracker {
    id: BatchId,
    started: bool,
    finished: bool,
    nodes: BTreeMap<String, NodeState>,
    /// Build id → node identifier, for every build of the batch seen (all attempts).
    members: BTreeMap<BuildId, String>,
    download: Option<NodeStatus>,
}

impl BatchTracker {
    #[must_use]
    pub fn new(id: BatchId) -> Self {
        Self {
            id,
            started: false,
            finished: false,
            nodes: BTreeMap::new(),
            members: BTreeMap::new(),
            download: None,
        }
    }

    /// Whether `BatchFinished` was emitted.
    #[must_use]
    pub const fn is_finished(&self) -> bool {
        self.finished
    }

    /// What was last told of node `identifier`.
    #[must_use]
    pub fn status_of(&self, identifier: &str) -> Option<NodeStatus> {
        self.nodes.get(identifier).map(|n| n.status.clone())
    }

    /// The node a build of this batch belongs to, for its `Started`.
    #[must_use]
    pub fn member(&self, build: &BuildId) -> Option<BatchMember> {
        self.members.get(build).map(|identifier| BatchMember {
            batch_id: self.id.clone(),
            identifier: identifier.clone(),
        })
    }

    /// The events that take a viewer to `snap` (all but `BatchFinished`).
    pub fn absorb(&mut self, snap: &BatchSnapshot, now: DateTime<Utc>) -> Vec<BuildEvent> {
        let mut events = Vec::new();
        for g in &snap.groups {
            for b in g
                .prior
                .iter()
                .chain(&g.current)
                .filter_map(|s| s.build_id.clone())
            {
                self.members.insert(b, g.identifier.clone());
            }
        }
        if !self.started && (snap.nodes().next().is_some() || snap.complete) {
            self.started = true;
            events.push(self.started_event(snap, now));
        }
        if let Some(n) = self.download_notice(snap) {
            events.push(n);
        }
        if !self.started {
            return events;
        }
        for g in snap.nodes() {
            let next = NodeState {
                build_id: g.build_id().cloned(),
                status: g.status(),
                attempt: g.attempt(),
            };
            events.extend(self.change(&g.identifier, next, now));
        }
        events
    }

    /// `BatchFinished` (once), with each node's last build; a child's own end (`children`)
    /// wins over the group summary. A node whose status changes that way gets its
    /// `BatchBuild` first, so the nodes a viewer holds match the result.
    pub fn finish(
        &mut self,
        snap: &BatchSnapshot,
        children: impl Fn(&BuildId) -> Option<ChildEnd>,
        now: DateTime<Utc>,
    ) -> Vec<BuildEvent> {
        if self.finished {
            return Vec::new();
        }
        let mut events = self.absorb(snap, now);
        self.finished = true;
        let mut builds = Vec::new();
        for g in snap.nodes() {
            let end = g.build_id().and_then(&children);
            let status = end.map_or_else(|| g.status(), |e| NodeStatus::Is(e.status));
            let next = NodeState {
                build_id: g.build_id().cloned(),
                status: status.clone(),
                attempt: g.attempt(),
            };
            events.extend(self.change(&g.identifier, next, now));
            builds.push(BatchResult {
                identifier: g.identifier.clone(),
                build_id: g.build_id().cloned(),
                status,
                attempt: g.attempt(),
                duration_ms: end.map(|e| e.duration_ms),
            });
        }
        events.push(BuildEvent::BatchFinished {
            batch_id: self.id.clone(),
            status: snap.status.clone(),
            duration_ms: snap.duration_ms(now),
            builds,
            at: snap.end.unwrap_or(now),
        });
        events
    }

    fn change(
        &mut self,
        identifier: &str,
        next: NodeState,
        now: DateTime<Utc>,
    ) -> Option<BuildEvent> {
        if self.nodes.get(identifier) == Some(&next) {
            return None;
        }
        self.nodes.insert(identifier.to_owned(), next.clone());
        Some(BuildEvent::BatchBuild {
            batch_id: self.id.clone(),
            identifier: identifier.to_owned(),
            build_id: next.build_id,
            status: next.status,
            attempt: next.attempt,
            at: now,
        })
    }

    fn started_event(&self, snap: &BatchSnapshot, now: DateTime<Utc>) -> BuildEvent {
        BuildEvent::BatchStarted {
            batch_id: self.id.clone(),
            project: snap.project.clone(),
            backend: BackendKind::Cloud,
            kind: snap.kind(),
            builds: snap
                .nodes()
                .map(|g| BatchNode {
                    identifier: g.identifier.clone(),
                    depends_on: g.depends_on.clone(),
                    ignore_failure: g.ignore_failure,
                    label: None,
                })
                .collect(),
            at: snap.start.unwrap_or(now),
        }
    }

    /// A notice when the internal download build ends (once per status it ends with).
    fn download_notice(&mut self, snap: &BatchSnapshot) -> Option<BuildEvent> {
        let g = snap.groups.iter().find(|g| g.is_internal())?;
        let status = g.status();
        if !status.is_terminal() || self.download.as_ref() == Some(&status) {
            return None;
        }
        self.download = Some(status.clone());
        let build = g.build_id().map_or_else(String::new, |b| format!(" ({b})"));
        let (level, message) = if status.succeeded() {
            (
                NoticeLevel::Info,
                format!("batch {}: source and batch spec read{build}", self.id),
            )
        } else {
            (
                NoticeLevel::Error,
                format!(
                    "batch {}: reading the source and batch spec ended {status}{build}",
                    self.id
                ),
            )
        };
        Some(BuildEvent::Notice {
            build_id: None,
            level,
            message,
        })
    }
}

/// The exit code for a batch that ended with `status`, as for builds: 0 SUCCEEDED, 1
/// FAILED, `TIMED_OUT` or STOPPED, 3 FAULT, and 3 for a word cbdash does not know (or a batch that
/// did not end): nothing says it succeeded or failed.
#[must_use]
pub fn exit_code(status: &NodeStatus) -> u8 {
    match status {
        NodeStatus::Is(s) if s.is_terminal() => s.exit_code(),
        _ => 3,
    }
}

#[cfg(test)]
#[path = "batch_tests.rs"]
mod tests;
