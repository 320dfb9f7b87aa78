//! The integration suite, one binary (ripgrep's layout). Each module is one area; the ones
//! that need Docker, the registry or the AWS emulator read their addresses from the
//! environment that `scripts/test` sets up, and fail under `CI=true` when it is missing.

mod common;

// The layering rule of ARCHITECTURE.md, checked on the source tree.
mod layering;

// The local engine against the real Docker daemon (and moto for secrets).
mod local_harness;
mod local_outputs;
mod local_semantics;

// The dashboard rendered on a TestBackend: screens, keys, snapshots.
mod tui;
