//! Why the first miss of a docker build missed: the build's report and inputs against those
//! of the last build of the same Dockerfile and image (from the history). Pure: the app layer
//! gathers the inputs (reads the Dockerfile, hashes the files a missed `COPY`/`ADD` copies,
//! resolves build arguments) and stores them; this module only compares.
//!
//! The checks run from the most specific evidence to the least: the instruction's text, the
//! files it copies, the `ARG`/`ENV` values before it, the base image, a failed cache import.
//! Only when every input is known to be the same does a miss read as `cache_pruned`; when one
//! is not known, the reason is `unknown` (with what was missing in `detail`), never a guess.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::dockerfile::{self, Instruction};
use super::invocation::ArgValue;
use crate::model::{CacheReport, CacheStep, MissKind, MissReason, StepState};

/// At most this many changed files are named; the rest are counted.
pub const MAX_FILES: usize = 50;

/// Per file (relative to the build context): a content hash.
pub type FileHashes = BTreeMap<String, String>;

/// What a docker build was given, as far as its layer cache goes (the history keeps it).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildInputs {
    /// The Dockerfile, relative to the project (with the image, the build's identity).
    pub dockerfile: String,
    /// The Dockerfile's instructions (`KEYWORD args`); empty when it could not be read.
    #[serde(default)]
    pub instructions: Vec<String>,
    /// `--build-arg`s, as written and as resolved.
    #[serde(default)]
    pub build_args: BTreeMap<String, ArgValue>,
    /// Each `FROM` as the builder resolved it (with its digest or image id), in order.
    #[serde(default)]
    pub base_images: Vec<String>,
    /// A `--cache-from` import failed.
    #[serde(default)]
    pub cache_import_failed: bool,
}

/// The last build of the same Dockerfile and image.
#[derive(Clone, Copy, Debug)]
pub struct Previous<'a> {
    pub report: &'a CacheReport,
    pub inputs: &'a BuildInputs,
}

/// What is known of the files the first missed step copies from the context.
#[derive(Clone, Copy, Debug)]
pub enum Files<'a> {
    /// The step does not copy from the build context.
    NotACopy,
    /// Hashes now, and when the same instruction last ran (`None`: never recorded).
    Hashes {
        current: &'a FileHashes,
        previous: Option<&'a FileHashes>,
    },
    /// The changed files, found another way (a cloud build: `git diff` of two commits).
    Changed(&'a [String]),
    /// The step copies from the context, but its files could not be read.
    Unknown,
}

