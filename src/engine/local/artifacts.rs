//! Artifact and report selection, on the tar of the build's source directory copied out of the
//! container (streamed into a temporary file by [`super::upload`], never held in memory).
//!
//! - [`index`] lists the tar: regular files, symbolic links and directories, relative to the
//!   source directory.
//! - [`base_dirs`] resolves `base-directory`: a plain path is itself, a pattern (`dist*`) every
//!   directory it matches (see [`base_dirs`] for several matches or none). The matched
//!   directory's own name is never kept, only what is under it.
//! - [`select`] applies `files` globs, `exclude-paths` (both relative to the base directory)
//!   and `discard-paths`; symbolic links are candidates only with `enable-symlinks: yes`.
//! - [`extract`] writes the selected entries into the output folder with their modes;
//!   links are created last and never through or over an existing path.
//!
//! Report files are streamed to their parsers by [`each_file`] ([`super::reports`]).

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};

use crate::buildspec::Artifact;

use super::LocalError;

/// What the source directory's tar holds, as paths relative to it (the tar's first
/// component, the directory's own name, is dropped).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Index {
    /// Regular files.
    pub files: Vec<String>,
    /// Symbolic links (to files or directories), kept only with `enable-symlinks: yes`.
    pub links: Vec<String>,
    /// Directories, for `base-directory` patterns.
    pub dirs: Vec<String>,
}

fn err(e: impl Into<super::Cause>) -> LocalError {
    LocalError::artifacts("", e)
}

/// Lists a tar downloaded from the container.
pub fn index<R: Read>(tar: R) -> Result<Index, LocalError> {
    let mut out = Index::default();
    let mut a = tar::Archive::new(tar);
    for e in a.entries().map_err(err)? {
        let e = e.map_err(err)?;
        let Some(rel) = rel_path(&e) else { continue };
        match e.header().entry_type() {
            tar::EntryType::Regular => out.files.push(rel),
            tar::EntryType::Symlink => out.links.push(rel),
            tar::EntryType::Directory => out.dirs.push(rel.trim_end_matches('/').to_owned()),
            _ => {}
        }
    }
    Ok(out)
}

fn rel_path<R: Read>(e: &tar::Entry<'_, R>) -> Option<String> {
    let p = e.path().ok()?;
    let s = p.to_string_lossy();
    s.split_once('/')
        .map(|(_, rest)| rest.to_owned())
        .filter(|r| !r.is_empty())
}

/// Whether a `base-directory` is a pattern rather than a path.
fn is_pattern(base: &str) -> bool {
    base.contains(['*', '?', '[', '{'])
}

/// The directories a `base-directory` stands for, relative to the source directory (`""` is
/// the source directory itself). A plain path is itself, whether it exists or not. A
/// pattern (`dist*`, `build/*/out`) matches directories only, one path component per `*`;
/// CodeBuild documents patterns but not what several matches do, so every match counts, in
/// sorted order: their contents are merged, and a path found under two of them comes from
/// the first. A pattern that matches nothing selects nothing (the artifact then fails with
/// `no matching artifact paths found`, as an empty base directory does).
pub fn base_dirs(base: Option<&str>, dirs: &[String]) -> Result<Vec<String>, LocalError> {
    let b = normalise_base(base);
    if !is_pattern(&b) {
        return Ok(vec![b]);
    }
    let glob = globset::GlobBuilder::new(&b)
        .literal_separator(true)
        .build()
        .map_err(|e| LocalError::artifacts(format!("invalid base-directory '{b}'"), e))?
        .compile_matcher();
    let mut out: Vec<String> = dirs.iter().filter(|d| glob.is_match(d)).cloned().collect();
    out.sort();
    out.dedup();
    Ok(out)
}

/// `path` relative to `base` (`""` is the root), if it is under it.
fn under<'p>(path: &'p str, base: &str) -> Option<&'p str> {
    if base.is_empty() {
        Some(path)
    } else {
        path.strip_prefix(base).and_then(|r| r.strip_prefix('/'))
    }
}

/// The entries an artifact (or report) selects: `(path in the source dir, path in the
/// output)`, from `candidates` under any of `bases` (see [`base_dirs`]).
pub fn select(
    candidates: &[String],
    patterns: &[String],
    bases: &[String],
    exclude: &[String],
    discard_paths: bool,
) -> Result<Vec<(String, String)>, LocalError> {
    let include = globs(patterns)?;
    let exclude = globs(exclude)?;
    let mut out = Vec::new();
    let mut taken: HashSet<String> = HashSet::new();
    for base in bases {
        let mut mine = Vec::new();
        for f in candidates {
            let Some(rel) = under(f, base) else { continue };
            if !include.is_match(rel) || exclude.is_match(rel) {
                continue;
            }
            let dest = if discard_paths {
                rel.rsplit('/').next().unwrap_or(rel).to_owned()
            } else {
                rel.to_owned()
            };
            // A path already selected under an earlier base directory wins.
            if !taken.contains(&dest) {
                mine.push((f.clone(), dest));
            }
        }
        taken.extend(mine.iter().map(|(_, d)| d.clone()));
        out.extend(mine);
    }
    out.sort();
    Ok(out)
}

