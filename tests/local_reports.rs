//! Report groups on the real daemon: a buildspec writes this project's fixtures into place
//! (`cp`, as a test runner would write its results), the local engine reads them in
//! `UPLOAD_ARTIFACTS`, and the NDJSON `report` lines carry the counts, failed cases and
//! coverage; the plain summary lists them; a JUnit file CodeBuild refuses fails the phase.

use std::process::Command;

use crate::common;
use crate::local_harness::{build_only, image, project, run};

const JUNIT: &str = include_str!("fixtures/reports/junit.xml");
const NUNIT3: &str = include_str!("fixtures/reports/nunit3.xml");
const TRX: &str = include_str!("fixtures/reports/results.trx");
const COBERTURA: &str = include_str!("fixtures/reports/cobertura.xml");
const LCOV: &str = include_str!("fixtures/reports/lcov.info");

const FIVE_GROUPS: &str = "version: 0.2
phases:
  build:
    commands:
      - mkdir -p out/unit/deep out/cov
      - cp fx/junit.xml out/unit/deep/TEST-calc.xml
      - printf '<testsuite name=\"x\">\\n<testcase name=\"a\">\\n</testsuite>\\n' > out/unit/broken.xml
      - cp fx/nunit3.xml out/nunit3.xml
      - cp fx/results.trx out/run.trx
      - cp fx/cobertura.xml out/cov/coverage.xml
      - cp fx/lcov.info out/cov/lcov.info
      - export REPORTS=$CODEBUILD_SRC_DIR/out
      - export SUITE=calc
reports:
  $SUITE-unit:
    files:
      - '**/*.xml'
    base-directory: $REPORTS/unit
    discard-paths: yes
  nunit:
    files:
      - out/nunit3.xml
    file-format: nunit3xml
  trx:
    files:
      - 'out/*.trx'
    file-format: VisualStudioTrx
  cov:
    files:
      - coverage.xml
    base-directory: out/cov
    file-format: CoberturaXml
  lcov:
    files:
      - 'out/cov/*.info'
    file-format: LCOVINFO
";

fn fixtures(buildspec: &str) -> tempfile::TempDir {
    project(&[
        ("buildspec.yml", buildspec),
        ("fx/junit.xml", JUNIT),
        ("fx/nunit3.xml", NUNIT3),
        ("fx/results.trx", TRX),
        ("fx/cobertura.xml", COBERTURA),
        ("fx/lcov.info", LCOV),
    ])
}

#[test]
fn every_group_gets_a_report_line_with_counts_cases_and_coverage() {
    let Some(img) = image() else { return };
    let dir = fixtures(FIVE_GROUPS);
    let r = run(dir.path(), &img, &[]);
    assert_eq!(r.code, 0, "{}", r.dump());
    let reps = r.of("report");
    let group = |g: &str| {
        *reps
            .iter()
            .find(|e| e["group"] == g)
            .unwrap_or_else(|| panic!("no report {g}: {}", r.dump()))
    };
    assert_eq!(reps.len(), 5, "{}", r.dump());

    let unit = group("calc-unit");
    assert_eq!(unit["format"], "JUNITXML");
    assert_eq!(unit["kind"], "test");
    assert_eq!(unit["status"], "FAILED");
    assert_eq!(
        (
            &unit["tests"],
            &unit["passed"],
            &unit["failed"],
            &unit["skipped"],
            &unit["errors"]
        ),
        (&4.into(), &1.into(), &1.into(), &1.into(), &1.into())
    );
    assert_eq!(unit["failures"], 2);
    assert_eq!(unit["files"].as_array().map(Vec::len), Some(2), "{unit}");
    let cases = unit["failed_cases"].as_array().expect("cases");
    assert_eq!(cases.len(), 2);
    assert_eq!(cases[0]["name"], "overflows");
    assert_eq!(cases[0]["prefix"], "calc.AddTest");
    assert_eq!(cases[0]["status"], "FAILED");
    assert!(
        cases[0]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("expected 0, got -1"))
    );
    assert_eq!(cases[1]["status"], "ERROR");
    let warnings = unit["warnings"]
        .as_array()
        .expect("the broken file's warning");
    assert_eq!(warnings.len(), 1);
    assert!(
        warnings[0]
            .as_str()
            .is_some_and(|w| w.starts_with("out/unit/broken.xml:3: ")),
        "{unit}"
    );

    let nunit = group("nunit");
    assert_eq!(nunit["format"], "NUNIT3XML");
    assert_eq!((&nunit["tests"], &nunit["errors"]), (&4.into(), &1.into()));
    let trx = group("trx");
    assert_eq!(trx["failed_cases"][1]["prefix"], "Calc.Tests.SlowTests");

    let cov = group("cov");
    assert_eq!(cov["kind"], "coverage");
    assert_eq!(cov["status"], "SUCCEEDED");
    assert_eq!(
        (&cov["lines_covered"], &cov["lines_missed"]),
        (&4.into(), &2.into())
    );
    assert_eq!(
        (&cov["branches_covered"], &cov["branches_missed"]),
        (&1.into(), &1.into())
    );
    assert_eq!(cov["files_covered"], 2);
    assert_eq!(cov["branch_pct"], 50.0);
    let lcov = group("lcov");
    assert_eq!(lcov["format"], "LCOVINFO");
    assert_eq!(lcov["line_pct"], 60.0);

    let lines = r.lines();
    for want in [
        "Expanding base directory path: out/unit",
        "Expanding file paths for base directory out/cov",
        "Expanding **/*.xml",
        "Found 2 file(s)",
    ] {
        assert!(
            lines.iter().any(|l| l.ends_with(want)),
            "{want}: {}",
            r.dump()
        );
    }
}

