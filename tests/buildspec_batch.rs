//! `cbdash validate` on buildspecs with a `batch:` section: the batch-mode rules, and the task
//! buildspec files a batch names (read relative to the batch file's directory), whose own
//! diagnostics are shown under their own names.

use std::path::Path;
use std::process::Command;

use crate::common;

/// `cbdash validate` of `target` in a temp directory holding `files`; returns (exit code,
/// stdout, stderr, the directory's path).
fn validate_in(
    files: &[(&str, &str)],
    target: &str,
    extra: &[&str],
) -> (i32, String, String, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, text).expect("write");
    }
    let out = Command::new(common::cbdash_bin())
        .arg("validate")
        .arg(dir.path().join(target))
        .args(extra)
        .output()
        .expect("run cbdash");
    (
        out.status.code().expect("exited, not killed"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        dir.path().display().to_string(),
    )
}

const BATCH_ONLY: &str = "version: 0.2
batch:
  build-list:
    - identifier: unit
      buildspec: ci/unit.yml
    - identifier: lint
      buildspec: ci/lint.yml
";

const CHILD: &str = "version: 0.2
phases:
  build:
    commands:
      - echo child
";

#[test]
fn a_batch_only_file_whose_task_buildspecs_validate_is_valid() {
    let (code, stdout, stderr, dir) = validate_in(
        &[
            ("buildspec.yml", BATCH_ONLY),
            ("ci/unit.yml", CHILD),
            ("ci/lint.yml", CHILD),
        ],
        "buildspec.yml",
        &[],
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    // Each task file was checked and says so.
    assert!(
        stdout.contains(&format!("{dir}/ci/unit.yml: valid (0 errors, 0 warnings)")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("{dir}/ci/lint.yml: valid")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("{dir}/buildspec.yml: valid")),
        "{stdout}"
    );
}

#[test]
fn a_missing_task_buildspec_is_an_error_at_the_task() {
    let (code, stdout, stderr, dir) = validate_in(
        &[("buildspec.yml", BATCH_ONLY), ("ci/unit.yml", CHILD)],
        "buildspec.yml",
        &[],
    );
    assert_eq!(code, 2, "{stdout}\n{stderr}");
    assert!(
        stderr.contains(&format!(
            "{dir}/buildspec.yml:7:18: error: task `lint` names the buildspec `ci/lint.yml`, which does not exist"
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("relative to the source root ({dir})")),
        "{stderr}"
    );
    assert!(
        stderr.contains('^'),
        "a caret under the task's buildspec: {stderr}"
    );
    assert!(
        stdout.contains(&format!(
            "{dir}/buildspec.yml: invalid (1 error, 0 warnings)"
        )),
        "{stdout}"
    );
}

#[test]
fn an_invalid_task_buildspec_is_reported_at_the_task_and_in_its_own_file() {
    let bad = "version: 0.2\nphases:\n  build:\n    on-failure: MAYBE\n    commands: [x]\n";
    let (code, stdout, stderr, dir) = validate_in(
        &[
            ("buildspec.yml", BATCH_ONLY),
            ("ci/unit.yml", CHILD),
            ("ci/lint.yml", bad),
        ],
        "buildspec.yml",
        &[],
    );
    assert_eq!(code, 2, "{stdout}\n{stderr}");
    assert!(
        stderr.contains(&format!(
            "{dir}/buildspec.yml:7:18: error: task `lint` names the buildspec `ci/lint.yml`, which is invalid (1 error, listed under that file)"
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "{dir}/ci/lint.yml:4:17: error: invalid `on-failure` value `MAYBE`"
        )),
        "{stderr}"
    );
    assert!(
        stdout.contains(&format!("{dir}/ci/lint.yml: invalid (1 error, 0 warnings)")),
        "{stdout}"
    );

    // The same in JSON: one row in the batch file, one in the task's file.
    let (code, stdout, _, dir) = validate_in(
        &[
            ("buildspec.yml", BATCH_ONLY),
            ("ci/unit.yml", CHILD),
            ("ci/lint.yml", bad),
        ],
        "buildspec.yml",
        &["--json"],
    );
    assert_eq!(code, 2);
    let rows: Vec<serde_json::Value> = serde_json::from_str(&stdout).expect("JSON");
    let at = |file: &str| {
        rows.iter()
            .filter(|r| r["file"] == format!("{dir}/{file}"))
            .map(|r| {
                (
                    r["line"].as_u64().unwrap_or(0),
                    r["col"].as_u64().unwrap_or(0),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(at("buildspec.yml"), [(7, 18)], "{stdout}");
    assert_eq!(at("ci/lint.yml"), [(4, 17)], "{stdout}");
}

#[test]
fn a_batch_only_file_with_a_task_that_has_no_buildspec_is_invalid() {
    let text = "version: 0.2\nbatch:\n  build-graph:\n    - identifier: unit\n      buildspec: ci/unit.yml\n    - identifier: e2e\n      depend-on: [unit]\n";
    let (code, _, stderr, dir) = validate_in(
        &[("buildspec.yml", text), ("ci/unit.yml", CHILD)],
        "buildspec.yml",
        &[],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{dir}/buildspec.yml:6:19: error: task `e2e` runs this file's phases, but the file has no `phases`"
        )),
        "{stderr}"
    );
}

#[test]
fn matrix_buildspecs_are_checked_and_a_task_naming_its_own_file_is_fine() {
    let text = "version: 0.2\nbatch:\n  build-matrix:\n    dynamic:\n      buildspec:\n        - buildspec.yml\n        - ci/missing.yml\nphases:\n  build:\n    commands: [echo hi]\n";
    let (code, stdout, stderr, dir) = validate_in(&[("buildspec.yml", text)], "buildspec.yml", &[]);
    assert_eq!(code, 2, "{stdout}\n{stderr}");
    assert!(
        stderr.contains(&format!(
            "{dir}/buildspec.yml:7:11: error: the matrix names the buildspec `ci/missing.yml`, which does not exist"
        )),
        "{stderr}"
    );
    // The file itself is checked once, not again as its own task's buildspec.
    assert_eq!(stdout.matches("buildspec.yml:").count(), 1, "{stdout}");
}

#[test]
fn batch_rules_fail_validate_with_position_and_hint() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "cycle",
            "version: 0.2\nbatch:\n  build-graph:\n    - identifier: a\n      depend-on: [b]\n    - identifier: b\n      depend-on: [a]\nphases:\n  build:\n    commands: [x]\n",
            ":7:19: error: `depend-on` makes a cycle: a -> b -> a",
        ),
        (
            "string version",
            "version: \"0.2\"\nbatch:\n  build-fanout:\n    parallelism: 2\nphases:\n  build:\n    commands: [x]\n",
            ":1:10: error: `version` is a string",
        ),
        (
            "duplicate",
            "version: 0.2\nbatch:\n  build-list:\n    - identifier: a\n    - identifier: a\nphases:\n  build:\n    commands: [x]\n",
            ":5:19: error: duplicate identifier `a`: line 4, column 19",
        ),
    ];
    for (name, text, at) in cases {
        let (code, _, stderr, dir) = validate_in(&[("buildspec.yml", text)], "buildspec.yml", &[]);
        assert_eq!(code, 2, "{name}: {stderr}");
        assert!(
            stderr.contains(&format!("{dir}/buildspec.yml{at}")),
            "{name}: no {at} in\n{stderr}"
        );
        assert!(stderr.contains("hint: "), "{name}: {stderr}");
    }
}

#[test]
fn the_reference_examples_validate() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/batch");
    for name in ["graph.yml", "matrix.yml", "fanout.yml"] {
        let out = Command::new(common::cbdash_bin())
            .arg("validate")
            .arg(fixtures.join(name))
            .output()
            .expect("run cbdash");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{name}: {stderr}");
        assert!(!stderr.contains("error:"), "{name}: {stderr}");
    }
}

