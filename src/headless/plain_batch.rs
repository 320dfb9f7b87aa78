//! The plain output of a batch. Its builds run at the same time, so their events interleave:
//! every line of a child build (log, `cbdash:` lines) is prefixed by its node's identifier,
//! `[compile] `, padded to the batch's longest; a node that ends without starting (a dependent
//! of a failed task) gets a line of its own; when a child ends, one compact line says how
//! (status, duration, the failed phase's context) instead of its phase table; and when the
//! batch ends, ONE table sums it up: per node its label, status, attempt, duration and build.
//!
//! A [`Printer`] per child build does the printing and the sanitising (identifiers and labels
//! are sanitised here too: a cloud batch's come from the API); this only routes events by
//! build id and prefixes lines. Pure: events in, text out.
//!
//! The table fits 80 columns for a graph of short identifiers: the BUILD column shows a build
//! id without its `<project>:` (the batch's project, named on the batch line; each child's
//! first line has its whole id).

use std::collections::HashMap;
use std::fmt::Write as _;

use super::plain::{Printer, sanitize};
use crate::model::{
    BatchId, BatchKind, BatchNode, BatchResult, BuildEvent, BuildId, NodeStatus, Status,
};

/// Folds a batch's events into text; [`crate::app::output::Output`] hands it every event from
/// `BatchStarted` to `BatchFinished`.
#[derive(Debug)]
pub struct BatchPrinter {
    batch_id: BatchId,
    nodes: Vec<BatchNode>,
    /// The width of the longest `[identifier]`.
    width: usize,
    children: HashMap<BuildId, Child>,
    /// Each node's last state from `BatchBuild` (a cloud poll repeats them).
    states: HashMap<String, NodeState>,
    /// Events of a build that is not one of the batch's (none expected): as plain prints them.
    stray: Printer,
    finished: Option<Finished>,
    /// Where the batch runs: what the summary says to do after a failure.
    backend: crate::model::BackendKind,
}

#[derive(Debug)]
struct Child {
    prefix: String,
    printer: Printer,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct NodeState {
    build_id: Option<BuildId>,
    status: NodeStatus,
    attempt: u32,
}

#[derive(Debug)]
struct Finished {
    status: NodeStatus,
    duration_ms: u64,
    builds: Vec<BatchResult>,
}

impl BatchPrinter {
    /// A printer for the batch a `BatchStarted` announces.
    #[must_use]
    pub fn new(batch_id: BatchId, nodes: Vec<BatchNode>) -> Self {
        let width = nodes
            .iter()
            .map(|n| sanitize(&n.identifier).chars().count() + 2)
            .max()
            .unwrap_or(0);
        Self {
            batch_id,
            nodes,
            width,
            children: HashMap::new(),
            states: HashMap::new(),
            stray: Printer::default(),
            finished: None,
            backend: crate::model::BackendKind::Local,
        }
    }

    /// The batch runs on `backend` (local by default).
    #[must_use]
    pub const fn on(mut self, backend: crate::model::BackendKind) -> Self {
        self.backend = backend;
        self
    }

    /// Whether `BatchFinished` came (the table is printed; nothing of the batch follows).
    #[must_use]
    pub const fn is_finished(&self) -> bool {
        self.finished.is_some()
    }

    /// The text to print for this event (possibly empty).
    pub fn feed(&mut self, ev: &BuildEvent) -> String {
        match ev {
            BuildEvent::BatchStarted { batch_id, kind, .. } if *batch_id == self.batch_id => {
                self.started(*kind)
            }
            BuildEvent::Started {
                build_id,
                batch: Some(member),
                ..
            } if member.batch_id == self.batch_id => {
                self.child_started(build_id, ev, &member.identifier)
            }
            BuildEvent::BatchBuild {
                batch_id,
                identifier,
                build_id,
                status,
                attempt,
                ..
            } if *batch_id == self.batch_id => self.node_changed(
                identifier,
                NodeState {
                    build_id: build_id.clone(),
                    status: status.clone(),
                    attempt: *attempt,
                },
            ),
            BuildEvent::BatchFinished {
                batch_id,
                status,
                duration_ms,
                builds,
                ..
            } if *batch_id == self.batch_id => {
                self.finished = Some(Finished {
                    status: status.clone(),
                    duration_ms: *duration_ms,
                    builds: builds.clone(),
                });
                self.summary()
            }
            _ => self.child_event(ev),
        }
    }

