//! The layer-cache analyzer: an incremental, pure parser of `docker build` output (BuildKit
//! plain progress and the legacy builder) that reports cache hits per docker build.
//!
//! How it fits: the engine calls [`Analyzer::feed`] on every log line of every phase (lines
//! of other commands are skipped cheaply) and emits `BuildEvent::Cache` for each report it
//! returns; the TUI shows the live ones, the NDJSON printer writes
//! [`CacheReport::to_ndjson`](crate::model::CacheReport::to_ndjson), the history stores the
//! finished ones and supplies the durations [`time_saved`] needs. No IO happens here.
//!
//! - `lines`: what one line is (a BuildKit `#N` line, a legacy `Step i/n`, a
//!   `Running command docker build -t x` agent line).
//! - `analyzer`: which build is open, which vertex is which step, when a build ends.
//! - `tally`: one build's report, recounted (hits, first miss, invalidation) on each change.
//! - `saved`: time saved by cached steps and time lost by missed ones, given the durations
//!   history remembers.
//! - `explain`: why the first miss missed (`MissReason`), from this build's inputs against
//!   the last build of the same Dockerfile and image; `invocation` reads the `docker build`
//!   command line, `dockerfile` the Dockerfile's instructions and a `COPY`'s sources,
//!   `dockerignore` Docker's `.dockerignore` patterns. The app layer reads the files.
//! - `overview`: the per-Dockerfile report over its history (`cbdash cache`, the dashboard's
//!   `x`): hit ratio over time, each step's runs and miss rate, the costliest misses, the
//!   reasons seen; `advice` (rules in `advice.toml`): what to change, on evidence from at
//!   least three builds.
//!
//! Only cacheable steps count: `FROM` and BuildKit's internal vertices (`[internal] load
//! ...`, `exporting to image`) are left out of both the numerator and the denominator.

mod advice;
mod analyzer;
pub mod dockerfile;
mod dockerignore;
mod explain;
pub mod invocation;
mod lines;
mod overview;
mod saved;
mod tally;
mod tap;

pub use advice::{
    ADVICE_TOML, Advice, AdviceError, AdviceInput, AdviceRules, Evidence, FIRST_MISS_OFTEN,
    ReorderRule, printed_steps,
};
pub use analyzer::Analyzer;
pub use dockerfile::{copy_sources, source_selects};
pub use dockerignore::DockerIgnore;
pub use explain::{BuildInputs, FileHashes, Files, MAX_FILES, Previous, explain};
pub use overview::{
    CacheOverview, DockerfileHistory, ExpensiveMiss, HitPoint, PastDockerBuild, PastStep,
    ReasonSeen, StepPoint, StepSeries, step_series,
};
pub use saved::{TimeSaved, time_lost, time_saved};

/// A Dockerfile's instructions as `KEYWORD args` lines (what `BuildInputs` keeps).
#[must_use]
pub fn dockerfile_text(text: &str) -> Vec<String> {
    dockerfile::instructions(text)
        .iter()
        .map(dockerfile::Instruction::text)
        .collect()
}
pub use tap::CacheTap;

#[cfg(test)]
mod tests;
