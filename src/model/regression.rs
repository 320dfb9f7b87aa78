//! `Regression`: a finished run that is slower, or hits the layer cache less, than the median
//! of its project's recent successful runs; or a report group of it with tests failing that
//! did not fail in the group's previous run, or with lower line coverage. The history finds
//! them (`crate::history`); the headless printers show them with [`Regression::to_ndjson`]
//! and [`Regression::summary_line`].

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::event::BuildId;
use super::phase::PhaseKind;

/// What got worse.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegressionKind {
    /// A phase took longer; `baseline` and `current` are milliseconds.
    PhaseDuration,
    /// The layer-cache hit ratio fell; `baseline` and `current` are percentages.
    CacheHitRatio,
    /// Tests of a report group fail that did not fail in its previous run; `baseline` and
    /// `current` are the numbers of failed cases then and now.
    TestFailing,
    /// A coverage report's line coverage fell; `baseline` and `current` are percentages.
    LineCoverage,
}

impl RegressionKind {
    /// `phase_duration` or `cache_hit_ratio`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::PhaseDuration => "phase_duration",
            Self::CacheHitRatio => "cache_hit_ratio",
            Self::TestFailing => "test_failing",
            Self::LineCoverage => "line_coverage",
        }
    }

    /// The stored word back (an unknown one reads as a phase duration, the first kind).
    #[must_use]
    pub fn parse(s: &str) -> Self {
        [Self::CacheHitRatio, Self::TestFailing, Self::LineCoverage]
            .into_iter()
            .find(|k| k.as_str() == s)
            .unwrap_or(Self::PhaseDuration)
    }
}

/// One regression against the baseline (the median of the last successful runs).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Regression {
    /// The phase, for a duration regression.
    pub phase: Option<PhaseKind>,
    pub kind: RegressionKind,
    /// A one-line human explanation.
    pub message: String,
    /// The median of the baseline runs (ms or %, by `kind`).
    pub baseline: f64,
    /// This run's value (ms or %, by `kind`).
    pub current: f64,
    /// How many runs the baseline is the median of.
    pub baseline_runs: u32,
}

impl Regression {
    /// The NDJSON line (`{"type":"regression",...}`).
    #[must_use]
    pub fn to_ndjson(&self, build_id: &BuildId) -> serde_json::Value {
        json!({
            "type": "regression",
            "build_id": build_id.as_str(),
            "phase": self.phase,
            "kind": self.kind.as_str(),
            "message": self.message,
            "baseline": self.baseline,
            "current": self.current,
            "baseline_runs": self.baseline_runs,
        })
    }

    /// The line the plain summary prints, for example
    /// `regression: BUILD took 52.0s, +44% vs the median 36.0s of the last 5 runs`.
    #[must_use]
    pub fn summary_line(&self) -> String {
        format!("regression: {}", self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ndjson_names_the_type_and_phase() {
        let r = Regression {
            phase: Some(PhaseKind::Build),
            kind: RegressionKind::PhaseDuration,
            message: "BUILD took 52.0s".into(),
            baseline: 36_000.0,
            current: 52_000.0,
            baseline_runs: 5,
        };
        let v = r.to_ndjson(&BuildId("p:u".into()));
        assert_eq!(v["type"], "regression");
        assert_eq!(v["phase"], "BUILD");
        assert_eq!(v["kind"], "phase_duration");
        assert_eq!(r.summary_line(), "regression: BUILD took 52.0s");
    }
}
