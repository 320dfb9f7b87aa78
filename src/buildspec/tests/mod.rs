//! Unit tests of `parse`: every key, every error and every warning, each checked at its
//! line:col with its message.

mod batch;
mod errors;
mod keys;
mod warnings;

use super::{Diagnostic, Parsed, Severity, parse};

/// Parses text that must be valid.
fn ok(text: &str) -> Parsed {
    match parse(text) {
        Ok(p) => p,
        Err(d) => panic!("expected a valid buildspec, got {d:#?}"),
    }
}

/// Parses text that must be invalid; returns its diagnostics.
fn errs(text: &str) -> Vec<Diagnostic> {
    match parse(text) {
        Ok(p) => panic!("expected errors, got {p:#?}"),
        Err(d) => d,
    }
}

/// Asserts that one diagnostic of that severity sits at line:col and its message contains
/// `needle`.
#[track_caller]
fn assert_diag(diags: &[Diagnostic], severity: Severity, line: u32, col: u32, needle: &str) {
    assert!(
        diags.iter().any(|d| d.severity == severity
            && d.line == line
            && d.col == col
            && d.message.contains(needle)),
        "no {severity:?} at {line}:{col} containing {needle:?} in {diags:#?}"
    );
}

#[track_caller]
fn assert_error(diags: &[Diagnostic], line: u32, col: u32, needle: &str) {
    assert_diag(diags, Severity::Error, line, col, needle);
}

#[track_caller]
fn assert_warning(p: &Parsed, line: u32, col: u32, needle: &str) {
    assert_diag(&p.warnings, Severity::Warning, line, col, needle);
}

#[track_caller]
fn assert_no_warnings(p: &Parsed) {
    assert!(
        p.warnings.is_empty(),
        "unexpected warnings {:#?}",
        p.warnings
    );
}
