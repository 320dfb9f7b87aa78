//! Report groups in the history: rows per group and run, trends, the regressions of a test
//! that starts failing and of coverage that drops, and the reports read back.

use super::*;
use crate::model::{
    BuildEvent, BuildId, CaseStatus, CoverageSummary, RegressionKind, ReportBody, ReportStatus,
    TestCase, TestReport, TestSummary,
};

/// A build's events with these reports inserted before its end.
fn with_reports(id: &BuildId, start: i64, reports: Vec<TestReport>) -> Vec<BuildEvent> {
    let mut evs = super::tests::build_events(id, start, 1_000, 4);
    let end = evs.pop().expect("finished");
    for report in reports {
        evs.push(BuildEvent::Report {
            build_id: id.clone(),
            backend: crate::model::BackendKind::Local,
            report,
        });
    }
    evs.push(end);
    evs
}

fn unit(failing: &[&str], tests: u64) -> TestReport {
    let failed = failing.len() as u64;
    TestReport {
        group: "unit".into(),
        format: "JUNITXML".into(),
        status: if failed > 0 {
            ReportStatus::Failed
        } else {
            ReportStatus::Succeeded
        },
        files: vec!["r.xml".into()],
        body: ReportBody::Test(TestSummary {
            tests,
            passed: tests - failed,
            failed,
            duration_ms: 120,
            failed_cases: failing
                .iter()
                .map(|n| TestCase {
                    name: (*n).into(),
                    prefix: "calc".into(),
                    status: CaseStatus::Failed,
                    message: Some("boom".into()),
                    duration_ms: Some(3),
                })
                .collect(),
            ..TestSummary::default()
        }),
        warnings: vec![],
    }
}

fn cov(line_pct: f64) -> TestReport {
    TestReport {
        group: "cov".into(),
        format: "COBERTURAXML".into(),
        status: ReportStatus::Succeeded,
        files: vec!["c.xml".into()],
        body: ReportBody::Coverage(CoverageSummary {
            line_pct,
            files: 3,
            ..CoverageSummary::default()
        }),
        warnings: vec![],
    }
}

fn record(rec: &mut Recorder, evs: &[BuildEvent]) -> Vec<BuildEvent> {
    let mut derived = Vec::new();
    for ev in evs {
        derived.extend(rec.record(ev).expect("record"));
    }
    derived
}

#[test]
fn a_newly_failing_test_and_a_coverage_drop_are_regressions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rec = Recorder::new(Store::open(&dir.path().join("h.sqlite")).expect("open"));
    let first = BuildId::new_for("app");
    let derived = record(
        &mut rec,
        &with_reports(&first, 0, vec![unit(&["old"], 10), cov(80.0)]),
    );
    assert!(derived.is_empty(), "no baseline yet: {derived:?}");
    // Still failing `old`, coverage down by exactly one point: nothing new.
    let second = BuildId::new_for("app");
    let derived = record(
        &mut rec,
        &with_reports(&second, 100, vec![unit(&["old"], 10), cov(79.0)]),
    );
    assert!(derived.is_empty(), "{derived:?}");
    let third = BuildId::new_for("app");
    let derived = record(
        &mut rec,
        &with_reports(
            &third,
            200,
            vec![unit(&["old", "adds", "subs"], 10), cov(75.5)],
        ),
    );
    let found: Vec<_> = derived
        .iter()
        .filter_map(|e| match e {
            BuildEvent::Regression { regression, .. } => Some(regression.clone()),
            _ => None,
        })
        .collect();
    // By group name: `cov`, then `unit`.
    assert_eq!(found.len(), 2, "{found:#?}");
    assert_eq!(found[0].kind, RegressionKind::LineCoverage);
    assert!((found[0].baseline - 79.0).abs() < 1e-9 && (found[0].current - 75.5).abs() < 1e-9);
    assert_eq!(
        found[0].message,
        "report cov: line coverage 75.5%, down 3.5 points from 79.0% in the last run"
    );
    assert_eq!(found[1].kind, RegressionKind::TestFailing);
    assert_eq!(
        found[1].message,
        "report unit: 2 test(s) fail that did not fail in the last run: calc.adds, calc.subs"
    );

    let store = rec.finish().expect("finish");
    let detail = store.run(third.as_str()).expect("show").expect("found");
    assert_eq!(detail.regressions.len(), 2);
    assert_eq!(detail.regressions[1].kind, RegressionKind::TestFailing);
    let reports = store.reports(third.as_str()).expect("reports");
    assert_eq!(reports, [cov(75.5), unit(&["old", "adds", "subs"], 10)]);
    let trend = store.report_trend("app", "unit", 10).expect("trend");
    assert_eq!(trend.len(), 3);
    assert_eq!(trend[0].build_id, third.as_str());
    assert!((trend[0].pass_rate.expect("pass rate") - 70.0).abs() < 1e-9);
    assert_eq!(trend[0].duration_ms, Some(120));
}

