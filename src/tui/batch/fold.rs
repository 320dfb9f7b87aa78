//! How the batch events fold into the state: `BatchStarted` makes a batch (and shows it when
//! its project is selected), `BatchBuild` moves a node, `BatchFinished` ends the batch (one
//! notification for the whole batch); a child build's `Started` and `Finished` tell its node
//! its build and duration.

use chrono::{DateTime, Utc};

use super::{Batch, Node, levels, open};
use crate::model::{
    BackendKind, BatchId, BatchKind, BatchMember, BatchNode, BatchResult, BuildEvent, BuildId,
    NodeStatus, NoticeLevel, Status,
};
use crate::tui::msg::Effect;
use crate::tui::state::{ProjectKey, State};
use crate::tui::update::flash;

/// Folds a batch event into the state; `None` when `ev` is not one.
pub fn on_event(
    state: &mut State,
    owner: Option<&ProjectKey>,
    ev: BuildEvent,
) -> Option<Vec<Effect>> {
    match ev {
        BuildEvent::BatchStarted {
            batch_id,
            project,
            backend,
            kind,
            builds,
            at,
        } => {
            started(state, owner, batch_id, (project, backend, kind), builds, at);
            Some(Vec::new())
        }
        BuildEvent::BatchBuild {
            batch_id,
            identifier,
            build_id,
            status,
            attempt,
            at,
        } => {
            if let Some(n) = state
                .batches
                .get_mut(&batch_id)
                .and_then(|b| b.nodes.iter_mut().find(|n| n.identifier == identifier))
            {
                node_changed(n, build_id, status, attempt, at);
            }
            Some(Vec::new())
        }
        BuildEvent::BatchFinished {
            batch_id,
            status,
            duration_ms,
            builds,
            at,
        } => Some(finished(state, &batch_id, &status, duration_ms, builds, at)),
        _ => None,
    }
}

fn started(
    state: &mut State,
    owner: Option<&ProjectKey>,
    id: BatchId,
    (project, backend, kind): (String, BackendKind, BatchKind),
    builds: Vec<BatchNode>,
    at: DateTime<Utc>,
) {
    if let Some(b) = state.batches.get_mut(&id) {
        // Resumed or retried: the same batch runs again; its nodes say what changes.
        b.ended = None;
        b.duration_ms = None;
        b.status = NodeStatus::Is(Status::InProgress);
        return;
    }
    let pi = match owner {
        Some(key) => Some(state.project_index(key)),
        None => crate::tui::update::only_project(state, &project, backend),
    };
    let mut nodes: Vec<Node> = builds.into_iter().map(Node::new).collect();
    if kind == BatchKind::Graph {
        let ls = levels(&nodes);
        for (n, l) in nodes.iter_mut().zip(ls) {
            n.level = l;
        }
        // Stable: within a level, the buildspec's order.
        nodes.sort_by_key(|n| n.level);
    }
    state.batches.insert(
        id.clone(),
        Batch {
            id: id.clone(),
            project,
            key: pi.map(|pi| state.projects[pi].key.clone()),
            backend,
            kind,
            nodes,
            started: at,
            ended: None,
            status: NodeStatus::Is(Status::InProgress),
            duration_ms: None,
        },
    );
    // Follow a new batch of the selected project (or when nothing is open), as a build.
    let nothing_open = state.open_build.is_none() && state.batch.is_none();
    if nothing_open || pi.is_some_and(|pi| pi == state.selected) {
        open(state, id);
    }
}

fn node_changed(
    n: &mut Node,
    build_id: Option<BuildId>,
    status: NodeStatus,
    attempt: u32,
    at: DateTime<Utc>,
) {
    if build_id.is_some() {
        n.build_id = build_id;
    }
    let again = attempt != n.attempt;
    if status == NodeStatus::Is(Status::InProgress) && (again || n.started.is_none()) {
        n.started = Some(at);
        n.ended = None;
        n.duration_ms = None;
    }
    if status.is_terminal() && n.started.is_some() && n.ended.is_none() {
        n.ended = Some(at);
    }
    n.attempt = attempt;
    n.status = status;
}

