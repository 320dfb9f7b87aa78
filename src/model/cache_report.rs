//! `CacheReport`: what the layer-cache analyzer (`crate::cache`) found in one `docker build`.
//!
//! The analyzer emits a report while a build runs (`finished: false`, for the dashboard) and
//! once more when it ends; the history stores finished reports, the NDJSON printer writes
//! them with [`CacheReport::to_ndjson`].

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::event::BuildId;

/// Which docker builder printed the output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Builder {
    /// BuildKit, `--progress=plain` (`#N [i/n] CMD`).
    Buildkit,
    /// The legacy builder (`Step i/n : CMD`).
    Legacy,
}

impl Builder {
    /// `buildkit` or `legacy`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Buildkit => "buildkit",
            Self::Legacy => "legacy",
        }
    }
}

/// Where a step stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StepState {
    /// Started, no verdict yet.
    Running,
    /// Taken from the layer cache.
    Cached,
    /// Executed and finished.
    Built,
    /// Executed and failed.
    Failed,
    /// Canceled (another step failed).
    Canceled,
}

/// One cacheable Dockerfile step (FROM and BuildKit's internal vertices are not listed).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheStep {
    /// The step number docker prints (`i` of `[i/n]` or `Step i/n`); it restarts per stage
    /// under BuildKit, hence `stage`.
    pub index: u32,
    /// The BuildKit stage name (`builder` in `[builder 2/4]`), when shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    /// The platform of a multi-platform build (`linux/arm64` in `[linux/arm64 2/3]`): each
    /// platform builds its own steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// The instruction as docker prints it, for example `RUN make`.
    pub instruction: String,
    /// Whether the layer came from the cache.
    pub cached: bool,
    /// How the step stands.
    pub state: StepState,
    /// How long the step took, when docker says (BuildKit `DONE 0.3s`) or when the lines
    /// came with timestamps (legacy builder).
    pub duration_ms: Option<u64>,
    /// For a step that missed the cache after its stage's first miss: that first miss's index.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invalidated_by: Option<u32>,
}

/// The first step that missed the cache: everything after it in its stage had to be rebuilt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirstMiss {
    pub step: u32,
    pub instruction: String,
    /// Why it missed, once the explainer has compared it with the last build of the same
    /// Dockerfile (`None` while the build runs or when nothing could be compared).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<MissReason>,
}

/// Why a step missed the layer cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MissKind {
    /// A `COPY`/`ADD` whose sources changed ([`MissReason::files`] names them).
    FilesChanged,
    /// The instruction's text differs from last time (`previous` / `current`).
    InstructionChanged,
    /// A `--build-arg` (or `ARG` default) the step depends on changed (`detail` names it).
    BuildArgChanged,
    /// An `ENV` value the step depends on changed (`detail` names it).
    EnvChanged,
    /// The `FROM` image resolved to another digest (`previous` / `current`).
    BaseImageChanged,
    /// A `--cache-from` import failed.
    CacheImportFailed,
    /// No earlier build of this Dockerfile and image to compare with.
    NoPreviousBuild,
    /// Same inputs as a build whose step was cached: the cache was dropped.
    CachePruned,
    /// Nothing found that explains it.
    Unknown,
}

impl MissKind {
    /// The NDJSON word (`files_changed`, ...).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::FilesChanged => "files_changed",
            Self::InstructionChanged => "instruction_changed",
            Self::BuildArgChanged => "build_arg_changed",
            Self::EnvChanged => "env_changed",
            Self::BaseImageChanged => "base_image_changed",
            Self::CacheImportFailed => "cache_import_failed",
            Self::NoPreviousBuild => "no_previous_build",
            Self::CachePruned => "cache_pruned",
            Self::Unknown => "unknown",
        }
    }
}

/// The reason for a first miss, with its evidence (fields present when they apply).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissReason {
    pub kind: MissKind,
    /// Changed files, relative to the build context (at most 50).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
    /// Changed files beyond those listed.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub files_more: u32,
    /// The old value: instruction text, digest, argument value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<String>,
    /// The new value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<String>,
    /// A human sentence or the name of what changed (`--build-arg VERSION`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl MissReason {
    /// A reason with no evidence beyond its kind.
    #[must_use]
    pub const fn bare(kind: MissKind) -> Self {
        Self {
            kind,
            files: Vec::new(),
            files_more: 0,
            previous: None,
            current: None,
            detail: None,
        }
    }
}

