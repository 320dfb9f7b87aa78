//! `Recorder`: turns the `BuildEvent` stream of `cbdash run` (or of a followed cloud build)
//! into history rows and a compressed log, as the events arrive, so that a killed cbdash
//! loses at most the last batch of log lines. Batch events become a batch row, its nodes and
//! their builds; report events one row per report group.

use std::collections::{HashMap, HashSet};

use super::batch_writes::{NewBatch, NodeUpdate};
use super::error::Result;
use super::logs::LogWriter;
use super::regress::{self, RegressionRules};
use super::store::Store;
use super::writes::{NewRun, PhaseEnd};
use crate::model::{BackendKind, BuildEvent, BuildId, Status};

/// A build the recorder is writing.
#[derive(Debug)]
struct Open {
    project: String,
    backend: BackendKind,
    /// Its batch task, whose earlier builds are its baseline.
    identifier: Option<String>,
    log: Option<LogWriter>,
}

/// Records builds into a [`Store`].
#[derive(Debug)]
pub struct Recorder {
    store: Store,
    open: HashMap<String, Open>,
    /// Batches started and not finished.
    open_batches: HashSet<String>,
    rules: RegressionRules,
}

impl Recorder {
    /// A recorder writing into `store`, flagging regressions with the default rules.
    #[must_use]
    pub fn new(store: Store) -> Self {
        Self::with_rules(store, RegressionRules::default())
    }

    /// A recorder with its own regression rules.
    #[must_use]
    pub fn with_rules(store: Store, rules: RegressionRules) -> Self {
        Self {
            store,
            open: HashMap::new(),
            open_batches: HashSet::new(),
            rules,
        }
    }

    /// The store, for queries.
    #[must_use]
    pub const fn store(&self) -> &Store {
        &self.store
    }

    /// Records one event. Returns the events the history derives from it: the
    /// `BuildEvent::Regression`s of a build that just finished, for the caller to print.
    pub fn record(&mut self, event: &BuildEvent) -> Result<Vec<BuildEvent>> {
        match event {
            BuildEvent::Started {
                build_id,
                project,
                backend,
                image,
                docker,
                batch,
                at,
            } => self.start(&NewRun {
                build_id: build_id.as_str(),
                project,
                backend: *backend,
                image,
                docker: *docker,
                batch: batch.as_ref(),
                started_at: *at,
            })?,
            BuildEvent::PhaseStarted {
                build_id,
                phase,
                attempt,
                at,
            } => self
                .store
                .phase_started(build_id.as_str(), *phase, *attempt, *at)?,
            BuildEvent::Logs { build_id, lines } => {
                if let Some(log) = self
                    .open
                    .get_mut(build_id.as_str())
                    .and_then(|o| o.log.as_mut())
                {
                    log.write_lines(lines.iter().map(|l| l.text.as_str()))?;
                    log.flush()?;
                }
            }
            BuildEvent::PhaseFinished {
                build_id,
                phase,
                attempt,
                status,
                duration_ms,
                context,
                at,
            } => self.store.phase_finished(
                build_id.as_str(),
                &PhaseEnd {
                    phase: *phase,
                    attempt: *attempt,
                    status: *status,
                    duration_ms: *duration_ms,
                    context,
                    ended_at: *at,
                },
            )?,
            BuildEvent::Cache { build_id, report } => {
                self.store.save_cache_report(build_id.as_str(), report)?;
            }
            BuildEvent::Regression {
                build_id,
                regression,
            } => {
                self.store
                    .save_regressions(build_id.as_str(), std::slice::from_ref(regression))?;
            }
            BuildEvent::Finished { .. } => return self.record_finished(event),
            BuildEvent::Report { .. } => self.record_report(event)?,
            BuildEvent::SourceVersion { build_id, version } => {
                self.store.set_source_version(build_id.as_str(), version)?;
            }
            // Diagnoses are derived from the log, which the history keeps: not stored twice.
            BuildEvent::Artifacts { .. }
            | BuildEvent::Notice { .. }
            | BuildEvent::CacheKey { .. }
            | BuildEvent::Diagnosis { .. }
            | BuildEvent::Breakpoint { .. }
            | BuildEvent::Resumed { .. }
            | BuildEvent::DebugSession { .. } => {}
            BuildEvent::BatchStarted { .. }
            | BuildEvent::BatchBuild { .. }
            | BuildEvent::BatchFinished { .. } => self.record_batch(event)?,
        }
        Ok(Vec::new())
    }

    /// The build's end, and the regressions it shows against its earlier runs.
    fn record_finished(&mut self, event: &BuildEvent) -> Result<Vec<BuildEvent>> {
        let BuildEvent::Finished {
            build_id,
            status,
            duration_ms,
            at,
            exported_variables,
        } = event
        else {
            return Ok(Vec::new());
        };
        self.store
            .finish_run(build_id.as_str(), *status, *duration_ms, *at)?;
        if !exported_variables.is_empty() {
            self.store
                .save_exported(build_id.as_str(), exported_variables)?;
        }
        let regressions = self.close(build_id.as_str(), *status)?;
        Ok(regressions
            .into_iter()
            .map(|regression| BuildEvent::Regression {
                build_id: build_id.clone(),
                regression,
            })
            .collect())
    }

    /// A report group's report of a build.
    fn record_report(&mut self, event: &BuildEvent) -> Result<()> {
        if let BuildEvent::Report {
            build_id, report, ..
        } = event
        {
            self.store.save_report(build_id.as_str(), report)?;
        }
        Ok(())
    }

