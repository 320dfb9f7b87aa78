//! CodeBuild's helper commands, present in every local build whatever the image:
//! `codebuild-hash-files` (one SHA-256 over matched files, for cache keys),
//! `codebuild-breakpoint` and `codebuild-resume` (pause the build, go on: see [`super::breakpoint`]),
//! `codebuild-glob-search` (matched files, one per line) and `codebuild-tests-run` (runs the
//! test command on this fanout shard's share of the files a search lists, both sharding
//! strategies; the shard comes from `CBDASH_SHARD_NUMBER`/`CBDASH_SHARD_COUNT`, which the
//! batch runner sets: see [`super::envvars`]). CodeBuild's agent puts its own on `PATH` at run
//! time; cbdash copies these small POSIX `sh` scripts (in `helpers/`) into the container in
//! PROVISIONING, with the agent's tmp folder. [`shard_files`] is the Rust twin of
//! `codebuild-tests-run`'s choice of files, which the tests hold the script to.
//!
//! They go to [`BIN_DIR`], which every common image (Debian, Ubuntu, Amazon Linux, Alpine,
//! busybox) has on `PATH`: no `PATH` edit to carry through the shell state, `run-as` users and
//! `cbdash shell` alike.

/// Where the helper commands are installed.
pub const BIN_DIR: &str = "/usr/local/bin";

const HASH_FILES: &str = include_str!("helpers/codebuild-hash-files");
const GLOB_SEARCH: &str = include_str!("helpers/codebuild-glob-search");
const TESTS_RUN: &str = include_str!("helpers/codebuild-tests-run");
const BREAKPOINT: &str = include_str!("helpers/codebuild-breakpoint");
const RESUME: &str = include_str!("helpers/codebuild-resume");

/// The helper scripts as `(path without the leading /, text, mode)` for
/// [`super::source::files_tar`]. Only files: the directories stay as the image has them
/// (`/usr/local/bin` may be a symlink in some image).
#[must_use]
pub fn files() -> [(String, &'static str, u32); 5] {
    let dir = BIN_DIR.trim_start_matches('/');
    [
        (format!("{dir}/codebuild-hash-files"), HASH_FILES, 0o755),
        (format!("{dir}/codebuild-glob-search"), GLOB_SEARCH, 0o755),
        (format!("{dir}/codebuild-tests-run"), TESTS_RUN, 0o755),
        (format!("{dir}/codebuild-breakpoint"), BREAKPOINT, 0o755),
        (format!("{dir}/codebuild-resume"), RESUME, 0o755),
    ]
}

/// A sharding strategy of `codebuild-tests-run`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sharding {
    /// Sorted, then contiguous chunks whose sizes differ by at most one.
    EqualDistribution,
    /// Rendezvous hashing: adding or removing a file moves no other file.
    Stability,
}

/// The files shard `shard` (from 1) of `count` runs, as `codebuild-tests-run` picks them from
/// the `--files-search` lines: the Rust twin of the script, for tests and tools. Non-empty
/// lines, de-duplicated, in byte order.
#[must_use]
pub fn shard_files(lines: &[&str], strategy: Sharding, shard: u32, count: u32) -> Vec<String> {
    let mut files: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| !l.trim().is_empty())
        .collect();
    files.sort_unstable();
    files.dedup();
    let mine: Vec<&str> = match strategy {
        Sharding::EqualDistribution => {
            let (n, c, i) = (files.len(), count as usize, (shard - 1) as usize);
            let (base, extra) = (n / c, n % c);
            let first = i * base + i.min(extra);
            let len = base + usize::from(i < extra);
            files[first..first + len].to_vec()
        }
        Sharding::Stability => files
            .into_iter()
            .filter(|f| stability_shard(f, count) == shard)
            .collect(),
    };
    mine.into_iter().map(str::to_owned).collect()
}

/// The shard (from 1) a file goes to under `stability`: the `k` whose score, the 32-bit
/// FNV-1a hash of `<file>|<k>` put through the script's mixer, is the highest (the lowest `k`
/// on a tie).
#[must_use]
pub fn stability_shard(file: &str, count: u32) -> u32 {
    let mut best = (0, 1);
    for k in 1..=count {
        let score = mix32(fnv1a32(format!("{file}|{k}").as_bytes()));
        if k == 1 || score > best.0 {
            best = (score, k);
        }
    }
    best.1
}

/// 32-bit FNV-1a.
fn fnv1a32(data: &[u8]) -> u32 {
    data.iter().fold(2_166_136_261, |h: u32, b| {
        (h ^ u32::from(*b)).wrapping_mul(16_777_619)
    })
}

/// The script's integer mixer (multipliers below 2^27, so the shell's 64-bit arithmetic does
/// not overflow).
fn mix32(h: u32) -> u32 {
    let h = ((h >> 16) ^ h).wrapping_mul(73_244_475);
    let h = ((h >> 16) ^ h).wrapping_mul(73_244_475);
    (h >> 16) ^ h
}

#[cfg(test)]
mod tests_run;

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
