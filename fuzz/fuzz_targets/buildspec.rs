//! Fuzzes `cbdash::buildspec::parse`: any UTF-8 input must give a spec or diagnostics,
//! never a panic, and every diagnostic must point at a real line.
//! The property lives in `fuzz/checks/buildspec.rs`, which the test suite also replays over
//! `fuzz/seeds/buildspec/` (`tests/fuzz_seeds.rs`).
#![no_main]

#[path = "../checks/buildspec.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::check(data));
