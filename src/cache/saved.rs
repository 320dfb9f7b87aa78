//! Time saved by the layer cache: for each cached step, how long the same instruction took
//! the last time it was built (the history supplies those durations).

use crate::model::{CacheReport, StepState};

/// How much building time the cache saved in one docker build.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TimeSaved {
    /// The sum over cached steps whose last build duration is known.
    pub total_ms: u64,
    /// `(step index, ms saved)` for each of those steps.
    pub steps: Vec<(u32, u64)>,
    /// Cached steps never seen built: their saving is unknown.
    pub unknown: u32,
}

/// Combines a report with `last_built(instruction)`, the duration of the instruction's most
/// recent non-cached run (from `history::Store::last_step_durations` with `StepRun::Built`).
#[must_use]
pub fn time_saved(report: &CacheReport, last_built: impl Fn(&str) -> Option<u64>) -> TimeSaved {
    let mut saved = TimeSaved::default();
    for step in report.steps.iter().filter(|s| s.cached) {
        match last_built(&step.instruction) {
            Some(ms) => {
                saved.total_ms += ms;
                saved.steps.push((step.index, ms));
            }
            None => saved.unknown += 1,
        }
    }
    saved
}

/// The cost of a build's misses: for each step that ran, how much longer it took than the
/// last time the same instruction came from the cache (`last_cached(instruction)`, from
/// `history::Store::last_step_durations` with `StepRun::Cached`). `None` when no step that
/// ran was ever cached (nothing to compare with) or nothing ran.
#[must_use]
pub fn time_lost(report: &CacheReport, last_cached: impl Fn(&str) -> Option<u64>) -> Option<u64> {
    let mut known = false;
    let mut total = 0u64;
    for step in report.steps.iter().filter(|s| s.state == StepState::Built) {
        if let (Some(ran), Some(cached)) = (step.duration_ms, last_cached(&step.instruction)) {
            known = true;
            total += ran.saturating_sub(cached);
        }
    }
    known.then_some(total)
}
