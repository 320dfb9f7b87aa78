//! Tar archives that go into the build container: the project source (without `.cbdash/`,
//! cbdash's own state and artifact folder) and the agent's files (`/codebuild/output/tmp`).

use std::path::Path;

use super::LocalError;

/// A tar of `dir`'s tree under `prefix` (a path without leading `/`), skipping the top-level
/// `.cbdash` folder. Symlinks are kept as symlinks.
pub fn source_tar(dir: &Path, prefix: &str) -> Result<Vec<u8>, LocalError> {
    let mut tar = tar::Builder::new(Vec::new());
    tar.follow_symlinks(false);
    tar.mode(tar::HeaderMode::Deterministic);
    append_dirs(&mut tar, prefix, 0o755)?;
    let walker = ignore::WalkBuilder::new(dir)
        .standard_filters(false)
        .hidden(false)
        .follow_links(false)
        .filter_entry(|e| !(e.depth() == 1 && e.file_name() == ".cbdash"))
        .build();
    for entry in walker {
        let entry = entry.map_err(|e| LocalError::source_io("", e))?;
        let Ok(rel) = entry.path().strip_prefix(dir) else {
            continue;
        };
        if rel.as_os_str().is_empty() {
            continue;
        }
        let name = Path::new(prefix).join(rel);
        tar.append_path_with_name(entry.path(), &name)
            .map_err(|e| LocalError::source_io(entry.path().display().to_string(), e))?;
    }
    tar.into_inner().map_err(|e| LocalError::source_io("", e))
}

/// What a resume sends into the kept container: a tar of the files changed since the last sync,
/// how many, and every file the host has now (the next resume's `before`).
pub struct Sync {
    pub tar: Vec<u8>,
    pub copied: usize,
    pub files: Vec<String>,
}

/// The files a resume keeps in step with the host: everything under `dir` but `.git`, the
/// top-level `.cbdash` and what `.gitignore` files ignore (in a repository or not). What the
/// build makes (`node_modules`, `dist`, ...) is usually ignored, so it is neither overwritten
/// nor deleted by a resume.
fn tracked(dir: &Path) -> ignore::Walk {
    ignore::WalkBuilder::new(dir)
        .standard_filters(false)
        .hidden(false)
        .git_ignore(true)
        .require_git(false)
        .follow_links(false)
        .filter_entry(|e| {
            let name = e.file_name();
            name != ".git" && !(e.depth() == 1 && name == ".cbdash")
        })
        .build()
}

/// Every tracked file under `dir`: relative, `/`-separated, sorted (names that are not UTF-8
/// or hold a line break are left out: the list is kept one name per line).
pub fn tracked_files(dir: &Path) -> Result<Vec<String>, LocalError> {
    Ok(changed_tar_inner(dir, None)?.files)
}

/// A tar of the tracked files under `dir` modified at or after `since` (ms since the epoch),
/// under `prefix`: what a resume copies over the build's source.
pub fn changed_tar(dir: &Path, prefix: &str, since_ms: i64) -> Result<Sync, LocalError> {
    changed_tar_inner(dir, Some((prefix, since_ms)))
}

fn changed_tar_inner(dir: &Path, copy: Option<(&str, i64)>) -> Result<Sync, LocalError> {
    let since = copy.map(|(_, ms)| {
        std::time::UNIX_EPOCH + std::time::Duration::from_millis(u64::try_from(ms).unwrap_or(0))
    });
    let mut tar = tar::Builder::new(Vec::new());
    tar.follow_symlinks(false);
    let (mut copied, mut files) = (0, Vec::new());
    for entry in tracked(dir) {
        let entry = entry.map_err(|e| LocalError::source_io("", e))?;
        let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
        let Ok(rel) = entry.path().strip_prefix(dir) else {
            continue;
        };
        if is_dir || rel.as_os_str().is_empty() {
            continue;
        }
        if let Some(name) = rel.to_str().filter(|n| !n.contains('\n')) {
            files.push(name.replace(std::path::MAIN_SEPARATOR, "/"));
        }
        let (Some(since), Some((prefix, _))) = (since, copy) else {
            continue;
        };
        let changed = entry
            .path()
            .symlink_metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| t >= since);
        if changed {
            tar.append_path_with_name(entry.path(), Path::new(prefix).join(rel))
                .map_err(|e| LocalError::source_io(entry.path().display().to_string(), e))?;
            copied += 1;
        }
    }
    files.sort_unstable();
    let tar = tar.into_inner().map_err(|e| LocalError::source_io("", e))?;
    Ok(Sync { tar, copied, files })
}

/// The files of `before` that `now` no longer has (both sorted).
#[must_use]
pub fn deleted(before: &[String], now: &[String]) -> Vec<String> {
    before
        .iter()
        .filter(|f| now.binary_search(f).is_err())
        .cloned()
        .collect()
}

/// Where the build finds its buildspec, for the `YAML location is ...` line: a file in the
/// source copy is at its place under `src_dir` (`--buildspec ci/other.yml` reads
/// `<src_dir>/ci/other.yml`, as CodeBuild's own path for a buildspec in the source); one that
/// is not copied in (outside the project, or under `.cbdash/`, like the inline buildspec of
/// `cloud reproduce`) is at CodeBuild's path for an inline buildspec.
#[must_use]
pub fn yaml_location(src_dir: &str, source_dir: &Path, buildspec: Option<&Path>) -> String {
    let spec = buildspec.map_or_else(|| source_dir.join("buildspec.yml"), Path::to_path_buf);
    let abs = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let (spec, source) = (abs(&spec), abs(source_dir));
    match spec.strip_prefix(&source) {
        Ok(rel) if !rel.starts_with(".cbdash") && rel.components().next().is_some() => {
            format!("{src_dir}/{}", rel.to_string_lossy())
        }
        _ => INLINE_BUILDSPEC.to_owned(),
    }
}

