//! The history against real SQLite files in a temporary directory.

use super::*;
use crate::model::{
    BackendKind, BuildEvent, BuildId, Builder, CacheReport, LogLine, LogStream, PhaseContext,
    PhaseKind, Status,
};
use chrono::{Duration, TimeZone, Utc};

fn at(secs: i64) -> chrono::DateTime<Utc> {
    Utc.timestamp_opt(1_800_000_000 + secs, 0)
        .single()
        .expect("valid time")
}

/// The events of a simple successful local build whose BUILD phase takes `build_ms`.
pub(crate) fn build_events(
    id: &BuildId,
    start: i64,
    build_ms: u64,
    cached: u32,
) -> Vec<BuildEvent> {
    let mut report = CacheReport::new(0, Builder::Buildkit);
    report.steps_total = 4;
    report.steps_cached = cached;
    report.finished = true;
    vec![
        BuildEvent::Started {
            build_id: id.clone(),
            project: id.project().to_owned(),
            backend: BackendKind::Local,
            image: "img".into(),
            docker: crate::model::DockerAccess::default(),
            batch: None,
            at: at(start),
        },
        BuildEvent::PhaseStarted {
            build_id: id.clone(),
            phase: PhaseKind::Build,
            attempt: 1,
            at: at(start),
        },
        BuildEvent::Logs {
            build_id: id.clone(),
            lines: vec![LogLine {
                phase: Some(PhaseKind::Build),
                stream: LogStream::Stdout,
                text: format!("building {id}"),
            }],
        },
        BuildEvent::Cache {
            build_id: id.clone(),
            report,
        },
        BuildEvent::PhaseFinished {
            build_id: id.clone(),
            phase: PhaseKind::Build,
            attempt: 1,
            status: Status::Succeeded,
            duration_ms: build_ms,
            context: PhaseContext::default(),
            at: at(start) + Duration::milliseconds(i64::try_from(build_ms).expect("small")),
        },
        BuildEvent::Finished {
            build_id: id.clone(),
            status: Status::Succeeded,
            duration_ms: build_ms,
            at: at(start) + Duration::milliseconds(i64::try_from(build_ms).expect("small")),
            exported_variables: [("IMAGE_TAG".to_owned(), "abc1234".to_owned())].into(),
        },
    ]
}

#[test]
fn an_empty_database_is_migrated_to_the_current_version() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("h.sqlite")).expect("open");
    assert_eq!(store.schema_version().expect("version"), CURRENT_VERSION);
    assert_eq!(MIGRATIONS.len(), CURRENT_VERSION as usize);
    let mode: String = store
        .conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .expect("journal mode");
    assert_eq!(mode, "wal");
}

#[test]
fn a_recorded_run_reads_back_with_phases_cache_and_log() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rec = Recorder::new(Store::open(&dir.path().join("h.sqlite")).expect("open"));
    let id = BuildId::new_for("demo");
    for ev in build_events(&id, 0, 12_000, 3) {
        assert!(rec.record(&ev).expect("record").is_empty());
    }
    let store = rec.finish().expect("finish");
    let runs = store.list_runs(Some("demo"), 10).expect("list");
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].status, "SUCCEEDED");
    assert_eq!(runs[0].exit_code, Some(0));
    assert_eq!(runs[0].cache_hit_pct, Some(75.0));
    let detail = store.run(id.uuid()).expect("show").expect("found by uuid");
    assert_eq!(detail.phases.len(), 1);
    assert_eq!(detail.phases[0].duration_ms, Some(12_000));
    assert_eq!(detail.cache_reports[0].steps_cached, 3);
    assert_eq!(
        detail.exported_variables,
        [("IMAGE_TAG".to_owned(), "abc1234".to_owned())].into()
    );
    let log = store.read_log(id.as_str()).expect("read").expect("kept");
    assert_eq!(log.text, format!("building {id}\n"));
    assert!(!log.truncated);
}

