//! Every parser on its fixture (tests/fixtures/reports, written for this project: a passed,
//! a failed, a skipped and an errored case, or two source files), and on broken files.

use super::*;
use crate::model::{CaseStatus, CoverageSummary, TestSummary};

macro_rules! fixture {
    ($name:literal) => {
        &include_bytes!(concat!("../../tests/fixtures/reports/", $name))[..]
    };
}

fn report(format: Format, files: &[(&str, &[u8])]) -> TestReport {
    let mut g = GroupParse::new("g", format);
    for (name, data) in files {
        g.add(name, *data);
    }
    g.finish()
}

fn tests_of(format: Format, data: &[u8]) -> (ReportStatus, TestSummary, Vec<String>) {
    let r = report(format, &[("f", data)]);
    match r.body {
        ReportBody::Test(t) => (r.status, t, r.warnings),
        ReportBody::Coverage(_) => panic!("{format:?} gave coverage"),
    }
}

fn coverage_of(format: Format, data: &[u8]) -> CoverageSummary {
    let r = report(format, &[("f", data)]);
    assert_eq!(r.status, ReportStatus::Succeeded, "{:?}", r.warnings);
    match r.body {
        ReportBody::Coverage(c) => c,
        ReportBody::Test(_) => panic!("{format:?} gave tests"),
    }
}

/// (tests, passed, failed, skipped, errors)
fn counts(t: &TestSummary) -> (u64, u64, u64, u64, u64) {
    (t.tests, t.passed, t.failed, t.skipped, t.errors)
}

