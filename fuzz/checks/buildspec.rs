//! The `buildspec` fuzz target's property, shared with the seed replay of the test suite
//! (`tests/fuzz_seeds.rs`): any UTF-8 input to `cbdash::buildspec::parse` gives a spec or
//! diagnostics, never a panic, and every diagnostic points at a real line and renders.

/// Panics when `data` breaks the property.
pub fn check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match cbdash::buildspec::parse(text) {
        Ok(parsed) => {
            for d in &parsed.warnings {
                assert!(d.line > 0 && d.col > 0, "{d:?}");
                let _ = d.render("fuzz.yml");
            }
        }
        Err(diags) => {
            assert!(!diags.is_empty());
            for d in &diags {
                assert!(d.line > 0 && d.col > 0, "{d:?}");
                let _ = d.render("fuzz.yml");
            }
        }
    }
}