#[test]
fn a_slow_run_after_five_is_flagged_and_stored() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rec = Recorder::new(Store::open(&dir.path().join("h.sqlite")).expect("open"));
    for (i, ms) in [30_000, 36_000, 40_000, 35_000, 38_000]
        .into_iter()
        .enumerate()
    {
        let id = BuildId::new_for("app");
        for ev in build_events(&id, i64::try_from(i).expect("small") * 100, ms, 4) {
            assert!(rec.record(&ev).expect("record").is_empty());
        }
    }
    let id = BuildId::new_for("app");
    let mut derived = Vec::new();
    for ev in build_events(&id, 1_000, 60_000, 1) {
        derived.extend(rec.record(&ev).expect("record"));
    }
    assert_eq!(derived.len(), 2, "{derived:#?}");
    let store = rec.finish().expect("finish");
    let detail = store.run(id.as_str()).expect("show").expect("found");
    assert_eq!(detail.regressions.len(), 2);
    assert_eq!(detail.regressions[0].phase, Some(PhaseKind::Build));
}

#[test]
fn logs_beyond_the_budget_are_pruned_oldest_first() {
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = StoreOptions {
        log_budget_bytes: 1,
        ..StoreOptions::default()
    };
    let mut rec =
        Recorder::new(Store::open_with(&dir.path().join("h.sqlite"), opts).expect("open"));
    let ids: Vec<_> = (0..3).map(|_| BuildId::new_for("p")).collect();
    for (i, id) in ids.iter().enumerate() {
        for ev in build_events(id, i64::try_from(i).expect("small"), 1_000, 0) {
            rec.record(&ev).expect("record");
        }
    }
    let store = rec.finish().expect("finish");
    // A budget of one byte keeps no finished log; the runs stay.
    for id in &ids {
        assert_eq!(store.read_log(id.as_str()).expect("read"), None);
    }
    assert_eq!(
        std::fs::read_dir(store.logs_dir())
            .expect("logs dir")
            .count(),
        0
    );
    assert_eq!(store.list_runs(None, 10).expect("list").len(), 3);
}

#[test]
fn a_run_abandoned_by_its_recorder_is_interrupted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rec = Recorder::new(Store::open(&dir.path().join("h.sqlite")).expect("open"));
    let id = BuildId::new_for("p");
    let events = build_events(&id, 0, 1_000, 0);
    for ev in &events[..3] {
        rec.record(ev).expect("record");
    }
    let store = rec.finish().expect("finish");
    let run = &store.list_runs(None, 1).expect("list")[0];
    assert_eq!((run.status.as_str(), run.interrupted), ("STOPPED", true));
    assert!(store.read_log(id.as_str()).expect("read").is_some());
}

#[test]
fn a_newer_schema_is_refused_with_advice() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("h.sqlite");
    let conn = rusqlite::Connection::open(&path).expect("open raw");
    conn.pragma_update(None, "user_version", 99)
        .expect("set version");
    drop(conn);
    let err = Store::open(&path).expect_err("too new");
    assert!(err.to_string().contains("upgrade cbdash"), "{err}");
}

fn one_step(instruction: &str, cached: bool, ms: Option<u64>) -> CacheReport {
    let mut r = CacheReport::new(0, Builder::Buildkit);
    r.steps_total = 1;
    r.steps_cached = u32::from(cached);
    r.finished = true;
    r.steps.push(crate::model::CacheStep {
        index: 2,
        stage: None,
        platform: None,
        instruction: instruction.into(),
        cached,
        state: if cached {
            crate::model::StepState::Cached
        } else {
            crate::model::StepState::Built
        },
        duration_ms: ms,
        invalidated_by: None,
    });
    r
}

