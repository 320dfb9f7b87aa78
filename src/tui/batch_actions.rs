//! What keys do to a batch (part of the pure reducer: no IO). While a batch's graph is in the
//! main pane, the movement keys move between its nodes and `open` shows the selected node's
//! build with its usual panes; `back` from there returns to the graph. `rerun` on a failed
//! batch resumes it (local) or, after a confirmation, retries its failed builds (cloud).

use super::batch::{self, BatchView};
use super::keymap::Action;
use super::msg::Effect;
use super::state::{Focus, Group, Mode, Pending, State};
use super::update::flash;
use crate::model::{BatchId, BuildId, NoticeLevel, Status};

/// The keymap action `action` on the batch in the main pane; `None` when it is not about the
/// batch (the usual action applies).
pub fn apply(state: &mut State, action: Action) -> Option<Vec<Effect>> {
    let Some((b, view)) = batch::shown(state) else {
        if action == Action::NextFailed {
            flash(
                state,
                NoticeLevel::Info,
                "no batch open: open one from the builds list",
            );
            return Some(Vec::new());
        }
        return None;
    };
    let (len, node_open) = (b.nodes.len(), view.node_open);
    let in_graph = !node_open && state.focus == Focus::Log;
    match action {
        Action::Rerun => Some(rerun(state)),
        Action::NextFailed => {
            next_failed(state);
            Some(Vec::new())
        }
        Action::Back if node_open && state.log.filter.is_none() && state.log.search.is_none() => {
            if let Some(v) = state.batch.as_mut() {
                v.node_open = false;
            }
            state.open_build = None;
            state.log = state.log.reset();
            Some(Vec::new())
        }
        Action::Up | Action::Down | Action::HalfPageUp | Action::HalfPageDown if in_graph => {
            let step: isize = match action {
                Action::Up => -1,
                Action::Down => 1,
                Action::HalfPageUp => -5,
                _ => 5,
            };
            select(state, |s| {
                s.saturating_add_signed(step).min(len.saturating_sub(1))
            });
            Some(Vec::new())
        }
        Action::Top | Action::Bottom if in_graph => {
            let last = len.saturating_sub(1);
            select(state, |_| if action == Action::Top { 0 } else { last });
            Some(Vec::new())
        }
        Action::Open if in_graph => {
            open_node(state);
            Some(Vec::new())
        }
        // Keys about a log or a build have nothing to act on in the graph.
        Action::Search
        | Action::SearchNext
        | Action::SearchPrev
        | Action::FilterMatches
        | Action::FilterInverse
        | Action::Wrap
        | Action::Timestamps
        | Action::NextPhase
        | Action::PrevPhase
        | Action::CopyLine
        | Action::SaveLog
        | Action::Diagnosis
        | Action::CacheReport
            if !node_open =>
        {
            flash(
                state,
                NoticeLevel::Info,
                "select a node and open it to see its build",
            );
            Some(Vec::new())
        }
        _ => None,
    }
}

fn select(state: &mut State, to: impl FnOnce(usize) -> usize) {
    if let Some(v) = state.batch.as_mut() {
        v.selected = to(v.selected);
    }
}

/// `open` on a node: its build's usual panes, or why there are none.
fn open_node(state: &mut State) {
    let Some((b, view)) = batch::shown(state) else {
        return;
    };
    let Some(node) = b.nodes.get(view.selected) else {
        return;
    };
    let Some(build) = node
        .build_id
        .clone()
        .filter(|id| state.builds.contains_key(id))
    else {
        let text = format!("{} has not started ({})", node.identifier, node.status);
        flash(state, NoticeLevel::Info, text);
        return;
    };
    let view = BatchView {
        node_open: true,
        ..view.clone()
    };
    super::actions::open(state, build);
    state.batch = Some(view);
}

/// `next_failed`: the next node (after the selected one, wrapping) whose build failed.
fn next_failed(state: &mut State) {
    let Some((b, view)) = batch::shown(state) else {
        return;
    };
    let n = b.nodes.len();
    let found = (1..=n)
        .map(|k| (view.selected + k) % n)
        .find(|&i| b.nodes[i].failed());
    match found {
        Some(i) => {
            let open = view.node_open;
            select(state, |_| i);
            if open {
                open_node(state);
            }
        }
        None => flash(state, NoticeLevel::Info, "no failed node in this batch"),
    }
}

/// `rerun` while a batch is shown: a failed batch is resumed (local) or, after a
/// confirmation, its failed builds retried (cloud); a running one says so; after a succeeded
/// one the project runs again as `rerun` always does.
fn rerun(state: &mut State) -> Vec<Effect> {
    let Some((b, _)) = batch::shown(state) else {
        return Vec::new();
    };
    let id = b.id.clone();
    let project = b
        .key
        .clone()
        .or_else(|| state.project().map(|p| p.key.clone()));
    if b.running() {
        flash(
            state,
            NoticeLevel::Warning,
            format!("batch {id} is still running"),
        );
        return Vec::new();
    }
    let Some(project) = project.filter(|_| b.failed()) else {
        // Succeeded: `r` runs the project again, as on any project.
        state.batch = None;
        return super::actions::apply(state, Action::Rerun);
    };
    match project.group {
        Group::Local => {
            flash(state, NoticeLevel::Info, format!("resuming batch {id}"));
            vec![Effect::ResumeBatch {
                project,
                batch_id: id,
            }]
        }
        Group::Cloud { .. } => {
            state.flash = None;
            state.mode = Mode::Confirm(Pending::RetryBatch {
                project,
                batch_id: id,
            });
            Vec::new()
        }
    }
}

/// The confirmed retry of a cloud batch's failed builds.
#[must_use]
pub fn confirmed_retry(
    state: &mut State,
    project: super::state::ProjectKey,
    id: BatchId,
) -> Vec<Effect> {
    flash(
        state,
        NoticeLevel::Info,
        format!("retrying the failed builds of {id}"),
    );
    vec![Effect::RetryBatch {
        project,
        batch_id: id,
        failed_only: true,
    }]
}

/// A row of the project's builds list: a batch is one row (its builds belong to it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Entry {
    Batch(BatchId),
    /// `(id, status, live)` as `actions::build_list` gives it.
    Build(BuildId, Status, bool),
}

/// The builds list of the selected project, newest first: this session's builds and batches
/// by start time, then past builds.
#[must_use]
pub fn entries(state: &State) -> Vec<Entry> {
    let list = super::actions::build_list(state);
    let batches = batch::of_project(state, state.selected);
    let mut live: Vec<(chrono::DateTime<chrono::Utc>, Entry)> = batches
        .iter()
        .map(|b| (b.started, Entry::Batch(b.id.clone())))
        .collect();
    let mut past = Vec::new();
    for (id, status, is_live) in list {
        match state.builds.get(&id).filter(|_| is_live) {
            Some(b) => live.push((b.started, Entry::Build(id, status, true))),
            None => past.push(Entry::Build(id, status, is_live)),
        }
    }
    live.sort_by_key(|e| std::cmp::Reverse(e.0));
    live.into_iter().map(|(_, e)| e).chain(past).collect()
}

/// Opens a batch from the builds list: its graph in the main pane, focused.
pub fn open_from_list(state: &mut State, id: BatchId) {
    batch::open(state, id);
    state.focus = Focus::Log;
}
