//! A pattern's needle: the literal the prefilter looks for. It must occur in every match (so it
//! comes from a literal run at the top level of the pattern's syntax tree), and it should be
//! rare in ordinary build output, because the multi-literal matcher fingerprints the first
//! bytes of each needle and every false hit costs a verification. So within the pattern's
//! literal runs the needle starts where its first bytes are least common in logs.

use regex_syntax::hir::{Hir, HirKind};

use super::rules::{DiagnoseError, MIN_NEEDLE};

/// Bytes from most to least common in build logs (English text, paths, numbers, code);
/// bytes not listed count as rarer than all of these.
const BY_FREQUENCY: &[u8] = b" etaoinsrlcdhumpfgbywv0123456789.-/:kx_=,ETASIORNLCDMPUHBFGWKVYXJQZjqz'\"()[]#@!?$%&*+;<>{}|~^`";

/// How many leading bytes the matcher fingerprints (Teddy uses up to 4).
const FINGERPRINT: usize = 4;

fn rarity(b: u8) -> usize {
    BY_FREQUENCY
        .iter()
        .position(|&c| c == b)
        .unwrap_or(BY_FREQUENCY.len())
}

/// The needle of `pattern` (of rule `rule`).
pub fn needle_of(rule: &str, pattern: &str) -> Result<String, DiagnoseError> {
    let hir = regex_syntax::Parser::new()
        .parse(pattern)
        .map_err(|e| DiagnoseError::Pattern {
            rule: rule.to_owned(),
            pattern: pattern.to_owned(),
            error: e.to_string(),
        })?;
    // (score, length, needle): rarest fingerprint first, then the longest.
    let mut best: Option<(usize, usize, &[u8])> = None;
    let runs = top_level_literals(&hir);
    for run in runs.iter().filter(|r| r.len() >= MIN_NEEDLE) {
        for i in 0..=run.len() - MIN_NEEDLE {
            // Start on a character boundary, so the needle is valid UTF-8 like the run.
            if run[i] & 0xC0 == 0x80 {
                continue;
            }
            let tail = &run[i..];
            let score = tail.iter().take(FINGERPRINT).map(|&b| rarity(b)).sum();
            if best.is_none_or(|(s, l, _)| (score, tail.len()) > (s, l)) {
                best = Some((score, tail.len(), tail));
            }
        }
    }
    let best = best.map(|(_, _, needle)| needle.to_vec());
    match best.map(String::from_utf8) {
        Some(Ok(n)) => Ok(n),
        _ => Err(DiagnoseError::NoNeedle {
            rule: rule.to_owned(),
            pattern: pattern.to_owned(),
            min: MIN_NEEDLE,
        }),
    }
}

/// Runs of adjacent literals in a top-level concatenation (anything else breaks a run: what
/// sits inside a group, class, repetition or alternation may not be in every match).
fn top_level_literals(hir: &Hir) -> Vec<Vec<u8>> {
    let items: &[Hir] = match hir.kind() {
        HirKind::Concat(items) => items,
        _ => std::slice::from_ref(hir),
    };
    let mut runs = Vec::new();
    let mut run = Vec::new();
    for item in items {
        if let HirKind::Literal(lit) = item.kind() {
            run.extend_from_slice(&lit.0);
        } else if !run.is_empty() {
            runs.push(std::mem::take(&mut run));
        }
    }
    if !run.is_empty() {
        runs.push(run);
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needles_are_mandatory_literals_starting_where_they_are_rare() {
        let needle = |p: &str| needle_of("t", p).expect("needle");
        assert_eq!(
            needle("[Cc]annot connect to the Docker daemon"),
            "Docker daemon"
        );
        assert_eq!(needle(r"^#\d+ ERROR: "), "RROR: ");
        assert_eq!(needle(r"script\.sh: (?:line )?\d+: "), "pt.sh: ");
        for p in ["(?i)no space left", "abc|defghij", r"ab\d+cd"] {
            assert!(
                matches!(needle_of("t", p), Err(DiagnoseError::NoNeedle { .. })),
                "{p}"
            );
        }
    }

    #[test]
    fn every_needle_occurs_in_what_its_pattern_matches() {
        let haystack = "x: Cannot connect to the Docker daemon at unix:///var/run/docker.sock.";
        let re = regex::Regex::new("[Cc]annot connect to the Docker daemon").expect("regex");
        let m = re.find(haystack).expect("match");
        assert!(
            m.as_str()
                .contains(&needle_of("t", re.as_str()).expect("needle"))
        );
    }
}
