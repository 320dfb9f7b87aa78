//! Failure diagnosis on real local builds against the Docker daemon: each build reproduces a
//! known failure (no daemon, wrong shell, missing artifacts, a failure hidden by a multi-line
//! command, an OOM kill, a full disk, a failed cache import) and must get
//! exactly that `diagnosis` event; healthy builds must get none.

use std::path::Path;

use serde_json::Value;

use crate::common::{self, repo_root};
use crate::local_harness::{Run, build_only, image, project, run};

/// `(rule, phase)` of every `diagnosis` event, in order.
fn findings(r: &Run) -> Vec<(String, String)> {
    r.of("diagnosis")
        .iter()
        .map(|e| {
            (
                e["rule"].as_str().unwrap_or_default().to_owned(),
                e["phase"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// The one finding of a run, checked to be `rule` in `phase`.
fn only<'a>(r: &'a Run, rule: &str, phase: &str) -> &'a Value {
    assert_eq!(
        findings(r),
        [(rule.to_owned(), phase.to_owned())],
        "{}",
        r.dump()
    );
    let d = r.of("diagnosis")[0];
    for key in ["line", "cause", "fix", "docs"] {
        assert!(
            d[key].as_str().is_some_and(|s| !s.is_empty()),
            "{key} of {d}"
        );
    }
    // Findings belong to the build: they come before it ends.
    let pos = |ty: &str| r.events.iter().position(|e| e["type"] == ty);
    assert!(pos("diagnosis") < pos("build_finished"), "{}", r.dump());
    d
}

#[test]
fn docker_without_a_daemon_in_the_build() {
    let Some(img) = image() else { return };
    let dir = project(&[("buildspec.yml", &build_only(&["docker ps"]))]);
    let r = run(dir.path(), &img, &[]);
    assert_eq!(r.code, 1, "{}", r.dump());
    let d = only(&r, "docker-daemon", "BUILD");
    assert_eq!(
        d["line"],
        "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?"
    );
    assert!(
        d["fix"]
            .as_str()
            .is_some_and(|f| f.contains("privilegedMode"))
    );
}

/// The daemon's absence printed by a command that exits 0 (a wait-for-dockerd loop, a probe
/// with a fallback) is not a finding; the same line from a command that fails is.
#[test]
fn an_error_printed_by_a_command_that_succeeds_is_not_a_finding() {
    let Some(img) = image() else { return };
    let dir = project(&[(
        "buildspec.yml",
        &build_only(&["docker ps || echo no daemon, going on without it"]),
    )]);
    let r = run(dir.path(), &img, &[]);
    assert_eq!(r.code, 0, "{}", r.dump());
    assert!(
        r.dump().contains("Cannot connect to the Docker daemon"),
        "the line is in the log: {}",
        r.dump()
    );
    assert!(findings(&r).is_empty(), "{}", r.dump());
}

#[test]
fn bash_syntax_under_the_default_shell() {
    let Some(img) = image() else { return };
    let dir = project(&[(
        "buildspec.yml",
        &build_only(&["[[ 1 == 1 ]] && echo double-bracket"]),
    )]);
    let r = run(dir.path(), &img, &[]);
    let d = only(&r, "shell-not-bash", "BUILD");
    assert!(
        d["line"]
            .as_str()
            .is_some_and(|l| l.starts_with("/codebuild/output/tmp/script.sh:")
                && l.ends_with("[[: not found")),
        "{d}"
    );
    let dir = project(&[(
        "buildspec.yml",
        "version: 0.2\nphases:\n  pre_build:\n    commands:\n      - set -o pipefail\n",
    )]);
    let r = run(dir.path(), &img, &[]);
    let d = only(&r, "shell-not-bash", "PRE_BUILD");
    assert!(
        d["line"]
            .as_str()
            .is_some_and(|l| l.ends_with("Illegal option -o pipefail")),
        "{d}"
    );
}

#[test]
fn artifacts_that_match_nothing_list_what_exists() {
    let Some(img) = image() else { return };
    let dir = project(&[(
        "buildspec.yml",
        "version: 0.2\nphases:\n  build:\n    commands:\n      - mkdir -p dist/lib && echo a > dist/app.txt && echo b > dist/lib/b.txt\nartifacts:\n  base-directory: dist\n  files:\n    - '*.jar'\n",
    )]);
    let r = run(dir.path(), &img, &[]);
    assert_eq!(r.code, 1, "{}", r.dump());
    let d = only(&r, "artifacts-no-match", "UPLOAD_ARTIFACTS");
    assert!(
        d["line"]
            .as_str()
            .is_some_and(|l| l.ends_with("no matching artifact paths found")),
        "{d}"
    );
    assert!(
        d["fix"].as_str().is_some_and(
            |f| f.ends_with("Paths under the base directory dist: app.txt, lib/b.txt.")
        ),
        "{d}"
    );
}

#[test]
fn a_failure_hidden_by_a_multi_line_command() {
    let Some(img) = image() else { return };
    let dir = project(&[(
        "buildspec.yml",
        "version: 0.2\nphases:\n  build:\n    commands:\n      - |\n        npm ci\n        echo installed\n      - test -d node_modules\n",
    )]);
    let r = run(dir.path(), &img, &[]);
    assert_eq!(r.phase_status("BUILD").as_deref(), Some("FAILED"));
    let d = only(&r, "hidden-failure", "BUILD");
    assert!(
        d["line"]
            .as_str()
            .is_some_and(|l| l.ends_with(": npm: not found")),
        "the earlier line that failed: {d}"
    );
    assert!(d["fix"].as_str().is_some_and(|f| f.contains("set -e")));
    // The same block with `set -e` fails where it should: nothing is hidden.
    let dir = project(&[(
        "buildspec.yml",
        "version: 0.2\nphases:\n  build:\n    commands:\n      - |\n        set -e\n        npm ci\n        echo installed\n",
    )]);
    let r = run(dir.path(), &img, &[]);
    assert_eq!(r.phase_status("BUILD").as_deref(), Some("FAILED"));
    assert!(findings(&r).is_empty(), "{}", r.dump());
}

#[test]
fn a_container_killed_for_memory() {
    let Some(img) = image() else { return };
    let cmd = format!(
        "docker run --rm --network none -m 8m --memory-swap 8m {img} sh -c 'tail /dev/zero'"
    );
    let dir = project(&[("buildspec.yml", &build_only(&[&cmd]))]);
    let r = run(dir.path(), &img, &["--docker-socket"]);
    let d = only(&r, "out-of-memory", "BUILD");
    assert!(
        d["line"]
            .as_str()
            .is_some_and(|l| l.ends_with("exit status 137")),
        "{d}"
    );
}

#[test]
fn a_full_disk() {
    let Some(img) = image() else { return };
    let cmd = format!(
        "docker run --rm --network none --tmpfs /t:size=64k {img} dd if=/dev/zero of=/t/f bs=1k count=200"
    );
    let dir = project(&[("buildspec.yml", &build_only(&[&cmd]))]);
    let r = run(dir.path(), &img, &["--docker-socket"]);
    let d = only(&r, "disk-full", "BUILD");
    assert_eq!(
        d["line"],
        "dd: error writing '/t/f': No space left on device"
    );
}

#[test]
fn a_cache_image_that_does_not_exist() {
    let Some(img) = image() else { return };
    let Some(registry) = common::require("CBDASH_TEST_REGISTRY") else {
        return;
    };
    let unique = uuid::Uuid::new_v4().simple().to_string();
    let tag = format!("cbdash-test/diag-cache-{unique}:1");
    let cmd = format!(
        "DOCKER_BUILDKIT=1 docker build --progress=plain --network none --cache-from {registry}/missing-{unique}:cache -t {tag} ctx"
    );
    let dir = project(&[
        ("buildspec.yml", &build_only(&[&cmd])),
        (
            "ctx/Dockerfile",
            &format!("FROM {img}\nRUN echo {unique} > /x\n"),
        ),
    ]);
    let r = run(dir.path(), &img, &["--docker-socket"]);
    let _ = std::process::Command::new("docker")
        .args(["rmi", "-f", &tag])
        .output();
    assert_eq!(r.code, 0, "the build itself succeeds: {}", r.dump());
    let d = only(&r, "cache-import-failed", "BUILD");
    assert!(
        d["line"]
            .as_str()
            .is_some_and(|l| l.starts_with('#') && l.contains(" ERROR: ")),
        "{d}"
    );
}

/// Copies the bundled example project (without its `.cbdash/` state) into a temporary dir.
fn copy_example(name: &str) -> tempfile::TempDir {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).expect("mkdir");
        for entry in std::fs::read_dir(from).expect("read example") {
            let entry = entry.expect("entry");
            if entry.file_name() == ".cbdash" {
                continue;
            }
            let target = to.join(entry.file_name());
            if entry.path().is_dir() {
                copy(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), target).expect("copy");
            }
        }
    }
    let dir = tempfile::tempdir().expect("tempdir");
    copy(&repo_root().join("examples").join(name), dir.path());
    dir
}

