//! CodeBuild's helper commands, present in every local build whatever the image:
//! `codebuild-hash-files` (one SHA-256 over matched files, for cache keys) and
//! `codebuild-glob-search` (matched files, one per line). CodeBuild's agent puts its own on
//! `PATH` at run time; cbdash copies these small POSIX `sh` scripts (in `helpers/`) into the
//! container in PROVISIONING, with the agent's tmp folder.
//!
//! They go to [`BIN_DIR`], which every common image (Debian, Ubuntu, Amazon Linux, Alpine,
//! busybox) has on `PATH`: no `PATH` edit to carry through the shell state, `run-as` users and
//! `cbdash shell` alike.

/// Where the helper commands are installed.
pub const BIN_DIR: &str = "/usr/local/bin";

const HASH_FILES: &str = include_str!("helpers/codebuild-hash-files");
const GLOB_SEARCH: &str = include_str!("helpers/codebuild-glob-search");

/// The helper scripts as `(path without the leading /, text, mode)` for
/// [`super::source::files_tar`]. Only files: the directories stay as the image has them
/// (`/usr/local/bin` may be a symlink in some image).
#[must_use]
pub fn files() -> [(String, &'static str, u32); 2] {
    let dir = BIN_DIR.trim_start_matches('/');
    [
        (format!("{dir}/codebuild-hash-files"), HASH_FILES, 0o755),
        (format!("{dir}/codebuild-glob-search"), GLOB_SEARCH, 0o755),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_are_posix_sh_and_executable() {
        for (path, text, mode) in files() {
            assert!(path.starts_with("usr/local/bin/codebuild-"), "{path}");
            assert!(text.starts_with("#!/bin/sh\n"), "{path}");
            assert!(!text.contains("[["), "{path}: bash-only syntax");
            assert_eq!(mode, 0o755);
        }
    }
}
