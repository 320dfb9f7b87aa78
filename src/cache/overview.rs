//! The per-Dockerfile cache report (`cbdash cache`, the dashboard's `x`): from the history of
//! one Dockerfile (its last docker builds, step by step), the hit ratio over time, each
//! step's durations and miss rate, the most expensive missing steps, the miss reasons seen,
//! and the advice of `advice.rs`. Pure: the history is read by `crate::history`, the
//! Dockerfile and the build context by the app layer; both arrive here as values.
//!
//! A step is followed from build to build by its instruction text and its position among
//! the steps with that text (the second `RUN make` stays the second), so a line added above
//! it does not break its series.

use std::collections::HashMap;

use serde::Serialize;

use super::advice::{Advice, AdviceInput, AdviceRules};
use crate::model::{MissKind, MissReason};

/// One step of a past docker build, as the history keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PastStep {
    /// Its position among the build's cacheable steps (0 for the first).
    pub position: u32,
    /// The BuildKit stage, when the report named one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    /// The platform of a multi-platform build (`linux/arm64`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// The instruction as docker printed it.
    pub instruction: String,
    pub cached: bool,
    pub duration_ms: Option<u64>,
}

/// One past docker build of a Dockerfile.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PastDockerBuild {
    pub build_id: String,
    pub started_at: String,
    /// The run's status (`SUCCEEDED`, `FAILED`, ...).
    pub status: String,
    pub steps_total: u32,
    pub steps_cached: u32,
    /// The steps in the order docker printed them.
    pub steps: Vec<PastStep>,
    /// The first step that missed, and why (when the explainer said).
    pub first_miss: Option<String>,
    pub reason: Option<MissReason>,
}

/// The history of one Dockerfile in a project: its docker builds, oldest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DockerfileHistory {
    pub project: String,
    /// The image the builds tagged; `None`: builds without a tag, told apart by `docker_build`.
    pub image: Option<String>,
    /// Which docker build of its log (counted from 0), for builds without a tag.
    pub docker_build: Option<u32>,
    pub builds: Vec<PastDockerBuild>,
}

impl DockerfileHistory {
    /// How people see it: the image, or `docker build #N`.
    #[must_use]
    pub fn label(&self) -> String {
        self.image
            .clone()
            .unwrap_or_else(|| format!("docker build #{}", self.docker_build.unwrap_or(0) + 1))
    }
}

/// The hit ratio of one build.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HitPoint {
    pub build_id: String,
    pub started_at: String,
    /// Cached over cacheable steps, 0.0..=1.0 (`None`: no cacheable step).
    pub ratio: Option<f64>,
}

/// A step in one build of the series: hit or miss, and how long it took.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct StepPoint {
    pub cached: bool,
    pub duration_ms: Option<u64>,
}

/// One step of the newest build, followed through the earlier ones.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StepSeries {
    pub position: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    pub instruction: String,
    /// One entry per build of the report, oldest first; `null` where the step was not there.
    pub runs: Vec<Option<StepPoint>>,
    /// Builds that had the step.
    pub builds: u32,
    /// Of those, how many ran it (a cache miss).
    pub misses: u32,
    /// `misses / builds`.
    pub miss_rate: f64,
    /// The time its misses took, summed.
    pub miss_cost_ms: u64,
}

/// A step whose misses cost the most.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ExpensiveMiss {
    pub instruction: String,
    pub misses: u32,
    pub builds: u32,
    pub cost_ms: u64,
}

/// A miss reason and how often it was given.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReasonSeen {
    pub kind: MissKind,
    pub count: u32,
    /// What the reasons named: changed files, `old → new` values, details (at most 5).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<String>,
}

/// The report on one Dockerfile.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CacheOverview {
    pub project: String,
    pub image: Option<String>,
    /// The image, or `docker build #N` for builds without a tag.
    pub label: String,
    /// Docker builds in the report (the last N).
    pub builds: u32,
    pub hit_ratio: Vec<HitPoint>,
    pub steps: Vec<StepSeries>,
    pub expensive_misses: Vec<ExpensiveMiss>,
    pub reasons: Vec<ReasonSeen>,
    pub advice: Vec<Advice>,
}

/// How many evidence strings a reason keeps.
const MAX_EVIDENCE: usize = 5;

impl CacheOverview {
    /// The report on `history` (its builds oldest first), with the advice `rules` give.
    #[must_use]
    pub fn build(history: &DockerfileHistory, rules: &AdviceRules, input: &AdviceInput) -> Self {
        let steps = step_series(history);
        Self {
            project: history.project.clone(),
            image: history.image.clone(),
            label: history.label(),
            builds: count(history.builds.len()),
            hit_ratio: history
                .builds
                .iter()
                .map(|b| HitPoint {
                    build_id: b.build_id.clone(),
                    started_at: b.started_at.clone(),
                    ratio: (b.steps_total > 0)
                        .then(|| f64::from(b.steps_cached) / f64::from(b.steps_total)),
                })
                .collect(),
            expensive_misses: expensive(&steps, rules.evidence.top),
            reasons: reasons(history),
            advice: rules.advise(history, &steps, input),
            steps,
        }
    }

