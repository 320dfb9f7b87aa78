//! The event pipeline every consumer of a build shares (`cbdash run`, `cbdash cloud watch`, the
//! dashboard's executor): the layer-cache tap derives cache reports from the log, the diagnosis tap
//! recognises known failures in it, and the history recorder stores every event and derives
//! regressions when a build finishes. A finished cache report with a miss learns why it
//! missed (`app::explain`) before it is recorded: a local build's from its project's files, a
//! cloud build's from the git checkout cbdash runs in.
//!
//! History is best kept, never in the way: if the database cannot be opened or written, the
//! build goes on and the consumer gets one warning notice.

use std::path::{Path, PathBuf};
use std::time::Instant;

use super::explain::{FilesAt, LocalSource, explain_report};
use crate::cache::{CacheTap, time_saved};
use crate::diagnose::DiagnosisTap;
use crate::history::{Recorder, Store};
use crate::model::{BackendKind, BuildEvent, BuildId, NoticeLevel};

/// Cache tap + diagnosis tap + history recorder over a stream of events.
#[derive(Debug)]
pub struct Pipeline {
    tap: CacheTap,
    /// `None` only if the embedded rule table failed to load (a notice says so).
    diagnose: Option<DiagnosisTap>,
    recorder: Option<Recorder>,
    clock: Instant,
    pending_notice: Option<String>,
    /// A local build's project on this machine: where the miss explainer reads the files.
    source: Option<LocalSource>,
    /// Where a cloud build's changed files are read: a git checkout of its source (the
    /// directory cbdash runs in, when it is one).
    checkout: Option<PathBuf>,
    /// The cloud builds seen (by their `Started`): their files are read from `checkout`.
    cloud: std::collections::HashSet<BuildId>,
}

impl Pipeline {
    /// A pipeline recording into the history at `path` (or the default location).
    #[must_use]
    pub fn new(history: Option<&Path>) -> Self {
        let opened = history
            .map(Path::to_path_buf)
            .map_or_else(Store::default_path, Ok::<PathBuf, _>)
            .and_then(|p| Store::open(&p));
        let (recorder, pending_notice) = match opened {
            Ok(store) => (Some(Recorder::new(store)), None),
            Err(e) => (None, Some(format!("run history is off: {e}"))),
        };
        let mut base = Self::without_history();
        Self {
            recorder,
            pending_notice: pending_notice.or_else(|| base.pending_notice.take()),
            ..base
        }
    }

    /// A pipeline with no history (tests, or `--history` pointing nowhere useful).
    #[must_use]
    pub fn without_history() -> Self {
        let diagnose = DiagnosisTap::builtin().ok();
        Self {
            tap: CacheTap::new(),
            pending_notice: if diagnose.is_none() {
                diagnosis_off()
            } else {
                None
            },
            diagnose,
            recorder: None,
            clock: Instant::now(),
            source: None,
            checkout: std::env::current_dir().ok(),
            cloud: std::collections::HashSet::new(),
        }
    }

    /// The buildspec text the builds run, when known: the diagnosis of a `YAML_FILE_ERROR`
    /// runs the validator on it.
    #[must_use]
    pub fn with_buildspec(mut self, text: Option<String>) -> Self {
        self.diagnose = self.diagnose.map(|d| d.with_buildspec(text));
        self
    }

    /// The project directory and environment of the local builds this pipeline sees, so the
    /// miss explainer can hash the files their docker builds copy.
    #[must_use]
    pub fn with_source(mut self, source: Option<LocalSource>) -> Self {
        self.source = source;
        self
    }

    /// Where a cloud build's source is checked out (the directory cbdash runs in, unless
    /// told otherwise): the miss explainer diffs two builds' commits there.
    #[must_use]
    pub fn with_checkout(mut self, dir: Option<PathBuf>) -> Self {
        self.checkout = dir;
        self
    }

    /// The events to emit for one backend event, in order.
    pub fn process(&mut self, event: BuildEvent) -> Vec<BuildEvent> {
        let now_ms = u64::try_from(self.clock.elapsed().as_millis()).unwrap_or(u64::MAX);
        let mut out = Vec::new();
        if let Some(message) = self.pending_notice.take() {
            out.push(notice(event.build_id().cloned(), message));
        }
        if let BuildEvent::Started {
            build_id,
            backend: BackendKind::Cloud,
            ..
        } = &event
        {
            self.cloud.insert(build_id.clone());
        }
        let cached = self.tap.observe(event, now_ms);
        let diagnosed: Vec<BuildEvent> = match self.diagnose.as_mut() {
            Some(d) => cached.into_iter().flat_map(|ev| d.observe(ev)).collect(),
            None => cached,
        };
        for mut ev in diagnosed {
            self.add_time_saved(&mut ev);
            self.explain(&mut ev);
            let derived = self.record(&ev);
            if matches!(ev, BuildEvent::Finished { .. }) {
                // Regressions belong to the build: say them before it ends.
                out.extend(derived);
                out.push(ev);
            } else {
                out.push(ev);
                out.extend(derived);
            }
        }
        out
    }

    /// A finished cache report learns how much time its cached steps saved, from the
    /// durations the history remembers for the same instructions of this project.
    fn add_time_saved(&self, ev: &mut BuildEvent) {
        let (Some(recorder), BuildEvent::Cache { build_id, report }) = (&self.recorder, ev) else {
            return;
        };
        if !report.finished || report.steps_cached == 0 {
            return;
        }
        match recorder
            .store()
            .last_step_durations(build_id.project(), crate::history::StepRun::Built)
        {
            Ok(last) => {
                let saved = time_saved(report, |instruction| last.get(instruction).copied());
                report.time_saved_ms = Some(saved.total_ms);
            }
            Err(e) => tracing::warn!("time saved unknown: {e}"),
        }
    }

    /// A finished cache report learns why its first miss missed and what the misses cost,
    /// and the history keeps its inputs for the next build of the same Dockerfile.
    fn explain(&self, ev: &mut BuildEvent) {
        let (Some(recorder), BuildEvent::Cache { build_id, report }) = (&self.recorder, ev) else {
            return;
        };
        if report.finished {
            let at = if self.cloud.contains(build_id) {
                FilesAt::Cloud(self.checkout.as_deref())
            } else {
                FilesAt::Local(self.source.as_ref())
            };
            explain_report(
                recorder.store(),
                build_id.as_str(),
                build_id.project(),
                at,
                report,
            );
        }
    }

    fn record(&mut self, ev: &BuildEvent) -> Vec<BuildEvent> {
        let Some(recorder) = self.recorder.as_mut() else {
            return Vec::new();
        };
        match recorder.record(ev) {
            Ok(derived) => derived,
            Err(e) => {
                tracing::warn!("history write failed: {e}");
                self.recorder = None;
                vec![notice(
                    ev.build_id().cloned(),
                    format!("run history is off for this build: {e}"),
                )]
            }
        }
    }

    /// Closes the history (marks builds that never finished as interrupted).
    pub fn finish(self) {
        if let Some(recorder) = self.recorder
            && let Err(e) = recorder.finish()
        {
            tracing::warn!("closing the history failed: {e}");
        }
    }
}

/// The notice for a rule table that did not load (a bug in `rules.toml`, caught by its tests).
fn diagnosis_off() -> Option<String> {
    DiagnosisTap::builtin()
        .err()
        .map(|e| format!("failure diagnosis is off: {e}"))
}

fn notice(build_id: Option<crate::model::BuildId>, message: String) -> BuildEvent {
    BuildEvent::Notice {
        build_id,
        level: NoticeLevel::Warning,
        message,
    }
}
