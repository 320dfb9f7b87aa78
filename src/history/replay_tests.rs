use chrono::{Duration, TimeZone, Utc};

use super::*;
use crate::history::{Recorder, Store};
use crate::model::{
    CaseStatus, CoverageSummary, LogStream, PhaseContext, RegressionKind, ReportBody, ReportStatus,
    TestCase, TestReport, TestSummary,
};

fn at(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_800_000_000, 0).single().expect("time") + Duration::milliseconds(ms)
}

fn agent(text: &str) -> LogLine {
    LogLine {
        phase: None,
        stream: LogStream::Agent,
        text: format!("[Container] 2027/01/15 08:00:00.000000 {text}"),
    }
}

/// A local build whose `BUILD` fails and `POST_BUILD` still runs, recorded as a live one is.
fn recorded(dir: &std::path::Path) -> (Store, BuildId) {
    let rec = Recorder::new(Store::open(&dir.join("h.sqlite")).expect("open"));
    let (rec, id) = record_run(rec, 0, &[]);
    (rec.finish().expect("finish"), id)
}

/// [`recorded`]'s build, started at `start` ms, with `reports` sent before its end.
fn record_run(mut rec: Recorder, start: i64, reports: &[TestReport]) -> (Recorder, BuildId) {
    let id = BuildId::new_for("svc");
    let mut t = start;
    let mut ev = vec![BuildEvent::Started {
        build_id: id.clone(),
        project: "svc".into(),
        backend: BackendKind::Local,
        image: "img:1".into(),
        docker: crate::model::DockerAccess::HostSocket,
        batch: None,
        at: at(start),
    }];
    for (phase, status, out) in [
        (PhaseKind::Build, Status::Failed, "make: *** [all] Error 2"),
        (PhaseKind::PostBuild, Status::Succeeded, "post build ran"),
    ] {
        t += 10;
        ev.push(BuildEvent::PhaseStarted {
            build_id: id.clone(),
            phase,
            attempt: 1,
            at: at(t),
        });
        ev.push(BuildEvent::Logs {
            build_id: id.clone(),
            lines: vec![
                agent(&format!("Entering phase {phase}")),
                LogLine {
                    phase: Some(phase),
                    stream: LogStream::Stdout,
                    text: out.into(),
                },
                agent(&format!("Phase complete: {phase} State: {status}")),
            ],
        });
        t += 10;
        ev.push(BuildEvent::PhaseFinished {
            build_id: id.clone(),
            phase,
            attempt: 1,
            status,
            duration_ms: 10,
            context: PhaseContext::default(),
            at: at(t),
        });
    }
    ev.extend(reports.iter().map(|report| BuildEvent::Report {
        build_id: id.clone(),
        backend: BackendKind::Local,
        report: report.clone(),
    }));
    ev.push(BuildEvent::Finished {
        build_id: id.clone(),
        status: Status::Failed,
        duration_ms: 40,
        at: at(t + 5),
        exported_variables: std::collections::BTreeMap::new(),
    });
    for e in &ev {
        rec.record(e).expect("record");
    }
    (rec, id)
}

/// A JUnit group with these failing cases out of 3 tests.
fn unit(failing: &[&str]) -> TestReport {
    let failed = failing.len() as u64;
    TestReport {
        group: "unit".into(),
        format: "JUNITXML".into(),
        status: ReportStatus::Failed,
        files: vec!["reports/junit.xml".into()],
        body: ReportBody::Test(TestSummary {
            tests: 3,
            passed: 3 - failed,
            failed,
            duration_ms: 250,
            failed_cases: failing
                .iter()
                .map(|name| TestCase {
                    name: (*name).into(),
                    prefix: "orders".into(),
                    status: CaseStatus::Failed,
                    message: Some("expected 400, received 500".into()),
                    duration_ms: Some(12),
                })
                .collect(),
            ..TestSummary::default()
        }),
        warnings: vec![],
    }
}

fn coverage() -> TestReport {
    TestReport {
        group: "coverage".into(),
        format: "COBERTURAXML".into(),
        status: ReportStatus::Succeeded,
        files: vec!["coverage/cobertura.xml".into()],
        body: ReportBody::Coverage(CoverageSummary {
            line_pct: 81.5,
            branch_pct: Some(64.0),
            lines_covered: 815,
            lines_missed: 185,
            branches_covered: 64,
            branches_missed: 36,
            files: 42,
        }),
        warnings: vec![],
    }
}

