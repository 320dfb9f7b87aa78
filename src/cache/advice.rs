//! The cache advice: `advice.toml` read into rules, applied to one Dockerfile's history.
//!
//! Two kinds of advice, both only on evidence from at least `evidence.min_builds` builds:
//! - `first-miss-often` (built in): a step that is the first miss of most builds, with what
//!   the steps it invalidated cost in those builds.
//! - `[[reorder]]` rules (data): a dependency install that re-ran because the whole build
//!   context was copied before it; the advice writes the lines that copy the manifests first,
//!   install, then copy the rest.
//!
//! Pure: the Dockerfile's text and the list of files at the build context's top level are
//! read by the app layer and passed in [`AdviceInput`].

use regex::Regex;
use serde::{Deserialize, Serialize};

use super::dockerfile;
use super::overview::{DockerfileHistory, PastStep, StepSeries, count};

/// The embedded rule table.
pub const ADVICE_TOML: &str = include_str!("advice.toml");

/// The id of the built-in advice on a step that is most often the first miss.
pub const FIRST_MISS_OFTEN: &str = "first-miss-often";

/// A rule table that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum AdviceError {
    #[error("cache advice rules: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("cache advice rule '{rule}': pattern /{pattern}/ does not compile: {error}")]
    Pattern {
        rule: String,
        pattern: String,
        error: String,
    },
    #[error("cache advice rule '{rule}': {problem}")]
    Invalid { rule: String, problem: String },
}

/// How much history advice needs.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    /// No advice without this many builds showing the problem.
    pub min_builds: u32,
    /// The share of builds a step must be the first miss of (`first-miss-often`).
    pub often: f64,
    /// How many steps the most expensive misses list names.
    pub top: usize,
}

/// A dependency install that should come before the rest of the sources (see `advice.toml`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReorderRule {
    pub id: String,
    pub tool: String,
    pub install: String,
    pub manifests: Vec<String>,
    pub default: Vec<String>,
    pub prepare: Vec<String>,
    pub source: String,
    pub example: String,
    pub expected: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    evidence: Evidence,
    reorder: Vec<ReorderRule>,
}

/// The compiled table.
#[derive(Debug)]
pub struct AdviceRules {
    pub evidence: Evidence,
    pub reorder: Vec<ReorderRule>,
    installs: Vec<Regex>,
}

/// What the app layer read for the advice (each `None` when it could not).
#[derive(Clone, Copy, Debug, Default)]
pub struct AdviceInput<'a> {
    /// The Dockerfile's text now: advice on a pattern the file no longer has is dropped.
    pub dockerfile: Option<&'a str>,
    /// The names at the top level of the build context: which manifests exist.
    pub context_files: Option<&'a [String]>,
}

/// One piece of advice.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Advice {
    /// The rule's id (`npm-after-copy-all`, `first-miss-often`).
    pub rule: String,
    /// One line saying what happens.
    pub title: String,
    /// What to do about it.
    pub detail: String,
    /// Builds that showed it (at least `min_builds`).
    pub builds: u32,
    /// What it cost in those builds.
    pub cost_ms: u64,
    /// The Dockerfile lines that show the problem, as docker printed them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub replaces: Vec<String>,
    /// The lines to write instead.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<String>,
}

impl AdviceRules {
    /// The embedded table.
    ///
    /// # Errors
    /// When `advice.toml` is broken (the tests read it).
    pub fn builtin() -> Result<Self, AdviceError> {
        Self::parse(ADVICE_TOML)
    }

    /// A table from TOML text.
    ///
    /// # Errors
    /// Bad TOML, a pattern that does not compile, a duplicate id, bad evidence settings.
    pub fn parse(text: &str) -> Result<Self, AdviceError> {
        let file: File = toml::from_str(text)?;
        let invalid = |rule: &str, problem: &str| AdviceError::Invalid {
            rule: rule.to_owned(),
            problem: problem.to_owned(),
        };
        if file.evidence.min_builds < 1 || !(0.0..=1.0).contains(&file.evidence.often) {
            return Err(invalid(
                "[evidence]",
                "min_builds must be at least 1 and often within 0.0..=1.0",
            ));
        }
        let mut installs = Vec::new();
        for (i, r) in file.reorder.iter().enumerate() {
            if file.reorder[..i].iter().any(|o| o.id == r.id) {
                return Err(invalid(&r.id, "defined twice"));
            }
            if r.default.is_empty() || r.example.trim().is_empty() || r.expected.is_empty() {
                return Err(invalid(
                    &r.id,
                    "needs default manifests, an example and expected lines",
                ));
            }
            let re = Regex::new(&r.install).map_err(|e| AdviceError::Pattern {
                rule: r.id.clone(),
                pattern: r.install.clone(),
                error: e.to_string(),
            })?;
            installs.push(re);
        }
        Ok(Self {
            evidence: file.evidence,
            reorder: file.reorder,
            installs,
        })
    }

