//! `codebuild-tests-run` in real builds on the daemon, in the busybox test image
//! (`CBDASH_TEST_IMAGE`) and the Debian one (`CBDASH_TEST_CB_IMAGE`, `/bin/sh` is dash): a
//! fanout shard (`CBDASH_SHARD_NUMBER`/`CBDASH_SHARD_COUNT`, as the batch runner sets them)
//! runs exactly its files under both strategies, the three shards together run every file
//! once, and `CODEBUILD_CURRENT_SHARD_FILES` exists only for the test command.

use cbdash::engine::local::helpers::{Sharding, shard_files};

use crate::common;
use crate::local_harness::{build_only, image, project, run};

/// The seven test files, plus files `tests/*.py` does not match.
const FILES: [&str; 7] = [
    "tests/test_api.py",
    "tests/test_cache.py",
    "tests/test_cli.py",
    "tests/test_db.py",
    "tests/test_models.py",
    "tests/test_utils.py",
    "tests/test_views.py",
];

const SEARCH: &str = "codebuild-glob-search 'tests/*.py'";

fn buildspec() -> String {
    build_only(&[
        &format!("codebuild-tests-run --test-command 'echo RAN' --files-search \"{SEARCH}\""),
        &format!(
            "codebuild-tests-run --sharding-strategy stability --test-command 'echo STABLE' --files-search \"{SEARCH}\""
        ),
        &format!(
            "codebuild-tests-run --test-command 'echo \"$CODEBUILD_CURRENT_SHARD_FILES\" | sed s/^/env:/; true' --files-search \"{SEARCH}\""
        ),
        "echo \"after:${CODEBUILD_CURRENT_SHARD_FILES:-unset}\"",
    ])
}

/// Runs the three shards in `image` and checks each, then their union.
fn shards_in(image: &str) {
    let mut files: Vec<(&str, &str)> = FILES.iter().map(|f| (*f, "pass\n")).collect();
    let spec = buildspec();
    files.extend([
        ("buildspec.yml", spec.as_str()),
        ("tests/conftest.txt", "not a test"),
        ("tests/sub/test_deep.py", "`*` stays in one directory"),
    ]);
    let dir = project(&files);
    let mut union = [Vec::new(), Vec::new()];
    for k in 1..=3 {
        let r = run(
            dir.path(),
            image,
            &[
                "--env",
                &format!("CBDASH_SHARD_NUMBER={k}"),
                "--env",
                "CBDASH_SHARD_COUNT=3",
            ],
        );
        assert_eq!(r.status(), "SUCCEEDED", "{}", r.dump());
        let out = r.stdout();
        for (i, (word, strategy)) in [
            ("RAN", Sharding::EqualDistribution),
            ("STABLE", Sharding::Stability),
        ]
        .into_iter()
        .enumerate()
        {
            let want = shard_files(&FILES, strategy, k, 3);
            let got: Vec<Vec<String>> = out
                .iter()
                .filter_map(|l| {
                    l.split_once(' ')
                        .filter(|(w, _)| *w == word)
                        .map(|(_, rest)| rest)
                })
                .map(|rest| rest.split(' ').map(str::to_owned).collect())
                .collect();
            if want.is_empty() {
                assert!(got.is_empty(), "shard {k} {word}: {}", r.dump());
            } else {
                assert_eq!(
                    got,
                    std::slice::from_ref(&want),
                    "shard {k} {word}: {}",
                    r.dump()
                );
            }
            union[i].extend(want);
        }
        let env: Vec<String> = out
            .iter()
            .filter_map(|l| l.strip_prefix("env:"))
            .map(str::to_owned)
            .collect();
        assert_eq!(
            env,
            shard_files(&FILES, Sharding::EqualDistribution, k, 3),
            "{}",
            r.dump()
        );
        assert!(out.contains(&"after:unset".to_owned()), "{}", r.dump());
    }
    for files in &mut union {
        files.sort();
        assert_eq!(*files, FILES, "every file in one shard, none twice");
    }
}

#[test]
fn tests_run_shards_the_files_in_busybox() {
    let Some(img) = image() else { return };
    // The brief's own figures: 7 files over 3 shards, equal-distribution gives 3, 2, 2.
    assert_eq!(
        shard_files(&FILES, Sharding::EqualDistribution, 2, 3),
        ["tests/test_db.py", "tests/test_models.py"]
    );
    shards_in(&img);
}

#[test]
fn tests_run_shards_the_files_in_the_debian_image() {
    if image().is_none() {
        return;
    }
    let Some(img) = common::require("CBDASH_TEST_CB_IMAGE") else {
        return;
    };
    shards_in(&img);
}

/// A real `build-fanout` batch: each of its three builds runs its own share of the files
/// (the batch runner's `CBDASH_SHARD_*` reach `codebuild-tests-run`), and together they run
/// every file once.
#[test]
fn a_fanout_batch_runs_each_file_in_exactly_one_shard() {
    let Some(img) = image() else { return };
    let spec = format!(
        "version: 0.2\nbatch:\n  build-fanout:\n    parallelism: 3\nphases:\n  build:\n    commands:\n      - codebuild-tests-run --sharding-strategy stability --test-command 'echo RAN' --files-search \"{SEARCH}\"\n"
    );
    let mut files: Vec<(&str, &str)> = FILES.iter().map(|f| (*f, "pass\n")).collect();
    files.push(("buildspec.yml", &spec));
    let dir = project(&files);
    let r = run(dir.path(), &img, &["--batch"]);
    assert_eq!(r.code, 0, "{}", r.dump());
    let mut union = Vec::new();
    for k in 1..=3u32 {
        let identifier = format!("fanout_{k}");
        let build = r
            .of("build_started")
            .into_iter()
            .find(|e| e["identifier"] == identifier.as_str())
            .and_then(|e| e["build_id"].as_str().map(str::to_owned))
            .unwrap_or_else(|| panic!("no build of {identifier}: {}", r.dump()));
        let ran: Vec<String> = r
            .of("log")
            .into_iter()
            .filter(|e| e["build_id"] == build.as_str())
            .filter_map(|e| e["line"].as_str()?.strip_prefix("RAN ").map(str::to_owned))
            .flat_map(|rest| rest.split(' ').map(str::to_owned).collect::<Vec<_>>())
            .collect();
        assert_eq!(
            ran,
            shard_files(&FILES, Sharding::Stability, k, 3),
            "{identifier}: {}",
            r.dump()
        );
        union.extend(ran);
    }
    union.sort();
    assert_eq!(union, FILES, "{}", r.dump());
}