/// Each event's kind, with a log line's phase and text.
fn shape(events: &[BuildEvent]) -> Vec<String> {
    let mut out = Vec::new();
    for e in events {
        match e {
            BuildEvent::Started { image, docker, .. } => {
                out.push(format!("started {image} docker {docker}"));
            }
            BuildEvent::PhaseStarted { phase, attempt, .. } => {
                out.push(format!("start {phase}#{attempt}"));
            }
            BuildEvent::PhaseFinished { phase, status, .. } => {
                out.push(format!("end {phase} {status}"));
            }
            BuildEvent::Logs { lines, .. } => out.extend(lines.iter().map(|l| {
                let text = l.text.rsplit(".000000 ").next().unwrap_or(&l.text);
                format!("  {:?}: {text}", l.phase.map(PhaseKind::as_str))
            })),
            BuildEvent::Finished { status, .. } => out.push(format!("finished {status}")),
            other => out.push(format!("{other:?}")),
        }
    }
    out
}

#[test]
fn a_stored_run_replays_with_every_line_in_its_phase() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, id) = recorded(dir.path());
    let detail = store.run(id.as_str()).expect("query").expect("run");
    let log = store.read_log(id.as_str()).expect("read").expect("kept");
    let events = replay(&detail, Some(&log.text));
    assert_eq!(
        shape(&events),
        [
            "started img:1 docker host socket",
            "start BUILD#1",
            "  Some(\"BUILD\"): Entering phase BUILD",
            "  Some(\"BUILD\"): make: *** [all] Error 2",
            "  Some(\"BUILD\"): Phase complete: BUILD State: FAILED",
            "end BUILD FAILED",
            "start POST_BUILD#1",
            "  Some(\"POST_BUILD\"): Entering phase POST_BUILD",
            "  Some(\"POST_BUILD\"): post build ran",
            "  Some(\"POST_BUILD\"): Phase complete: POST_BUILD State: SUCCEEDED",
            "end POST_BUILD SUCCEEDED",
            "finished FAILED",
        ]
    );
}

#[test]
fn without_its_log_a_run_still_has_its_phases_and_says_why_no_log() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, id) = recorded(dir.path());
    let detail = store.run(id.as_str()).expect("query").expect("run");
    let shape = shape(&replay(&detail, None));
    assert_eq!(shape[0], "started img:1 docker host socket");
    assert!(shape[1].contains("no longer kept"), "{shape:?}");
    assert_eq!(
        shape[2..],
        [
            "start BUILD#1",
            "end BUILD FAILED",
            "start POST_BUILD#1",
            "end POST_BUILD SUCCEEDED",
            "finished FAILED"
        ]
    );
}

#[test]
fn a_hostile_log_cannot_invent_phases_or_break_the_replay() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, id) = recorded(dir.path());
    let detail = store.run(id.as_str()).expect("query").expect("run");
    // Lines that look like agent lines but are the build's output, and a phase never stored.
    let log = "echo [Container] x Entering phase INSTALL\n[Container] Entering phase INSTALL\n\
               [Container] Phase complete: NOPE State: X\n\u{1b}[2J\r\n";
    let shape = shape(&replay(&detail, Some(log)));
    assert!(
        !shape.iter().any(|s| s.starts_with("start INSTALL")),
        "{shape:?}"
    );
    assert_eq!(shape.last().map(String::as_str), Some("finished FAILED"));
    assert_eq!(shape.iter().filter(|s| s.starts_with("start ")).count(), 2);
}

