//! Sparklines: the one table of bar heights and the one mapping of a ratio to a bar, shared by
//! the projects pane (recent build durations), the `x` overlay and `cbdash cache` (a step's last
//! runs) and the cache panel (the same runs, for the steps of the open build).

use crate::cache::StepPoint;

/// The bar heights, lowest first.
pub const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// Where a step ran and hit the cache.
pub const HIT: char = '·';

/// A ratio 0.0..=1.0 as one of eight bar heights.
#[must_use]
pub fn bar(ratio: f64) -> char {
    // Eight heights: the cast of a value in 0.0..=7.0 cannot truncate or wrap.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let i = (ratio.clamp(0.0, 1.0) * 7.0).round() as usize;
    BARS[i.min(7)]
}

/// The runs of a step, oldest first: a bar per miss (as tall as its duration against the
/// step's longest miss), `·` per hit, a blank where the step was not in the build.
#[must_use]
pub fn step_runs(runs: &[Option<StepPoint>]) -> String {
    let max = runs
        .iter()
        .flatten()
        .filter(|p| !p.cached)
        .filter_map(|p| p.duration_ms)
        .max()
        .unwrap_or(0);
    runs.iter()
        .map(|p| match p {
            None => ' ',
            Some(p) if p.cached => HIT,
            Some(p) => {
                // Durations are far below 2^52 ms: the casts are exact.
                #[allow(clippy::cast_precision_loss)]
                let r = match (p.duration_ms, max) {
                    (Some(d), m) if m > 0 => d as f64 / m as f64,
                    _ => 0.0,
                };
                bar(r)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_runs_show_misses_by_duration_and_hits_as_dots() {
        let p = |cached, ms| {
            Some(StepPoint {
                cached,
                duration_ms: Some(ms),
            })
        };
        assert_eq!(
            step_runs(&[None, p(true, 5), p(false, 1000), p(false, 500), p(false, 0)]),
            " ·█▅▁"
        );
        assert_eq!(bar(0.0), '▁');
        assert_eq!(bar(1.0), '█');
        assert_eq!(bar(f64::NAN.max(2.0)), '█', "clamped");
    }
}
