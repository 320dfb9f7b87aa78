//! The rule table: `rules.toml` read into [`Rule`]s, and every pattern compiled once into one
//! [`RegexSet`] behind a literal prefilter.
//!
//! Why a prefilter: almost every log line matches nothing, so the cost that matters is the
//! cost of saying "no". Each pattern must contain a literal run of at least [`MIN_NEEDLE`]
//! bytes; its *needle* (`needle.rs`) is the part of that run least likely to occur in ordinary
//! output. All needles form one alternation of literals, which the regex crate searches with a
//! SIMD multi-literal matcher (Teddy), over a whole batch of lines at once. Only lines that
//! contain a needle reach the full set.

use regex::{Regex, RegexSet};
use serde::Deserialize;

use crate::model::PhaseKind;

use super::needle::needle_of;

/// The shortest literal a pattern must contain: shorter needles would let common text through
/// the prefilter.
pub const MIN_NEEDLE: usize = 6;

/// The embedded table.
pub const RULES_TOML: &str = include_str!("rules.toml");

/// A table that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DiagnoseError {
    #[error("diagnosis rules: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("diagnosis rule '{rule}': pattern /{pattern}/ does not compile: {error}")]
    Pattern {
        rule: String,
        pattern: String,
        error: String,
    },
    #[error(
        "diagnosis rule '{rule}': pattern /{pattern}/ has no literal run of {min} bytes outside groups and classes; the prefilter needs one"
    )]
    NoNeedle {
        rule: String,
        pattern: String,
        min: usize,
    },
    #[error("diagnosis rule '{0}' is defined twice")]
    Duplicate(String),
    #[error("diagnosis rule '{rule}': {problem}")]
    Invalid { rule: String, problem: String },
}

/// Extra knowledge a rule needs beyond its patterns; each is implemented in `context.rs`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Context {
    /// A shell error inside a command that then exited 0: reported when the command ends.
    HiddenFailure,
    /// A `#N ERROR:` line of a BuildKit vertex that was importing a cache manifest.
    CacheImport,
    /// The fix lists the paths that did exist under the base directory, when the engine said.
    Artifacts,
    /// The fix carries the buildspec validator's findings, when the buildspec text is known.
    Buildspec,
}

/// One rule, as written in `rules.toml`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Stable id, printed as `rule` in NDJSON (`docker-daemon`).
    pub id: String,
    /// Regexes; any one matching a line fires the rule.
    pub patterns: Vec<String>,
    /// The phases the rule applies to; empty means every phase.
    #[serde(default)]
    pub phases: Vec<PhaseKind>,
    /// A regex the running command (`Running command ...`) must match, if any.
    #[serde(default)]
    pub command: Option<String>,
    #[serde(default)]
    pub context: Option<Context>,
    /// Output of a command that exited 0 is read for this rule only when one of its lines
    /// starts with this literal (after BuildKit's `#N ` step prefix); without it the rule
    /// reads only commands that failed (and lines outside any command). See `diagnoser.rs`.
    #[serde(default)]
    pub after_success: Option<String>,
    /// Why it fails. `{name}` is replaced by the named capture `name` of the pattern.
    pub cause: String,
    /// What to change, naming the setting. `{name}` as in `cause`.
    pub fix: String,
    /// Documentation URL.
    pub docs: String,
    /// Where the example comes from (an issue URL, or the local build that made it).
    pub source: String,
    /// A real log excerpt the rule fires on.
    pub example: String,
    /// The 1-based line of `example` that is the evidence.
    pub example_line: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    rule: Vec<Rule>,
}

/// Internal markers: lines that are not findings but that a context needs to see, compiled
/// into the same set so they cost nothing extra.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Marker {
    /// `#N importing cache manifest from REF`: vertex N imports a cache.
    CacheImport,
}

const MARKERS: [(Marker, &str); 1] = [(
    Marker::CacheImport,
    r"^#(?P<vertex>\d+) importing cache manifest from ",
)];

/// What a compiled pattern belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Owner {
    Rule(usize),
    Marker(Marker),
}

/// The compiled table.
#[derive(Debug)]
pub struct Rules {
    pub rules: Vec<Rule>,
    /// The `command` regex of each rule, compiled.
    pub commands: Vec<Option<Regex>>,
    prefilter: Regex,
    needles: Vec<String>,
    /// The distinct `after_success` literals, and which bytes start one.
    gates: Vec<String>,
    gate_starts: [bool; 256],
    set: RegexSet,
    /// Per pattern of `set`: its own regex (for captures) and owner.
    pub patterns: Vec<(Regex, Owner)>,
}

