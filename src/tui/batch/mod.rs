//! Batches in the dashboard, as plain data and the reducer's part for them.
//!
//! A batch arrives only as the shared batch events: `BatchStarted` (its nodes and edges),
//! `BatchBuild` (a node's status changed, including nodes that end without starting) and
//! `BatchFinished`, plus each child build's usual events, whose `Started` names the batch. The
//! child builds are kept with the other builds (so opening a node reuses the build views) but
//! belong to the batch: they are not rows of their own in the project's lists. What keys do
//! to a batch is in [`super::batch_actions`]; the graph is drawn by `view::batch` and
//! `widgets::graph` from this state alone; how the events fold into it is [`fold`].

mod fold;

pub use fold::{adopt, child_finished, on_event};

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::state::{ProjectKey, State};
use crate::model::{BackendKind, BatchId, BatchKind, BatchNode, BuildId, NodeStatus, Status};

/// One node of a batch: a task, and its build when it has one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    pub identifier: String,
    pub depends_on: Vec<String>,
    pub ignore_failure: bool,
    /// A matrix combination's values or a fanout shard (`None`: the identifier says it all).
    pub label: Option<String>,
    /// Its level in the graph: 0 for a node that depends on nothing, else one more than the
    /// deepest node it depends on (0 for every node of a list, matrix or fanout).
    pub level: usize,
    /// Its latest build (a retry or resume may give it another).
    pub build_id: Option<BuildId>,
    pub status: NodeStatus,
    /// Attempts so far (0: never started).
    pub attempt: u32,
    /// When its current attempt started and ended, as the batch events say.
    pub started: Option<DateTime<Utc>>,
    pub ended: Option<DateTime<Utc>>,
    /// Its duration as `BatchFinished` or its build's `Finished` gave it.
    pub duration_ms: Option<u64>,
}

impl Node {
    /// A node as `BatchStarted` declares it, before it runs.
    #[must_use]
    pub fn new(n: BatchNode) -> Self {
        Self {
            identifier: n.identifier,
            depends_on: n.depends_on,
            ignore_failure: n.ignore_failure,
            label: n.label,
            level: 0,
            build_id: None,
            status: NodeStatus::Pending,
            attempt: 0,
            started: None,
            ended: None,
            duration_ms: None,
        }
    }

    /// Whether the node's latest attempt failed (a stopped dependent did not fail: it never
    /// ran).
    #[must_use]
    pub fn failed(&self) -> bool {
        matches!(
            self.status,
            NodeStatus::Is(Status::Failed | Status::Fault | Status::TimedOut)
        )
    }
}

/// A batch and everything known about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Batch {
    pub id: BatchId,
    /// The project's name, as the events say it.
    pub project: String,
    /// The project it belongs to, when known (as for a build: see `Build::key`).
    pub key: Option<ProjectKey>,
    pub backend: BackendKind,
    pub kind: BatchKind,
    /// In display order: by level, then as the buildspec declares them.
    pub nodes: Vec<Node>,
    pub started: DateTime<Utc>,
    pub ended: Option<DateTime<Utc>>,
    pub status: NodeStatus,
    pub duration_ms: Option<u64>,
}

impl Batch {
    /// Whether the batch still runs (no `BatchFinished` yet).
    #[must_use]
    pub const fn running(&self) -> bool {
        self.ended.is_none()
    }

    /// Its status as a build's (its project's icon): not ended yet, in progress.
    #[must_use]
    pub const fn build_status(&self) -> Status {
        match &self.status {
            NodeStatus::Is(s) => *s,
            NodeStatus::Pending | NodeStatus::Other(_) => Status::InProgress,
        }
    }

    /// Whether the batch ended without succeeding: what `r` resumes or retries.
    #[must_use]
    pub fn failed(&self) -> bool {
        self.ended.is_some() && !self.status.succeeded()
    }

    /// The node of `identifier`.
    #[must_use]
    pub fn node(&self, identifier: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.identifier == identifier)
    }

    /// Nodes that are done (they will not change without a retry or resume).
    #[must_use]
    pub fn done(&self) -> usize {
        self.nodes.iter().filter(|n| n.status.is_terminal()).count()
    }

    /// Its whole duration: now while it runs.
    #[must_use]
    pub fn elapsed_ms(&self, now: DateTime<Utc>) -> u64 {
        self.duration_ms
            .unwrap_or_else(|| ms_between(self.started, self.ended.unwrap_or(now)))
    }
}

/// Which batch the main pane shows, and whether one of its nodes' builds is open instead of
/// the graph.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchView {
    pub id: BatchId,
    /// Index into the batch's nodes (display order).
    pub selected: usize,
    /// The selected node's build is open (its usual panes); Esc goes back to the graph.
    pub node_open: bool,
}

/// `project:uuid-prefix`: enough to tell batches apart (the builds list has the whole id).
#[must_use]
pub fn short_id(id: &BatchId) -> String {
    let uuid = id.as_str().split_once(':').map_or("", |(_, u)| u);
    format!("{}:{}", id.project(), uuid.get(..8).unwrap_or(uuid))
}

fn ms_between(from: DateTime<Utc>, to: DateTime<Utc>) -> u64 {
    u64::try_from((to - from).num_milliseconds()).unwrap_or(0)
}

