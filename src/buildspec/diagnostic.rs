//! Diagnostics: what `parse` reports, with a position, a message and a hint, rendered the
//! way compilers do (`FILE:LINE:COL: error: message`, the source line, a caret, the hint).

use std::fmt::Write as _;

use serde::Serialize;

use super::Pos;

/// How bad a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// CodeBuild would reject the file, or we cannot run it.
    Error,
    /// The file is accepted but probably does not do what its author meant, or a local run
    /// cannot reproduce it fully.
    Warning,
}

impl Severity {
    /// The word printed before the message.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// One problem found in a buildspec. `line` and `col` are 1-based and point at the offending
/// token; `snippet` is that source line (empty when the position is past the end).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{line}:{col}: {}: {message}", severity.label())]
pub struct Diagnostic {
    pub severity: Severity,
    pub line: u32,
    pub col: u32,
    pub message: String,
    pub hint: Option<String>,
    #[serde(skip)]
    pub snippet: String,
}

impl Diagnostic {
    /// An error at `pos`; the snippet is filled in by [`Diagnostic::with_source`].
    #[must_use]
    pub fn error(pos: Pos, message: impl Into<String>) -> Self {
        Self::new(Severity::Error, pos, message)
    }

    /// A warning at `pos`.
    #[must_use]
    pub fn warning(pos: Pos, message: impl Into<String>) -> Self {
        Self::new(Severity::Warning, pos, message)
    }

    fn new(severity: Severity, pos: Pos, message: impl Into<String>) -> Self {
        Self {
            severity,
            line: pos.line.max(1),
            col: pos.col.max(1),
            message: message.into(),
            hint: None,
            snippet: String::new(),
        }
    }

    /// Adds a hint: how to fix it.
    #[must_use]
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Where the diagnostic points.
    #[must_use]
    pub fn pos(&self) -> Pos {
        Pos {
            line: self.line,
            col: self.col,
        }
    }

    /// Fills `snippet` with the source line the diagnostic points at.
    #[must_use]
    pub fn with_source(mut self, text: &str) -> Self {
        source_line(text, self.line).clone_into(&mut self.snippet);
        self
    }

    /// `FILE:LINE:COL: error: message`, the source line, a caret under the column, and the
    /// hint, each on its own line (no trailing newline).
    #[must_use]
    pub fn render(&self, file: &str) -> String {
        // Messages quote the file's keys and values: untrusted text, so no control characters.
        let message: String = self.message.chars().map(printable).collect();
        let mut out = format!(
            "{file}:{}:{}: {}: {message}",
            self.line,
            self.col,
            self.severity.label(),
        );
        if !self.snippet.is_empty() {
            let gutter = self.line.to_string();
            let pad = " ".repeat(gutter.len());
            // Tabs keep their width under the caret so it lines up in a terminal.
            let lead: String = self
                .snippet
                .chars()
                .take(self.col.saturating_sub(1) as usize)
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            let shown: String = self.snippet.chars().map(printable).collect();
            let _ = write!(out, "\n{pad} |\n{gutter} | {shown}\n{pad} | {lead}^");
        }
        if let Some(hint) = &self.hint {
            let hint: String = hint.chars().map(printable).collect();
            let _ = write!(out, "\n  hint: {hint}");
        }
        out
    }
}

/// Build logs and buildspecs are untrusted: never echo control characters to a terminal.
fn printable(c: char) -> char {
    if c.is_control() && c != '\t' { '?' } else { c }
}

/// Line `line` (1-based) of `text`, without its line ending; empty when out of range.
#[must_use]
pub fn source_line(text: &str, line: u32) -> &str {
    let idx = (line as usize).saturating_sub(1);
    text.split('\n')
        .nth(idx)
        .map_or("", |l| l.strip_suffix('\r').unwrap_or(l))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_points_a_caret_at_the_column() {
        let text = "version: 0.2\nphases:\n  biuld:\n";
        let d = Diagnostic::warning(Pos { line: 3, col: 3 }, "unknown key `biuld`")
            .hint("did you mean `build`?")
            .with_source(text);
        assert_eq!(
            d.render("b.yml"),
            "b.yml:3:3: warning: unknown key `biuld`\n  |\n3 |   biuld:\n  |   ^\n  hint: did you mean `build`?"
        );
    }

    #[test]
    fn render_without_snippet_or_hint_is_one_line() {
        let d = Diagnostic::error(Pos { line: 9, col: 2 }, "boom").with_source("a\n");
        assert_eq!(d.render("f"), "f:9:2: error: boom");
        assert_eq!(d.to_string(), "9:2: error: boom");
    }

    #[test]
    fn control_characters_are_not_echoed() {
        let d = Diagnostic::error(Pos { line: 1, col: 1 }, "key `\u{1b}]0;x`")
            .hint("did you mean `\u{7}`?")
            .with_source("a\u{1b}[2Jb");
        let out = d.render("f");
        assert!(out.contains("a?[2Jb"), "{out}");
        assert!(out.contains("key `?]0;x`"), "{out}");
        assert!(out.contains("did you mean `?`?"), "{out}");
        assert!(!out.chars().any(|c| c.is_control() && c != '\n'), "{out:?}");
    }

    #[test]
    fn json_has_the_documented_fields() {
        let d = Diagnostic::error(Pos { line: 2, col: 5 }, "m").hint("h");
        let v = serde_json::to_value(&d).expect("serialises");
        assert_eq!(
            v,
            serde_json::json!({"severity":"error","line":2,"col":5,"message":"m","hint":"h"})
        );
    }
}