impl Rules {
    /// Parses and compiles a table.
    pub fn parse(text: &str) -> Result<Self, DiagnoseError> {
        let mut file: File = toml::from_str(text)?;
        for r in &mut file.rule {
            r.cause = super::context::squash(&r.cause);
            r.fix = super::context::squash(&r.fix);
        }
        let mut sources = Vec::new();
        let mut owners = Vec::new();
        let mut needles = Vec::new();
        for (i, rule) in file.rule.iter().enumerate() {
            check_rule(rule, &file.rule[..i])?;
            for p in &rule.patterns {
                needles.push(needle_of(&rule.id, p)?);
                sources.push(p.clone());
                owners.push(Owner::Rule(i));
            }
        }
        for (marker, p) in MARKERS {
            needles.push(needle_of("(marker)", p)?);
            sources.push(p.to_owned());
            owners.push(Owner::Marker(marker));
        }
        let commands = file
            .rule
            .iter()
            .map(|r| r.command.as_deref().map(|c| compile(&r.id, c)).transpose())
            .collect::<Result<_, _>>()?;
        let mut patterns = Vec::new();
        for (src, owner) in sources.iter().zip(owners) {
            let id = match owner {
                Owner::Rule(i) => file.rule[i].id.as_str(),
                Owner::Marker(_) => "(marker)",
            };
            patterns.push((compile(id, src)?, owner));
        }
        let set = RegexSet::new(&sources).map_err(|e| DiagnoseError::Pattern {
            rule: "(set)".into(),
            pattern: String::new(),
            error: e.to_string(),
        })?;
        needles.sort();
        needles.dedup();
        let alternation: Vec<String> = needles.iter().map(|n| regex::escape(n)).collect();
        let prefilter = compile("(prefilter)", &alternation.join("|"))?;
        let mut gates: Vec<String> = file
            .rule
            .iter()
            .filter_map(|r| r.after_success.clone())
            .collect();
        gates.sort_unstable();
        gates.dedup();
        let mut gate_starts = [false; 256];
        for g in &gates {
            gate_starts[usize::from(g.as_bytes()[0])] = true;
        }
        Ok(Self {
            rules: file.rule,
            commands,
            prefilter,
            needles,
            gates,
            gate_starts,
            set,
            patterns,
        })
    }

    /// The prefilter's literals, sorted.
    #[must_use]
    pub fn needles(&self) -> &[String] {
        &self.needles
    }

    /// Whether `line` may match any pattern (the cheap test).
    #[must_use]
    pub fn may_match(&self, line: &str) -> bool {
        self.prefilter.is_match(line)
    }

    /// Where needles occur in `text` (a batch of lines joined by `\n`; no needle holds one).
    pub fn needle_starts<'a>(&'a self, text: &'a str) -> impl Iterator<Item = usize> + 'a {
        self.prefilter.find_iter(text).map(|m| m.start())
    }

    /// Whether `line`, output of a command, makes its output worth reading even if the
    /// command exits 0: it starts with an `after_success` literal. Called on every line of
    /// output, so it looks at the first bytes only (the whole cost of diagnosing healthy
    /// output, with holding the lines).
    #[must_use]
    #[inline]
    pub fn opens_after_success(&self, line: &str) -> bool {
        let start = if line.starts_with('#') {
            super::context::after_vertex(line)
        } else {
            line
        };
        start
            .as_bytes()
            .first()
            .is_some_and(|&b| self.gate_starts[usize::from(b)])
            && self.gates.iter().any(|g| start.starts_with(g.as_str()))
    }

    /// The patterns matching `line`, as indexes into [`Rules::patterns`].
    #[must_use]
    pub fn matches(&self, line: &str) -> regex::SetMatches {
        self.set.matches(line)
    }
}

fn compile(rule: &str, pattern: &str) -> Result<Regex, DiagnoseError> {
    Regex::new(pattern).map_err(|e| DiagnoseError::Pattern {
        rule: rule.to_owned(),
        pattern: pattern.to_owned(),
        error: e.to_string(),
    })
}

fn check_rule(rule: &Rule, earlier: &[Rule]) -> Result<(), DiagnoseError> {
    let invalid = |problem: &str| DiagnoseError::Invalid {
        rule: rule.id.clone(),
        problem: problem.to_owned(),
    };
    if earlier.iter().any(|r| r.id == rule.id) {
        return Err(DiagnoseError::Duplicate(rule.id.clone()));
    }
    if rule.patterns.is_empty() {
        return Err(invalid("no patterns"));
    }
    if rule
        .after_success
        .as_ref()
        .is_some_and(|g| g.len() < MIN_NEEDLE || g.contains('\n'))
    {
        return Err(invalid(&format!(
            "after_success must be a literal of {MIN_NEEDLE} bytes or more, without a line break"
        )));
    }
    if !rule.docs.starts_with("https://") {
        return Err(invalid("docs must be an https:// URL"));
    }
    let lines = rule.example.lines().count();
    if rule.example_line == 0 || rule.example_line > lines {
        return Err(invalid(&format!(
            "example_line {} is outside the example's {lines} lines",
            rule.example_line
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broken_table_is_an_error_not_a_panic() {
        let e = Rules::parse("[[rule]]\nid = 1\n").expect_err("bad");
        assert!(e.to_string().starts_with("diagnosis rules:"), "{e}");
        let rule = |id: &str, pattern: &str| {
            format!(
                "[[rule]]\nid = '{id}'\npatterns = ['{pattern}']\ncause = 'c'\nfix = 'f'\ndocs = 'https://x'\nsource = 's'\nexample = 'a line'\nexample_line = 1\n"
            )
        };
        let e = Rules::parse(&rule("bad", "unclosed (group")).expect_err("bad");
        assert!(e.to_string().contains("does not compile"), "{e}");
        let twice = format!("{}{}", rule("a", "abcdefgh"), rule("a", "ijklmnop"));
        assert!(matches!(
            Rules::parse(&twice),
            Err(DiagnoseError::Duplicate(_))
        ));
        let ok = Rules::parse(&rule("a", "abcdefgh")).expect("valid");
        assert!(ok.may_match("xx abcdefgh yy"));
        assert!(!ok.may_match("nothing here"));
    }
}
