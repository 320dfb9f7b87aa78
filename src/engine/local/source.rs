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
        let entry = entry.map_err(|e| LocalError::Source(e.to_string()))?;
        let Ok(rel) = entry.path().strip_prefix(dir) else {
            continue;
        };
        if rel.as_os_str().is_empty() {
            continue;
        }
        let name = Path::new(prefix).join(rel);
        tar.append_path_with_name(entry.path(), &name)
            .map_err(|e| LocalError::Source(format!("{}: {e}", entry.path().display())))?;
    }
    tar.into_inner()
        .map_err(|e| LocalError::Source(e.to_string()))
}

/// A tar of the files under `dir` modified at or after `since` (ms since the epoch), under
/// `prefix`, and how many there are: what a resume copies over the build's source. It skips
/// `.git`, the top-level `.cbdash` and what `.gitignore` files ignore (in a repository or
/// not); deleted files are not propagated.
pub fn changed_tar(
    dir: &Path,
    prefix: &str,
    since_ms: i64,
) -> Result<(Vec<u8>, usize), LocalError> {
    let since = std::time::UNIX_EPOCH
        + std::time::Duration::from_millis(u64::try_from(since_ms).unwrap_or(0));
    let mut tar = tar::Builder::new(Vec::new());
    tar.follow_symlinks(false);
    let walker = ignore::WalkBuilder::new(dir)
        .standard_filters(false)
        .hidden(false)
        .git_ignore(true)
        .require_git(false)
        .follow_links(false)
        .filter_entry(|e| {
            let name = e.file_name();
            name != ".git" && !(e.depth() == 1 && name == ".cbdash")
        })
        .build();
    let mut count = 0;
    for entry in walker {
        let entry = entry.map_err(|e| LocalError::Source(e.to_string()))?;
        let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
        let Ok(rel) = entry.path().strip_prefix(dir) else {
            continue;
        };
        if is_dir || rel.as_os_str().is_empty() {
            continue;
        }
        let changed = entry
            .path()
            .symlink_metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| t >= since);
        if !changed {
            continue;
        }
        tar.append_path_with_name(entry.path(), Path::new(prefix).join(rel))
            .map_err(|e| LocalError::Source(format!("{}: {e}", entry.path().display())))?;
        count += 1;
    }
    let bytes = tar
        .into_inner()
        .map_err(|e| LocalError::Source(e.to_string()))?;
    Ok((bytes, count))
}

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
            .map_err(|e| LocalError::Source(e.to_string()))?;
    }
    tar.into_inner()
        .map_err(|e| LocalError::Source(e.to_string()))
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
            .map_err(|e| LocalError::Source(e.to_string()))?;
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
        let (tar, count) = changed_tar(p, "src", since).expect("tar");
        let mut n = names(&tar);
        n.sort();
        assert_eq!(n, ["src/new.txt", "src/sub/deep.txt"]);
        assert_eq!(count, 2);
    }

    #[test]
    fn files_tar_has_dirs_and_files() {
        let tar =
            files_tar(&[("a/b", 0o1777)], &[("a/b/env.sh", "export X=1\n", 0o666)]).expect("tar");
        assert_eq!(names(&tar), ["a/", "a/b/", "a/b/env.sh"]);
    }
}
