//! The buildspec parser against the real-world corpus, the `cbdash validate` binary on
//! malformed files, and property tests that `parse` never panics.

use std::path::{Path, PathBuf};
use std::process::Command;

use cbdash::buildspec::{Diagnostic, Severity, parse};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use crate::common;

struct Entry {
    file: String,
    valid_guess: String,
}

fn corpus() -> Option<(PathBuf, Vec<Entry>)> {
    let dir = common::shared_dir()?.join("corpus/buildspecs");
    let manifest = std::fs::read_to_string(dir.join("MANIFEST.tsv")).expect("MANIFEST.tsv");
    let entries = manifest
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            Entry {
                file: cols[0].to_owned(),
                valid_guess: cols.last().expect("columns").trim().to_owned(),
            }
        })
        .collect();
    Some((dir, entries))
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// The five files judged invalid, and the line of the first error each must report (read
/// from the files: the token where YAML or the schema goes wrong).
const INVALID: &[(&str, u32, &str)] = &[
    // `AWS_ACCOUNT_ID:254011110770`: no space after the colon, so not a key.
    ("101999__pipeline__buildspec.yaml", 4, "invalid YAML"),
    // `git commit ...` pasted at column 1 after the YAML.
    (
        "3software__workshop-repo__buildspec.yaml",
        39,
        "invalid YAML",
    ),
    // `- echo this is REPOSITORY_URI: $REPOSITORY_URI:latest` reads as a mapping.
    (
        "aws-samples__ecs-demo-php-simple-app__configuration_buildspec.yml",
        17,
        "as a mapping",
    ),
    // `version: 0.0`, the pre-GA format.
    (
        "aws-samples__aws-serverless-samfarm__api_buildspec.yml",
        1,
        "unknown buildspec version",
    ),
    // No `version`: reported at the first key, `run-as` on line 6.
    (
        "kuritsu__tf-example__buildspec-pr.yml",
        6,
        "missing `version`",
    ),
];

/// Files the manifest guesses `yes` that CodeBuild rejects, with the line of the error. The
/// manifest's column is "a judgement, not the result of running CodeBuild"; for these the YAML
/// is unambiguous: `- echo "Resolved image tag: $IMAGE_TAG"` is a plain scalar containing
/// `: `, so YAML (and CodeBuild: "Expected Commands[n] to be of string type: found subkeys
/// instead") reads the entry as a mapping.
const MISJUDGED: &[(&str, u32)] = &[(
    "zaheermustafa01-bot__aws-cicd-ecs-bluegreen__buildspecs_buildspec.yml",
    14,
)];

#[test]
fn corpus_files_parse_as_judged() {
    let Some((dir, entries)) = corpus() else {
        return;
    };
    let (mut ok, mut warned, mut failed, mut unsure_err, mut misjudged) = (0, 0, 0, 0, 0);
    let mut bad_yes = Vec::new();
    for e in &entries {
        let text = read(&dir, &e.file);
        let result = parse(&text);
        match e.valid_guess.as_str() {
            "yes" => match &result {
                Ok(p) => {
                    ok += 1;
                    warned += usize::from(!p.warnings.is_empty());
                }
                Err(d) => {
                    if let Some((_, line)) = MISJUDGED.iter().find(|(f, _)| *f == e.file) {
                        // See MISJUDGED: the manifest's guess is wrong; check our error instead.
                        assert!(
                            d.iter()
                                .any(|x| x.line == *line && x.message.contains("as a mapping")),
                            "{}",
                            render_all(&e.file, d)
                        );
                        misjudged += 1;
                    } else {
                        bad_yes.push(render_all(&e.file, d));
                    }
                }
            },
            "no" => {
                let d = result
                    .err()
                    .unwrap_or_else(|| panic!("{} should be invalid", e.file));
                let (_, line, needle) = INVALID
                    .iter()
                    .find(|(f, ..)| *f == e.file)
                    .unwrap_or_else(|| panic!("no expected line recorded for {}", e.file));
                let hit = d.iter().find(|x| {
                    x.severity == Severity::Error && x.line == *line && x.message.contains(needle)
                });
                let hit = hit.unwrap_or_else(|| {
                    panic!(
                        "{}: no error at line {line}: {}",
                        e.file,
                        render_all(&e.file, &d)
                    )
                });
                assert!(hit.hint.is_some(), "{}: no hint", e.file);
                failed += 1;
            }
            _ => match &result {
                Ok(_) => ok += 1,
                Err(d) => {
                    assert!(d.iter().all(|x| x.line > 0 && x.col > 0), "{}", e.file);
                    unsure_err += 1;
                }
            },
        }
    }
    println!(
        "corpus: {} files; {ok} valid ({warned} of the `yes` ones with warnings), {failed} invalid as judged, {misjudged} judged `yes` but invalid, {unsure_err} `unsure` with errors",
        entries.len()
    );
    assert!(
        bad_yes.is_empty(),
        "`yes` files with errors:\n{}",
        bad_yes.join("\n\n")
    );
    assert_eq!(failed, INVALID.len());
    assert_eq!(misjudged, MISJUDGED.len());
}