#[test]
fn a_stored_run_replays_its_reports_then_its_regressions_before_its_end() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rec = Recorder::new(Store::open(&dir.path().join("h.sqlite")).expect("open"));
    let (rec, _) = record_run(rec, 0, &[unit(&["applies a coupon"])]);
    // The next run: a test that passed before fails now (a regression), and a coverage group.
    let now = [
        unit(&["applies a coupon", "rejects an empty basket"]),
        coverage(),
    ];
    let (rec, id) = record_run(rec, 1_000, &now);
    let store = rec.finish().expect("finish");
    let detail = store.run(id.as_str()).expect("query").expect("run");
    let log = store.read_log(id.as_str()).expect("read").expect("kept");
    let events = replay(&detail, Some(&log.text));
    let tail: Vec<&str> = events
        .iter()
        .rev()
        .take(4)
        .rev()
        .map(|e| match e {
            BuildEvent::PhaseFinished { .. } => "phase end",
            BuildEvent::Report { .. } => "report",
            BuildEvent::Regression { .. } => "regression",
            BuildEvent::Finished { .. } => "finished",
            _ => "other",
        })
        .collect();
    assert_eq!(tail, ["report", "report", "regression", "finished"]);
    // By group name, each as it was sent, with the backend it ran on.
    let reports: Vec<(BackendKind, &TestReport)> = events
        .iter()
        .filter_map(|e| match e {
            BuildEvent::Report {
                build_id,
                backend,
                report,
            } if *build_id == id => Some((*backend, report)),
            _ => None,
        })
        .collect();
    assert_eq!(
        reports,
        [(BackendKind::Local, &now[1]), (BackendKind::Local, &now[0])]
    );
    let Some(BuildEvent::Regression { regression, .. }) = events.iter().rev().nth(1) else {
        panic!("no regression: {events:?}");
    };
    assert_eq!(regression.kind, RegressionKind::TestFailing);
    assert!(
        regression.message.contains("rejects an empty basket"),
        "{regression:?}"
    );
}

#[test]
fn a_run_without_reports_replays_none() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, id) = recorded(dir.path());
    let detail = store.run(id.as_str()).expect("query").expect("run");
    assert!(detail.reports.is_empty());
    assert!(
        !replay(&detail, None)
            .iter()
            .any(|e| matches!(e, BuildEvent::Report { .. }))
    );
}

/// A legacy `docker build` whose `COPY` missed the cache.
const DOCKER: &[&str] = &[
    "Step 1/3 : FROM base",
    " ---> 1234",
    "Step 2/3 : RUN echo one",
    " ---> Using cache",
    " ---> abcd",
    "Step 3/3 : COPY a /a",
    " ---> Running in 99",
    " ---> ef01",
    "Successfully built ef01",
    "Successfully tagged app:1",
];

/// A run whose BUILD phase ran [`DOCKER`], recorded as the live pipeline records it: the
/// finished cache report (with what the history added: the reason, the times lost and saved)
/// right after the log lines that ended it; `with_report: false` records none (a run
/// recorded before the history kept reports).
fn record_docker_run(dir: &std::path::Path, with_report: bool) -> (Store, BuildId) {
    let mut rec = Recorder::new(Store::open(&dir.join("h.sqlite")).expect("open"));
    let id = BuildId::new_for("svc");
    let mut lines = vec![agent("Entering phase BUILD")];
    lines.extend(
        DOCKER
            .iter()
            .map(|t| LogLine::from_log(Some(PhaseKind::Build), t)),
    );
    let logs = BuildEvent::Logs {
        build_id: id.clone(),
        lines,
    };
    let mut tap = crate::cache::CacheTap::new();
    let mut events = vec![
        BuildEvent::Started {
            build_id: id.clone(),
            project: "svc".into(),
            backend: BackendKind::Local,
            image: "img:1".into(),
            docker: crate::model::DockerAccess::HostSocket,
            batch: None,
            at: at(0),
        },
        BuildEvent::PhaseStarted {
            build_id: id.clone(),
            phase: PhaseKind::Build,
            attempt: 1,
            at: at(10),
        },
    ];
    for mut ev in tap.observe(logs, 10) {
        if let BuildEvent::Cache { report, .. } = &mut ev {
            if !(with_report && report.finished) {
                continue;
            }
            report.time_lost_ms = Some(1_500);
            report.time_saved_ms = Some(900);
            if let Some(m) = report.first_miss.as_mut() {
                m.reason = Some(crate::model::MissReason {
                    files: vec!["a".into()],
                    ..crate::model::MissReason::bare(crate::model::MissKind::FilesChanged)
                });
            }
        }
        events.push(ev);
    }
    events.push(BuildEvent::Logs {
        build_id: id.clone(),
        lines: vec![agent("Phase complete: BUILD State: SUCCEEDED")],
    });
    events.push(BuildEvent::PhaseFinished {
        build_id: id.clone(),
        phase: PhaseKind::Build,
        attempt: 1,
        status: Status::Succeeded,
        duration_ms: 20,
        context: PhaseContext::default(),
        at: at(30),
    });
    events.push(BuildEvent::Finished {
        build_id: id.clone(),
        status: Status::Succeeded,
        duration_ms: 30,
        at: at(30),
        exported_variables: std::collections::BTreeMap::new(),
    });
    for e in &events {
        rec.record(e).expect("record");
    }
    (rec.finish().expect("finish"), id)
}