    fn started(&self, kind: BatchKind) -> String {
        format!(
            "cbdash: batch {} ({}, {})\n",
            self.batch_id,
            kind.as_str(),
            super::count(self.nodes.len(), "build")
        )
    }

    fn child_started(&mut self, build_id: &BuildId, ev: &BuildEvent, identifier: &str) -> String {
        let prefix = format!(
            "{:<width$} ",
            format!("[{}]", sanitize(identifier)),
            width = self.width
        );
        let mut child = Child {
            prefix,
            printer: Printer::default(),
        };
        let mut text = child.printer.feed(ev);
        if let Some(label) = self.label(identifier) {
            let _ = writeln!(text, "cbdash: label: {label}");
        }
        let out = prefix_lines(&child.prefix, &text);
        self.children.insert(build_id.clone(), child);
        out
    }

    /// An event of a child build (or of none: a batch-wide notice).
    fn child_event(&mut self, ev: &BuildEvent) -> String {
        let Some(child) = ev.build_id().and_then(|id| self.children.get_mut(id)) else {
            return self.stray.feed(ev);
        };
        let mut text = child.printer.feed(ev);
        if let BuildEvent::Finished {
            status,
            duration_ms,
            exported_variables,
            ..
        } = ev
        {
            text.push_str(&ended(&child.printer, *status, *duration_ms));
            for (name, value) in exported_variables {
                let _ = writeln!(
                    text,
                    "cbdash: exported {}={}",
                    sanitize(name),
                    sanitize(value)
                );
            }
        }
        prefix_lines(&child.prefix, &text)
    }

    /// A node's status changed: a line only when it ended without starting (and only once:
    /// a cloud poll repeats statuses).
    fn node_changed(&mut self, identifier: &str, state: NodeState) -> String {
        if self.states.get(identifier) == Some(&state) {
            return String::new();
        }
        let line = if state.build_id.is_none() && state.status.is_terminal() {
            let reason = self.not_started_reason(identifier);
            format!(
                "{:<width$} {} ({reason})\n",
                format!("[{}]", sanitize(identifier)),
                sanitize(state.status.as_str()),
                width = self.width
            )
        } else {
            String::new()
        };
        self.states.insert(identifier.to_owned(), state);
        line
    }

    /// `not started: compile failed, lint timed out`: the node's dependencies that ended
    /// without succeeding, as far as the batch's events said.
    fn not_started_reason(&self, identifier: &str) -> String {
        let failed: Vec<String> = self
            .nodes
            .iter()
            .find(|n| n.identifier == identifier)
            .map(|n| n.depends_on.as_slice())
            .unwrap_or_default()
            .iter()
            .filter_map(|dep| {
                let s = &self.states.get(dep)?.status;
                (s.is_terminal() && !s.succeeded()).then(|| {
                    format!(
                        "{} {}",
                        sanitize(dep),
                        sanitize(s.as_str()).to_lowercase().replace('_', " ")
                    )
                })
            })
            .collect();
        if failed.is_empty() {
            "not started".to_owned()
        } else {
            format!("not started: {}", failed.join(", "))
        }
    }

    fn label(&self, identifier: &str) -> Option<String> {
        self.nodes
            .iter()
            .find(|n| n.identifier == identifier)
            .and_then(|n| n.label.as_deref())
            .map(sanitize)
    }

    /// The batch's table: every node in the order of `BatchStarted`, with its last build as
    /// `BatchFinished` (else the last `BatchBuild`) said; then the batch's status.
    #[must_use]
    pub fn summary(&self) -> String {
        let rows = self.rows();
        let id_w = col_width("NODE", rows.iter().map(|r| r.identifier.as_str()));
        let label_w = col_width("LABEL", rows.iter().map(|r| r.label.as_str()));
        let status_w = col_width("STATUS", rows.iter().map(|r| r.status.as_str()));
        let has_labels = rows.iter().any(|r| !r.label.is_empty());
        let mut out = String::from("\n");
        let mut line = |cells: [&str; 6]| {
            let label = if has_labels {
                format!("{:<label_w$}  ", cells[1])
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "{:<id_w$}  {label}{:<status_w$}  {:>7}  {:>8}  {}",
                cells[0], cells[2], cells[3], cells[4], cells[5]
            );
        };
        line(["NODE", "LABEL", "STATUS", "ATTEMPT", "DURATION", "BUILD"]);
        for r in &rows {
            line([
                &r.identifier,
                &r.label,
                &r.status,
                &r.attempt,
                &r.duration,
                &r.build,
            ]);
        }
        if let Some(f) = &self.finished {
            let _ = writeln!(
                out,
                "\nBatch {} in {:.1}s ({})",
                sanitize(f.status.as_str()),
                ms_to_s(f.duration_ms),
                self.batch_id
            );
            if !f.status.succeeded() {
                let _ = writeln!(out, "{}", self.next_step());
            }
        }
        out
    }

