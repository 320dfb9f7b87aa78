//! The fuzz targets' seeds and crash reproducers, replayed in the ordinary suite (no nightly,
//! no libFuzzer): each target's property (`fuzz/checks/TARGET.rs`, the same function the
//! cargo-fuzz target calls) over every file of `fuzz/seeds/TARGET/`. A crash a fuzzer finds is
//! copied there (`crash-*`) so it stays fixed. The minimized corpora that long runs grow are not
//! in the repository; `fuzz/README.md` says how to regenerate them.

use std::path::{Path, PathBuf};

#[path = "../fuzz/checks/buildspec.rs"]
mod buildspec;
#[path = "../fuzz/checks/cache.rs"]
mod cache;
#[path = "../fuzz/checks/diagnose.rs"]
mod diagnose;
#[path = "../fuzz/checks/sanitize.rs"]
mod sanitize;

/// Every file of `fuzz/seeds/TARGET/`, sorted.
fn seeds(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/seeds")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Runs `check` over every seed of `target`, naming the seeds that panicked; returns how many
/// ran. The minimum keeps a seed directory from going missing unnoticed.
fn replay(target: &str, min: usize, check: fn(&[u8])) {
    let files = seeds(target);
    assert!(
        files.len() >= min,
        "fuzz/seeds/{target} has {} files, expected at least {min}",
        files.len()
    );
    let failed: Vec<String> = files
        .iter()
        .filter(|path| {
            let data = std::fs::read(path).expect("a readable seed");
            std::panic::catch_unwind(|| check(&data)).is_err()
        })
        .map(|p| p.display().to_string())
        .collect();
    assert!(
        failed.is_empty(),
        "{target}: property broken by {failed:#?}"
    );
}

#[test]
fn buildspec_seeds_parse_or_point_at_real_lines() {
    replay("buildspec", 30, buildspec::check);
}

#[test]
fn cache_seeds_give_reports_whose_counts_add_up() {
    replay("cache", 30, cache::check);
}

#[test]
fn diagnose_seeds_give_each_rule_at_most_once() {
    replay("diagnose", 30, diagnose::check);
}

#[test]
fn sanitize_seeds_leave_no_control_character() {
    replay("sanitize", 30, sanitize::check);
}
