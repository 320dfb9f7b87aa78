//! `cbdash validate [FILE...] [--strict] [--json]`: reads each buildspec, runs
//! [`crate::buildspec::parse`], prints the diagnostics and decides the exit code
//! (0 valid, 2 invalid, or warnings with `--strict`).

use std::io::Write as _;
use std::path::Path;

use anyhow::{Context as _, Result};
use serde::Serialize;

use crate::buildspec::{self, Diagnostic, Severity};
use crate::cli::ValidateArgs;

/// One line of `--json` output.
#[derive(Debug, Serialize)]
struct JsonDiagnostic<'a> {
    file: &'a str,
    severity: Severity,
    line: u32,
    col: u32,
    message: &'a str,
    hint: Option<&'a str>,
}

/// What one file produced.
struct Checked {
    file: String,
    diags: Vec<Diagnostic>,
}

/// Runs `validate`; returns the exit code.
pub fn run(args: &ValidateArgs) -> Result<u8> {
    let checked: Vec<Checked> = args.files.iter().map(|f| check_file(f)).collect();
    let errors = count(&checked, Severity::Error);
    let warnings = count(&checked, Severity::Warning);
    if args.json {
        print_json(&checked)?;
    } else {
        print_human(&checked, errors, warnings)?;
    }
    let failed = errors > 0 || (args.strict && warnings > 0);
    Ok(if failed { 2 } else { 0 })
}

fn count(checked: &[Checked], severity: Severity) -> usize {
    checked
        .iter()
        .flat_map(|c| &c.diags)
        .filter(|d| d.severity == severity)
        .count()
}

fn check_file(path: &Path) -> Checked {
    let file = path.display().to_string();
    let diags = match std::fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => match buildspec::parse(&text) {
                Ok(parsed) => parsed.warnings,
                Err(diags) => diags,
            },
            Err(e) => vec![not_readable(&format!(
                "the file is not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ))],
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => vec![
            not_readable("no such file")
                .hint("pass the buildspec's path: cbdash validate path/to/buildspec.yml"),
        ],
        Err(e) => vec![not_readable(&format!("cannot read the file: {e}"))],
    };
    Checked { file, diags }
}

fn not_readable(message: &str) -> Diagnostic {
    Diagnostic::error(buildspec::Pos { line: 1, col: 1 }, message)
}

fn print_json(checked: &[Checked]) -> Result<()> {
    let rows: Vec<JsonDiagnostic<'_>> = checked
        .iter()
        .flat_map(|c| {
            c.diags.iter().map(|d| JsonDiagnostic {
                file: &c.file,
                severity: d.severity,
                line: d.line,
                col: d.col,
                message: &d.message,
                hint: d.hint.as_deref(),
            })
        })
        .collect();
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &rows).context("writing JSON to stdout")?;
    writeln!(out).context("writing to stdout")?;
    Ok(())
}

/// Diagnostics go to stderr (they are messages about the input); the one-line verdict per
/// file goes to stdout so scripts can read it.
fn print_human(checked: &[Checked], errors: usize, warnings: usize) -> Result<()> {
    let mut err = std::io::stderr().lock();
    let mut out = std::io::stdout().lock();
    for c in checked {
        for d in &c.diags {
            writeln!(err, "{}\n", d.render(&c.file)).context("writing to stderr")?;
        }
        let e = c
            .diags
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count();
        let w = c.diags.len() - e;
        let verdict = if e > 0 { "invalid" } else { "valid" };
        writeln!(
            out,
            "{}: {verdict} ({}, {})",
            c.file,
            plural(e, "error"),
            plural(w, "warning")
        )
        .context("writing to stdout")?;
    }
    if checked.len() > 1 {
        writeln!(
            out,
            "{} files: {}, {}",
            checked.len(),
            plural(errors, "error"),
            plural(warnings, "warning")
        )
        .context("writing to stdout")?;
    }
    Ok(())
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}
