//! A past run as the events it was made of, so the dashboard opens a build from the history
//! with the same reducer (and, passed through the pipeline's cache and diagnosis taps, the
//! same cache reports and diagnoses) as a live one.
//!
//! Pure: a [`RunDetail`] and the stored log text in, events out (its test reports and
//! regressions last, before `Finished`, as a live build sends them). The log decides the order:
//! each `Entering phase X` line starts the next stored attempt of X and each `Phase complete:
//! X` line ends it, so every line lands in its phase. Phases the log does not show (a pruned
//! log, an interrupted run) are given in the order they started.
//!
//! The cache reports are not in [`replay`]'s events: the caller's cache tap derives them from
//! the log, and [`with_stored_cache_reports`] then puts the reports the history stored in their
//! place (with the miss reason and the times the log cannot give).

use chrono::{DateTime, Utc};

use super::queries::{PhaseRow, RunDetail};
use crate::model::{
    BackendKind, BatchId, BatchMember, BuildEvent, BuildId, CacheReport, LogLine, NoticeLevel,
    PhaseContext, PhaseKind, Status,
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

/// A past run's events after the cache tap re-derived its cache reports from the log, with the
/// finished reports the history stored in their place: those carry what the log alone cannot
/// give (the first miss's reason, the time lost and saved, all worked out from the history
/// while the build ran).
///
/// Why this way (the simplest honest one): the tap still reads the log, so each stored report
/// comes exactly where the live build emitted it (at the line its docker build ended), and the
/// tap's own reports of a docker build the history kept are dropped (its progress updates, a
/// duplicate of the end), so no report is shown twice. A stored report the log never reached
/// (a pruned log) comes before `Finished`; a docker build without a stored finished report (a
/// run recorded before reports were stored) keeps the tap's reports.
#[must_use]
pub fn with_stored_cache_reports(
    build_id: &BuildId,
    events: impl IntoIterator<Item = BuildEvent>,
    stored: &[CacheReport],
) -> Vec<BuildEvent> {
    let mut pending: Vec<Option<&CacheReport>> =
        stored.iter().filter(|r| r.finished).map(Some).collect();
    let kept: Vec<u32> = pending.iter().flatten().map(|r| r.docker_build).collect();
    let stored_event = |report: &CacheReport| BuildEvent::Cache {
        build_id: build_id.clone(),
        report: report.clone(),
    };
    let mut out = Vec::new();
    for ev in events {
        match &ev {
            BuildEvent::Cache {
                build_id: id,
                report,
            } if id == build_id && kept.contains(&report.docker_build) => {
                if report.finished {
                    let slot = pending
                        .iter_mut()
                        .find(|r| r.is_some_and(|r| r.docker_build == report.docker_build));
                    if let Some(stored) = slot.and_then(Option::take) {
                        out.push(stored_event(stored));
                    }
                }
            }
            BuildEvent::Finished { build_id: id, .. } if id == build_id => {
                out.extend(
                    pending
                        .iter_mut()
                        .filter_map(Option::take)
                        .map(stored_event),
                );
                out.push(ev);
            }
            _ => out.push(ev),
        }
    }
    // A run that never finished: what it stored still shows.
    out.extend(pending.into_iter().flatten().map(stored_event));
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
