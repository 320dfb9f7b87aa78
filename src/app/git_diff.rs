//! The files a cloud build's missed `COPY`/`ADD` copies that changed between two commits, read
//! from a git checkout on this machine (`git diff --name-only`). A cloud build's context is not
//! here to hash; its source is, when the directory cbdash runs in is a checkout that holds both
//! builds' resolved source versions.
//!
//! Revisions come from CodeBuild's answers and paths from a build's log, both untrusted: a
//! revision must look like a commit id (hex) before it reaches git, and paths go after `--`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::cache::{DockerIgnore, source_selects};

/// Why the changed files could not be named.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum GitDiffError {
    #[error("{0} is not a git checkout")]
    NotACheckout(PathBuf),
    #[error("neither {0} nor {1} is a git checkout")]
    NeitherIsACheckout(PathBuf, PathBuf),
    #[error("the source version {0:?} is not a commit id")]
    NotACommitId(String),
    #[error(
        "commit {0} is not in the checkout at {1} (fetch it, or run cbdash in a clone of the build's source)"
    )]
    MissingCommit(String, PathBuf),
    #[error("the build context {0:?} is not a path inside the source")]
    ContextOutside(String),
    #[error("git failed: {0}")]
    Git(String),
}

/// A git checkout: the top of its work tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkout {
    top: PathBuf,
}

impl Checkout {
    /// The checkout `dir` is in (`git rev-parse --show-toplevel`).
    ///
    /// # Errors
    /// `dir` is not in a git work tree, or git cannot run.
    pub fn find(dir: &Path) -> Result<Self, GitDiffError> {
        let top = git(dir, &["rev-parse", "--show-toplevel"])
            .map_err(|_| GitDiffError::NotACheckout(dir.to_path_buf()))?;
        let top = top.trim_end_matches('\n');
        if top.is_empty() {
            return Err(GitDiffError::NotACheckout(dir.to_path_buf()));
        }
        Ok(Self {
            top: PathBuf::from(top),
        })
    }

    /// The checkout of `project`'s source from the directory cbdash runs in: that directory's
    /// own, else its subdirectory named after the project (the dashboard runs in a folder of
    /// projects).
    ///
    /// # Errors
    /// Neither is in a git work tree.
    pub fn find_for(dir: &Path, project: &str) -> Result<Self, GitDiffError> {
        let own = Self::find(dir);
        // A CodeBuild project name is letters, digits, `-` and `_`: never a path of its own.
        let named = !project.is_empty()
            && project
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        let sub = dir.join(project);
        match own {
            Err(GitDiffError::NotACheckout(_)) if named && sub.is_dir() => Self::find(&sub)
                .map_err(|_| GitDiffError::NeitherIsACheckout(dir.to_path_buf(), sub)),
            other => other,
        }
    }

    /// The files under `context` (a path relative to the source's root, as the build's
    /// `docker build` names it) that changed from commit `from` to commit `to` and that
    /// `sources` (a `COPY`'s sources, relative to the context) select, leaving out what the
    /// context's `.dockerignore` (as of `to`) excludes. Sorted, relative to the context.
    ///
    /// # Errors
    /// A revision that is not a commit id or not in the checkout, a context outside the
    /// source, or git failing.
    pub fn changed(
        &self,
        (from, to): (&str, &str),
        context: &str,
        sources: &[String],
    ) -> Result<Vec<String>, GitDiffError> {
        for rev in [from, to] {
            self.commit(rev)?;
        }
        let context = context_path(context)?;
        let prefix = if context.is_empty() {
            String::new()
        } else {
            format!("{context}/")
        };
        let ignore = git(&self.top, &["show", &format!("{to}:{prefix}.dockerignore")])
            .map(|t| DockerIgnore::parse(&t))
            .unwrap_or_default();
        let pathspec = if context.is_empty() { "." } else { &context };
        let listed = git(
            &self.top,
            &[
                "diff",
                "--name-only",
                "--no-renames",
                "-z",
                from,
                to,
                "--",
                pathspec,
            ],
        )?;
        let mut files: Vec<String> = listed
            .split('\0')
            .filter_map(|p| p.strip_prefix(prefix.as_str()))
            .filter(|rel| !rel.is_empty())
            .filter(|rel| sources.iter().any(|s| source_selects(s, rel)))
            .filter(|rel| !ignore.excludes(rel))
            .map(str::to_owned)
            .collect();
        files.sort();
        files.dedup();
        Ok(files)
    }

    /// The text of `path` (relative to the top of the checkout) as of commit `rev`.
    ///
    /// # Errors
    /// A revision that is not a commit id or not in the checkout, or no such file there.
    pub fn show(&self, rev: &str, path: &str) -> Result<String, GitDiffError> {
        self.commit(rev)?;
        git(&self.top, &["show", &format!("{rev}:{path}")])
    }

    /// `rev` is a commit id this checkout has.
    fn commit(&self, rev: &str) -> Result<(), GitDiffError> {
        if !(4..=64).contains(&rev.len()) || !rev.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(GitDiffError::NotACommitId(rev.to_owned()));
        }
        git(&self.top, &["cat-file", "-e", &format!("{rev}^{{commit}}")])
            .map(|_| ())
            .map_err(|_| GitDiffError::MissingCommit(rev.to_owned(), self.top.clone()))
    }
}

/// `$CODEBUILD_SRC_DIR/app/`, `./app` → `app`; the root → the empty path; a path that
/// leaves the source (absolute, `..`, another variable) is an error.
fn context_path(context: &str) -> Result<String, GitDiffError> {
    let rel = context
        .strip_prefix("$CODEBUILD_SRC_DIR")
        .or_else(|| context.strip_prefix("${CODEBUILD_SRC_DIR}"))
        .map_or(Some(context), |r| {
            (r.is_empty() || r.starts_with('/')).then(|| r.trim_start_matches('/'))
        })
        .filter(|r| !r.starts_with('/') && !r.contains('$'))
        .ok_or_else(|| GitDiffError::ContextOutside(context.to_owned()))?;
    let parts: Vec<&str> = rel
        .split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .collect();
    if parts.contains(&"..") {
        return Err(GitDiffError::ContextOutside(context.to_owned()));
    }
    Ok(parts.join("/"))
}

/// Runs git in `dir`; its standard output, or what it said on failure.
fn git(dir: &Path, args: &[&str]) -> Result<String, GitDiffError> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| GitDiffError::Git(format!("cannot run git: {e}")))?;
    if !out.status.success() {
        let said = String::from_utf8_lossy(&out.stderr);
        return Err(GitDiffError::Git(said.trim().to_owned()));
    }
    // A file name that is not UTF-8 is kept as close as it can be; it is only shown.
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[cfg(test)]
#[path = "git_diff_tests.rs"]
mod tests;