    /// The advice on one Dockerfile's history (`steps`: its series, from `overview`).
    #[must_use]
    pub fn advise(
        &self,
        history: &DockerfileHistory,
        steps: &[StepSeries],
        input: &AdviceInput,
    ) -> Vec<Advice> {
        let mut out: Vec<Advice> = Vec::new();
        if let Some(newest) = history.builds.last() {
            for (rule, re) in self.reorder.iter().zip(&self.installs) {
                out.extend(self.reorder_advice(rule, re, history, &newest.steps, input));
            }
        }
        out.extend(self.first_miss_often(history, steps));
        out
    }

    fn reorder_advice(
        &self,
        rule: &ReorderRule,
        re: &Regex,
        history: &DockerfileHistory,
        newest: &[PastStep],
        input: &AdviceInput,
    ) -> Option<Advice> {
        let (copy_at, install_at, file) = find_pattern(newest, re)?;
        let copy = &newest[copy_at];
        let install = &newest[install_at];
        if let Some(text) = input.dockerfile
            && !dockerfile_has(text, &copy.instruction, &install.instruction)
        {
            return None;
        }
        let parsed = parse_copy(&copy.instruction)?;
        let between: Vec<&PastStep> = newest[copy_at + 1..install_at]
            .iter()
            .filter(|s| s.stage == copy.stage && s.platform == copy.platform)
            .collect();
        let relative = !parsed.dest.starts_with('/') && !parsed.dest.starts_with('$');
        if relative && between.iter().any(|s| keyword(&s.instruction) == "WORKDIR") {
            // The manifests would land in another directory than the install runs in.
            return None;
        }
        // Evidence: builds in which the install re-ran after the copy of everything missed.
        let mut builds = 0;
        let mut cost = 0;
        for b in &history.builds {
            let find = |text: &str| b.steps.iter().find(|s| s.instruction == text);
            if let (Some(c), Some(i)) = (find(&copy.instruction), find(&install.instruction))
                && !c.cached
                && !i.cached
            {
                builds += 1;
                cost += i.duration_ms.unwrap_or(0);
            }
        }
        if builds < self.evidence.min_builds {
            return None;
        }
        let manifests = manifests(rule, file.as_deref(), input.context_files);
        let mut dest = parsed.dest.clone();
        if !dest.ends_with('/') {
            dest.push('/');
        }
        let mut lines: Vec<String> = between.iter().map(|s| s.instruction.clone()).collect();
        lines.push(format!(
            "{} {}{} {dest}",
            parsed.keyword,
            parsed.flags,
            manifests.join(" ")
        ));
        lines.extend(rule.prepare.iter().cloned());
        lines.push(install.instruction.clone());
        lines.push(copy.instruction.clone());
        let replaces = newest[copy_at..=install_at]
            .iter()
            .filter(|s| s.stage == copy.stage && s.platform == copy.platform)
            .map(|s| s.instruction.clone())
            .collect();
        Some(Advice {
            rule: rule.id.clone(),
            title: format!(
                "`{}` re-ran in {builds} of {} builds: `{}` comes before it",
                install.instruction,
                history.builds.len(),
                copy.instruction
            ),
            detail: format!(
                "Any change to the build context invalidates the {} install. Copy only {} first, \
                 install, then copy the rest: the install then re-runs only when they change.",
                rule.tool,
                manifests.join(", ")
            ),
            builds,
            cost_ms: cost,
            replaces,
            lines,
        })
    }

    /// A step that is the first miss of most builds.
    fn first_miss_often(&self, history: &DockerfileHistory, steps: &[StepSeries]) -> Vec<Advice> {
        let total = count(history.builds.len());
        let mut out = Vec::new();
        for s in steps {
            let mut builds = 0;
            let mut cost = 0;
            for b in &history.builds {
                if b.first_miss.as_deref() == Some(s.instruction.as_str()) {
                    builds += 1;
                    cost += b
                        .steps
                        .iter()
                        .filter(|x| !x.cached)
                        .filter_map(|x| x.duration_ms)
                        .sum::<u64>();
                }
            }
            // One entry per text: a repeated instruction is counted once.
            if out
                .iter()
                .any(|a: &Advice| a.replaces.first() == Some(&s.instruction))
            {
                continue;
            }
            let share = f64::from(builds) / f64::from(total.max(1));
            if builds < self.evidence.min_builds || share < self.evidence.often {
                continue;
            }
            out.push(Advice {
                rule: FIRST_MISS_OFTEN.to_owned(),
                title: format!(
                    "`{}` is the first miss in {builds} of {total} builds",
                    s.instruction
                ),
                detail: "Every step after it re-ran in those builds. Order the Dockerfile from \
                         the least to the most often changed: move what this step brings in \
                         (or what changes it) as late as the steps that need it allow."
                    .to_owned(),
                builds,
                cost_ms: cost,
                replaces: vec![s.instruction.clone()],
                lines: Vec::new(),
            });
        }
        out
    }
}

