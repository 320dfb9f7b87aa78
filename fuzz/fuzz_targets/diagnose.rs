//! Fuzzes the failure diagnosis (`cbdash::diagnose::DiagnosisTap`) on untrusted build logs:
//! any bytes, split into lines (those starting with `[Container]` marked as the agent's, as the
//! engines do), sent in batches whose size the first byte picks, then a phase end and the
//! build's end with a status the first byte picks too. No panic, each rule at most once, and
//! every finding comes back as a `Diagnosis` event of this build.
//! The property lives in `fuzz/checks/diagnose.rs`, which the test suite also replays over
//! `fuzz/seeds/diagnose/` (`tests/fuzz_seeds.rs`).
#![no_main]

#[path = "../checks/diagnose.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::check(data));
