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

    /// Adds one more secret value.
    pub fn add(&mut self, value: impl Into<String>) {
        let value = value.into();
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
        let mut out = line.to_owned();
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
