//! What the context rules know beyond a pattern: the shape of agent lines, BuildKit vertex
//! numbers, the artifact listing the local engine prints, the buildspec validator's verdict,
//! and how a finding becomes a [`Diagnosis`] (placeholders filled, evidence made printable).

use std::fmt::Write as _;

use regex::Regex;

use crate::model::{Diagnosis, PhaseKind};

use super::rules::Rule;

/// How the local engine starts the line that lists what exists under an artifact base
/// directory when no file matched (`<prefix><dir>: a, b/c, ... (N paths)`).
pub const ARTIFACT_LISTING: &str = "Paths under the base directory ";

/// At most this many paths are listed.
pub const LISTED_PATHS: usize = 20;

/// Evidence lines longer than this are cut.
const MAX_EVIDENCE: usize = 400;

/// The agent line the local engine prints for an artifact base directory `dir` that holds
/// `paths` (relative to it) when no file matched.
#[must_use]
pub fn listing_line(dir: &str, paths: &[String]) -> String {
    if paths.is_empty() {
        return format!("{ARTIFACT_LISTING}{dir}: none (it is empty or does not exist)");
    }
    let mut s = format!("{ARTIFACT_LISTING}{dir}: ");
    s.push_str(
        &paths
            .iter()
            .take(LISTED_PATHS)
            .cloned()
            .collect::<Vec<_>>()
            .join(", "),
    );
    if paths.len() > LISTED_PATHS {
        let _ = write!(s, ", ... ({} paths)", paths.len());
    }
    s
}

/// The text after `[Container] <date> <time> `, for agent lines.
#[must_use]
pub fn agent_message(text: &str) -> Option<&str> {
    let rest = text.strip_prefix("[Container] ")?;
    let (_date, rest) = rest.split_once(' ')?;
    let (_time, message) = rest.split_once(' ')?;
    Some(message)
}

/// The part of an agent line (or phase context) that can be evidence: lines that repeat a
/// failed command's text keep only what follows it, so a command that merely mentions an
/// error message (`grep "no space left" build.log`) is not taken for that error.
#[must_use]
pub fn evidence_part(text: &str) -> &str {
    let tail = |marker: &str| text.rfind(marker).map_or(text, |i| &text[i..]);
    if text.contains("Command did not exit successfully ") {
        tail(" exit status ")
    } else if text.contains("Error while executing command: ") {
        tail(". Reason: ")
    } else {
        text
    }
}

/// `dir: paths...` from the engine's artifact listing line.
#[must_use]
pub fn artifact_listing(text: &str) -> Option<&str> {
    let message = agent_message(text).unwrap_or(text);
    message.strip_prefix(ARTIFACT_LISTING)
}

/// The vertex number of a BuildKit plain-progress line (`#12 ...`).
#[must_use]
pub fn vertex(text: &str) -> Option<u32> {
    let rest = text.strip_prefix('#')?;
    let end = rest.find(|c: char| !c.is_ascii_digit())?;
    rest[..end].parse().ok()
}

/// A BuildKit plain-progress line without its `#N ` step prefix (other lines unchanged).
#[must_use]
pub fn after_vertex(text: &str) -> &str {
    let Some(rest) = text.strip_prefix('#') else {
        return text;
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    match rest[digits..].strip_prefix(' ') {
        Some(after) if digits > 0 => after,
        _ => text,
    }
}

/// The artifacts rule's addition to the fix.
#[must_use]
pub fn artifacts_hint(listing: Option<&str>) -> String {
    match listing {
        Some(l) => format!(" Paths under the base directory {l}."),
        None => " To see what the build left, add `ls -R <base-directory>` (or `ls -R .` without one) as the last command of `post_build`.".to_owned(),
    }
}

/// The YAML rule's addition to the fix: the validator's first error on the buildspec text.
#[must_use]
pub fn buildspec_hint(text: Option<&str>) -> String {
    let Some(text) = text else {
        return String::new();
    };
    match crate::buildspec::parse(text) {
        Ok(_) => " The local buildspec passes the validator: the project may read another file (`source.buildspec`) or another commit.".to_owned(),
        Err(diags) => diags
            .iter()
            .find(|d| d.severity == crate::buildspec::Severity::Error)
            .map_or_else(String::new, |d| {
                let hint = d
                    .hint
                    .as_deref()
                    .map_or_else(String::new, |h| format!(" (hint: {h})"));
                format!(
                    " The validator on the local buildspec: buildspec.yml:{}:{}: {}{hint}.",
                    d.line, d.col, d.message
                )
            }),
    }
}

/// What a command that hid a failure looked like, as far as the log says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// More than one line of text (a `|` block): only its last line's status counts.
    MultiLine,
    /// One line: the failing part was a condition, or not the last part of a list.
    OneLine,
    /// The log does not say (CodeBuild prints a command's further lines as output).
    Unknown,
}

