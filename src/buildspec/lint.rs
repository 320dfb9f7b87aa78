//! Lint rules as data: shell pitfalls in commands and buildspec keys a local run cannot
//! honour fully. Pure; [`bash_only`] and [`missing_set_e`] work on one command's text, so a
//! later diagnosis of a failed build can reuse them on the command that failed.

use std::sync::LazyLock;

use regex::Regex;

use super::diagnostic::Diagnostic;
use super::{Buildspec, Command, Pos, Shell};

/// One shell rule: a pattern (its group `t`, if any, is the token to point at), what it
/// means, how to fix it.
#[derive(Debug)]
pub struct ShellRule {
    pub name: &'static str,
    pub pattern: &'static str,
    pub message: &'static str,
    pub hint: &'static str,
}

const BASH_HINT: &str = "set `env.shell: bash`, or use POSIX sh syntax";

/// Syntax that bash accepts and `/bin/sh` (dash on CodeBuild's Ubuntu images) rejects.
pub const BASH_ONLY: &[ShellRule] = &[
    ShellRule {
        name: "double-bracket",
        pattern: r"\[\[",
        message: "`[[ ... ]]` is bash syntax; /bin/sh fails with `[[: not found`",
        hint: "use `[ ... ]`, or set `env.shell: bash`",
    },
    ShellRule {
        name: "pipefail",
        pattern: r"(?P<t>set)\s+(-[a-zA-Z]*o\s+pipefail|-o\s+pipefail)",
        message: "`set -o pipefail` is not supported by the default /bin/sh (dash)",
        hint: BASH_HINT,
    },
    ShellRule {
        name: "source",
        pattern: r"(^\s*|[;&|({]\s*|\b(then|do|else)\s+)(?P<t>source)\s+\S",
        message: "`source` is a bash builtin; /bin/sh only knows `.`",
        hint: "write `. ./file`, or set `env.shell: bash`",
    },
    ShellRule {
        name: "function-keyword",
        pattern: r"(^\s*|[;&|({]\s*|\b(then|do|else)\s+)(?P<t>function)\s+[A-Za-z_][A-Za-z0-9_]*",
        message: "`function name` is bash syntax; /bin/sh needs `name() { ... }`",
        hint: BASH_HINT,
    },
    ShellRule {
        name: "ansi-c-quote",
        pattern: r"\$'",
        message: "`$'...'` quoting is bash syntax; /bin/sh prints it literally",
        hint: "use printf, or set `env.shell: bash`",
    },
    ShellRule {
        name: "array",
        pattern: r"(^|[\s;&|])(?P<t>[A-Za-z_][A-Za-z0-9_]*=\()",
        message: "arrays (`name=(...)`) are bash syntax; /bin/sh fails with a syntax error",
        hint: BASH_HINT,
    },
];

static COMPILED: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    BASH_ONLY
        .iter()
        .map(|r| Regex::new(r.pattern).expect("the BASH_ONLY patterns are tested literals"))
        .collect()
});

static HEREDOC: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"<<-?\s*['"]?([A-Za-z_][A-Za-z0-9_]*)['"]?"#).expect("a tested literal pattern")
});

/// The lines of a command that the shell parses as commands, with their 0-based index:
/// blank lines, comments and here-document bodies (text, not shell) are left out.
fn shell_lines(command: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut heredoc_end: Option<String> = None;
    for (i, line) in command.lines().enumerate() {
        let t = line.trim();
        if let Some(end) = &heredoc_end {
            if t == end {
                heredoc_end = None;
            }
            continue;
        }
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        heredoc_end = HEREDOC.captures(line).map(|c| c[1].to_owned());
        out.push((i, line));
    }
    out
}

static SET_E: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(^|[;&|]\s*)set\s+(-[a-zA-Z]*e|-o\s+errexit)").expect("a tested literal pattern")
});

/// A rule that matched, with its 0-based line and char column inside the command text.
#[derive(Debug)]
pub struct Finding {
    pub rule: &'static ShellRule,
    pub line: usize,
    pub col: usize,
}

/// Bash-only syntax in one command (comment lines are skipped).
#[must_use]
pub fn bash_only(command: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    for (line_no, line) in shell_lines(command) {
        for (rule, re) in BASH_ONLY.iter().zip(COMPILED.iter()) {
            if let Some(c) = re.captures(line) {
                // The token itself (named `t` in the pattern), else the whole match.
                let start = c.name("t").or_else(|| c.get(0)).map_or(0, |m| m.start());
                out.push(Finding {
                    rule,
                    line: line_no,
                    col: line[..start].chars().count(),
                });
            }
        }
    }
    out
}

