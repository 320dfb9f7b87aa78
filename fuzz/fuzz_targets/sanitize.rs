//! Fuzzes the escape-sequence sanitisers of untrusted build output: the dashboard's
//! (`cbdash::tui::sanitize`) and plain mode's (`cbdash::headless::plain::sanitize`). Any
//! input must come out with no control character (only well-formed SGR colours in the
//! dashboard's safe line), sanitising twice must change nothing, and nothing may panic.
//! The property lives in `fuzz/checks/sanitize.rs`, which the test suite also replays over
//! `fuzz/seeds/sanitize/` (`tests/fuzz_seeds.rs`).
#![no_main]

#[path = "../checks/sanitize.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::check(data));