/// Where CodeBuild puts a buildspec that is not a file of the source.
pub const INLINE_BUILDSPEC: &str = "/codebuild/readonly/buildspec.yml";

/// A tar holding the directories of `prefix` and the given files (path, contents, mode).
pub fn files_tar(dirs: &[(&str, u32)], files: &[(&str, &str, u32)]) -> Result<Vec<u8>, LocalError> {
    let mut tar = tar::Builder::new(Vec::new());
    for (dir, mode) in dirs {
        append_dirs(&mut tar, dir, *mode)?;
    }
    for (path, contents, mode) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(contents.len() as u64);
        h.set_mode(*mode);
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mtime(0);
        tar.append_data(&mut h, path, contents.as_bytes())
            .map_err(|e| LocalError::source_io("", e))?;
    }
    tar.into_inner().map_err(|e| LocalError::source_io("", e))
}

/// Appends `path` and each of its ancestors as directory entries.
fn append_dirs(tar: &mut tar::Builder<Vec<u8>>, path: &str, mode: u32) -> Result<(), LocalError> {
    let mut acc = String::new();
    let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    for (i, part) in parts.iter().enumerate() {
        acc.push_str(part);
        acc.push('/');
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_size(0);
        h.set_mode(if i + 1 == parts.len() { mode } else { 0o755 });
        h.set_mtime(0);
        tar.append_data(&mut h, &acc, std::io::empty())
            .map_err(|e| LocalError::source_io("", e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(tar: &[u8]) -> Vec<String> {
        let mut a = tar::Archive::new(tar);
        a.entries()
            .expect("entries")
            .map(|e| {
                e.expect("entry")
                    .path()
                    .expect("path")
                    .to_string_lossy()
                    .into_owned()
            })
            .collect()
    }

    #[test]
    fn yaml_location_is_the_buildspec_under_the_source_dir() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path();
        std::fs::create_dir_all(p.join("ci")).expect("mkdir");
        std::fs::write(p.join("ci/other.yml"), "x").expect("write");
        let src = "/codebuild/output/src1/src";
        assert_eq!(
            yaml_location(src, p, None),
            "/codebuild/output/src1/src/buildspec.yml"
        );
        assert_eq!(
            yaml_location(src, p, Some(&p.join("ci/other.yml"))),
            "/codebuild/output/src1/src/ci/other.yml"
        );
        let outside = tempfile::tempdir().expect("tempdir");
        assert_eq!(
            yaml_location(src, p, Some(&outside.path().join("b.yml"))),
            INLINE_BUILDSPEC
        );
        assert_eq!(
            yaml_location(src, p, Some(&p.join(".cbdash/reproduce/buildspec.yml"))),
            INLINE_BUILDSPEC
        );
    }

    #[test]
    fn source_tar_skips_dot_cbdash_only_at_top() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join(".cbdash/artifacts")).expect("mkdir");
        std::fs::write(dir.path().join(".cbdash/state.json"), "{}").expect("write");
        std::fs::create_dir_all(dir.path().join("sub/.cbdash")).expect("mkdir");
        std::fs::write(dir.path().join("sub/.cbdash/keep"), "x").expect("write");
        std::fs::write(dir.path().join(".hidden"), "x").expect("write");
        let tar = source_tar(dir.path(), "codebuild/output/src1/src").expect("tar");
        let n = names(&tar);
        assert!(n.iter().any(|p| p.ends_with("src/.hidden")), "{n:?}");
        assert!(n.iter().any(|p| p.ends_with("sub/.cbdash/keep")), "{n:?}");
        assert!(!n.iter().any(|p| p.contains("state.json")), "{n:?}");
        assert!(n.iter().any(|p| p == "codebuild/"), "{n:?}");
    }

    #[test]
    fn changed_tar_takes_new_files_only_and_respects_gitignore() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path();
        std::fs::write(p.join("old.txt"), "x").expect("write");
        std::fs::write(p.join(".gitignore"), "out/\n*.log\n").expect("write");
        let since = chrono::Utc::now().timestamp_millis() + 1;
        std::thread::sleep(std::time::Duration::from_millis(20));
        for f in [
            "new.txt",
            "sub/deep.txt",
            "out/bin",
            "x.log",
            ".git/HEAD",
            ".cbdash/s",
        ] {
            let path = p.join(f);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, "y").expect("write");
        }
        let sync = changed_tar(p, "src", since).expect("tar");
        let mut n = names(&sync.tar);
        n.sort();
        assert_eq!(n, ["src/new.txt", "src/sub/deep.txt"]);
        assert_eq!(sync.copied, 2);
        // Every tracked file, changed or not; ignored ones, .git and .cbdash are not tracked.
        assert_eq!(
            sync.files,
            [".gitignore", "new.txt", "old.txt", "sub/deep.txt"]
        );
        assert_eq!(tracked_files(p).expect("list"), sync.files);
        std::fs::remove_file(p.join("old.txt")).expect("rm");
        let now = tracked_files(p).expect("list");
        assert_eq!(deleted(&sync.files, &now), ["old.txt"]);
        assert!(deleted(&now, &sync.files).is_empty());
    }

    #[test]
    fn files_tar_has_dirs_and_files() {
        let tar =
            files_tar(&[("a/b", 0o1777)], &[("a/b/env.sh", "export X=1\n", 0o666)]).expect("tar");
        assert_eq!(names(&tar), ["a/", "a/b/", "a/b/env.sh"]);
    }
}