/// What the `hidden-failure` rule says (cause, fix) about a command of `shape` whose output
/// held the shell error `evidence`; `None` keeps the rule's own text, which is about
/// multi-line blocks. Each text claims only what the shape makes true.
#[must_use]
pub fn hidden_failure_text(shape: Shape, evidence: &str) -> Option<(String, String)> {
    if shape == Shape::MultiLine {
        return None;
    }
    if evidence.contains("[[: not found") {
        // True of any command whose `[[` test ran under dash and that still exited 0.
        return Some((
            "`[[` is a bash keyword, not a command of dash (CodeBuild's `/bin/sh`): the shell \
             printed `[[: not found` (exit status 127), which an `if`, `&&` or `||` takes as a \
             false test, so the command exited 0 and the build went on as if the test were \
             simply false."
                .to_owned(),
            "Add `env: shell: bash` to the buildspec (under the top-level `env:` key), or write \
             the test for POSIX sh: `[ -n \"$HOME\" ]` for `[[ -n \"$HOME\" ]]`."
                .to_owned(),
        ));
    }
    Some(match shape {
        Shape::OneLine => (
            "This one-line command printed a shell error yet exited 0: the part that failed did \
             not decide its exit status (a failing `if` or `while` condition only picks the \
             other branch; in `a; b`, `a || b` or `a | b` only the last part counts), so the \
             build went on."
                .to_owned(),
            "Fix the part that failed (the line shown here). To make such a failure stop the \
             build, join the parts with `&&` instead of `;`, and keep commands that must \
             succeed out of `if` conditions."
                .to_owned(),
        ),
        _ => (
            "A command printed a shell error yet exited 0, so the build went on: only the exit \
             status of what ran last counts (the last line of a `|` command, the last part of \
             `a; b` or `a || b`), and a failing `if` condition only picks the other branch."
                .to_owned(),
            "Fix the line shown here. To make such a failure stop the build, start a `|` \
             command with `set -e`, join parts with `&&` instead of `;`, and keep commands \
             that must succeed out of `if` conditions."
                .to_owned(),
        ),
    })
}

/// A rule that matched a line, before it becomes a [`Diagnosis`].
#[derive(Debug)]
pub struct Found {
    pub rule: usize,
    line: String,
    phase: Option<PhaseKind>,
    /// Named captures of the pattern, for `{name}` in the texts.
    captures: Vec<(String, String)>,
}