fn render_all(file: &str, d: &[Diagnostic]) -> String {
    d.iter()
        .map(|x| x.render(file))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Runs `cbdash validate` on `text` written to a temp file; returns (exit code, stdout, stderr).
fn validate(text: &str, extra: &[&str]) -> (i32, String, String, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("buildspec.yml");
    std::fs::write(&path, text).expect("write");
    let out = Command::new(common::cbdash_bin())
        .arg("validate")
        .arg(&path)
        .args(extra)
        .output()
        .expect("run cbdash");
    (
        out.status.code().expect("exited, not killed"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        path.display().to_string(),
    )
}

#[test]
fn cli_reports_malformed_files_with_position_and_hint() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "tabs",
            "version: 0.2\nphases:\n\tbuild:\n    commands: [x]\n",
            ":3:1:",
        ),
        (
            "duplicate keys",
            "version: 0.2\nphases:\n  build:\n    commands: [a]\n  build:\n    commands: [b]\n",
            ":5:3:",
        ),
        (
            "unclosed quote",
            "version: 0.2\nphases:\n  build:\n    commands:\n      - \"echo hi\n",
            ":5:",
        ),
        (
            "command read as a mapping",
            "version: 0.2\nphases:\n  build:\n    commands:\n      - echo uri: $URI\n",
            ":5:9:",
        ),
        (
            "missing phases",
            "version: 0.2\nenv:\n  shell: bash\n",
            ":1:1:",
        ),
        (
            "unknown version",
            "version: 1.0\nphases: {build: {commands: [x]}}\n",
            ":1:10:",
        ),
        (
            "invalid on-failure",
            "version: 0.2\nphases:\n  build:\n    on-failure: MAYBE\n    commands: [x]\n",
            ":4:17:",
        ),
    ];
    for (name, text, at) in cases {
        let (code, _, stderr, path) = validate(text, &[]);
        assert_eq!(
            code, 2,
            "{name}: exit code (101 would be a panic)\n{stderr}"
        );
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
        assert!(
            stderr.contains(&format!("{path}{at}")),
            "{name}: no {path}{at} in\n{stderr}"
        );
        assert!(stderr.contains("error:"), "{name}: {stderr}");
        assert!(stderr.contains("hint: "), "{name}: {stderr}");
        assert!(stderr.contains('^'), "{name}: no caret\n{stderr}");
    }
}

