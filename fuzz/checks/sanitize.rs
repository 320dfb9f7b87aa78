//! The `sanitize` fuzz target's property, shared with the seed replay of the test suite
//! (`tests/fuzz_seeds.rs`). The escape-sequence sanitisers of untrusted build output, the
//! dashboard's (`cbdash::tui::sanitize`) and plain mode's (`cbdash::headless::plain::sanitize`):
//! any input comes out with no control character (only well-formed SGR colours in the
//! dashboard's safe line), sanitising twice changes nothing, and nothing panics.

use cbdash::tui::sanitize::{plain, sanitize};

/// Whether every ESC in `safe` starts a well-formed SGR (`ESC [ digits;… m`).
fn only_sgr(safe: &str) -> bool {
    let mut rest = safe;
    while let Some(i) = rest.find('\u{1b}') {
        let after = &rest[i + 1..];
        let Some(body) = after.strip_prefix('[') else {
            return false;
        };
        let Some(end) = body.find('m') else {
            return false;
        };
        if !body[..end].chars().all(|c| c.is_ascii_digit() || c == ';') {
            return false;
        }
        rest = &body[end + 1..];
    }
    true
}

/// Panics when `data` breaks the property.
pub fn check(data: &[u8]) {
    let raw = String::from_utf8_lossy(data);
    let safe = sanitize(&raw);
    assert!(only_sgr(&safe), "{safe:?}");
    assert!(
        safe.chars().all(|c| c == '\u{1b}' || !c.is_control()),
        "{safe:?}"
    );
    assert!(!plain(&safe).chars().any(char::is_control));
    assert_eq!(sanitize(&safe), safe);

    let printed = cbdash::headless::plain::sanitize(&raw);
    assert!(
        printed.chars().all(|c| c == '\t' || !c.is_control()),
        "{printed:?}"
    );
}
