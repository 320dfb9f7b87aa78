//! `.dockerignore` as Docker reads it (moby's `patternmatcher`): one pattern a line, `#`
//! comments, `!` re-includes, paths relative to the context root (a leading `/` and `./` are
//! dropped, the path is cleaned), `*` and `?` never cross `/`, `**` crosses any number of
//! directories, and a pattern that matches a parent directory matches everything under it.
//! The last pattern that matches decides. Unlike `.gitignore`, `foo` matches only `./foo`.
//! Pure: the caller reads the file.

use globset::{GlobBuilder, GlobMatcher};

/// The compiled patterns of one `.dockerignore`.
#[derive(Debug, Default)]
pub struct DockerIgnore {
    patterns: Vec<(GlobMatcher, bool)>,
}

impl DockerIgnore {
    /// Compiles the file's text; a pattern that does not compile is skipped (Docker rejects
    /// the build then, so the explainer never sees such a context built).
    #[must_use]
    pub fn parse(text: &str) -> Self {
        let mut patterns = Vec::new();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (negate, pat) = match line.strip_prefix('!') {
                Some(p) => (true, p.trim()),
                None => (false, line),
            };
            let pat = clean(pat);
            if pat.is_empty() {
                continue;
            }
            if let Ok(g) = GlobBuilder::new(&pat)
                .literal_separator(true)
                .backslash_escape(true)
                .build()
            {
                patterns.push((g.compile_matcher(), negate));
            }
        }
        Self { patterns }
    }

    /// Whether the context path `rel` (`/`-separated, no leading `/`) is left out of the
    /// context.
    #[must_use]
    pub fn excludes(&self, rel: &str) -> bool {
        let mut excluded = false;
        for (glob, negate) in &self.patterns {
            // A pattern that matches the path or one of its parent directories.
            let hit = glob.is_match(rel) || parents(rel).any(|p| glob.is_match(p));
            if hit {
                excluded = !negate;
            }
        }
        excluded
    }

    /// Whether there is no pattern at all.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }
}

/// `a/b/c` → `a`, `a/b`.
fn parents(rel: &str) -> impl Iterator<Item = &str> {
    rel.match_indices('/').map(move |(i, _)| &rel[..i])
}

/// `filepath.Clean` plus the leading `/` Docker strips.
fn clean(p: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_semantics_not_gitignore_ones() {
        let d = DockerIgnore::parse(
            "# comment\n/secret.txt\n*.log\n**/*.tmp\nbuild\n!build/keep.txt\n./docs/*.md\n",
        );
        assert!(d.excludes("secret.txt"));
        assert!(d.excludes("a.log"));
        // `*.log` is anchored at the root, unlike .gitignore.
        assert!(!d.excludes("sub/a.log"));
        assert!(d.excludes("deep/er/x.tmp"));
        assert!(d.excludes("x.tmp"));
        // A matched directory takes its files along; a later `!` re-includes.
        assert!(d.excludes("build/out.bin"));
        assert!(!d.excludes("build/keep.txt"));
        assert!(d.excludes("docs/a.md"));
        assert!(!d.excludes("docs/sub/a.md"));
        assert!(!d.excludes("src/main.rs"));
        assert!(DockerIgnore::parse("\n# x\n").is_empty());
    }
}