#[test]
fn cli_exit_codes_strict_json_and_missing_file() {
    let valid = "version: 0.2\nphases:\n  build:\n    commands:\n      - echo hi\n";
    let (code, stdout, _, _) = validate(valid, &[]);
    assert_eq!(code, 0);
    assert!(stdout.contains("valid (0 errors, 0 warnings)"), "{stdout}");
    assert!(validate(valid, &["--strict"]).0 == 0);

    let warns = "version: 0.2\nphases:\n  build:\n    comands: [x]\n";
    assert_eq!(validate(warns, &[]).0, 0);
    assert_eq!(validate(warns, &["--strict"]).0, 2);

    let (code, stdout, _, path) = validate(warns, &["--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("JSON on stdout");
    assert_eq!(
        v,
        serde_json::json!([{
            "file": path, "severity": "warning", "line": 4, "col": 5,
            "message": "unknown key `comands` in `phases.build`: CodeBuild ignores it",
            "hint": "did you mean `commands`?"
        }])
    );

    let out = Command::new(common::cbdash_bin())
        .args(["validate", "/nonexistent/buildspec.yml"])
        .output()
        .expect("run cbdash");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("/nonexistent/buildspec.yml:1:1: error: no such file"),
        "{stderr}"
    );
}

/// 256 cases, no failure files (the suite must not write into the source tree).
fn config() -> Config {
    Config {
        cases: 256,
        failure_persistence: None,
        ..Config::default()
    }
}

/// Every diagnostic points at a real position and renders.
fn check_positions(text: &str) {
    let diags = match parse(text) {
        Ok(p) => p.warnings,
        Err(d) => {
            assert!(!d.is_empty(), "Err without diagnostics");
            d
        }
    };
    for d in &diags {
        assert!(d.line > 0 && d.col > 0, "{d:?}");
        let _ = d.render("p.yml");
    }
}

#[test]
fn parse_never_panics_on_arbitrary_text() {
    let mut runner = TestRunner::new(config());
    let strategy = prop_oneof![any::<String>(), "[ -~\t\n:|>&*!%@`'\"#{}\\[\\]-]{0,200}",];
    runner
        .run(&strategy, |text| {
            check_positions(&text);
            Ok(())
        })
        .expect("no panic");
}

#[test]
fn parse_never_panics_on_mutated_corpus_files() {
    let texts: Vec<String> = match corpus() {
        Some((dir, entries)) => entries.iter().map(|e| read(&dir, &e.file)).collect(),
        None => vec!["version: 0.2\nphases:\n  build:\n    commands:\n      - echo hi\n".into()],
    };
    let n = texts.len();
    // A mutation: 0 flips a byte, 1 deletes a line, 2 duplicates a line.
    let mutation = (0u8..3, any::<prop::sample::Index>(), any::<u8>());
    let mut runner = TestRunner::new(config());
    runner
        .run(
            &(0..n, prop::collection::vec(mutation, 1..6)),
            |(i, muts)| {
                let mut lines: Vec<Vec<u8>> = texts[i]
                    .split('\n')
                    .map(|l| l.as_bytes().to_vec())
                    .collect();
                for (kind, at, byte) in muts {
                    if lines.is_empty() {
                        break;
                    }
                    let li = at.index(lines.len());
                    match kind {
                        0 if !lines[li].is_empty() => {
                            let bi = at.index(lines[li].len());
                            lines[li][bi] ^= byte | 1;
                        }
                        1 => {
                            lines.remove(li);
                        }
                        _ => {
                            let dup = lines[li].clone();
                            lines.insert(li, dup);
                        }
                    }
                }
                let bytes = lines.join(&b'\n');
                check_positions(&String::from_utf8_lossy(&bytes));
                Ok(())
            },
        )
        .expect("no panic");
}

/// Benchmark, not a test (no timing is asserted): parse the whole corpus 50 times with
/// `buildspec::parse`, against serde-saphyr reading the same text into `IgnoredAny` (the YAML
/// work alone), measured in the same run. Run:
/// `CBDASH_TEST_SHARED=/work/shared cargo test --test integration bench_corpus_parse -- --ignored --nocapture`
#[test]
#[ignore = "benchmark; run by hand, figures go to BENCHMARKS.md"]
fn bench_corpus_parse() {
    let Some((dir, entries)) = corpus() else {
        return;
    };
    let texts: Vec<String> = entries.iter().map(|e| read(&dir, &e.file)).collect();
    let bytes: usize = texts.iter().map(String::len).sum();
    let rounds = 50;
    let time = |f: &dyn Fn(&str)| {
        let start = std::time::Instant::now();
        for _ in 0..rounds {
            for t in &texts {
                f(t);
            }
        }
        start.elapsed()
    };
    let baseline = time(&|t| {
        let _ = std::hint::black_box(serde_saphyr::from_str::<serde::de::IgnoredAny>(t));
    });
    let ours = time(&|t| {
        let _ = std::hint::black_box(parse(t));
    });
    let per_file = ours / u32::try_from(rounds * texts.len()).expect("small");
    println!(
        "corpus: {} files, {bytes} bytes; x{rounds}: baseline {baseline:?}, parse {ours:?}, ratio {:.2}; {per_file:?} per file",
        texts.len(),
        ours.as_secs_f64() / baseline.as_secs_f64()
    );
}
