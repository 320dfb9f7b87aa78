//! The regression checks, pure functions: a finished run against the median of the last
//! successful runs of the same project and backend, and for a batch's child build, of the same
//! task identifier (a build outside batches: of builds outside batches). Which runs make the
//! baseline is the query's (`Store::task_baseline`); this is only the rule. And a report group
//! against the same group's previous run ([`detect_report`]; the row from
//! `Store::previous_report`).

use super::reports::ReportRow;
use crate::model::{PhaseKind, Regression, RegressionKind};

/// What the check needs to know of a run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunMetrics {
    /// Time each phase took, in ms (its last attempt, for a resumed build).
    pub phases: Vec<(PhaseKind, u64)>,
    /// Cached over cacheable docker steps, in percent, when the run built images.
    pub cache_hit_pct: Option<f64>,
}

/// When a difference counts as a regression.
#[derive(Clone, Debug, PartialEq)]
pub struct RegressionRules {
    /// How many recent successful runs make the baseline.
    pub window: usize,
    /// Fewer baseline runs than this: no verdict (a median of one run is noise).
    pub min_runs: usize,
    /// A phase is slower when it is both this many percent slower ...
    pub slower_pct: f64,
    /// ... and this many milliseconds slower than the baseline.
    pub slower_ms: u64,
    /// The cache hit ratio fell by more than this many percentage points.
    pub cache_drop_points: f64,
    /// A report group's line coverage fell by more than this many points since its previous
    /// run.
    pub coverage_drop_points: f64,
}

impl Default for RegressionRules {
    fn default() -> Self {
        Self {
            window: 5,
            min_runs: 3,
            slower_pct: 25.0,
            slower_ms: 5_000,
            cache_drop_points: 20.0,
            coverage_drop_points: 1.0,
        }
    }
}

/// The median of some values (mean of the middle two for an even count).
#[must_use]
pub fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len().is_multiple_of(2) {
        f64::midpoint(values[mid - 1], values[mid])
    } else {
        values[mid]
    })
}

/// Compares `current` with the median of `baseline` (newest first; only the first
/// `rules.window` are used).
#[must_use]
pub fn detect(
    current: &RunMetrics,
    baseline: &[RunMetrics],
    rules: &RegressionRules,
) -> Vec<Regression> {
    let baseline = &baseline[..baseline.len().min(rules.window)];
    if baseline.len() < rules.min_runs {
        return Vec::new();
    }
    let runs = u32::try_from(baseline.len()).unwrap_or(u32::MAX);
    let mut found = Vec::new();
    for &(phase, ms) in &current.phases {
        let mut past: Vec<f64> = baseline
            .iter()
            .filter_map(|b| b.phases.iter().find(|(p, _)| *p == phase))
            .map(|&(_, ms)| ms_f64(ms))
            .collect();
        if past.len() < rules.min_runs {
            continue;
        }
        let Some(base) = median(&mut past) else {
            continue;
        };
        let now = ms_f64(ms);
        let slower = now - base;
        if slower > ms_f64(rules.slower_ms) && slower > base * rules.slower_pct / 100.0 {
            let pct = if base > 0.0 {
                slower / base * 100.0
            } else {
                f64::INFINITY
            };
            found.push(Regression {
                phase: Some(phase),
                kind: RegressionKind::PhaseDuration,
                message: format!(
                    "{phase} took {:.1}s, +{pct:.0}% vs the median {:.1}s of the last {runs} runs",
                    now / 1000.0,
                    base / 1000.0
                ),
                baseline: base,
                current: now,
                baseline_runs: runs,
            });
        }
    }
    if let Some(now) = current.cache_hit_pct {
        let mut past: Vec<f64> = baseline.iter().filter_map(|b| b.cache_hit_pct).collect();
        if past.len() >= rules.min_runs
            && let Some(base) = median(&mut past)
            && base - now > rules.cache_drop_points
        {
            found.push(Regression {
                phase: None,
                kind: RegressionKind::CacheHitRatio,
                message: format!(
                    "layer cache hit ratio {now:.0}%, down {:.0} points from the median {base:.0}% of the last {runs} runs",
                    base - now
                ),
                baseline: base,
                current: now,
                baseline_runs: runs,
            });
        }
    }
    found
}

/// Milliseconds as a float (exact below 2^53 ms, some 285 000 years).
#[allow(clippy::cast_precision_loss)] // see above: no real duration loses precision
fn ms_f64(ms: u64) -> f64 {
    ms as f64
}