fn finished(
    state: &mut State,
    id: &BatchId,
    status: &NodeStatus,
    duration_ms: u64,
    builds: Vec<BatchResult>,
    at: DateTime<Utc>,
) -> Vec<Effect> {
    let Some(b) = state.batches.get_mut(id) else {
        return Vec::new();
    };
    b.status.clone_from(status);
    b.duration_ms = Some(duration_ms);
    b.ended = Some(at);
    for r in builds {
        if let Some(n) = b.nodes.iter_mut().find(|n| n.identifier == r.identifier) {
            if r.build_id.is_some() {
                n.build_id = r.build_id;
            }
            n.status = r.status;
            n.attempt = r.attempt;
            if r.duration_ms.is_some() {
                n.duration_ms = r.duration_ms;
            }
        }
    }
    let failed = failed_text(
        b.nodes
            .iter()
            .filter(|n| n.failed() && !n.ignore_failure)
            .count(),
        b.nodes
            .iter()
            .filter(|n| n.failed() && n.ignore_failure)
            .count(),
    );
    let text = format!(
        "{} batch: {status} in {}{failed}",
        b.project,
        crate::tui::fmt::fmt_ms(duration_ms)
    );
    let level = if status.succeeded() {
        NoticeLevel::Info
    } else {
        NoticeLevel::Error
    };
    flash(state, level, text.clone());
    if state.options.notify {
        vec![Effect::Notify(text)]
    } else {
        Vec::new()
    }
}

/// A child build's `Started`: its node learns its build. `true` when the build belongs to a
/// known batch (it is then no row of its own, and does not take the main pane).
pub fn adopt(state: &mut State, member: &BatchMember, build: &BuildId, at: DateTime<Utc>) -> bool {
    let Some(n) = state.batches.get_mut(&member.batch_id).and_then(|b| {
        b.nodes
            .iter_mut()
            .find(|n| n.identifier == member.identifier)
    }) else {
        return false;
    };
    if n.build_id.as_ref() != Some(build) || n.started.is_none() {
        n.started = Some(at);
        n.ended = None;
    }
    n.build_id = Some(build.clone());
    if !n.status.is_terminal() {
        n.status = NodeStatus::Is(Status::InProgress);
    }
    n.attempt = n.attempt.max(1);
    true
}

/// A child build's `Finished`: its node's duration (the status comes with `BatchBuild`).
/// The node's identifier; `None` when `build` is no batch's child.
pub fn child_finished(state: &mut State, build: &BuildId, duration_ms: u64) -> Option<String> {
    let n = state.batches.values_mut().find_map(|b| {
        b.nodes
            .iter_mut()
            .find(|n| n.build_id.as_ref() == Some(build))
    })?;
    n.duration_ms = Some(duration_ms);
    Some(n.identifier.clone())
}

/// The end flash's count of failures: those that failed the batch, and apart those whose
/// failure the batch ignores (`ignore-failure`), so a SUCCEEDED batch does not read as failed.
fn failed_text(failed: usize, ignored: usize) -> String {
    match (failed, ignored) {
        (0, 0) => String::new(),
        (n, 0) => format!(" ({n} failed)"),
        (0, m) => format!(" ({m} failure{} ignored)", if m == 1 { "" } else { "s" }),
        (n, m) => format!(" ({n} failed, {m} ignored)"),
    }
}

#[cfg(test)]
mod failed_text_tests {
    use super::failed_text;

    #[test]
    fn ignored_failures_are_counted_apart() {
        assert_eq!(failed_text(0, 0), "");
        assert_eq!(failed_text(2, 0), " (2 failed)");
        assert_eq!(failed_text(0, 1), " (1 failure ignored)");
        assert_eq!(failed_text(0, 2), " (2 failures ignored)");
        assert_eq!(failed_text(1, 1), " (1 failed, 1 ignored)");
    }
}
