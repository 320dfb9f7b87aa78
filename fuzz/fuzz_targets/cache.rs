//! Fuzzes the layer-cache analyzer (`cbdash::cache::Analyzer`): any bytes, split into lines
//! (as a build log is), must give reports whose counts add up, never a panic. The first byte
//! picks a clock step so that step durations are exercised too.
//! The property lives in `fuzz/checks/cache.rs`, which the test suite also replays over
//! `fuzz/seeds/cache/` (`tests/fuzz_seeds.rs`).
#![no_main]

#[path = "../checks/cache.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::check(data));