#[test]
fn the_plain_summary_lists_groups_and_failed_cases() {
    let Some(img) = image() else { return };
    let dir = fixtures(FIVE_GROUPS);
    let out = Command::new(common::cbdash_bin())
        .arg("run")
        .arg(dir.path())
        .args(["--plain", "--image", &img, "--pull", "never"])
        .output()
        .expect("run cbdash");
    let text = String::from_utf8_lossy(&out.stdout);
    let summary = text
        .split("\nReports\n")
        .nth(1)
        .unwrap_or_else(|| panic!("no Reports section:\n{text}"));
    assert!(
        summary.contains(
            "calc-unit (JUNITXML) FAILED: 4 tests, 1 passed, 1 failed, 1 error, 1 skipped"
        ),
        "{summary}"
    );
    assert!(
        summary.contains("  FAILED  calc.AddTest.overflows: expected 0, got -1"),
        "{summary}"
    );
    assert!(
        summary.contains("  ERROR   calc.DivTest.by_zero: ZeroDivisionError: division by zero"),
        "{summary}"
    );
    assert!(
        summary.contains("  warning: out/unit/broken.xml:3: "),
        "{summary}"
    );
    assert!(
        summary.contains(
            "cov (COBERTURAXML) SUCCEEDED: lines 66.7% (4/6), branches 50.0% (1/2), 2 files"
        ),
        "{summary}"
    );
}

#[test]
fn a_junit_file_codebuild_refuses_fails_upload_artifacts() {
    let Some(img) = image() else { return };
    let dir = project(&[(
        "buildspec.yml",
        &format!(
            "{}reports:\n  trivy:\n    files:\n      - trivy.xml\n",
            build_only(&[
                "printf '<testsuite name=\"trivy\" tests=\"0\" failures=\"1\"><testcase name=\"CVE-1\" classname=\"lib\"><failure message=\"bad\"/></testcase></testsuite>' > trivy.xml"
            ])
        ),
    )]);
    let r = run(dir.path(), &img, &[]);
    assert_eq!(r.code, 1, "{}", r.dump());
    let up = r.finished("UPLOAD_ARTIFACTS");
    assert_eq!(up["status"], "FAILED");
    assert_eq!(up["context"]["status_code"], "CLIENT_ERROR");
    assert_eq!(
        up["context"]["message"],
        "Error in UPLOAD_ARTIFACTS phase: [trivy: [error processing report: [InvalidInputException: Test summary: status count cannot be negative]]]"
    );
    let rep = r.of("report");
    assert_eq!(rep.len(), 1);
    assert_eq!(rep[0]["status"], "INCOMPLETE");
}
