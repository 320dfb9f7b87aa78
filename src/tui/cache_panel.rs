//! The layer-cache panel's data: one [`CacheSummary`] per `docker build` of a build, the steps
//! that ran, and each step's record over its Dockerfile's last builds ([`StepTrend`]).
//!
//! How it fits: the reducer folds each `BuildEvent::Cache` here ([`on_cache`]); a finished
//! report (a live build's, or a past build's as its replay sends it) asks for its steps'
//! history with `Effect::LoadStepHistory`; the executor reads it from the run history on a
//! blocking thread (`app::cache::step_history`, the same per-step series as the `x` overlay)
//! and answers with `Msg::StepHistory` ([`on_step_history`]); the view (`view::build`,
//! `widgets::cache`) draws the lot. Pure: no IO, no drawing.

use super::msg::{Effect, Msg};
use super::sanitize;
use super::state::State;
use crate::cache::{StepPoint, StepSeries};
use crate::model::{BuildId, CacheReport};

/// A layer-cache report for one `docker build`, as the cache panel shows it.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct CacheSummary {
    /// The image or Dockerfile built.
    pub target: String,
    pub steps: u32,
    pub cached: u32,
    /// The first step that was not cached (what invalidated the cache): `step N: INSTR`.
    pub first_miss: Option<String>,
    /// Why it missed (`files changed: src/a.js`), when the explainer knows.
    pub miss_reason: Option<String>,
    /// That step's position among the report's steps (what its trend is found by).
    pub first_miss_at: Option<u32>,
    /// Estimated time the cached steps saved (0: none, or not known).
    pub saved_ms: u64,
    /// The steps that ran (missed the cache), in the order docker printed them.
    pub ran: Vec<StepLine>,
    /// Each step's record over the Dockerfile's last builds, this one the newest; empty until
    /// the history answers, and for a build the history does not have.
    pub trends: Vec<StepTrend>,
}

/// A step of this docker build that ran.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepLine {
    /// Its position among the report's steps (0 for the first).
    pub position: u32,
    /// The step number docker printed.
    pub step: u32,
    /// The instruction (its platform first in a multi-platform build), safe to draw.
    pub instruction: String,
    pub duration_ms: Option<u64>,
}

/// One step followed through the Dockerfile's last builds (by instruction text and position,
/// as `cache::overview` follows it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepTrend {
    pub position: u32,
    /// The instruction, safe to draw.
    pub instruction: String,
    /// One entry per build, oldest first; `None` where the step was not there.
    pub runs: Vec<Option<StepPoint>>,
    /// Builds that had the step, and how many of them ran it.
    pub builds: u32,
    pub misses: u32,
}

impl StepTrend {
    /// The panel's view of a series of the history.
    #[must_use]
    pub fn from_series(s: &StepSeries) -> Self {
        Self {
            position: s.position,
            instruction: clean(&step_label(s.platform.as_deref(), &s.instruction)),
            runs: s.runs.clone(),
            builds: s.builds,
            misses: s.misses,
        }
    }

    /// Its miss rate as the panel says it: `misses 3/8`.
    #[must_use]
    pub fn rate(&self) -> String {
        format!("misses {}/{}", self.misses, self.builds)
    }

    /// The longest any of its runs took.
    fn longest(&self) -> u64 {
        self.runs
            .iter()
            .flatten()
            .filter_map(|p| p.duration_ms)
            .max()
            .unwrap_or(0)
    }
}

/// A step as the cache views name it: its platform first in a multi-platform build
/// (`[linux/arm64] RUN make`), else its instruction.
#[must_use]
pub fn step_label(platform: Option<&str>, instruction: &str) -> String {
    match platform {
        Some(p) => format!("[{p}] {instruction}"),
        None => instruction.to_owned(),
    }
}

/// Text from a build log, made safe to draw and plain (no colours).
fn clean(text: &str) -> String {
    sanitize::plain(&sanitize::sanitize(text)).into_owned()
}

impl CacheSummary {
    /// The panel's view of an analyzer report.
    #[must_use]
    pub fn from_report(report: &CacheReport) -> Self {
        let first_miss_at = report.first_miss.as_ref().and_then(|m| {
            report
                .steps
                .iter()
                .position(|s| s.index == m.step && s.instruction == m.instruction)
                .or_else(|| report.steps.iter().position(|s| !s.cached))
                .and_then(|i| u32::try_from(i).ok())
        });
        Self {
            target: clean(
                &report
                    .image
                    .clone()
                    .unwrap_or_else(|| format!("docker build #{}", report.number())),
            ),
            steps: report.steps_total,
            cached: report.steps_cached,
            first_miss: report
                .first_miss
                .as_ref()
                .map(|m| clean(&format!("step {}: {}", m.step, m.instruction))),
            miss_reason: report
                .first_miss
                .as_ref()
                .and_then(|m| m.reason.as_ref())
                .map(|r| clean(&r.summary())),
            first_miss_at,
            saved_ms: report.time_saved_ms.unwrap_or(0),
            ran: report
                .steps
                .iter()
                .enumerate()
                .filter(|(_, s)| !s.cached)
                .filter_map(|(i, s)| {
                    Some(StepLine {
                        position: u32::try_from(i).ok()?,
                        step: s.index,
                        instruction: clean(&step_label(s.platform.as_deref(), &s.instruction)),
                        duration_ms: s.duration_ms,
                    })
                })
                .collect(),
            trends: Vec::new(),
        }
    }

    /// The record of the step at `position`, once the history answered.
    #[must_use]
    pub fn trend(&self, position: u32) -> Option<&StepTrend> {
        self.trends.iter().find(|t| t.position == position)
    }

    /// The step the summary row follows, and whether it is the first miss: the first step that
    /// missed; when none did, the slowest (the longest any of its runs took; the first of
    /// equals).
    #[must_use]
    pub fn followed(&self) -> Option<(&StepTrend, bool)> {
        if let Some(at) = self.first_miss_at {
            return self.trend(at).map(|t| (t, true));
        }
        self.trends
            .iter()
            .rev()
            .max_by_key(|t| t.longest())
            .map(|t| (t, false))
    }
}

/// A cache report of `build_id`: live updates replace the summary of the same docker build; a
/// finished one asks for its steps' history.
pub fn on_cache(state: &mut State, build_id: &BuildId, report: &CacheReport) -> Vec<Effect> {
    let Some(b) = state.builds.get_mut(build_id) else {
        return Vec::new();
    };
    let summary = CacheSummary::from_report(report);
    let i = report.docker_build as usize;
    if let Some(slot) = b.caches.get_mut(i) {
        *slot = summary;
    } else {
        b.caches.push(summary);
    }
    if report.finished {
        vec![Effect::LoadStepHistory {
            build: build_id.clone(),
            docker_build: report.docker_build,
        }]
    } else {
        Vec::new()
    }
}

/// `Msg::StepHistory`: the history's answer for one docker build of a build. A failed read
/// leaves the panel as it was (the row without sparklines): the history being off was said
/// once already, and the `x` overlay says why in full.
pub fn on_step_history(state: &mut State, msg: Msg) -> Vec<Effect> {
    let Msg::StepHistory {
        build,
        docker_build,
        steps: Ok(steps),
    } = msg
    else {
        return Vec::new();
    };
    let slot = state
        .builds
        .get_mut(&build)
        .and_then(|b| b.caches.get_mut(docker_build as usize));
    if let Some(summary) = slot {
        summary.trends = steps.iter().map(StepTrend::from_series).collect();
    }
    Vec::new()
}