/// (prefix, name, status, message start) of the failed cases.
fn failed(t: &TestSummary) -> Vec<(String, String, CaseStatus, String)> {
    t.failed_cases
        .iter()
        .map(|c| {
            let m = c.message.clone().unwrap_or_default();
            (
                c.prefix.clone(),
                c.name.clone(),
                c.status,
                m.lines().next().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

fn case(p: &str, n: &str, s: CaseStatus, m: &str) -> (String, String, CaseStatus, String) {
    (p.into(), n.into(), s, m.into())
}

#[test]
fn junit_counts_cases_and_keeps_failures_with_messages() {
    let (status, t, w) = tests_of(Format::JunitXml, fixture!("junit.xml"));
    assert_eq!(status, ReportStatus::Failed);
    assert!(w.is_empty(), "{w:?}");
    assert_eq!(counts(&t), (4, 1, 1, 1, 1));
    assert_eq!(t.duration_ms, 46);
    assert_eq!(
        failed(&t),
        [
            case(
                "calc.AddTest",
                "overflows",
                CaseStatus::Failed,
                "expected 0, got -1"
            ),
            case(
                "calc.DivTest",
                "by_zero",
                CaseStatus::Error,
                "ZeroDivisionError: division by zero"
            ),
        ]
    );
    let m = t.failed_cases[0].message.as_deref().unwrap_or_default();
    assert!(m.contains("at add_test.py:12"), "{m}");
    assert_eq!(t.failed_cases[0].duration_ms, Some(15));
}

#[test]
fn junit_suites_without_cases_count_by_their_attributes() {
    let xml = br#"<testsuites><testsuite name="a" tests="4" failures="1" errors="0" skipped="1"></testsuite><testsuite name='b' tests='2'/></testsuites>"#;
    let (status, t, _) = tests_of(Format::JunitXml, xml);
    assert_eq!(counts(&t), (6, 4, 1, 1, 0));
    assert_eq!(status, ReportStatus::Failed);
}

#[test]
fn junit_negative_counts_are_refused_as_codebuild_does() {
    let xml = br#"<testsuite name="trivy" tests="0" failures="2"><testcase name="x" classname="y"><failure message="CVE"/></testcase></testsuite>"#;
    let mut g = GroupParse::new("trivy", Format::JunitXml);
    g.add("trivy-report.xml", &xml[..]);
    assert_eq!(g.rejected.as_deref(), Some(NEGATIVE_COUNT));
    let r = g.finish();
    assert_eq!(r.status, ReportStatus::Incomplete);
    assert_eq!(r.warnings, [format!("trivy-report.xml: {NEGATIVE_COUNT}")]);
}

#[test]
fn cucumber_scenarios_take_their_worst_step() {
    let (status, t, _) = tests_of(Format::CucumberJson, fixture!("cucumber.json"));
    assert_eq!(status, ReportStatus::Failed);
    // The undefined step makes an UNKNOWN case: counted in tests only.
    assert_eq!(counts(&t), (4, 1, 1, 1, 0));
    assert_eq!(
        failed(&t),
        [case(
            "Login",
            "wrong password",
            CaseStatus::Failed,
            "element #error not found"
        )]
    );
    assert_eq!(t.failed_cases[0].duration_ms, Some(4));
}

#[test]
fn nunit2_names_the_fixture_and_counts_not_runnable_as_error() {
    let (_, t, _) = tests_of(Format::NunitXml, fixture!("nunit2.xml"));
    assert_eq!(counts(&t), (4, 1, 1, 1, 1));
    assert_eq!(
        failed(&t),
        [
            case(
                "Calc.Tests.AddTests",
                "Calc.Tests.AddTests.Overflows",
                CaseStatus::Failed,
                "Expected: 0"
            ),
            case(
                "Calc.Tests.AddTests",
                "Calc.Tests.AddTests.NotRunnableTest",
                CaseStatus::Error,
                "No arguments were provided"
            ),
        ]
    );
    let m = t.failed_cases[0].message.as_deref().unwrap_or_default();
    assert!(m.contains("AddTests.cs:line 21"), "{m}");
}

#[test]
fn nunit3_uses_fullname_classname_and_the_error_label() {
    let (_, t, _) = tests_of(Format::Nunit3Xml, fixture!("nunit3.xml"));
    assert_eq!(counts(&t), (4, 1, 1, 1, 1));
    assert_eq!(
        failed(&t),
        [
            case(
                "Calc.Tests.AddTests",
                "Calc.Tests.AddTests.Overflows",
                CaseStatus::Failed,
                "Expected: 0"
            ),
            case(
                "Calc.Tests.AddTests",
                "Calc.Tests.AddTests.Throws",
                CaseStatus::Error,
                "System.InvalidOperationException : boom"
            ),
        ]
    );
}

#[test]
fn testng_skips_configuration_methods() {
    let (_, t, _) = tests_of(Format::TestngXml, fixture!("testng.xml"));
    assert_eq!(counts(&t), (3, 1, 1, 1, 0));
    assert_eq!(
        failed(&t),
        [case(
            "com.example.AddTest",
            "overflows",
            CaseStatus::Failed,
            "expected [0] but found [-1]"
        )]
    );
    assert_eq!(t.duration_ms, 25);
}

#[test]
fn trx_joins_results_to_their_definitions() {
    let (_, t, _) = tests_of(Format::VisualStudioTrx, fixture!("results.trx"));
    assert_eq!(counts(&t), (4, 1, 1, 1, 1));
    assert_eq!(
        failed(&t),
        [
            case(
                "Calc.Tests.AddTests",
                "Overflows",
                CaseStatus::Failed,
                "Assert.AreEqual failed. Expected:<0>. Actual:<-1>."
            ),
            case(
                "Calc.Tests.SlowTests",
                "Hangs",
                CaseStatus::Error,
                "Test exceeded execution timeout period."
            ),
        ]
    );
    assert_eq!(t.duration_ms, 2020);
}

/// (lines covered, missed, branches covered, missed, files)
fn cov(c: &CoverageSummary) -> (u64, u64, u64, u64, u64) {
    (
        c.lines_covered,
        c.lines_missed,
        c.branches_covered,
        c.branches_missed,
        c.files,
    )
}

#[test]
fn clover_reads_each_files_own_metrics() {
    let c = coverage_of(Format::CloverXml, fixture!("clover.xml"));
    assert_eq!(cov(&c), (6, 3, 2, 2, 2));
    assert!((c.line_pct - 600.0 / 9.0).abs() < 1e-9);
    assert_eq!(c.branch_pct, Some(50.0));
}

#[test]
fn cobertura_counts_class_lines_once_and_reads_condition_coverage() {
    let c = coverage_of(Format::CoberturaXml, fixture!("cobertura.xml"));
    assert_eq!(cov(&c), (4, 2, 1, 1, 2));
}

#[test]
fn jacoco_reads_sourcefile_counters() {
    let c = coverage_of(Format::JacocoXml, fixture!("jacoco.xml"));
    assert_eq!(cov(&c), (4, 3, 1, 1, 2));
}

#[test]
fn simplecov_counts_line_slots_and_branches() {
    let c = coverage_of(Format::SimpleCov, fixture!("simplecov.json"));
    assert_eq!(cov(&c), (4, 2, 1, 1, 2));
}

#[test]
fn lcov_uses_totals_or_counts_records() {
    let c = coverage_of(Format::LcovInfo, fixture!("lcov.info"));
    assert_eq!(cov(&c), (3, 2, 1, 1, 2));
    assert_eq!(c.branch_pct, Some(50.0));
}

#[test]
fn a_broken_file_is_a_warning_with_its_line_and_the_rest_still_counts() {
    let broken = b"<testsuite name=\"a\" tests=\"1\">\n  <testcase name=\"x\">\n  </testsuite>\n";
    let r = report(
        Format::JunitXml,
        &[("good.xml", fixture!("junit.xml")), ("bad.xml", broken)],
    );
    assert_eq!(r.status, ReportStatus::Failed);
    assert_eq!(r.files, ["good.xml", "bad.xml"]);
    assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
    assert!(r.warnings[0].starts_with("bad.xml:3: "), "{:?}", r.warnings);
    let ReportBody::Test(t) = r.body else {
        panic!("test body")
    };
    assert_eq!(t.tests, 4);
}

#[test]
fn every_format_warns_on_a_truncated_or_foreign_file() {
    for f in Format::ALL {
        let r = report(f, &[("x", b"<html>\n<body>\n")]);
        assert_eq!(r.status, ReportStatus::Incomplete, "{f:?}");
        assert_eq!(r.warnings.len(), 1, "{f:?}: {:?}", r.warnings);
        assert!(r.warnings[0].starts_with("x:"), "{f:?}: {:?}", r.warnings);
    }
    let r = report(
        Format::SimpleCov,
        &[(
            "c.json",
            b"{\n \"coverage\": {\n  \"a.rb\": {\"lines\": [1,\n",
        )],
    );
    assert!(r.warnings[0].starts_with("c.json:4: "), "{:?}", r.warnings);
    let r = report(Format::LcovInfo, &[("l.info", b"SF:a\nDA:1,x\n")]);
    assert_eq!(r.warnings, ["l.info:2: bad DA line `DA:1,x`"]);
}

#[test]
fn a_group_without_files_is_incomplete() {
    let r = report(Format::CoberturaXml, &[]);
    assert_eq!(r.status, ReportStatus::Incomplete);
    assert_eq!(r.warnings, ["no matching report paths found"]);
}

#[test]
fn formats_are_read_case_insensitively() {
    assert_eq!(Format::parse("JunitXml"), Some(Format::JunitXml));
    assert_eq!(Format::parse("lcovinfo"), Some(Format::LcovInfo));
    assert_eq!(Format::parse("XML"), None);
    assert!(Format::CloverXml.is_coverage() && !Format::TestngXml.is_coverage());
}

#[test]
fn the_buildspec_accepts_exactly_the_formats_parsed_here() {
    let names: Vec<&str> = Format::ALL.iter().map(|f| f.as_str()).collect();
    assert_eq!(crate::buildspec::REPORT_FORMATS, names.as_slice());
}