/// Corpus files whose batch section a batch run refuses, with the line of the error: a
/// `build-list` task without `buildspec` in a file without `phases` (the manifest notes
/// "batch-item-without-buildspec").
const BATCH_INVALID: &[(&str, u32, &str)] = &[(
    "aws__aws-encryption-sdk-python__buildspec.yml",
    24,
    "runs this file's phases, but the file has no `phases`",
)];

/// Every real buildspec with a `batch:` section that parses also passes the batch-mode rules,
/// but for the ones listed in `BATCH_INVALID`, and makes at least one build.
#[test]
fn corpus_batch_files_pass_the_batch_rules() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    let dir = shared.join("corpus/buildspecs");
    let mut checked = 0;
    let mut refused = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("corpus dir") {
        let path = entry.expect("entry").path();
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let Ok(parsed) = cbdash::buildspec::parse(&text) else {
            continue;
        };
        if parsed.spec.batch.is_none() {
            continue;
        }
        checked += 1;
        let name = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        match cbdash::buildspec::check_batch(&text) {
            Ok(p) => {
                let tasks = cbdash::buildspec::batch_plan(&p.spec).expect("a checked batch plans");
                assert!(!tasks.is_empty(), "{name}: no build");
            }
            Err(diags) => {
                let (_, line, needle) = BATCH_INVALID
                    .iter()
                    .find(|(f, ..)| *f == name)
                    .unwrap_or_else(|| panic!("{name} is refused: {diags:#?}"));
                assert!(
                    diags
                        .iter()
                        .any(|d| d.line == *line && d.message.contains(needle)),
                    "{name}: {diags:#?}"
                );
                refused.push(name);
            }
        }
    }
    println!(
        "corpus: {checked} batch files, {} refused in batch mode",
        refused.len()
    );
    assert!(checked >= 10, "only {checked} batch files in the corpus");
    assert_eq!(refused.len(), BATCH_INVALID.len(), "{refused:?}");
}
