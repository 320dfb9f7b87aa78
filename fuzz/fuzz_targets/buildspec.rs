//! Fuzzes `cbdash::buildspec::parse`: any UTF-8 input must give a spec or diagnostics,
//! never a panic, and every diagnostic must point at a real line.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        match cbdash::buildspec::parse(text) {
            Ok(parsed) => {
                for d in &parsed.warnings {
                    assert!(d.line > 0 && d.col > 0);
                    let _ = d.render("fuzz.yml");
                }
            }
            Err(diags) => {
                assert!(!diags.is_empty());
                for d in &diags {
                    assert!(d.line > 0 && d.col > 0);
                    let _ = d.render("fuzz.yml");
                }
            }
        }
    }
});