/// A report group's regressions against its previous complete report (same project,
/// backend and batch task): tests failing now that did not fail then (only when the earlier
/// list of failures was complete: cbdash keeps failed cases' names, not every passing one),
/// and line coverage down by more than `rules.coverage_drop_points`.
#[must_use]
pub fn detect_report(
    now: &ReportRow,
    last: &ReportRow,
    rules: &RegressionRules,
) -> Vec<Regression> {
    let mut found = Vec::new();
    let before: std::collections::HashSet<&str> =
        last.failed_cases.iter().map(String::as_str).collect();
    let newly: Vec<&str> = now
        .failed_cases
        .iter()
        .map(String::as_str)
        .filter(|c| !before.contains(c))
        .collect();
    if last.failed_complete && !newly.is_empty() {
        let shown: Vec<&str> = newly.iter().take(3).copied().collect();
        let more = newly.len() - shown.len();
        let tail = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        found.push(Regression {
            phase: None,
            kind: RegressionKind::TestFailing,
            message: format!(
                "report {}: {} test(s) fail that did not fail in the last run: {}{tail}",
                now.group,
                newly.len(),
                shown.join(", ")
            ),
            baseline: count_f64(last.failed_cases.len()),
            current: count_f64(now.failed_cases.len()),
            baseline_runs: 1,
        });
    }
    if let (Some(n), Some(l)) = (now.line_pct, last.line_pct)
        && l - n > rules.coverage_drop_points
    {
        found.push(Regression {
            phase: None,
            kind: RegressionKind::LineCoverage,
            message: format!(
                "report {}: line coverage {n:.1}%, down {:.1} points from {l:.1}% in the last run",
                now.group,
                l - n
            ),
            baseline: l,
            current: n,
            baseline_runs: 1,
        });
    }
    found
}

#[allow(clippy::cast_precision_loss)] // at most MAX_FAILED_CASES
fn count_f64(n: usize) -> f64 {
    n as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(build_ms: u64, cache: Option<f64>) -> RunMetrics {
        RunMetrics {
            phases: vec![(PhaseKind::Install, 1_000), (PhaseKind::Build, build_ms)],
            cache_hit_pct: cache,
        }
    }

    fn past() -> Vec<RunMetrics> {
        [30_000, 36_000, 40_000, 35_000, 90_000]
            .into_iter()
            .map(|ms| run(ms, Some(90.0)))
            .collect()
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&mut []), None);
    }

    #[test]
    fn a_phase_slower_by_both_thresholds_is_flagged() {
        // Median 36 s; 52 s is +44% and +16 s.
        let found = detect(
            &run(52_000, Some(90.0)),
            &past(),
            &RegressionRules::default(),
        );
        assert_eq!(found.len(), 1);
        let r = &found[0];
        assert_eq!(r.phase, Some(PhaseKind::Build));
        assert_eq!(r.kind, RegressionKind::PhaseDuration);
        assert!((r.baseline - 36_000.0).abs() < f64::EPSILON);
        assert_eq!(
            r.message,
            "BUILD took 52.0s, +44% vs the median 36.0s of the last 5 runs"
        );
    }

    #[test]
    fn percent_alone_or_seconds_alone_is_not_enough() {
        // Install: 1 s → 4 s is +300% but only +3 s.
        let mut current = run(36_000, Some(90.0));
        current.phases[0].1 = 4_000;
        assert!(detect(&current, &past(), &RegressionRules::default()).is_empty());
        // A 10-minute phase 6 s slower is +1%: not flagged.
        let long: Vec<_> = (0..5).map(|_| run(600_000, None)).collect();
        assert!(detect(&run(606_000, None), &long, &RegressionRules::default()).is_empty());
    }

    #[test]
    fn a_cache_hit_drop_of_more_than_20_points_is_flagged() {
        let found = detect(
            &run(36_000, Some(60.0)),
            &past(),
            &RegressionRules::default(),
        );
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].kind, RegressionKind::CacheHitRatio);
        assert_eq!(found[0].phase, None);
        assert!(
            detect(
                &run(36_000, Some(75.0)),
                &past(),
                &RegressionRules::default()
            )
            .is_empty()
        );
    }

    #[test]
    fn too_few_runs_or_only_the_window_counts() {
        assert!(
            detect(
                &run(99_000, Some(0.0)),
                &past()[..2],
                &RegressionRules::default()
            )
            .is_empty()
        );
        // Only the newest 3 runs (30, 36, 40 s; median 36 s) when the window is 3.
        let rules = RegressionRules {
            window: 3,
            ..RegressionRules::default()
        };
        let found = detect(&run(52_000, None), &past(), &rules);
        assert_eq!(found[0].baseline_runs, 3);
        assert!((found[0].baseline - 36_000.0).abs() < f64::EPSILON);
    }
}