    /// The mean hit ratio over the builds that had cacheable steps.
    #[must_use]
    pub fn mean_hit_ratio(&self) -> Option<f64> {
        let known: Vec<f64> = self.hit_ratio.iter().filter_map(|p| p.ratio).collect();
        (!known.is_empty()).then(|| known.iter().sum::<f64>() / f64::from(count(known.len())))
    }
}

pub(crate) fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The key that follows a step from build to build: its text and which occurrence of that
/// text it is.
pub(crate) fn step_keys(steps: &[PastStep]) -> Vec<(String, u32)> {
    let mut seen: HashMap<(&str, Option<&str>), u32> = HashMap::new();
    steps
        .iter()
        .map(|s| {
            let n = seen
                .entry((s.instruction.as_str(), s.platform.as_deref()))
                .or_default();
            let key = (
                format!(
                    "{}\u{0}{}",
                    s.platform.as_deref().unwrap_or(""),
                    s.instruction
                ),
                *n,
            );
            *n += 1;
            key
        })
        .collect()
}

/// Each step of the newest build of `history` with its points in every build (what the
/// dashboard's cache panel draws for the build it shows, when its history ends there).
#[must_use]
pub fn step_series(history: &DockerfileHistory) -> Vec<StepSeries> {
    let Some(newest) = history.builds.last() else {
        return Vec::new();
    };
    let by_build: Vec<HashMap<(String, u32), &PastStep>> = history
        .builds
        .iter()
        .map(|b| step_keys(&b.steps).into_iter().zip(&b.steps).collect())
        .collect();
    step_keys(&newest.steps)
        .into_iter()
        .zip(&newest.steps)
        .map(|(key, step)| {
            let runs: Vec<Option<StepPoint>> = by_build
                .iter()
                .map(|m| {
                    m.get(&key).map(|s| StepPoint {
                        cached: s.cached,
                        duration_ms: s.duration_ms,
                    })
                })
                .collect();
            let present: Vec<&StepPoint> = runs.iter().flatten().collect();
            let ran: Vec<&&StepPoint> = present.iter().filter(|p| !p.cached).collect();
            let seen_in = count(present.len());
            let misses = count(ran.len());
            StepSeries {
                position: step.position,
                stage: step.stage.clone(),
                platform: step.platform.clone(),
                instruction: step.instruction.clone(),
                miss_cost_ms: ran.iter().filter_map(|p| p.duration_ms).sum(),
                miss_rate: if seen_in == 0 {
                    0.0
                } else {
                    f64::from(misses) / f64::from(seen_in)
                },
                builds: seen_in,
                misses,
                runs,
            }
        })
        .collect()
}

/// The `top` steps whose misses cost the most (a step that never cost anything is left out).
fn expensive(steps: &[StepSeries], top: usize) -> Vec<ExpensiveMiss> {
    let mut list: Vec<ExpensiveMiss> = steps
        .iter()
        .filter(|s| s.misses > 0 && s.miss_cost_ms > 0)
        .map(|s| ExpensiveMiss {
            instruction: s.instruction.clone(),
            misses: s.misses,
            builds: s.builds,
            cost_ms: s.miss_cost_ms,
        })
        .collect();
    list.sort_by_key(|m| std::cmp::Reverse(m.cost_ms));
    list.truncate(top);
    list
}

/// The reasons the builds' first misses were given, most frequent first.
fn reasons(history: &DockerfileHistory) -> Vec<ReasonSeen> {
    let mut seen: Vec<ReasonSeen> = Vec::new();
    for r in history
        .builds
        .iter()
        .rev()
        .filter_map(|b| b.reason.as_ref())
    {
        let i = seen
            .iter()
            .position(|s| s.kind == r.kind)
            .unwrap_or_else(|| {
                seen.push(ReasonSeen {
                    kind: r.kind,
                    count: 0,
                    evidence: Vec::new(),
                });
                seen.len() - 1
            });
        let entry = &mut seen[i];
        entry.count += 1;
        for e in evidence(r) {
            if entry.evidence.len() < MAX_EVIDENCE && !entry.evidence.contains(&e) {
                entry.evidence.push(e);
            }
        }
    }
    seen.sort_by_key(|r| std::cmp::Reverse(r.count));
    seen
}

/// What one reason names, newest first.
fn evidence(r: &MissReason) -> Vec<String> {
    let mut out: Vec<String> = r.files.clone();
    match (&r.previous, &r.current) {
        (Some(p), Some(c)) => out.push(format!("{p} → {c}")),
        (None, Some(c)) => out.push(c.clone()),
        _ => {}
    }
    out.extend(r.detail.clone());
    out
}