#[test]
fn time_saved_uses_the_newest_build_duration_of_each_instruction() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = Store::open(&dir.path().join("h.sqlite")).expect("open");
    for (i, ms) in [4_000, 3_000].into_iter().enumerate() {
        let id = BuildId::new_for("ts");
        store
            .begin_run(&NewRun {
                build_id: id.as_str(),
                project: "ts",
                backend: BackendKind::Local,
                image: "img",
                docker: crate::model::DockerAccess::None,
                batch: None,
                started_at: at(i64::try_from(i).expect("small")),
            })
            .expect("begin");
        store
            .save_cache_report(id.as_str(), &one_step("RUN make", false, Some(ms)))
            .expect("save");
    }
    let durations = store
        .last_step_durations("ts", StepRun::Built)
        .expect("lookup");
    let cached = one_step("RUN make", true, None);
    let saved = crate::cache::time_saved(&cached, |i| durations.get(i).copied());
    assert_eq!(saved.total_ms, 3_000);
    assert_eq!(saved.unknown, 0);
    assert!(
        store
            .last_step_durations("other", StepRun::Built)
            .expect("lookup")
            .is_empty()
    );
}

/// Both uses of the one step-duration query: the built side (time saved; a built step
/// without a duration is skipped) and the cached side (time lost; a cached step without a
/// duration counts as 0), each the newest of its instruction, other projects ignored.
#[test]
fn step_durations_read_the_newest_built_or_cached_run_of_each_instruction() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = Store::open(&dir.path().join("h.sqlite")).expect("open");
    let runs = [
        ("p", "RUN make", false, Some(4_000)),
        ("p", "RUN make", true, Some(20)),
        ("p", "RUN make", false, Some(3_000)),
        ("p", "RUN make", true, None),
        ("p", "COPY . .", false, None),
        ("p", "COPY . .", true, Some(5)),
        ("other", "RUN make", false, Some(9_000)),
    ];
    for (i, (project, instruction, cached, ms)) in runs.into_iter().enumerate() {
        let id = BuildId::new_for(project);
        store
            .begin_run(&NewRun {
                build_id: id.as_str(),
                project,
                backend: BackendKind::Local,
                image: "img",
                docker: crate::model::DockerAccess::None,
                batch: None,
                started_at: at(i64::try_from(i).expect("small")),
            })
            .expect("begin");
        store
            .save_cache_report(id.as_str(), &one_step(instruction, cached, ms))
            .expect("save");
    }
    let built = store
        .last_step_durations("p", StepRun::Built)
        .expect("built");
    assert_eq!(built.len(), 1, "the COPY was never built with a duration");
    assert_eq!(built["RUN make"], 3_000);
    let cached = store
        .last_step_durations("p", StepRun::Cached)
        .expect("cached");
    assert_eq!(cached.len(), 2);
    assert_eq!(
        cached["RUN make"], 0,
        "the newest cache hit printed no duration"
    );
    assert_eq!(cached["COPY . ."], 5);
    assert!(
        store
            .last_step_durations("nobody", StepRun::Cached)
            .expect("lookup")
            .is_empty()
    );
}

#[test]
fn a_resumed_build_keeps_every_attempt_and_both_logs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rec = Recorder::new(Store::open(&dir.path().join("h.sqlite")).expect("open"));
    let id = BuildId::new_for("resumed");
    let mut first = build_events(&id, 0, 1_000, 0);
    // The first run fails in BUILD.
    for ev in &mut first {
        match ev {
            BuildEvent::PhaseFinished { status, .. } | BuildEvent::Finished { status, .. } => {
                *status = Status::Failed;
            }
            _ => {}
        }
    }
    // The resume: the same build id, BUILD attempt 2, another log line.
    let mut second = build_events(&id, 60, 2_000, 0);
    for ev in &mut second {
        match ev {
            BuildEvent::PhaseStarted { attempt, .. }
            | BuildEvent::PhaseFinished { attempt, .. } => {
                *attempt = 2;
            }
            BuildEvent::Logs { lines, .. } => lines[0].text = "attempt two".into(),
            _ => {}
        }
    }
    for ev in first.iter().chain(&second) {
        rec.record(ev).expect("record");
    }
    let store = rec.finish().expect("finish");
    let runs = store.list_runs(Some("resumed"), 10).expect("list");
    assert_eq!(runs.len(), 1, "one run, not two");
    assert_eq!(runs[0].status, "SUCCEEDED");
    let detail = store.run(id.as_str()).expect("show").expect("found");
    let attempts: Vec<(u32, &str)> = detail
        .phases
        .iter()
        .filter(|p| p.phase == "BUILD")
        .map(|p| (p.attempt, p.status.as_str()))
        .collect();
    assert_eq!(attempts, [(1, "FAILED"), (2, "SUCCEEDED")]);
    // Regressions compare the attempt that counted, not both together.
    let metrics = store.metrics(id.as_str()).expect("metrics");
    assert_eq!(metrics.phases, [(PhaseKind::Build, 2_000)]);
    let log = store.read_log(id.as_str()).expect("read").expect("kept");
    assert_eq!(log.text, format!("building {id}\nattempt two\n"));
    assert!(!log.truncated);
}

