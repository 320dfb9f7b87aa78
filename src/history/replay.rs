//! A past run as the events it was made of, so the dashboard opens a build from the history
//! with the same reducer (and, passed through the pipeline's cache and diagnosis taps, the
//! same cache reports and diagnoses) as a live one.
//!
//! Pure: a [`RunDetail`] and the stored log text in, events out (its test reports and
//! regressions last, before `Finished`, as a live build sends them). The log decides the order:
//! each `Entering phase X` line starts the next stored attempt of X and each `Phase complete:
//! X` line ends it, so every line lands in its phase. Phases the log does not show (a pruned
//! log, an interrupted run) are given in the order they started.

use chrono::{DateTime, Utc};

use super::queries::{PhaseRow, RunDetail};
use crate::model::{
    BackendKind, BatchId, BatchMember, BuildEvent, BuildId, LogLine, NoticeLevel, PhaseContext,
    PhaseKind, Status,
};

/// Lines per `Logs` event: the size of a live batch.
const BATCH: usize = 256;

/// The events of a stored run, `Started` to `Finished`; `log` is `None` when it was pruned.
#[must_use]
pub fn replay(detail: &RunDetail, log: Option<&str>) -> Vec<BuildEvent> {
    let run = &detail.run;
    let build_id = BuildId(run.build_id.clone());
    let started = time(Some(&run.started_at)).unwrap_or_default();
    let backend = if run.backend == "cloud" {
        BackendKind::Cloud
    } else {
        BackendKind::Local
    };
    let mut out =
        vec![BuildEvent::Started {
            build_id: build_id.clone(),
            project: run.project.clone(),
            backend,
            image: run.image.clone().unwrap_or_default(),
            // Not known for runs recorded before the history kept it (v4): shown as none.
            docker: run
                .docker
                .as_deref()
                .and_then(|d| serde_json::from_value(serde_json::Value::String(d.to_owned())).ok())
                .unwrap_or_default(),
            batch: run.batch_id.clone().zip(run.identifier.clone()).map(
                |(batch_id, identifier)| BatchMember {
                    batch_id: BatchId(batch_id),
                    identifier,
                },
            ),
            at: started,
        }];
    let mut phases = Phases::new(&build_id, &detail.phases);
    match log {
        Some(text) => phases.walk_log(text, &mut out),
        None => out.push(BuildEvent::Notice {
            build_id: Some(build_id.clone()),
            level: NoticeLevel::Info,
            message: "the log of this build is no longer kept (pruned, oldest first)".into(),
        }),
    }
    phases.rest(&mut out);
    // As live: a group's report once its files are read, the regressions, then the end.
    out.extend(
        detail
            .reports
            .iter()
            .cloned()
            .map(|report| BuildEvent::Report {
                build_id: build_id.clone(),
                backend,
                report,
            }),
    );
    out.extend(
        detail
            .regressions
            .iter()
            .cloned()
            .map(|regression| BuildEvent::Regression {
                build_id: build_id.clone(),
                regression,
            }),
    );
    let status = Status::from_api(&run.status).unwrap_or(Status::Fault);
    if status != Status::InProgress {
        out.push(BuildEvent::Finished {
            build_id,
            status,
            duration_ms: run.duration_ms.unwrap_or(0),
            at: time(run.ended_at.as_deref()).unwrap_or(started),
            exported_variables: detail.exported_variables.clone(),
        });
    }
    out
}

fn time(s: Option<&str>) -> Option<DateTime<Utc>> {
    s.and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// The stored phase attempts, handed out as the log reaches them.
struct Phases<'a> {
    build_id: &'a BuildId,
    /// In the order they started; `None` once emitted.
    rows: Vec<Option<&'a PhaseRow>>,
    /// Started, not yet finished (index into `rows`, its phase).
    open: Option<(usize, PhaseKind)>,
}

impl<'a> Phases<'a> {
    fn new(build_id: &'a BuildId, rows: &'a [PhaseRow]) -> Self {
        let mut rows: Vec<&PhaseRow> = rows.iter().collect();
        rows.sort_by(|a, b| a.started_at.cmp(&b.started_at));
        Self {
            build_id,
            rows: rows.into_iter().map(Some).collect(),
            open: None,
        }
    }

