//! Failure diagnosis: recognises the known ways Docker builds in CodeBuild fail, in the log as
//! it streams, and says how to fix them. Pure: lines in, findings out, no IO.
//!
//! How it fits: `app::pipeline` passes every event of every build (local or cloud)
//! through a [`DiagnosisTap`] after the cache tap; the tap emits `BuildEvent::Diagnosis`
//! events, which the NDJSON printer writes as `diagnosis` objects, the plain printer lists in
//! its summary, and the dashboard marks on the phase's row and explains in an overlay.
//!
//! - `rules.toml`: the rules, as data: patterns, phases, cause, fix, documentation, and a real
//!   log excerpt each rule must fire on (the tests check every one).
//! - `rules`: the table parsed and compiled once: one `RegexSet` of every pattern behind a
//!   literal prefilter (`needle`: the rarest literal of each pattern), searched over a whole
//!   batch of lines at once, so lines that match nothing cost a SIMD scan and nothing else.
//! - `diagnoser`: one build's state: phase, running command, what fired already. A command's
//!   output is held until it ends (`output`): a failed command's output is read by every rule,
//!   a successful one's only by the rules that look for what exit 0 can hide (a shell error in
//!   a multi-line block or an `if` condition, a cache import BuildKit skipped), and only if it
//!   holds their literal.
//! - `context`: what some rules need besides a pattern (a failure hidden by a command that
//!   exited 0, told apart by the command's shape, a cache import's vertex, the artifact
//!   listing, the buildspec validator).
//! - `tap`: the diagnosers over a `BuildEvent` stream.

mod context;
mod diagnoser;
mod needle;
mod output;
mod rules;
mod tap;

pub use context::{ARTIFACT_LISTING, listing_line};
pub use diagnoser::Diagnoser;
pub use rules::{Context, DiagnoseError, RULES_TOML, Rule, Rules};
pub use tap::{DiagnosisTap, builtin, diagnose_log};

#[cfg(test)]
mod tests;
