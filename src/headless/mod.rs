//! Headless output: the plain CodeBuild-like log with a phase summary, and the NDJSON event
//! stream, both driven by the same `BuildEvent`s the dashboard consumes.
//!
//! Both are pure formatters (event in, text out) so they are tested without a build; the
//! `run` command feeds them from the engine's channel and writes the text to stdout.

pub mod ndjson;
pub mod plain;