    /// What to do after a batch that did not succeed.
    fn next_step(&self) -> String {
        match self.backend {
            crate::model::BackendKind::Local => format!(
                "`cbdash resume {}` resumes its failed tasks in place, then the tasks they \
                 stopped",
                self.batch_id
            ),
            crate::model::BackendKind::Cloud => format!(
                "`cbdash cloud retry {} --failed-only` retries its failed builds",
                self.batch_id
            ),
        }
    }

    fn rows(&self) -> Vec<TableRow> {
        let results: &[BatchResult] = self.finished.as_ref().map_or(&[], |f| &f.builds);
        let mut ids: Vec<&str> = self.nodes.iter().map(|n| n.identifier.as_str()).collect();
        for r in results {
            if !ids.contains(&r.identifier.as_str()) {
                ids.push(&r.identifier);
            }
        }
        let project_prefix = format!("{}:", self.batch_id.project());
        ids.into_iter()
            .map(|id| {
                let (build_id, status, attempt, duration_ms) =
                    if let Some(r) = results.iter().find(|r| r.identifier == id) {
                        (
                            r.build_id.as_ref(),
                            r.status.clone(),
                            r.attempt,
                            r.duration_ms,
                        )
                    } else if let Some(s) = self.states.get(id) {
                        (s.build_id.as_ref(), s.status.clone(), s.attempt, None)
                    } else {
                        (None, NodeStatus::Pending, 0, None)
                    };
                TableRow {
                    identifier: sanitize(id),
                    label: self.label(id).unwrap_or_default(),
                    status: sanitize(status.as_str()),
                    attempt: if attempt == 0 {
                        "-".into()
                    } else {
                        attempt.to_string()
                    },
                    duration: duration_ms
                        .map_or_else(|| "-".into(), |d| format!("{:.1}s", ms_to_s(d))),
                    build: build_id.map_or_else(
                        || "-".into(),
                        |b| sanitize(b.0.strip_prefix(&project_prefix).unwrap_or(&b.0)),
                    ),
                }
            })
            .collect()
    }
}

/// A child's one line when it ends, in place of its phase table: its status and duration,
/// and the last phase that did not succeed with its context.
fn ended(printer: &Printer, status: Status, duration_ms: u64) -> String {
    let mut line = format!(
        "cbdash: build {} in {:.1}s",
        status.as_str(),
        ms_to_s(duration_ms)
    );
    let failed = printer
        .rows()
        .iter()
        .rev()
        .find(|r| r.status.is_some_and(|s| s != Status::Succeeded));
    if let Some(row) = failed {
        let _ = write!(line, ": {}", row.phase.as_str());
        if let Some(context) = row.context.lines().next().filter(|c| !c.is_empty()) {
            let _ = write!(line, " {context}");
        }
    }
    line.push('\n');
    line
}

struct TableRow {
    identifier: String,
    label: String,
    status: String,
    attempt: String,
    duration: String,
    build: String,
}

fn col_width<'a>(title: &str, cells: impl Iterator<Item = &'a str>) -> usize {
    cells
        .map(|c| c.chars().count())
        .max()
        .unwrap_or(0)
        .max(title.len())
}

/// Every line of `text` with `prefix` before it (an empty line gets the prefix without its
/// padding).
fn prefix_lines(prefix: &str, text: &str) -> String {
    let mut out = String::with_capacity(text.len() + prefix.len() * 4);
    for line in text.split_inclusive('\n') {
        if line == "\n" {
            out.push_str(prefix.trim_end());
        } else {
            out.push_str(prefix);
        }
        out.push_str(line);
    }
    out
}

#[allow(clippy::cast_precision_loss)] // durations are far below 2^52 ms
fn ms_to_s(ms: u64) -> f64 {
    ms as f64 / 1000.0
}

#[cfg(test)]
#[path = "plain_batch_tests.rs"]
mod tests;
