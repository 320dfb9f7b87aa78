//! Buildspec parsing and validation. Pure: takes text, returns a [`Buildspec`] or
//! diagnostics with file positions; never reads files itself.
//!
//! How the pieces fit:
//! - `node`: serde-saphyr reads the YAML (syntax errors, duplicate keys, merge keys) into a
//!   tree where every value keeps its line and column.
//! - `walk` + `lower` + `lower_output` + `lower_batch`: the schema walk over that tree, which
//!   fills the [`Buildspec`] types of `types.rs` and records schema errors and unknown-key
//!   warnings.
//! - `batch` + `batch_check`: a `batch:` section's builds ([`batch_plan`]) and what CodeBuild's
//!   batch validation rejects ([`batch_errors`]), which only batch mode ([`check_batch`])
//!   reports as errors: a plain build runs the phases and ignores the section.
//! - [`lint`]: pure, data-driven warnings about commands (bash-only syntax under `/bin/sh`,
//!   multi-line blocks without `set -e`) and keys a local run cannot honour.
//! - [`Diagnostic`]: what all of them report, rendered as `FILE:LINE:COL: error: ...`.

mod batch;
mod batch_check;
mod diagnostic;
pub mod lint;
mod lower;
mod lower_batch;
mod lower_output;
mod node;
mod types;
mod walk;

pub use batch::batch_plan;
pub use batch_check::{MAX_BATCH_BUILDS, batch_errors, valid_identifier};
pub use diagnostic::{Diagnostic, Severity, source_line};
pub use lower::parse_on_failure;
pub use lower_output::REPORT_FORMATS;
pub use types::*;
pub use walk::suggest;

/// A buildspec that CodeBuild would accept, with the warnings found on the way.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parsed {
    pub spec: Buildspec,
    /// Sorted by position.
    pub warnings: Vec<Diagnostic>,
}

/// A buildspec that failed to parse, for callers that want an error value (the engine).
#[derive(Debug, thiserror::Error)]
pub enum BuildspecError {
    /// The file has errors; `diagnostics` holds them (and any warnings), sorted by position.
    #[error("invalid buildspec: {}", first_error(.0))]
    Invalid(Vec<Diagnostic>),
}

fn first_error(diags: &[Diagnostic]) -> String {
    diags
        .iter()
        .find(|d| d.severity == Severity::Error)
        .map_or_else(|| "no details".to_owned(), ToString::to_string)
}

/// Parses and checks a buildspec.
///
/// `Err` holds every diagnostic (errors and warnings, sorted by position) when at least one
/// is an error; each carries its source line as `snippet`.
pub fn parse(text: &str) -> Result<Parsed, Vec<Diagnostic>> {
    finish(text, lower_text(text))
}

/// [`parse`] for a batch run (`cbdash validate` on a file with a `batch:` section,
/// `cbdash run --batch`): the batch-mode errors of [`batch_errors`] as well, in the same sorted
/// list. The `version: "0.2"` warning of `parse` becomes the batch-mode error at that token.
///
/// # Errors
/// Every diagnostic, with snippets, when at least one is an error.
pub fn check_batch(text: &str) -> Result<Parsed, Vec<Diagnostic>> {
    let (spec, mut diags) = lower_text(text);
    if let Some(spec) = &spec {
        let errors = batch_errors(spec);
        if let Some(pos) = spec.batch.as_ref().and_then(|b| b.version_string) {
            diags.retain(|d| !(d.severity == Severity::Warning && d.pos() == pos));
        }
        diags.extend(errors);
    }
    finish(text, (spec, diags))
}

/// The lowered spec (`None` when the text is not a buildspec at all) and every diagnostic of
/// the schema walk and the lints, unsorted and without snippets.
fn lower_text(text: &str) -> (Option<Buildspec>, Vec<Diagnostic>) {
    let root = match node::parse_tree(text) {
        Ok(root) => root,
        Err(e) => {
            let mut d = yaml_error(&e);
            // Point at the tab itself, not the character after it.
            if d.message.to_ascii_lowercase().contains("tab")
                && let Some(i) = source_line(text, d.line).find('\t')
            {
                d.col = u32::try_from(i + 1).unwrap_or(d.col);
            }
            if d.message.contains("expected ':'") {
                d.hint = Some(missing_colon_hint(source_line(text, d.line)));
            }
            return (None, vec![d]);
        }
    };
    let mut w = walk::Walker::new(text);
    let spec = lower::document(&mut w, &root);
    let mut diags = w.diags;
    if let Some(spec) = &spec {
        diags.extend(lint::lint_commands(spec));
    }
    (spec, diags)
}

/// Sorts the diagnostics, adds their source lines, and decides: `Ok` when none is an error.
fn finish(
    text: &str,
    (spec, mut diags): (Option<Buildspec>, Vec<Diagnostic>),
) -> Result<Parsed, Vec<Diagnostic>> {
    diags.sort_by_key(|d| (d.line, d.col, d.severity));
    let diags: Vec<Diagnostic> = diags.into_iter().map(|d| d.with_source(text)).collect();
    match spec {
        Some(spec) if diags.iter().all(|d| d.severity == Severity::Warning) => Ok(Parsed {
            spec,
            warnings: diags,
        }),
        _ => Err(diags),
    }
}

/// [`parse`] with the diagnostics wrapped in a [`BuildspecError`].
pub fn parse_checked(text: &str) -> Result<Parsed, BuildspecError> {
    parse(text).map_err(BuildspecError::Invalid)
}

/// The hint for "expected ':'": a `KEY:value` missing its space, or a stray line.
fn missing_colon_hint(line: &str) -> String {
    let t = line.trim();
    match t.split_once(':') {
        Some((key, value))
            if !key.is_empty()
                && !key.contains(char::is_whitespace)
                && !value.is_empty()
                && !value.starts_with(' ') =>
        {
            format!("a key needs a space after its colon: write `{key}: {value}`")
        }
        _ => "this line is not `key: value` at this indentation: remove stray text, or indent it under the key it belongs to".to_owned(),
    }
}

/// A YAML-level error from serde-saphyr as a diagnostic, with a hint by kind.
fn yaml_error(e: &serde_saphyr::Error) -> Diagnostic {
    use serde_saphyr::MessageFormatter as _;
    let pos = e.location().map_or(Pos { line: 1, col: 1 }, |l| Pos {
        line: u32::try_from(l.line()).unwrap_or(u32::MAX),
        col: u32::try_from(l.column()).unwrap_or(u32::MAX),
    });
    let message = serde_saphyr::UserMessageFormatter
        .format_message(e.without_snippet())
        .into_owned();
    let lower = message.to_ascii_lowercase();
    let hint = if lower.contains("tab") {
        "YAML does not allow tabs for indentation: indent with spaces"
    } else if lower.contains("duplicate") {
        "each key may appear once in a mapping: merge the two entries or rename one"
    } else if lower.contains("quote") {
        "close the quote on the same scalar, or quote the whole command with the other quote kind"
    } else if lower.contains("mapping values") || lower.contains("': '") {
        "a command containing ': ' must be quoted: wrap the whole command in single quotes"
    } else {
        "check the indentation: keys of one mapping must line up, list items start with `- `"
    };
    Diagnostic::error(pos, format!("invalid YAML: {message}")).hint(hint)
}

#[cfg(test)]
mod tests;