/// Levels of `nodes` by their `depends_on` (unknown names are ignored; a cycle, which
/// validation rejects, cannot loop: a level never exceeds the number of nodes).
fn levels(nodes: &[Node]) -> Vec<usize> {
    let index: BTreeMap<&str, usize> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.identifier.as_str(), i))
        .collect();
    let mut level = vec![0; nodes.len()];
    for _ in 0..nodes.len() {
        let mut changed = false;
        for (i, n) in nodes.iter().enumerate() {
            let deepest = n
                .depends_on
                .iter()
                .filter_map(|d| index.get(d.as_str()))
                .map(|&j| level[j] + 1)
                .max()
                .unwrap_or(0)
                .min(nodes.len());
            if deepest != level[i] {
                level[i] = deepest;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    level
}

/// A node's duration at `now`: its build's (the build views' clock), else what the batch
/// events said; `None` for a node that has not started.
#[must_use]
pub fn node_ms(state: &State, node: &Node) -> Option<u64> {
    if let Some(b) = node.build_id.as_ref().and_then(|id| state.builds.get(id)) {
        return Some(
            b.duration_ms
                .unwrap_or_else(|| ms_between(b.started, b.clock(state.now))),
        );
    }
    if node.duration_ms.is_some() {
        return node.duration_ms;
    }
    let started = node.started?;
    Some(ms_between(started, node.ended.unwrap_or(state.now)))
}

/// The critical path: the longest chain of nodes along `depends_on` by `durations` (one per
/// node; a running node counts by its elapsed time, a node that has not started as 0), as
/// node indices from its first node to its last. Empty when nothing has taken any time.
#[must_use]
pub fn critical_path(nodes: &[Node], durations: &[u64]) -> Vec<usize> {
    let index: BTreeMap<&str, usize> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.identifier.as_str(), i))
        .collect();
    // By level, so every node comes after the nodes it depends on.
    let mut order: Vec<usize> = (0..nodes.len()).collect();
    order.sort_by_key(|&i| nodes[i].level);
    let mut best = vec![0u64; nodes.len()];
    let mut prev: Vec<Option<usize>> = vec![None; nodes.len()];
    for &i in &order {
        let before = nodes[i]
            .depends_on
            .iter()
            .filter_map(|d| index.get(d.as_str()).copied())
            .filter(|&j| nodes[j].level < nodes[i].level)
            .max_by_key(|&j| (best[j], std::cmp::Reverse(j)));
        best[i] = durations.get(i).copied().unwrap_or(0) + before.map_or(0, |j| best[j]);
        prev[i] = before;
    }
    // Among chains as long, the one reaching deepest: what is still to come shows.
    let end = (0..nodes.len()).max_by_key(|&i| (best[i], nodes[i].level, std::cmp::Reverse(i)));
    let Some(mut last) = end else {
        return Vec::new();
    };
    if best[last] == 0 {
        return Vec::new();
    }
    let mut path = vec![last];
    while let Some(p) = prev[last] {
        path.push(p);
        last = p;
    }
    path.reverse();
    path
}

/// The critical path of `batch` at `now`, highlighted while it runs (empty once it ended).
#[must_use]
pub fn live_critical_path(state: &State, batch: &Batch) -> Vec<usize> {
    if !batch.running() {
        return Vec::new();
    }
    let durations: Vec<u64> = batch
        .nodes
        .iter()
        .map(|n| node_ms(state, n).unwrap_or(0))
        .collect();
    critical_path(&batch.nodes, &durations)
}

/// Batches of project `idx`, oldest first.
#[must_use]
pub fn of_project(state: &State, idx: usize) -> Vec<&Batch> {
    let Some(p) = state.projects.get(idx) else {
        return Vec::new();
    };
    let mut out: Vec<&Batch> = state
        .batches
        .values()
        .filter(|b| {
            b.key.as_ref().map_or_else(
                || b.project == p.key.name && b.backend == p.key.backend(),
                |k| *k == p.key,
            )
        })
        .collect();
    out.sort_by_key(|b| b.started);
    out
}

/// The project's newest batch when it is newer than its newest build of this session.
#[must_use]
pub fn newest(state: &State, idx: usize) -> Option<&Batch> {
    let batch = of_project(state, idx).into_iter().last()?;
    let build = state
        .projects
        .get(idx)?
        .builds
        .last()
        .and_then(|id| state.builds.get(id));
    build
        .is_none_or(|b| b.started <= batch.started)
        .then_some(batch)
}

/// The batch the main pane shows, if any.
#[must_use]
pub fn shown(state: &State) -> Option<(&Batch, &BatchView)> {
    let view = state.batch.as_ref()?;
    state.batches.get(&view.id).map(|b| (b, view))
}

/// Whether the main pane shows a batch's graph (not one of its nodes' builds).
#[must_use]
pub fn graph_shown(state: &State) -> bool {
    shown(state).is_some_and(|(_, v)| !v.node_open)
}

/// The batch and node `build` is a child of.
#[must_use]
pub fn node_of<'a>(state: &'a State, build: &BuildId) -> Option<(&'a Batch, &'a Node)> {
    state.batches.values().find_map(|b| {
        b.nodes
            .iter()
            .find(|n| n.build_id.as_ref() == Some(build))
            .map(|n| (b, n))
    })
}

/// Shows batch `id`'s graph in the main pane, its first failed node selected (else its first).
pub fn open(state: &mut State, id: BatchId) {
    let selected = state
        .batches
        .get(&id)
        .and_then(|b| b.nodes.iter().position(Node::failed))
        .unwrap_or(0);
    state.batch = Some(BatchView {
        id,
        selected,
        node_open: false,
    });
    state.open_build = None;
    state.log = state.log.reset();
}

#[cfg(test)]
mod tests;