#[test]
fn an_incomplete_list_of_failures_says_nothing_about_new_ones() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rec = Recorder::new(Store::open(&dir.path().join("h.sqlite")).expect("open"));
    let mut truncated = unit(&["a"], 500);
    if let ReportBody::Test(t) = &mut truncated.body {
        t.failed_more = 150;
    }
    record(
        &mut rec,
        &with_reports(&BuildId::new_for("app"), 0, vec![truncated]),
    );
    let derived = record(
        &mut rec,
        &with_reports(&BuildId::new_for("app"), 100, vec![unit(&["b"], 500)]),
    );
    assert!(derived.is_empty(), "{derived:?}");
}

fn sent(message: &str) -> crate::model::Regression {
    crate::model::Regression {
        phase: Some(crate::model::PhaseKind::Build),
        kind: RegressionKind::PhaseDuration,
        message: message.into(),
        baseline: 1.0,
        current: 2.0,
        baseline_runs: 3,
    }
}

#[test]
fn regressions_sent_during_a_run_and_found_at_its_end_are_all_kept_in_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rec = Recorder::new(Store::open(&dir.path().join("h.sqlite")).expect("open"));
    record(
        &mut rec,
        &with_reports(&BuildId::new_for("app"), 0, vec![unit(&[], 10)]),
    );
    // A backend's two regressions, one at a time, then the end's test-failing one.
    let id = BuildId::new_for("app");
    let mut evs = with_reports(&id, 100, vec![unit(&["adds"], 10)]);
    let end = evs.pop().expect("finished");
    for message in ["first sent", "second sent"] {
        evs.push(BuildEvent::Regression {
            build_id: id.clone(),
            regression: sent(message),
        });
    }
    evs.push(end);
    record(&mut rec, &evs);
    let store = rec.finish().expect("finish");
    let kept = store
        .run(id.as_str())
        .expect("show")
        .expect("found")
        .regressions;
    let messages: Vec<&str> = kept.iter().map(|r| r.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "first sent",
            "second sent",
            "report unit: 1 test(s) fail that did not fail in the last run: calc.adds"
        ]
    );
    // The same regression saved again (a second follower of one cloud build) is kept once.
    store
        .save_regressions(id.as_str(), &[sent("second sent"), sent("third sent")])
        .expect("save");
    let kept = store
        .run(id.as_str())
        .expect("show")
        .expect("found")
        .regressions;
    assert_eq!(kept.len(), 4, "{kept:#?}");
    assert_eq!(kept[3], sent("third sent"));
}

#[test]
fn a_run_that_starts_again_is_judged_again_at_its_new_end() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rec = Recorder::new(Store::open(&dir.path().join("h.sqlite")).expect("open"));
    record(
        &mut rec,
        &with_reports(&BuildId::new_for("app"), 0, vec![unit(&[], 10)]),
    );
    let id = BuildId::new_for("app");
    let derived = record(&mut rec, &with_reports(&id, 100, vec![unit(&["adds"], 10)]));
    assert_eq!(derived.len(), 1, "{derived:?}");
    // The same build again (resumed, or a cloud build followed twice), now failing another
    // test: its regressions are those of its new end, not added to the first end's.
    let again = record(&mut rec, &with_reports(&id, 100, vec![unit(&["subs"], 10)]));
    assert_eq!(again.len(), 1, "{again:?}");
    let store = rec.finish().expect("finish");
    let kept = store
        .run(id.as_str())
        .expect("show")
        .expect("found")
        .regressions;
    let messages: Vec<&str> = kept.iter().map(|r| r.message.as_str()).collect();
    assert_eq!(
        messages,
        ["report unit: 1 test(s) fail that did not fail in the last run: calc.subs"]
    );
}
