//! The integration suite, one binary (ripgrep's layout). Each module is one area; the ones
//! that need Docker, the registry or the AWS emulator read their addresses from the
//! environment that `scripts/test` sets up, and fail under `CI=true` when it is missing.

mod common;

// The layering rule of ARCHITECTURE.md, checked on the source tree.
mod layering;

// The fuzz targets' seeds and crash reproducers, replayed without nightly.
mod fuzz_seeds;

// The buildspec parser on the corpus, `cbdash validate` (batch files too), and parse property
// tests.
mod buildspec;
mod buildspec_batch;
// The layer-cache analyzer on live docker build output.
mod cache;

// The SQLite run history and `cbdash history`.
mod history;
mod history_batch;
// `cbdash init`: the commented settings template and a starter buildspec.
mod init;
// The cloud backend: a scripted fake AWS endpoint, tests against it, against moto, and the CLI.
mod cloud_batch;
mod cloud_batch_cli;
mod cloud_batch_follow;
mod cloud_batch_world;
mod cloud_bench;
mod cloud_cli;
mod cloud_debug;
mod cloud_explain;
mod cloud_fake;
mod cloud_moto;
mod cloud_reports;
mod cloud_reproduce;
mod cloud_scripted;
// The local engine against the real Docker daemon (and moto for secrets).
mod local_breakpoint;
mod local_dind;
mod local_fidelity;
mod local_harness;
mod local_images;
mod local_outputs;
// Test and coverage report groups: every format, CodeBuild's refusal, the plain summary.
mod local_reports;
mod local_semantics;
mod local_shell_state;
// runtime-versions, the codebuild-* helper commands, keyed caches.
mod local_cache_keys;
mod local_runtimes;
mod local_tests_run;
// Resuming a failed build in place, a shell in its container, watch mode.
mod local_resume;
mod local_resume_bench;
// Batch builds: graph order, failures, fast-fail, matrix, fanout, Ctrl-C, resume.
mod local_batch;
mod local_watch;
// cbdash run through the event pipeline: cache reports, history, pulls from a registry.
mod local_pipeline;
// Why each docker build's first miss missed, on the real daemon, both builders.
mod local_explain;
// What hashing a missed COPY's files costs against the docker build (ignored: a benchmark).
mod explain_bench;
// The guide's own Docker buildspec end to end, in the CodeBuild-like image, with the registry.
mod local_guide;
// Failure diagnosis on real local builds that fail in known ways, and on healthy ones.
mod diagnose;
mod diagnose_bench;
// The report parsers on 50 MB files against xmllint (ignored: BENCHMARKS.md).
mod reports_bench;

// The dashboard rendered on a TestBackend: screens, keys, snapshots.
mod tui;

// Reliability and security: secrets, hostile output, Docker and AWS faults, cancellation.
mod reliability;
