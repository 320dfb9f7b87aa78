//! Headless output: the plain CodeBuild-like log with a phase summary (`plain`; a batch's
//! builds with each line prefixed by its task and one table for the batch: `plain_batch`; the
//! report groups' lines and summary section: `plain_reports`), and
//! the NDJSON event stream, all driven by the same `BuildEvent`s the dashboard consumes.
//!
//! Both are pure formatters (event in, text out) so they are tested without a build; the
//! `run` command feeds them from the engine's channel and writes the text to stdout.

pub mod debug;
pub mod ndjson;
pub mod plain;
pub mod plain_batch;
pub mod plain_reports;
