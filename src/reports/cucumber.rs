//! CUCUMBERJSON: an array of features, each with scenarios (`elements`) made of steps whose
//! `result` has a status, a duration in nanoseconds and an error message. One scenario is one
//! test case: prefix ← feature name, name ← scenario name, status ← its worst step.

use std::io::BufRead;

use serde::Deserialize;

use super::FileError;
use super::tally::TestTally;
use crate::model::CaseStatus;

#[derive(Deserialize)]
struct Feature {
    #[serde(default)]
    name: String,
    #[serde(default)]
    elements: Vec<Scenario>,
}

#[derive(Deserialize)]
struct Scenario {
    #[serde(default)]
    name: String,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    steps: Vec<Step>,
    /// Hooks run around the steps; a failing hook fails the scenario.
    #[serde(default)]
    before: Vec<Step>,
    #[serde(default)]
    after: Vec<Step>,
}

#[derive(Deserialize)]
struct Step {
    #[serde(default)]
    result: Option<StepResult>,
}

#[derive(Deserialize)]
struct StepResult {
    #[serde(default)]
    status: String,
    #[serde(default)]
    duration: Option<f64>,
    #[serde(default)]
    error_message: Option<String>,
}

/// Reads one cucumber JSON file.
pub fn parse<R: BufRead>(reader: R) -> Result<TestTally, FileError> {
    let features: Vec<Feature> = serde_json::from_reader(reader).map_err(|e| FileError {
        line: e.line() as u64,
        why: e.to_string(),
    })?;
    let mut t = TestTally::default();
    for f in &features {
        // A `background` element holds steps shared by the scenarios, not a test of its own.
        for s in f
            .elements
            .iter()
            .filter(|s| s.kind.as_deref() != Some("background"))
        {
            let (status, ns, message) = outcome(s);
            t.case(&f.name, &s.name, status, ns, message);
        }
    }
    Ok(t)
}

/// The scenario's status (worst step), total duration and first error message.
fn outcome(s: &Scenario) -> (CaseStatus, u128, Option<String>) {
    let mut ns = 0u128;
    let mut message = None;
    let (mut failed, mut unknown, mut all_skipped, mut any) = (false, false, true, false);
    for r in s
        .before
        .iter()
        .chain(&s.steps)
        .chain(&s.after)
        .filter_map(|st| st.result.as_ref())
    {
        any = true;
        if let Some(d) = r.duration.filter(|d| d.is_finite() && *d > 0.0) {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // > 0, finite
            {
                ns += d as u128;
            }
        }
        if message.is_none() {
            message.clone_from(&r.error_message);
        }
        match r.status.to_ascii_lowercase().as_str() {
            "failed" => failed = true,
            "skipped" => continue,
            "passed" => {}
            _ => unknown = true,
        }
        all_skipped = false;
    }
    let status = if failed {
        CaseStatus::Failed
    } else if unknown {
        CaseStatus::Unknown
    } else if any && all_skipped {
        CaseStatus::Skipped
    } else {
        CaseStatus::Succeeded
    };
    (status, ns, message)
}
