//! `codebuild-tests-run` under the host's `/bin/sh`: its sharding against [`shard_files`], its
//! arguments, environment and exit statuses. (On the daemon, in busybox and Debian images:
//! `tests/local_tests_run.rs`.)

use std::process::Command;

use super::{Sharding, TESTS_RUN, shard_files, stability_shard};

/// What one run of the script printed.
struct Ran {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs the script with these arguments as shard `shard` of `count` (`None`: no shard
/// variables).
fn tests_run(args: &[&str], shard: Option<(u32, u32)>) -> Ran {
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg(TESTS_RUN)
        .arg("codebuild-tests-run")
        .args(args)
        .env_remove("CBDASH_SHARD_NUMBER")
        .env_remove("CBDASH_SHARD_COUNT")
        .env_remove("CODEBUILD_CURRENT_SHARD_FILES");
    if let Some((k, n)) = shard {
        c.env("CBDASH_SHARD_NUMBER", k.to_string())
            .env("CBDASH_SHARD_COUNT", n.to_string());
    }
    let out = c.output().expect("sh");
    Ran {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A `--files-search` that prints these lines.
fn search(lines: &[&str]) -> String {
    let quoted: Vec<String> = lines
        .iter()
        .map(|l| format!("'{}'", l.replace('\'', r"'\''")))
        .collect();
    format!("printf '%s\\n' {}", quoted.join(" "))
}

/// The files a shard's test command got, one argument a line.
fn shard(lines: &[&str], strategy: &str, k: u32, n: u32) -> Vec<String> {
    let r = tests_run(
        &[
            "--test-command",
            "printf 'arg:%s\\n'",
            "--files-search",
            &search(lines),
            "--sharding-strategy",
            strategy,
        ],
        Some((k, n)),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    r.stdout
        .lines()
        .filter_map(|l| l.strip_prefix("arg:"))
        .map(str::to_owned)
        .collect()
}

fn names(n: usize) -> Vec<String> {
    // Unsorted, so that the sort is the script's.
    (0..n)
        .rev()
        .map(|i| format!("tests/test_{i:02}.py"))
        .collect()
}

#[test]
fn equal_distribution_gives_sorted_contiguous_chunks_within_one_of_each_other() {
    for total in [0, 1, 2, 5, 7, 9] {
        let files = names(total);
        let lines: Vec<&str> = files.iter().map(String::as_str).collect();
        for count in 1..=4 {
            let shards: Vec<Vec<String>> = (1..=count)
                .map(|k| shard(&lines, "equal-distribution", k, count))
                .collect();
            let mut sorted = files.clone();
            sorted.sort();
            assert_eq!(shards.concat(), sorted, "{total} files, {count} shards");
            let sizes: Vec<usize> = shards.iter().map(Vec::len).collect();
            let (min, max) = (sizes.iter().min(), sizes.iter().max());
            assert!(max.zip(min).is_some_and(|(a, b)| a - b <= 1), "{sizes:?}");
            for (k, got) in (1..=count).zip(&shards) {
                let want = shard_files(&lines, Sharding::EqualDistribution, k, count);
                assert_eq!(got, &want, "shard {k} of {count}, {total} files");
            }
        }
    }
}

#[test]
fn stability_matches_the_reference_hash_and_adding_shards_only_moves_files_to_the_new_one() {
    let files = names(40);
    let lines: Vec<&str> = files.iter().map(String::as_str).collect();
    let three: Vec<Vec<String>> = (1..=3).map(|k| shard(&lines, "stability", k, 3)).collect();
    let mut all = three.concat();
    all.sort();
    let mut sorted = files.clone();
    sorted.sort();
    assert_eq!(all, sorted, "every file in exactly one shard");
    for (k, got) in (1..=3).zip(&three) {
        assert_eq!(
            got,
            &shard_files(&lines, Sharding::Stability, k, 3),
            "shard {k}"
        );
        assert!(got.len() >= 6, "40 files over 3 shards, {} here", got.len());
    }
    for f in &files {
        let (before, after) = (stability_shard(f, 3), stability_shard(f, 4));
        assert!(after == before || after == 4, "{f}: {before} -> {after}");
    }
    assert!(files.iter().any(|f| stability_shard(f, 4) == 4));
}

#[test]
fn files_are_appended_quoted_and_listed_in_the_variable_for_the_test_command_only() {
    let lines = ["b c.py", "it's $HOME.py", "", "  ", "a.py", "a.py"];
    let r = tests_run(
        &[
            "--test-command",
            "echo \"in:${CODEBUILD_CURRENT_SHARD_FILES}\"; printf 'arg:%s\\n'",
            "--files-search",
            &format!(
                "echo \"search:${{CODEBUILD_CURRENT_SHARD_FILES-unset}}\" >&2; {}",
                search(&lines)
            ),
        ],
        None,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let out: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(
        out,
        [
            "in:a.py",
            "b c.py",
            "it's $HOME.py",
            "arg:a.py",
            "arg:b c.py",
            "arg:it's $HOME.py",
        ],
        "no shard variables: one shard with every file, each one argument"
    );
    assert!(r.stderr.contains("search:unset"), "{}", r.stderr);
    assert!(
        r.stderr
            .contains("codebuild-tests-run: shard 1/1 (equal-distribution): 3 of 3 test files"),
        "{}",
        r.stderr
    );
}

#[test]
fn the_exit_status_is_the_test_commands_and_a_failed_search_stops_before_it() {
    let r = tests_run(
        &["--test-command", "exit 7", "--files-search", "echo a.py"],
        None,
    );
    assert_eq!(r.code, 7, "{}", r.stderr);
    let r = tests_run(
        &[
            "--test-command",
            "echo RAN",
            "--files-search",
            "echo a.py; exit 3",
        ],
        None,
    );
    assert_eq!(r.code, 3);
    assert!(!r.stdout.contains("RAN"));
    assert!(
        r.stderr.contains("--files-search failed (exit 3)"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_shard_without_files_skips_the_test_command() {
    let r = tests_run(
        &[
            "--test-command",
            "echo RAN",
            "--files-search",
            "printf 'a.py\\nb.py\\n'",
        ],
        Some((3, 3)),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, "");
    assert!(
        r.stderr
            .contains("shard 3/3 has no test files (2 in all): the test command is not run"),
        "{}",
        r.stderr
    );
    let r = tests_run(
        &["--test-command", "echo RAN", "--files-search", "true"],
        None,
    );
    assert_eq!((r.code, r.stdout.as_str()), (0, ""), "{}", r.stderr);
}

/// Arguments, shard variables, and what stderr must say.
type Case = (&'static [&'static str], Option<(u32, u32)>, &'static str);

#[test]
fn usage_errors_exit_2_with_a_message() {
    let cases: [Case; 8] = [
        (&[], None, "--test-command is required"),
        (&["--test-command", "x"], None, "--files-search is required"),
        (
            &["--files-search", "x", "--test-command"],
            None,
            "--test-command needs a value",
        ),
        (
            &["--test-command=", "--files-search", "x"],
            None,
            "--test-command is empty",
        ),
        (
            &[
                "--test-command",
                "x",
                "--files-search",
                "y",
                "--sharding-strategy",
                "round-robin",
            ],
            None,
            "unknown --sharding-strategy: round-robin",
        ),
        (
            &["--test-command", "x", "--files-search", "y", "extra"],
            None,
            "unknown argument: extra",
        ),
        (
            &["--test-command", "x", "--files-search", "y"],
            Some((4, 3)),
            "bad shard",
        ),
        (
            &["--test-command", "x", "--files-search", "y"],
            Some((0, 3)),
            "bad shard",
        ),
    ];
    for (args, shard, message) in cases {
        let r = tests_run(args, shard);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(message), "{args:?}: {}", r.stderr);
        assert_eq!(r.stdout, "", "{args:?}");
    }
    let r = tests_run(
        &[
            "--test-command=echo RAN",
            "--files-search=echo a.py",
            "--sharding-strategy=stability",
        ],
        None,
    );
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (0, "RAN a.py\n"),
        "{}",
        r.stderr
    );
}

#[test]
fn the_reference_hash_is_fnv_1a() {
    // FNV-1a's published values for "" and "a".
    assert_eq!(super::fnv1a32(b""), 0x811c_9dc5);
    assert_eq!(super::fnv1a32(b"a"), 0xe40c_292c);
}