/// The first step copying the whole context followed (same stage and platform) by a step the
/// install pattern matches: their positions, and the pattern's `file` capture.
fn find_pattern(steps: &[PastStep], re: &Regex) -> Option<(usize, usize, Option<String>)> {
    for (i, copy) in steps.iter().enumerate() {
        if !parse_copy(&copy.instruction).is_some_and(|c| c.copies_all) {
            continue;
        }
        for (j, s) in steps.iter().enumerate().skip(i + 1) {
            if s.stage != copy.stage || s.platform != copy.platform {
                continue;
            }
            if let Some(caps) = re.captures(&s.instruction) {
                let file = caps.name("file").map(|m| m.as_str().to_owned());
                return Some((i, j, file));
            }
        }
    }
    None
}

/// A `COPY`/`ADD` instruction, taken apart.
#[derive(Debug, PartialEq, Eq)]
struct Copy {
    keyword: String,
    /// `--chown=...` and friends, each followed by a space.
    flags: String,
    dest: String,
    /// Whether `.`, `./` or `/` is among its sources (the whole build context).
    copies_all: bool,
}

fn keyword(instruction: &str) -> String {
    instruction
        .split_ascii_whitespace()
        .next()
        .unwrap_or_default()
        .to_ascii_uppercase()
}

fn parse_copy(instruction: &str) -> Option<Copy> {
    let kw = keyword(instruction);
    if kw != "COPY" && kw != "ADD" {
        return None;
    }
    let rest = instruction.trim_start()[kw.len()..].trim_start();
    let mut words: Vec<&str> = rest.split_ascii_whitespace().collect();
    let flag_count = words.iter().take_while(|w| w.starts_with("--")).count();
    let flags: String = words.drain(..flag_count).fold(String::new(), |mut acc, f| {
        acc.push_str(f);
        acc.push(' ');
        acc
    });
    if flags.contains("--from") {
        // From another stage or image: not the build context.
        return None;
    }
    let args: Vec<String> = if words.first().is_some_and(|w| w.starts_with('[')) {
        serde_json::from_str(&words.join(" ")).ok()?
    } else {
        words.iter().map(|w| (*w).to_owned()).collect()
    };
    let (dest, sources) = args.split_last()?;
    if sources.is_empty() {
        return None;
    }
    Some(Copy {
        keyword: kw,
        flags,
        dest: dest.clone(),
        copies_all: sources
            .iter()
            .any(|s| matches!(s.as_str(), "." | "./" | "/")),
    })
}

/// The manifests to copy: the rule's, with `{file}` filled in, kept when present in the
/// context; the rule's `default` when the context is unknown or holds none of them.
fn manifests(rule: &ReorderRule, file: Option<&str>, context: Option<&[String]>) -> Vec<String> {
    let expand = |m: &String| m.replace("{file}", file.unwrap_or("requirements.txt"));
    let present: Vec<String> = context
        .map(|names| {
            rule.manifests
                .iter()
                .map(expand)
                .filter(|m| {
                    let top = m.trim_start_matches("./").split('/').next().unwrap_or(m);
                    names.iter().any(|n| n == top)
                })
                .collect()
        })
        .unwrap_or_default();
    if present.is_empty() {
        rule.default.iter().map(expand).collect()
    } else {
        present
    }
}

/// Whether the Dockerfile still has `copy` and, after it, `install` (compared with blanks
/// folded and the keyword's case ignored, as docker prints them). The file is read by
/// [`dockerfile::instructions`], the explainer's reader (continuations, comments, heredocs).
fn dockerfile_has(text: &str, copy: &str, install: &str) -> bool {
    let lines: Vec<String> = dockerfile::instructions(text)
        .iter()
        .map(|i| normalize(&i.text()))
        .collect();
    let (copy, install) = (normalize(copy), normalize(install));
    lines
        .iter()
        .position(|l| *l == copy)
        .is_some_and(|i| lines[i + 1..].contains(&install))
}

fn normalize(s: &str) -> String {
    let mut words = s.split_ascii_whitespace();
    let kw = words.next().unwrap_or_default().to_ascii_uppercase();
    std::iter::once(kw)
        .chain(words.map(str::to_owned))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The cacheable steps of a Dockerfile as docker prints them (every instruction but `FROM`,
/// blanks folded), for the tests of the rules' examples.
#[must_use]
pub fn printed_steps(text: &str) -> Vec<String> {
    dockerfile::instructions(text)
        .iter()
        .filter(|i| i.keyword != "FROM")
        .map(|i| normalize(&i.text()))
        .collect()
}

#[cfg(test)]
#[path = "advice_tests.rs"]
mod tests;