/// The reason for `report`'s first miss; `None` when it has none.
#[must_use]
pub fn explain(
    report: &CacheReport,
    inputs: &BuildInputs,
    previous: Option<Previous<'_>>,
    files: Files<'_>,
) -> Option<MissReason> {
    let pos = report.steps.iter().position(is_miss)?;
    let step = &report.steps[pos];
    let Some(prev) = previous else {
        return Some(MissReason::bare(if inputs.cache_import_failed {
            MissKind::CacheImportFailed
        } else {
            MissKind::NoPreviousBuild
        }));
    };
    let mut unsure: Vec<&str> = Vec::new();
    let prev_step = prev
        .report
        .steps
        .iter()
        .find(|s| s.stage == step.stage && s.index == step.index);
    let text_changed = prev_step.is_none_or(|p| !same_text(&p.instruction, &step.instruction));
    let instruction_changed = || {
        Some(MissReason {
            previous: prev_step.map(|p| p.instruction.clone()),
            current: Some(step.instruction.clone()),
            detail: prev_step
                .is_none()
                .then(|| "a step the last build did not have".into()),
            ..MissReason::bare(MissKind::InstructionChanged)
        })
    };
    // BuildKit prints a step with its build arguments substituted: a text that changed in an
    // unchanged Dockerfile changed through a variable, which the checks below name.
    let same_dockerfile =
        !inputs.instructions.is_empty() && inputs.instructions == prev.inputs.instructions;
    if text_changed && !(same_dockerfile && prev_step.is_some()) {
        return instruction_changed();
    }
    match files_changed(files) {
        Ok(Some(reason)) => return Some(reason),
        Ok(None) => {}
        Err(what) => unsure.push(what),
    }
    let texts = (
        step.instruction.as_str(),
        prev_step.map_or(step.instruction.as_str(), |p| p.instruction.as_str()),
    );
    match vars_changed(texts, inputs, prev.inputs) {
        Ok(Some(reason)) => return Some(reason),
        Ok(None) => {}
        Err(what) => unsure.push(what),
    }
    if text_changed {
        return instruction_changed();
    }
    // A cached step before it in its stage proves the stage's base was the same.
    let base_proven = report.steps[..pos]
        .iter()
        .any(|s| s.stage == step.stage && s.cached);
    if !base_proven {
        match (
            inputs.base_images.is_empty(),
            prev.inputs.base_images.is_empty(),
        ) {
            (false, false) => {
                if let Some((p, c)) = prev
                    .inputs
                    .base_images
                    .iter()
                    .zip(&inputs.base_images)
                    .find(|(p, c)| p != c)
                {
                    return Some(MissReason {
                        previous: Some(p.clone()),
                        current: Some(c.clone()),
                        ..MissReason::bare(MissKind::BaseImageChanged)
                    });
                }
            }
            _ => unsure.push("the base image's digest"),
        }
    }
    if inputs.cache_import_failed {
        return Some(MissReason::bare(MissKind::CacheImportFailed));
    }
    let ran = prev_step.is_some_and(|p| matches!(p.state, StepState::Cached | StepState::Built));
    if unsure.is_empty() && ran {
        return Some(MissReason {
            detail: Some("the same inputs as the last build, whose layer is gone".into()),
            ..MissReason::bare(MissKind::CachePruned)
        });
    }
    let detail = if unsure.is_empty() {
        "the last build did not finish this step".to_owned()
    } else {
        format!("not known: {}", unsure.join(", "))
    };
    Some(MissReason {
        detail: Some(detail),
        ..MissReason::bare(MissKind::Unknown)
    })
}

fn is_miss(s: &CacheStep) -> bool {
    matches!(s.state, StepState::Built | StepState::Failed)
}

/// Instruction texts equal but for runs of whitespace and the keyword's case.
fn same_text(a: &str, b: &str) -> bool {
    normalize(a) == normalize(b)
}

fn normalize(s: &str) -> String {
    let mut words = s.split_whitespace();
    let first = words.next().unwrap_or_default().to_ascii_uppercase();
    std::iter::once(first.as_str())
        .chain(words)
        .collect::<Vec<_>>()
        .join(" ")
}