/// Whether a command spans several shell lines without `set -e`: CodeBuild checks only the
/// exit status of the whole block, so a failure before its last line goes unnoticed.
#[must_use]
pub fn missing_set_e(command: &str) -> bool {
    let mut logical = 0;
    let mut continued = false;
    for (_, line) in shell_lines(command) {
        let t = line.trim();
        if !continued {
            logical += 1;
        }
        continued = t.ends_with('\\');
    }
    logical > 1 && !command.lines().any(|l| SET_E.is_match(l.trim()))
}

/// A buildspec feature a local run cannot reproduce fully.
#[derive(Debug)]
pub struct LocalLimit {
    pub key: &'static str,
    pub message: &'static str,
    pub hint: &'static str,
}

/// Keys that a local run accepts but cannot honour fully, keyed by `LocalLimit::key`.
pub const LOCAL_LIMITS: &[LocalLimit] = &[
    LocalLimit {
        key: "proxy",
        message: "`proxy` settings are ignored by a local run",
        hint: "a local run uses the Docker daemon's network and proxy settings",
    },
    LocalLimit {
        key: "report-discard-paths",
        message: "a local run summarises report files but does not export them: `discard-paths` of a report group changes nothing locally",
        hint: "the report files stay where the build wrote them; remove the key if only CodeBuild's export needs it",
    },
    LocalLimit {
        key: "git-credential-helper",
        message: "`git-credential-helper` is not available in a local run",
        hint: "pass git credentials with --secret, or clone with a token in a command",
    },
    LocalLimit {
        key: "windows-shell",
        message: "Windows shells cannot run in a Linux container: this buildspec needs a Windows CodeBuild image",
        hint: "run it in CodeBuild, or use `shell: bash` with Linux commands",
    },
    LocalLimit {
        key: "s3-prefix",
        message: "`s3-prefix` only applies when CodeBuild uploads to S3; a local run copies artifacts to a folder",
        hint: "local artifacts go to .cbdash/artifacts/<build-id>/",
    },
];

/// Why a name of `env.exported-variables` cannot be exported, if it cannot: not a shell
/// variable name, or one CodeBuild refuses:
/// names starting `AWS_` and Parameter Store or Secrets Manager variables.
#[must_use]
pub fn not_exportable(env: &super::Env, name: &str) -> Option<&'static str> {
    let secret = |list: &[(String, String)]| list.iter().any(|(k, _)| k == name);
    let is_name = !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !is_name {
        Some("it is not a shell variable name (letters, digits and `_`)")
    } else if name.starts_with("AWS_") {
        Some("CodeBuild does not export names starting `AWS_`")
    } else if secret(&env.parameter_store) {
        Some("CodeBuild does not export Parameter Store variables")
    } else if secret(&env.secrets_manager) {
        Some("CodeBuild does not export Secrets Manager variables")
    } else {
        None
    }
}

/// The local-run limit for a key, if any.
#[must_use]
pub fn local_limit(key: &str) -> Option<&'static LocalLimit> {
    LOCAL_LIMITS.iter().find(|l| l.key == key)
}

/// Shell warnings for every command of a buildspec, under its shell.
#[must_use]
pub fn lint_commands(spec: &Buildspec) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let default_shell = spec.env.shell == Shell::Sh;
    let windows = matches!(spec.env.shell, Shell::Other(_));
    for phase in spec.phases.values() {
        for cmd in phase.commands.iter().chain(&phase.finally) {
            if default_shell {
                out.extend(bash_only(&cmd.text).into_iter().map(|f| {
                    Diagnostic::warning(finding_pos(cmd, &f), f.rule.message).hint(f.rule.hint)
                }));
            }
            if !windows && missing_set_e(&cmd.text) {
                out.push(
                    Diagnostic::warning(
                        cmd.pos,
                        "multi-line command without `set -e`: only its last line's failure fails the build",
                    )
                    .hint("start the block with `set -e`, or make each line its own `- ` command"),
                );
            }
        }
    }
    out
}

fn finding_pos(cmd: &Command, f: &Finding) -> Pos {
    let line = u32::try_from(f.line).unwrap_or(0);
    let col = u32::try_from(f.col).unwrap_or(0);
    Pos {
        line: cmd.pos.line.saturating_add(line),
        col: cmd.pos.col.saturating_add(col),
    }
}
