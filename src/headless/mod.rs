//! Headless output: the plain CodeBuild-like log with a phase summary, and the NDJSON event
//! stream, both driven by the same `BuildEvent`s the dashboard consumes.