#[test]
fn healthy_builds_get_no_diagnosis() {
    let Some(img) = image() else { return };
    let hello = copy_example("hello");
    let unique = uuid::Uuid::new_v4().simple().to_string();
    let tag = format!("cbdash-test/diag-healthy-{unique}:1");
    let docker_builds = project(&[
        (
            "buildspec.yml",
            &build_only(&[
                &format!("DOCKER_BUILDKIT=0 docker build -t {tag} ctx"),
                &format!(
                    "DOCKER_BUILDKIT=1 docker build --progress=plain --network none -t {tag} ctx"
                ),
                &format!("docker run --rm --network none {tag} cat /x"),
                "set -e; mkdir -p out; echo ok > out/a.txt; test -s out/a.txt",
            ]),
        ),
        (
            "ctx/Dockerfile",
            &format!(
                "FROM {img}\nLABEL cbdash-test={unique}\nRUN echo {unique} > /x\nCOPY Dockerfile /Dockerfile\n"
            ),
        ),
    ]);
    let multi_line = project(&[(
        "buildspec.yml",
        "version: 0.2\nenv:\n  shell: bash\nphases:\n  install:\n    commands:\n      - |\n        set -eo pipefail\n        [[ -n \"$HOME\" ]] && echo home\n        source /dev/null\n  build:\n    commands:\n      - |\n        set -e\n        mkdir -p dist\n        echo app > dist/app.txt\nartifacts:\n  base-directory: dist\n  files:\n    - '**/*'\n",
    )]);
    let runs = [
        run(hello.path(), &img, &[]),
        run(docker_builds.path(), &img, &["--docker-socket"]),
        run(docker_builds.path(), &img, &["--docker-socket"]),
        run(multi_line.path(), &img, &[]),
    ];
    let _ = std::process::Command::new("docker")
        .args(["rmi", "-f", &tag])
        .output();
    for r in &runs {
        assert_eq!(r.code, 0, "{}", r.dump());
        assert!(findings(r).is_empty(), "{:?}\n{}", findings(r), r.dump());
    }
    assert!(
        !runs[2].of("cache_report").is_empty(),
        "the docker builds were seen: {}",
        runs[2].dump()
    );
}
