//! `cbdash validate [FILE...] [--strict] [--json]`: reads each buildspec, checks it with
//! [`crate::buildspec::check_batch`] (which is `parse` plus, for a file with a `batch:`
//! section, what a batch run rejects), then the buildspec files its batch names
//! (`app::batch_files`), prints the diagnostics and decides the exit code (0 valid, 2 invalid,
//! or warnings with `--strict`).

use std::io::Write as _;
use std::path::Path;

use anyhow::{Context as _, Result};
use serde::Serialize;

use crate::buildspec::{self, Diagnostic, Severity};
use crate::cli::ValidateArgs;
use crate::headless;

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
    let checked: Vec<Checked> = args.files.iter().flat_map(|f| check_file(f)).collect();
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

/// The file's diagnostics, then one entry per buildspec file its batch names.
fn check_file(path: &Path) -> Vec<Checked> {
    let file = path.display().to_string();
    let text = match read_text(path) {
        Ok(text) => text,
        Err(d) => {
            return vec![Checked {
                file,
                diags: vec![d],
            }];
        }
    };
    let mut diags = match buildspec::check_batch(&text) {
        Ok(parsed) => parsed.warnings,
        Err(diags) => diags,
    };
    // The batch's tasks, also when the batch itself has errors (a second, plain parse).
    let Some(batch) = buildspec::parse(&text).ok().and_then(|p| p.spec.batch) else {
        return vec![Checked { file, diags }];
    };
    let (errors, children) = crate::app::batch_files::check_children(path, &batch);
    diags.extend(errors.into_iter().map(|d| d.with_source(&text)));
    diags.sort_by_key(|d| (d.line, d.col, d.severity));
    let mut out = vec![Checked { file, diags }];
    out.extend(
        children
            .into_iter()
            .map(|(file, diags)| Checked { file, diags }),
    );
    out
}

fn read_text(path: &Path) -> Result<String, Diagnostic> {
    match std::fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes).map_err(|e| {
            not_readable(&format!(
                "the file is not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(not_readable("no such file")
            .hint("pass the buildspec's path: cbdash validate path/to/buildspec.yml")),
        Err(e) => Err(not_readable(&format!("cannot read the file: {e}"))),
    }
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
            headless::count(e, "error"),
            headless::count(w, "warning")
        )
        .context("writing to stdout")?;
    }
    if checked.len() > 1 {
        writeln!(
            out,
            "{}: {}, {}",
            headless::count(checked.len(), "file"),
            headless::count(errors, "error"),
            headless::count(warnings, "warning")
        )
        .context("writing to stdout")?;
    }
    Ok(())
}