    /// A batch event: the batch row, a node's update, or the outcome. (No batch event carries
    /// a variable or a secret: ids, identifiers, labels, statuses and times only.)
    fn record_batch(&mut self, event: &BuildEvent) -> Result<()> {
        match event {
            BuildEvent::BatchStarted {
                batch_id,
                project,
                backend,
                kind,
                builds,
                at,
            } => {
                self.store.begin_batch(&NewBatch {
                    batch_id: batch_id.as_str(),
                    project,
                    backend: *backend,
                    kind: *kind,
                    nodes: builds,
                    started_at: *at,
                })?;
                self.open_batches.insert(batch_id.as_str().to_owned());
            }
            BuildEvent::BatchBuild {
                batch_id,
                identifier,
                build_id,
                status,
                attempt,
                at,
            } => self.store.batch_node(
                batch_id.as_str(),
                &NodeUpdate {
                    identifier,
                    build_id: build_id.as_ref().map(BuildId::as_str),
                    status,
                    attempt: *attempt,
                    at: *at,
                },
            )?,
            BuildEvent::BatchFinished {
                batch_id,
                status,
                duration_ms,
                builds,
                at,
            } => {
                self.store
                    .finish_batch(batch_id.as_str(), status, *duration_ms, builds, *at)?;
                self.open_batches.remove(batch_id.as_str());
            }
            _ => {}
        }
        Ok(())
    }

    /// A build started: its row, and for a local build its log file (cloud builds keep
    /// theirs in CloudWatch Logs). A local build that starts again is a resume: its row and
    /// phases stay (new attempts are added), and its log goes on after the earlier runs'.
    fn start(&mut self, run: &NewRun<'_>) -> Result<()> {
        let earlier_log = self
            .store
            .log_path(run.build_id)?
            .filter(|p| run.backend == BackendKind::Local && p.exists());
        self.store.begin_run(run)?;
        // Regressions belong to an end: a run seen starting again gets its own at its new one.
        self.store.clear_regressions(run.build_id)?;
        let log = if let Some(path) = earlier_log {
            self.store.reopen_log(run.build_id)?;
            Some(LogWriter::append(&path)?)
        } else if run.backend == BackendKind::Local {
            let file = format!("{}.log.gz", log_stem(run.build_id));
            let writer = LogWriter::create(&self.store.logs_dir().join(&file))?;
            self.store.set_log_path(run.build_id, &file)?;
            Some(writer)
        } else {
            None
        };
        self.open.insert(
            run.build_id.to_owned(),
            Open {
                project: run.project.to_owned(),
                backend: run.backend,
                identifier: run.batch.map(|b| b.identifier.clone()),
                log,
            },
        );
        Ok(())
    }

    /// Closes a finished build's log, prunes old logs, and checks it for regressions.
    fn close(&mut self, build_id: &str, status: Status) -> Result<Vec<crate::model::Regression>> {
        let Some(mut open) = self.open.remove(build_id) else {
            return Ok(Vec::new());
        };
        if let Some(log) = open.log.take() {
            let bytes = log.close()?;
            self.store.set_log_bytes(build_id, bytes)?;
            self.store.prune_logs()?;
        }
        // A failing test usually fails the build: report groups are compared either way.
        let mut found = if matches!(status, Status::Succeeded | Status::Failed) {
            self.report_regressions(build_id, &open)?
        } else {
            Vec::new()
        };
        if status == Status::Succeeded {
            let current = self.store.metrics(build_id)?;
            let baseline = self.store.task_baseline(
                &open.project,
                open.backend.as_str(),
                open.identifier.as_deref(),
                build_id,
                self.rules.window,
            )?;
            let mut slower = regress::detect(&current, &baseline, &self.rules);
            slower.append(&mut found);
            found = slower;
        }
        self.store.save_regressions(build_id, &found)?;
        Ok(found)
    }

    /// Each report group of the build against the same group's previous run.
    fn report_regressions(
        &self,
        build_id: &str,
        open: &Open,
    ) -> Result<Vec<crate::model::Regression>> {
        let mut found = Vec::new();
        for now in self.store.report_rows(build_id)? {
            let last = self.store.previous_report(
                &open.project,
                open.backend.as_str(),
                open.identifier.as_deref(),
                build_id,
                &now.group,
            )?;
            if let Some(last) = last {
                found.extend(regress::detect_report(&now, &last, &self.rules));
            }
        }
        Ok(found)
    }

    /// Ends recording: builds and batches that never finished (cbdash is quitting mid-build)
    /// are marked stopped and interrupted; the builds' logs are completed and kept.
    pub fn finish(mut self) -> Result<Store> {
        let open: Vec<String> = self.open.keys().cloned().collect();
        for build_id in open {
            if let Some(log) = self.open.remove(&build_id).and_then(|o| o.log) {
                let bytes = log.close()?;
                self.store.set_log_bytes(&build_id, bytes)?;
            }
            self.store.mark_abandoned(&build_id)?;
        }
        for batch_id in std::mem::take(&mut self.open_batches) {
            self.store.mark_batch_abandoned(&batch_id)?;
        }
        Ok(self.store)
    }
}

/// The log file name of a build: its uuid part (safe characters only).
fn log_stem(build_id: &str) -> String {
    let uuid = build_id.split_once(':').map_or(build_id, |(_, u)| u);
    uuid.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}