    fn walk_log(&mut self, text: &str, out: &mut Vec<BuildEvent>) {
        let mut batch: Vec<LogLine> = Vec::new();
        for line in text.lines() {
            if let Some(kind) = agent_phase(line, "Entering phase ") {
                self.flush(&mut batch, out);
                self.start(kind, out);
            }
            let phase = self.open.map(|(_, k)| k);
            batch.push(LogLine::from_log(phase, line));
            if batch.len() == BATCH {
                self.flush(&mut batch, out);
            }
            if let Some(kind) = agent_phase(line, "Phase complete: ") {
                self.flush(&mut batch, out);
                self.finish(kind, out);
            }
        }
        self.flush(&mut batch, out);
    }

    fn flush(&self, batch: &mut Vec<LogLine>, out: &mut Vec<BuildEvent>) {
        if !batch.is_empty() {
            out.push(BuildEvent::Logs {
                build_id: self.build_id.clone(),
                lines: std::mem::take(batch),
            });
        }
    }

    /// Starts the first stored attempt of `kind` not given yet (and ends the open one).
    fn start(&mut self, kind: PhaseKind, out: &mut Vec<BuildEvent>) {
        if let Some((_, open)) = self.open {
            self.finish(open, out);
        }
        let Some(i) = self
            .rows
            .iter()
            .position(|r| r.is_some_and(|r| is(r, kind)))
        else {
            return;
        };
        if let Some(row) = self.rows[i] {
            out.push(Self::started_of(self.build_id, row, kind));
            self.open = Some((i, kind));
        }
    }

    fn finish(&mut self, kind: PhaseKind, out: &mut Vec<BuildEvent>) {
        match self.open {
            Some((i, open)) if open == kind => {
                if let Some(row) = self.rows[i].take() {
                    out.push(Self::finished_of(self.build_id, row, kind));
                }
                self.open = None;
            }
            _ => {}
        }
    }

    /// Every attempt the log did not show, started and ended in order.
    fn rest(&mut self, out: &mut Vec<BuildEvent>) {
        if let Some((_, open)) = self.open {
            self.finish(open, out);
        }
        for row in self.rows.iter_mut().filter_map(Option::take) {
            let Some(kind) = PhaseKind::from_api(&row.phase) else {
                continue;
            };
            let (s, f) = (
                Self::started_of(self.build_id, row, kind),
                Self::finished_of(self.build_id, row, kind),
            );
            out.push(s);
            out.push(f);
        }
    }

    fn started_of(build_id: &BuildId, row: &PhaseRow, kind: PhaseKind) -> BuildEvent {
        BuildEvent::PhaseStarted {
            build_id: build_id.clone(),
            phase: kind,
            attempt: row.attempt,
            at: time(row.started_at.as_deref()).unwrap_or_default(),
        }
    }

    fn finished_of(build_id: &BuildId, row: &PhaseRow, kind: PhaseKind) -> BuildEvent {
        BuildEvent::PhaseFinished {
            build_id: build_id.clone(),
            phase: kind,
            attempt: row.attempt,
            status: Status::from_api(&row.status).unwrap_or(Status::Fault),
            duration_ms: row.duration_ms.unwrap_or(0),
            context: PhaseContext {
                status_code: row.context_code.clone(),
                message: row.context_message.clone(),
            },
            at: time(row.ended_at.as_deref().or(row.started_at.as_deref())).unwrap_or_default(),
        }
    }
}

fn is(row: &PhaseRow, kind: PhaseKind) -> bool {
    row.phase == kind.as_str()
}

/// The phase an agent line names after `marker` (`[Container] ... Entering phase BUILD`).
fn agent_phase(line: &str, marker: &str) -> Option<PhaseKind> {
    if !line.starts_with("[Container]") {
        return None;
    }
    let rest = &line[line.find(marker)? + marker.len()..];
    let name = rest.split_whitespace().next()?;
    PhaseKind::from_api(name)
}

#[cfg(test)]
#[path = "replay_tests.rs"]
mod tests;