/// Selection for an artifact definition over the tar's index.
pub fn select_artifact(idx: &Index, a: &Artifact) -> Result<Vec<(String, String)>, LocalError> {
    let bases = base_dirs(a.base_directory.as_deref(), &idx.dirs)?;
    let mut candidates = idx.files.clone();
    if a.enable_symlinks {
        candidates.extend(idx.links.iter().cloned());
    }
    select(
        &candidates,
        &a.files,
        &bases,
        &a.exclude_paths,
        a.discard_paths,
    )
}

/// The files under `bases`, relative to them (what a user can put in `files`), sorted.
#[must_use]
pub fn paths_under(files: &[String], bases: &[String]) -> Vec<String> {
    let mut out: Vec<String> = bases
        .iter()
        .flat_map(|b| files.iter().filter_map(|f| under(f, b).map(str::to_owned)))
        .collect();
    out.sort();
    out.dedup();
    out
}

fn normalise_base(base: Option<&str>) -> String {
    let b = base.unwrap_or("").trim();
    let b = b.strip_prefix("./").unwrap_or(b).trim_end_matches('/');
    if b == "." {
        String::new()
    } else {
        b.to_owned()
    }
}

fn globs(patterns: &[String]) -> Result<GlobSet, LocalError> {
    let mut b = GlobSetBuilder::new();
    for p in patterns {
        let p = p.strip_prefix("./").unwrap_or(p);
        let g = globset::GlobBuilder::new(p)
            .literal_separator(true)
            .build()
            .map_err(|e| LocalError::artifacts(format!("invalid path pattern '{p}'"), e))?;
        b.add(g);
        // `dir` alone means everything under it, as in CodeBuild.
        if !p.contains('*')
            && let Ok(g) = Glob::new(&format!("{}/**", p.trim_end_matches('/')))
        {
            b.add(g);
        }
    }
    b.build().map_err(err)
}

/// Writes the selected entries (`source path → output paths`) from the tar: files with
/// their mode (an executable stays executable), symbolic links as links. Links are made
/// after every file, and only where nothing exists yet, so no file is written through one.
pub fn extract<R: Read, S: std::hash::BuildHasher>(
    tar: R,
    wanted: &HashMap<String, Vec<PathBuf>, S>,
) -> Result<(), LocalError> {
    let mut links: Vec<(PathBuf, PathBuf)> = Vec::new();
    let mut a = tar::Archive::new(tar);
    for e in a.entries().map_err(err)? {
        let mut e = e.map_err(err)?;
        let Some(rel) = rel_path(&e) else { continue };
        let Some(targets) = wanted.get(&rel) else {
            continue;
        };
        match e.header().entry_type() {
            tar::EntryType::Symlink => {
                let Some(to) = e.link_name().map_err(err)? else {
                    continue;
                };
                links.extend(targets.iter().map(|t| (t.clone(), to.to_path_buf())));
            }
            tar::EntryType::Regular => {
                let mode = e.header().mode().unwrap_or(0o644) & 0o777;
                write_file(targets, &mut e, mode)?;
            }
            _ => {}
        }
    }
    for (at, to) in links {
        make_link(&at, &to)?;
    }
    Ok(())
}

fn io_err(path: &Path, e: std::io::Error) -> LocalError {
    LocalError::artifacts(path.display().to_string(), e)
}

/// Streams one tar entry into the first target and copies it to the others.
fn write_file(targets: &[PathBuf], data: &mut impl Read, mode: u32) -> Result<(), LocalError> {
    use std::os::unix::fs::PermissionsExt;
    let Some((first, rest)) = targets.split_first() else {
        return Ok(());
    };
    for t in targets {
        if let Some(parent) = t.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io_err(parent, e))?;
        }
    }
    let mut f = std::fs::File::create(first).map_err(|e| io_err(first, e))?;
    std::io::copy(data, &mut f).map_err(|e| io_err(first, e))?;
    let perms = std::fs::Permissions::from_mode(mode);
    std::fs::set_permissions(first, perms.clone()).map_err(|e| io_err(first, e))?;
    for t in rest {
        std::fs::copy(first, t).map_err(|e| io_err(t, e))?;
        std::fs::set_permissions(t, perms.clone()).map_err(|e| io_err(t, e))?;
    }
    Ok(())
}

/// Creates `at` as a link to `to` (the link's own text, as in the build), unless something
/// is there already.
fn make_link(at: &Path, to: &Path) -> Result<(), LocalError> {
    if at.symlink_metadata().is_ok() {
        return Ok(());
    }
    if let Some(parent) = at.parent() {
        std::fs::create_dir_all(parent).map_err(|e| io_err(parent, e))?;
    }
    std::os::unix::fs::symlink(to, at).map_err(|e| io_err(at, e))
}

/// Streams each file of `names` found in the tar to `f`, in the tar's order, one at a time
/// (report files can be large: they are never held whole).
pub fn each_file<R: Read>(
    tar: R,
    names: &[String],
    mut f: impl FnMut(&str, &mut dyn Read),
) -> Result<(), LocalError> {
    let wanted: HashSet<&str> = names.iter().map(String::as_str).collect();
    let mut a = tar::Archive::new(tar);
    for e in a.entries().map_err(err)? {
        let mut e = e.map_err(err)?;
        let Some(rel) = rel_path(&e) else { continue };
        if wanted.contains(rel.as_str()) {
            f(&rel, &mut e);
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "artifacts_tests.rs"]
mod tests;