impl Found {
    /// Rule `rule`, whose pattern `re` matched `hay` (part of the line `text`) in `phase`.
    #[must_use]
    pub fn new(rule: usize, re: &Regex, text: &str, hay: &str, phase: Option<PhaseKind>) -> Self {
        let captures = re
            .captures(hay)
            .map(|caps| {
                re.capture_names()
                    .flatten()
                    .filter_map(|name| {
                        caps.name(name)
                            .map(|m| (name.to_owned(), m.as_str().to_owned()))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Self {
            rule,
            line: printable(text),
            phase,
            captures,
        }
    }

    /// The evidence line (printable).
    #[must_use]
    pub fn evidence(&self) -> &str {
        &self.line
    }

    /// The finding, with `extra` appended to the rule's fix.
    #[must_use]
    pub fn into_diagnosis(self, rule: &Rule, extra: &str) -> Diagnosis {
        let fill = |s: &str| {
            self.captures.iter().fold(s.to_owned(), |acc, (k, v)| {
                acc.replace(&format!("{{{k}}}"), v)
            })
        };
        Diagnosis {
            phase: self.phase,
            rule: rule.id.clone(),
            cause: fill(&rule.cause),
            fix: format!("{}{extra}", fill(&rule.fix)),
            docs: rule.docs.clone(),
            line: self.line,
        }
    }
}

/// `text` without escape sequences and control characters, cut to a printable length.
#[must_use]
pub fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(MAX_EVIDENCE));
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI `ESC [ ... final` or a two-character escape: drop it whole.
            if chars.next() == Some('[') {
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
        } else if !c.is_control() || c == '\t' {
            out.push(c);
        }
        if out.len() >= MAX_EVIDENCE {
            out.push('…');
            break;
        }
    }
    out.trim_end().to_owned()
}

/// Whitespace runs (line breaks of the TOML text) as single spaces.
#[must_use]
pub fn squash(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_lines_and_vertices_are_read() {
        assert_eq!(
            agent_message("[Container] 2025/10/12 15:45:10.800318 Running command ls"),
            Some("Running command ls")
        );
        assert_eq!(agent_message("plain output"), None);
        assert_eq!(vertex("#12 ERROR: x: not found"), Some(12));
        assert_eq!(vertex("#x"), None);
        assert_eq!(vertex("# comment"), None);
        assert_eq!(after_vertex("#12 importing cache"), "importing cache");
        assert_eq!(after_vertex("# comment"), "# comment");
        assert_eq!(after_vertex("#12"), "#12");
        assert_eq!(after_vertex("plain"), "plain");
    }

    #[test]
    fn command_text_in_agent_lines_is_not_evidence() {
        assert_eq!(
            evidence_part(
                "[Container] 2025/10/12 15:45:10.8 Command did not exit successfully grep 'no space left on device' x exit status 1"
            ),
            " exit status 1"
        );
        assert_eq!(
            evidence_part(
                "Phase context status code: COMMAND_EXECUTION_ERROR Message: Error while executing command: make. Reason: exit status 137"
            ),
            ". Reason: exit status 137"
        );
        let other =
            "Phase context status code: CLIENT_ERROR Message: no matching artifact paths found";
        assert_eq!(evidence_part(other), other);
    }

    #[test]
    fn listing_lines_round_trip_and_are_bounded() {
        let paths: Vec<String> = (0..25).map(|i| format!("f{i}.txt")).collect();
        let line = listing_line("dist", &paths);
        assert!(line.ends_with("f19.txt, ... (25 paths)"), "{line}");
        let agent = format!("[Container] 2025/10/12 15:45:10.800318 {line}");
        assert!(
            artifact_listing(&agent).is_some_and(|l| l.starts_with("dist: f0.txt, f1.txt")),
            "{agent}"
        );
        assert_eq!(
            listing_line("out", &[]),
            "Paths under the base directory out: none (it is empty or does not exist)"
        );
    }

    #[test]
    fn evidence_is_printable_and_bounded() {
        assert_eq!(printable("\u{1b}[91mred\u{1b}[0m line\r"), "red line");
        assert!(printable(&"x".repeat(1000)).chars().count() <= MAX_EVIDENCE + 1);
    }

    #[test]
    fn buildspec_hint_points_at_the_validator_line() {
        let hint = buildspec_hint(Some(
            "version: 0.2\nphases:\n  build:\n    commands:\n\t- x\n",
        ));
        assert!(hint.contains("buildspec.yml:5:1:"), "{hint}");
        assert!(hint.contains("hint:"), "{hint}");
        let ok = buildspec_hint(Some(
            "version: 0.2\nphases:\n  build:\n    commands:\n      - echo hi\n",
        ));
        assert!(ok.contains("passes the validator"), "{ok}");
        assert_eq!(buildspec_hint(None), "");
    }
}