/// The events of one run of a local build (the build, or a resume of it): BUILD as attempt
/// `attempt` ending with `status`, COMPLETED (a start, no end, as the engines send it), and
/// `Finished` with the duration the engine gives (the sum of the runs so far).
fn run_events(
    id: &BuildId,
    start: i64,
    attempt: u32,
    status: Status,
    total_ms: u64,
) -> Vec<BuildEvent> {
    vec![
        BuildEvent::Started {
            build_id: id.clone(),
            project: id.project().to_owned(),
            backend: BackendKind::Local,
            image: "img".into(),
            docker: crate::model::DockerAccess::None,
            batch: None,
            at: at(start),
        },
        BuildEvent::PhaseStarted {
            build_id: id.clone(),
            phase: PhaseKind::Build,
            attempt,
            at: at(start),
        },
        BuildEvent::PhaseFinished {
            build_id: id.clone(),
            phase: PhaseKind::Build,
            attempt,
            status,
            duration_ms: 400,
            context: PhaseContext::default(),
            at: at(start + 1),
        },
        BuildEvent::PhaseStarted {
            build_id: id.clone(),
            phase: PhaseKind::Completed,
            attempt,
            at: at(start + 1),
        },
        BuildEvent::Finished {
            build_id: id.clone(),
            status,
            duration_ms: total_ms,
            at: at(start + 1),
            exported_variables: std::collections::BTreeMap::new(),
        },
    ]
}

#[test]
fn a_finished_build_shows_its_final_state_on_completed_and_a_resume_its_whole_duration() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rec = Recorder::new(Store::open(&dir.path().join("h.sqlite")).expect("open"));
    let id = BuildId::new_for("demo");
    // The first run fails after 486 ms; a resume ten minutes later takes 66 ms, so the engine
    // reports 552 ms (the sum of the runs).
    for ev in run_events(&id, 0, 1, Status::Failed, 486) {
        rec.record(&ev).expect("record");
    }
    let completed = |store: &Store| -> Vec<(u32, String)> {
        store
            .run(id.as_str())
            .expect("show")
            .expect("found")
            .phases
            .iter()
            .filter(|p| p.phase == "COMPLETED")
            .map(|p| (p.attempt, p.status.clone()))
            .collect()
    };
    assert_eq!(completed(rec.store()), [(1, "FAILED".to_owned())]);
    for ev in run_events(&id, 600, 2, Status::Succeeded, 552) {
        rec.record(&ev).expect("record");
    }
    let store = rec.finish().expect("finish");
    assert_eq!(
        completed(&store),
        [(1, "FAILED".to_owned()), (2, "SUCCEEDED".to_owned())]
    );
    let runs = store.list_runs(Some("demo"), 10).expect("list");
    assert_eq!(runs.len(), 1, "one run for the build and its resume");
    assert_eq!(runs[0].status, "SUCCEEDED");
    assert_eq!(runs[0].duration_ms, Some(552));
    assert_eq!(runs[0].started_at, super::store::ts(at(0)));
}