impl MissReason {
    /// One short line for people: `files changed: src/a.c, src/b.c (+3 more)`.
    #[must_use]
    pub fn summary(&self) -> String {
        const SHOWN: usize = 3;
        match self.kind {
            MissKind::FilesChanged => {
                let shown: Vec<&str> = self.files.iter().take(SHOWN).map(String::as_str).collect();
                let more = self.files.len().saturating_sub(SHOWN) + self.files_more as usize;
                let more = if more > 0 {
                    format!(" (+{more} more)")
                } else {
                    String::new()
                };
                format!("files changed: {}{more}", shown.join(", "))
            }
            MissKind::InstructionChanged => match &self.previous {
                Some(p) => format!("instruction changed (was: {p})"),
                None => "a new instruction".into(),
            },
            MissKind::BuildArgChanged | MissKind::EnvChanged => {
                let what = self.detail.as_deref().unwrap_or("a variable");
                match (&self.previous, &self.current) {
                    (Some(p), Some(c)) => format!("{what} changed ({p} -> {c})"),
                    _ => format!("{what} changed"),
                }
            }
            MissKind::BaseImageChanged => "the base image changed".into(),
            MissKind::CacheImportFailed => "the --cache-from import failed".into(),
            MissKind::NoPreviousBuild => "no earlier build to compare with".into(),
            MissKind::CachePruned => "cache pruned (same inputs as the last build)".into(),
            MissKind::Unknown => "reason unknown".into(),
        }
    }
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
const fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// The cache verdict on one `docker build` of a build log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheReport {
    /// Which docker build of this log (0 for the first).
    pub docker_build: u32,
    /// The image name and tag, when the log shows them.
    pub image: Option<String>,
    pub builder: Builder,
    /// Cacheable steps seen so far.
    pub steps_total: u32,
    /// Of those, how many came from the cache.
    pub steps_cached: u32,
    pub first_miss: Option<FirstMiss>,
    pub steps: Vec<CacheStep>,
    /// Whether the docker build has ended (successfully or not).
    pub finished: bool,
    /// The error docker printed, when the build failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Build time the cached steps saved: for each, how long the same instruction took the
    /// last time this project built it (from the history; `None` when not known).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_saved_ms: Option<u64>,
    /// Build time the missed steps cost: how long the steps that ran took, against what they
    /// took when last cached (from the history; `None` when not known).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_lost_ms: Option<u64>,
    /// What the log showed of the build's inputs, for the miss explainer (not in NDJSON).
    #[serde(default, skip_serializing_if = "LogInputs::is_empty")]
    pub inputs: LogInputs,
}

/// What a build log shows of one docker build's inputs: the command that ran it, how each
/// `FROM` resolved, whether a `--cache-from` import failed. The miss explainer compares them
/// with the last build's (`cache::explain`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogInputs {
    /// The command line of the `docker build` (as logged: secrets already masked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// Each `FROM` as resolved: `name@digest` (BuildKit: the vertex digest, which changes with
    /// the image; legacy: the image id); a bare name when the log shows no digest.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub base_images: Vec<String>,
    /// BuildKit printed an error importing a `--cache-from` cache.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cache_import_failed: bool,
}

impl LogInputs {
    /// Whether nothing was seen.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.command.is_none() && self.base_images.is_empty() && !self.cache_import_failed
    }
}

impl CacheReport {
    /// The number people see (`docker build #1` for the first): `docker_build` counts from 0
    /// in NDJSON and the history, every human view counts from 1.
    #[must_use]
    pub const fn number(&self) -> u32 {
        self.docker_build + 1
    }

    /// An empty report for the `docker_build`-th build of a log.
    #[must_use]
    pub const fn new(docker_build: u32, builder: Builder) -> Self {
        Self {
            docker_build,
            image: None,
            builder,
            steps_total: 0,
            steps_cached: 0,
            first_miss: None,
            steps: Vec::new(),
            finished: false,
            error: None,
            time_saved_ms: None,
            time_lost_ms: None,
            inputs: LogInputs {
                command: None,
                base_images: Vec::new(),
                cache_import_failed: false,
            },
        }
    }

    /// Cached steps over cacheable steps, 0.0..=1.0; `None` with no cacheable step.
    #[must_use]
    pub fn hit_ratio(&self) -> Option<f64> {
        (self.steps_total > 0).then(|| f64::from(self.steps_cached) / f64::from(self.steps_total))
    }

    /// The NDJSON line of this report (`{"type":"cache_report",...}`).
    #[must_use]
    pub fn to_ndjson(&self, build_id: &BuildId) -> serde_json::Value {
        let steps: Vec<serde_json::Value> = self
            .steps
            .iter()
            .map(|s| {
                let mut step = json!({
                    "index": s.index,
                    "instruction": s.instruction,
                    "cached": s.cached,
                    "duration_ms": s.duration_ms,
                });
                if let Some(p) = &s.platform {
                    step["platform"] = json!(p);
                }
                step
            })
            .collect();
        let mut line = json!({
            "type": "cache_report",
            "build_id": build_id.as_str(),
            "docker_build": self.docker_build,
            "image": self.image,
            "steps_total": self.steps_total,
            "steps_cached": self.steps_cached,
            "first_miss": self.first_miss.as_ref().map(|m| {
                let mut v = json!({ "step": m.step, "instruction": m.instruction });
                if let Some(r) = &m.reason {
                    v["reason"] = json!(r);
                }
                v
            }),
            "steps": steps,
        });
        if let Some(ms) = self.time_saved_ms {
            line["time_saved_ms"] = json!(ms);
        }
        if let Some(ms) = self.time_lost_ms {
            line["time_lost_ms"] = json!(ms);
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ndjson_has_exactly_the_documented_shape() {
        let mut r = CacheReport::new(1, Builder::Buildkit);
        r.image = Some("app:1".into());
        r.steps_total = 2;
        r.steps_cached = 1;
        r.first_miss = Some(FirstMiss {
            step: 3,
            instruction: "RUN make".into(),
            reason: None,
        });
        r.steps = vec![CacheStep {
            index: 3,
            stage: None,
            platform: None,
            instruction: "RUN make".into(),
            cached: false,
            state: StepState::Built,
            duration_ms: Some(300),
            invalidated_by: None,
        }];
        let v = r.to_ndjson(&BuildId("p:u".into()));
        assert_eq!(
            v.to_string(),
            r#"{"build_id":"p:u","docker_build":1,"first_miss":{"instruction":"RUN make","step":3},"image":"app:1","steps":[{"cached":false,"duration_ms":300,"index":3,"instruction":"RUN make"}],"steps_cached":1,"steps_total":2,"type":"cache_report"}"#
        );
        assert_eq!(r.hit_ratio(), Some(0.5));
    }
}