/// The stored run replayed through a cache tap (as the dashboard's replay pipeline has one),
/// with its stored reports put in place.
fn replayed_through_the_tap(store: &Store, id: &BuildId) -> Vec<BuildEvent> {
    let detail = store.run(id.as_str()).expect("run").expect("stored");
    let log = store.read_log(id.as_str()).expect("log").expect("kept");
    let mut tap = crate::cache::CacheTap::new();
    let events = replay(&detail, Some(&log.text))
        .into_iter()
        .flat_map(|ev| tap.observe(ev, 0));
    with_stored_cache_reports(id, events, &detail.cache_reports)
}

fn cache_reports(events: &[BuildEvent]) -> Vec<(usize, &crate::model::CacheReport)> {
    events
        .iter()
        .enumerate()
        .filter_map(|(i, e)| match e {
            BuildEvent::Cache { report, .. } => Some((i, report)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_past_build_replays_its_stored_cache_report_with_the_reason_where_it_came_live() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, id) = record_docker_run(dir.path(), true);
    let events = replayed_through_the_tap(&store, &id);
    let reports = cache_reports(&events);
    assert_eq!(
        reports.len(),
        1,
        "the stored report alone, no copy from the log: {events:?}"
    );
    let (at, report) = reports[0];
    let miss = report.first_miss.as_ref().expect("a miss");
    let reason = miss.reason.as_ref().expect("the stored reason survives");
    assert_eq!(reason.kind, crate::model::MissKind::FilesChanged);
    assert_eq!(reason.files, ["a"]);
    assert_eq!(
        (report.time_lost_ms, report.time_saved_ms),
        (Some(1_500), Some(900))
    );
    // Where the live build emitted it: after the log lines that ended the docker build, while
    // its phase is still open.
    assert!(
        matches!(&events[at - 1], BuildEvent::Logs { lines, .. }
            if lines.iter().any(|l| l.text == "Successfully tagged app:1")),
        "{events:?}"
    );
    assert!(
        events[at..]
            .iter()
            .any(|e| matches!(e, BuildEvent::PhaseFinished { .. })),
        "before its phase ends"
    );
}

#[test]
fn a_run_recorded_without_reports_still_derives_them_from_its_log() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, id) = record_docker_run(dir.path(), false);
    let events = replayed_through_the_tap(&store, &id);
    let finished: Vec<_> = cache_reports(&events)
        .into_iter()
        .filter(|(_, r)| r.finished)
        .collect();
    assert_eq!(finished.len(), 1, "{events:?}");
    let report = finished[0].1;
    assert_eq!((report.steps_total, report.steps_cached), (2, 1));
    assert_eq!(report.first_miss.as_ref().map(|m| m.step), Some(3));
    assert!(
        report
            .first_miss
            .as_ref()
            .is_some_and(|m| m.reason.is_none()),
        "the log alone has no reason"
    );
}

#[test]
fn a_stored_report_the_log_never_reached_comes_before_the_end() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, id) = record_docker_run(dir.path(), true);
    let detail = store.run(id.as_str()).expect("run").expect("stored");
    // The log was pruned: nothing for the tap to read.
    let events = with_stored_cache_reports(&id, replay(&detail, None), &detail.cache_reports);
    let reports = cache_reports(&events);
    assert_eq!(reports.len(), 1);
    assert!(matches!(
        events.get(reports[0].0 + 1),
        Some(BuildEvent::Finished { .. })
    ));
}
