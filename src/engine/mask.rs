//! Secret masking: every value that must never be shown (`--secret` values, Parameter Store
//! and Secrets Manager values, AWS secret keys) is replaced by `***` in each line before a
//! backend emits it, so no printer, history row or JSON line ever sees it.
//!
//! As in CodeBuild the match is on the exact value: a transformed secret (base64 of it) is not
//! masked.

/// Replaces known secret values with `***`.
#[derive(Clone, Debug, Default)]
pub struct Masker {
    /// Longest first, so that a secret containing another is masked whole.
    values: Vec<String>,
}

/// The replacement text.
pub const MASK: &str = "***";

/// The shortest line of a multi-line secret that is masked on its own.
pub const MIN_LINE: usize = 6;

impl Masker {
    /// A masker for these values. Empty values are ignored (masking "" would mask everything).
    #[must_use]
    pub fn new<I, S>(values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut m = Self::default();
        for v in values {
            m.add(v);
        }
        m
    }

    /// Adds one more secret value. Output is masked line by line, so a value of several
    /// lines (a PEM key, a JSON document) also masks each of its lines that is long enough
    /// not to be a common word ([`MIN_LINE`] characters).
    pub fn add(&mut self, value: impl Into<String>) {
        let value = value.into();
        if value.contains('\n') {
            for line in value.lines().map(|l| l.trim_end_matches('\r')) {
                if line.trim().chars().count() >= MIN_LINE {
                    self.insert(line.to_owned());
                }
            }
        }
        self.insert(value);
    }

    fn insert(&mut self, value: String) {
        if value.is_empty() || self.values.contains(&value) {
            return;
        }
        self.values.push(value);
        self.values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    }

    /// Whether there is nothing to mask.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The line with every secret value replaced.
    #[must_use]
    pub fn mask(&self, line: &str) -> String {
        self.mask_owned(line.to_owned())
    }

    /// [`Self::mask`] of a line the caller owns: a line holding no secret (nearly every
    /// line of a build log) is handed back as it is, with no copy.
    #[must_use]
    pub fn mask_owned(&self, line: String) -> String {
        let mut out = line;
        for v in &self.values {
            if out.contains(v.as_str()) {
                out = out.replace(v.as_str(), MASK);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_every_occurrence() {
        let m = Masker::new(["s3cr3t"]);
        assert_eq!(m.mask("a s3cr3t b s3cr3t"), "a *** b ***");
        assert_eq!(m.mask("nothing here"), "nothing here");
    }

    #[test]
    fn longer_secrets_win_over_their_substrings() {
        let m = Masker::new(["abc", "abcdef"]);
        assert_eq!(m.mask("x abcdef y abc"), "x *** y ***");
    }

    #[test]
    fn empty_values_are_ignored() {
        let m = Masker::new(["", "k"]);
        assert_eq!(m.mask("key"), "***ey");
        assert!(Masker::new([""]).is_empty());
    }

    #[test]
    fn each_long_line_of_a_multi_line_secret_is_masked() {
        let m = Masker::new(["-----BEGIN KEY-----\r\nMIIEvQIBADANBg\n}\n"]);
        assert_eq!(m.mask("-----BEGIN KEY-----"), "***");
        assert_eq!(m.mask("x MIIEvQIBADANBg y"), "x *** y");
        assert_eq!(m.mask("a } b"), "a } b", "short lines are not masked alone");
    }

    #[test]
    fn an_owned_line_is_masked_like_a_borrowed_one() {
        let m = Masker::new(["abc", "abcdef"]);
        for line in ["x abcdef y abc", "nothing", ""] {
            assert_eq!(m.mask_owned(line.to_owned()), m.mask(line));
        }
        assert_eq!(Masker::default().mask_owned("abc".into()), "abc");
    }

    #[test]
    fn transformed_secrets_are_not_masked() {
        let m = Masker::new(["hunter2"]);
        assert_eq!(m.mask("aHVudGVyMg=="), "aHVudGVyMg==");
    }

    proptest::proptest! {
        #[test]
        fn masked_output_never_contains_the_secret(
            secret in "[a-z0-9]{4,12}",
            before in ".{0,20}",
            after in ".{0,20}",
        ) {
            let m = Masker::new([secret.clone()]);
            let out = m.mask(&format!("{before}{secret}{after}"));
            proptest::prop_assert!(!out.contains(&secret));
        }
    }
}