/// `Ok(Some)`: files changed; `Ok(None)`: known the same (or not a copy); `Err`: not known.
fn files_changed(files: Files<'_>) -> Result<Option<MissReason>, &'static str> {
    let changed: Vec<String> = match files {
        Files::NotACopy => return Ok(None),
        Files::Unknown => return Err("the copied files"),
        Files::Hashes { previous: None, .. } => return Err("the files copied last time"),
        Files::Hashes {
            current,
            previous: Some(previous),
        } => {
            let mut names: Vec<String> = current
                .iter()
                .filter(|(k, v)| previous.get(*k) != Some(v))
                .map(|(k, _)| k.clone())
                .chain(
                    previous
                        .keys()
                        .filter(|k| !current.contains_key(*k))
                        .cloned(),
                )
                .collect();
            names.sort();
            names
        }
        Files::Changed(list) => list.to_vec(),
    };
    if changed.is_empty() {
        return Ok(None);
    }
    let more = changed.len().saturating_sub(MAX_FILES);
    Ok(Some(MissReason {
        files: changed.into_iter().take(MAX_FILES).collect(),
        files_more: u32::try_from(more).unwrap_or(u32::MAX),
        ..MissReason::bare(MissKind::FilesChanged)
    }))
}

/// The `ARG`s and `ENV`s in the step's stage before it, then the `--build-arg`s those `ARG`s
/// declare.
fn vars_changed(
    (step, prev_step): (&str, &str),
    now: &BuildInputs,
    before: &BuildInputs,
) -> Result<Option<MissReason>, &'static str> {
    let (Some(cur), Some(prev)) = (vars_before(now, step), vars_before(before, prev_step)) else {
        return Err("the Dockerfile's ARG and ENV lines");
    };
    for (key, value) in &cur {
        let old = prev.get(key);
        if old != Some(value) {
            let (keyword, name) = key;
            let kind = if keyword == "ENV" {
                MissKind::EnvChanged
            } else {
                MissKind::BuildArgChanged
            };
            return Ok(Some(MissReason {
                previous: old.cloned(),
                current: Some(value.clone()),
                detail: Some(format!("{keyword} {name}")),
                ..MissReason::bare(kind)
            }));
        }
    }
    if let Some(((keyword, name), old)) = prev.iter().find(|(k, _)| !cur.contains_key(*k)) {
        return Ok(Some(MissReason {
            previous: Some(old.clone()),
            detail: Some(format!("{keyword} {name}")),
            ..MissReason::bare(if keyword == "ENV" {
                MissKind::EnvChanged
            } else {
                MissKind::BuildArgChanged
            })
        }));
    }
    // The `--build-arg`s of the `ARG`s declared before the step.
    let mut unsure = false;
    for ((keyword, name), _) in cur.iter().filter(|((k, _), _)| k == "ARG") {
        debug_assert_eq!(keyword, "ARG");
        let (a, b) = (before.build_args.get(name), now.build_args.get(name));
        let changed = match (a, b) {
            (None, None) => false,
            (Some(a), Some(b)) => match (&a.value, &b.value) {
                (Some(x), Some(y)) => x != y,
                _ if a.raw != b.raw => true,
                _ => {
                    unsure = true;
                    false
                }
            },
            _ => true,
        };
        if changed {
            let shown = |v: Option<&ArgValue>| v.map(|v| v.value.clone().unwrap_or(v.raw.clone()));
            return Ok(Some(MissReason {
                previous: shown(a),
                current: shown(b),
                detail: Some(format!("--build-arg {name}")),
                ..MissReason::bare(MissKind::BuildArgChanged)
            }));
        }
    }
    if unsure {
        return Err("a --build-arg's value");
    }
    Ok(None)
}

/// `(keyword, name) → value` of the `ARG`/`ENV` lines between the step's `FROM` and the step;
/// `None` when the Dockerfile is unknown or the step is not found in it.
fn vars_before(inputs: &BuildInputs, step: &str) -> Option<BTreeMap<(String, String), String>> {
    let parsed: Vec<Instruction> = inputs
        .instructions
        .iter()
        .filter_map(|t| dockerfile::instructions(t).into_iter().next())
        .collect();
    let at = parsed.iter().position(|i| {
        let text = i.text();
        same_text(&text, step) || same_text(&substitute(&text, &inputs.build_args), step)
    })?;
    let from = parsed[..at]
        .iter()
        .rposition(|i| i.keyword == "FROM")
        .map_or(0, |f| f + 1);
    let mut vars = BTreeMap::new();
    for i in &parsed[from..at] {
        for (name, value) in dockerfile::assignments(i) {
            vars.insert((i.keyword.clone(), name), value);
        }
    }
    Some(vars)
}

/// `RUN echo $V ${V}` with the build arguments' values, as BuildKit prints a step.
fn substitute(text: &str, args: &BTreeMap<String, ArgValue>) -> String {
    let mut out = text.to_owned();
    for (name, v) in args {
        let value = v.value.as_deref().unwrap_or(&v.raw);
        out = out
            .replace(&format!("${{{name}}}"), value)
            .replace(&format!("${name}"), value);
    }
    out
}

#[cfg(test)]
#[path = "explain_tests.rs"]
mod tests;
