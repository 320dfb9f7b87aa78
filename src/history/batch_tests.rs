//! Batches in the history, against real SQLite files: a graph batch with a failed node and
//! its STOPPED dependents, a resume on the same row, interrupted batches, and regressions
//! judged per task identifier.

use super::tests::build_events;
use super::*;
use crate::model::{
    BackendKind, BatchId, BatchKind, BatchMember, BatchNode, BatchResult, BuildEvent, BuildId,
    NodeStatus, PhaseKind, Status,
};
use chrono::{TimeZone, Utc};

fn at(secs: i64) -> chrono::DateTime<Utc> {
    Utc.timestamp_opt(1_800_000_000 + secs, 0)
        .single()
        .expect("valid time")
}

fn open(dir: &tempfile::TempDir) -> Recorder {
    Recorder::new(Store::open(&dir.path().join("h.sqlite")).expect("open"))
}

fn node(identifier: &str, depends_on: &[&str]) -> BatchNode {
    BatchNode {
        identifier: identifier.into(),
        depends_on: depends_on.iter().map(|d| (*d).to_owned()).collect(),
        ignore_failure: false,
        label: None,
    }
}

/// build1 → build2 → build3, and `lint` on its own.
fn graph() -> Vec<BatchNode> {
    vec![
        node("build1", &[]),
        node("build2", &["build1"]),
        node("build3", &["build2"]),
        BatchNode {
            label: Some("shard 1/1".into()),
            ignore_failure: true,
            ..node("lint", &[])
        },
    ]
}

fn started(batch: &BatchId, nodes: Vec<BatchNode>, secs: i64) -> BuildEvent {
    started_on(BackendKind::Local, batch, nodes, secs)
}

fn started_on(
    backend: BackendKind,
    batch: &BatchId,
    nodes: Vec<BatchNode>,
    secs: i64,
) -> BuildEvent {
    BuildEvent::BatchStarted {
        batch_id: batch.clone(),
        project: batch.project().to_owned(),
        backend,
        kind: BatchKind::Graph,
        builds: nodes,
        at: at(secs),
    }
}

fn node_event(
    batch: &BatchId,
    identifier: &str,
    build: Option<&BuildId>,
    status: NodeStatus,
    attempt: u32,
) -> BuildEvent {
    BuildEvent::BatchBuild {
        batch_id: batch.clone(),
        identifier: identifier.into(),
        build_id: build.cloned(),
        status,
        attempt,
        at: at(10),
    }
}

/// A child build of `batch` as task `identifier`, BUILD taking `build_ms`, ending `status`.
fn child(
    batch: &BatchId,
    identifier: &str,
    id: &BuildId,
    start: i64,
    build_ms: u64,
    status: Status,
) -> Vec<BuildEvent> {
    let mut events = build_events(id, start, build_ms, 0);
    for ev in &mut events {
        match ev {
            BuildEvent::Started { batch: member, .. } => {
                *member = Some(BatchMember {
                    batch_id: batch.clone(),
                    identifier: identifier.into(),
                });
            }
            BuildEvent::PhaseFinished { status: s, .. }
            | BuildEvent::Finished { status: s, .. } => {
                *s = status;
            }
            _ => {}
        }
    }
    events
}

fn result(identifier: &str, build: Option<&BuildId>, status: Status, attempt: u32) -> BatchResult {
    BatchResult {
        identifier: identifier.into(),
        build_id: build.cloned(),
        status: status.into(),
        attempt,
        duration_ms: build.map(|_| 2_000),
    }
}

fn record(rec: &mut Recorder, events: &[BuildEvent]) -> Vec<BuildEvent> {
    events
        .iter()
        .flat_map(|ev| rec.record(ev).expect("record"))
        .collect()
}

/// The first run of the graph: build1 fails, build2 and build3 end STOPPED without starting,
/// lint succeeds. Returns the batch and the builds of build1 and lint.
fn failed_graph(rec: &mut Recorder) -> (BatchId, BuildId, BuildId) {
    let batch = BatchId::new_for("demo");
    let (b1, lint) = (BuildId::new_for("demo"), BuildId::new_for("demo"));
    let running = || NodeStatus::Is(Status::InProgress);
    let mut events = vec![
        started(&batch, graph(), 0),
        node_event(&batch, "build1", Some(&b1), running(), 1),
        node_event(&batch, "lint", Some(&lint), running(), 1),
    ];
    events.extend(child(&batch, "build1", &b1, 1, 2_000, Status::Failed));
    events.extend(child(&batch, "lint", &lint, 1, 2_000, Status::Succeeded));
    events.extend([
        node_event(&batch, "build1", Some(&b1), Status::Failed.into(), 1),
        node_event(&batch, "lint", Some(&lint), Status::Succeeded.into(), 1),
        node_event(&batch, "build2", None, Status::Stopped.into(), 0),
        node_event(&batch, "build3", None, Status::Stopped.into(), 0),
        BuildEvent::BatchFinished {
            batch_id: batch.clone(),
            status: Status::Failed.into(),
            duration_ms: 3_500,
            builds: vec![
                result("build1", Some(&b1), Status::Failed, 1),
                result("build2", None, Status::Stopped, 0),
                result("build3", None, Status::Stopped, 0),
                result("lint", Some(&lint), Status::Succeeded, 1),
            ],
            at: at(20),
        },
    ]);
    record(rec, &events);
    (batch, b1, lint)
}

#[test]
fn a_graph_batch_keeps_its_nodes_in_order_with_the_failure_and_its_stopped_dependents() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rec = open(&dir);
    let (batch, b1, lint) = failed_graph(&mut rec);
    let store = rec.finish().expect("finish");

    let listed = store.recent_batches(Some("demo"), 10).expect("list");
    assert_eq!(listed.len(), 1);
    let s = &listed[0];
    assert_eq!(
        (s.batch_id.as_str(), s.kind.as_str(), s.status.as_str()),
        (batch.as_str(), "graph", "FAILED")
    );
    assert_eq!(
        (s.duration_ms, s.attempts, s.interrupted),
        (Some(3_500), 1, false)
    );
    assert_eq!(
        s.nodes,
        NodeCounts {
            total: 4,
            succeeded: 1,
            failed: 1,
            stopped: 2
        }
    );
    assert!(
        store
            .recent_batches(Some("other"), 10)
            .expect("list")
            .is_empty()
    );

    // By its uuid prefix, as runs are found.
    let uuid = batch.as_str().split_once(':').expect("project:uuid").1;
    let d = store.batch(&uuid[..8]).expect("query").expect("found");
    let nodes: Vec<(&str, &str, u32, Option<&str>)> = d
        .builds
        .iter()
        .map(|n| {
            (
                n.identifier.as_str(),
                n.status.as_str(),
                n.attempt,
                n.build_id.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        nodes,
        [
            ("build1", "FAILED", 1, Some(b1.as_str())),
            ("build2", "STOPPED", 0, None),
            ("build3", "STOPPED", 0, None),
            ("lint", "SUCCEEDED", 1, Some(lint.as_str())),
        ]
    );
    assert_eq!(d.builds[2].depends_on, ["build2"]);
    assert_eq!(d.builds[3].label.as_deref(), Some("shard 1/1"));
    assert!(d.builds[3].ignore_failure);
    assert!(
        d.builds[1].builds.is_empty(),
        "a node that never started has no build"
    );
    let b = &d.builds[0].builds;
    assert_eq!(b.len(), 1);
    assert_eq!(
        (b[0].attempt, b[0].status.as_str(), b[0].duration_ms),
        (1, "FAILED", Some(2_000))
    );

    // The child's run row names its batch and task.
    let run = store.run(b1.as_str()).expect("query").expect("run");
    assert_eq!(run.run.batch_id.as_deref(), Some(batch.as_str()));
    assert_eq!(run.run.identifier.as_deref(), Some("build1"));
    // Replayed, the build still knows its batch (the dashboard opens it under the batch).
    let replayed = replay(&run, None);
    assert!(
        matches!(&replayed[0], BuildEvent::Started { batch: Some(m), .. }
            if m.batch_id == batch && m.identifier == "build1"),
        "{:?}",
        replayed[0]
    );
}

#[test]
fn a_resume_counts_up_the_same_batch_row_and_keeps_each_attempt() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rec = open(&dir);
    let (batch, b1, lint) = failed_graph(&mut rec);
    // The resume: build1 again in place (same build, attempt 2), then its dependents.
    let (b2, b3) = (BuildId::new_for("demo"), BuildId::new_for("demo"));
    let mut events = vec![
        started(&batch, graph(), 600),
        node_event(&batch, "build1", Some(&b1), Status::InProgress.into(), 2),
    ];
    events.extend(child(&batch, "build1", &b1, 601, 1_000, Status::Succeeded));
    events.push(node_event(
        &batch,
        "build1",
        Some(&b1),
        Status::Succeeded.into(),
        2,
    ));
    for (identifier, id) in [("build2", &b2), ("build3", &b3)] {
        events.push(node_event(
            &batch,
            identifier,
            Some(id),
            Status::InProgress.into(),
            1,
        ));
        events.extend(child(&batch, identifier, id, 602, 1_000, Status::Succeeded));
        events.push(node_event(
            &batch,
            identifier,
            Some(id),
            Status::Succeeded.into(),
            1,
        ));
    }
    events.push(BuildEvent::BatchFinished {
        batch_id: batch.clone(),
        status: Status::Succeeded.into(),
        duration_ms: 9_000,
        builds: vec![
            result("build1", Some(&b1), Status::Succeeded, 2),
            result("build2", Some(&b2), Status::Succeeded, 1),
            result("build3", Some(&b3), Status::Succeeded, 1),
            result("lint", Some(&lint), Status::Succeeded, 1),
        ],
        at: at(700),
    });
    record(&mut rec, &events);
    let store = rec.finish().expect("finish");

    let listed = store.recent_batches(None, 10).expect("list");
    assert_eq!(listed.len(), 1, "a resume is the same batch, not another");
    let s = &listed[0];
    assert_eq!((s.status.as_str(), s.attempts), ("SUCCEEDED", 2));
    assert_eq!(s.duration_ms, Some(9_000));
    assert_eq!(
        s.started_at,
        super::store::ts(at(0)),
        "the first start stays"
    );
    assert_eq!(
        (s.nodes.succeeded, s.nodes.failed, s.nodes.stopped),
        (4, 0, 0)
    );

    let d = store.batch(batch.as_str()).expect("query").expect("found");
    let attempts: Vec<(u32, &str, &str)> = d.builds[0]
        .builds
        .iter()
        .map(|b| (b.attempt, b.build_id.as_str(), b.status.as_str()))
        .collect();
    assert_eq!(
        attempts,
        [(1, b1.as_str(), "FAILED"), (2, b1.as_str(), "SUCCEEDED")]
    );
    assert_eq!(d.builds[0].attempt, 2);
    assert_eq!(d.builds[1].build_id.as_deref(), Some(b2.as_str()));
    assert_eq!(d.builds[2].builds.len(), 1);
    // One run row for build1 across both attempts, as for a resumed single build.
    assert_eq!(store.list_runs(Some("demo"), 10).expect("runs").len(), 4);
}

#[test]
fn a_cloud_batch_followed_twice_is_one_attempt_until_a_retry_builds_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rec = open(&dir);
    let batch = BatchId::new_for("demo");
    let (first, retried) = (BuildId::new_for("demo"), BuildId::new_for("demo"));
    let attempts = |rec: &Recorder| {
        let d = rec
            .store()
            .batch(batch.as_str())
            .expect("query")
            .expect("found");
        (d.batch.attempts, d.builds[0].builds.len())
    };
    let polled = |build: &BuildId, status: NodeStatus, attempt| {
        node_event(&batch, "build1", Some(build), status, attempt)
    };
    for _ in 0..2 {
        record(
            &mut rec,
            &[
                started_on(BackendKind::Cloud, &batch, graph(), 0),
                polled(&first, NodeStatus::from_api("CLIENT_ERROR"), 1),
            ],
        );
    }
    assert_eq!(
        attempts(&rec),
        (1, 1),
        "following a batch again is not a retry"
    );
    record(&mut rec, &[polled(&retried, NodeStatus::Pending, 2)]);
    assert_eq!(attempts(&rec), (2, 2));
    let d = rec
        .store()
        .batch(batch.as_str())
        .expect("query")
        .expect("found");
    assert_eq!(
        d.builds[0].builds[0].status, "CLIENT_ERROR",
        "kept as the API said"
    );
    assert_eq!(d.builds[0].build_id.as_deref(), Some(retried.as_str()));
}

#[test]
fn a_batch_cbdash_gave_up_on_or_whose_writer_died_is_interrupted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("h.sqlite");
    // This process quits mid-batch: build1 running, the rest waiting.
    let mut rec = Recorder::new(Store::open(&path).expect("open"));
    let batch = BatchId::new_for("demo");
    let b1 = BuildId::new_for("demo");
    let mut events = vec![
        started(&batch, graph(), 0),
        node_event(&batch, "build1", Some(&b1), Status::InProgress.into(), 1),
    ];
    events.extend(child(&batch, "build1", &b1, 1, 1_000, Status::Succeeded)[..3].to_vec());
    record(&mut rec, &events);
    let store = rec.finish().expect("finish");
    let d = store.batch(batch.as_str()).expect("query").expect("found");
    assert_eq!(
        (d.batch.status.as_str(), d.batch.interrupted),
        ("STOPPED", true)
    );
    assert!(d.batch.ended_at.is_some());
    assert!(
        d.builds.iter().all(|n| n.status == "STOPPED"),
        "{:?}",
        d.builds
    );
    assert_eq!(d.builds[0].builds[0].status, "STOPPED");
    let run = store.run(b1.as_str()).expect("query").expect("run");
    assert_eq!(
        (run.run.status.as_str(), run.run.interrupted),
        ("STOPPED", true)
    );

    // Another process's batch, its writer gone (killed): the next open marks it.
    let mut rec = Recorder::new(store);
    let orphan = BatchId::new_for("demo");
    record(
        &mut rec,
        &[
            started(&orphan, graph(), 100),
            node_event(&orphan, "lint", None, NodeStatus::Pending, 0),
        ],
    );
    let store = rec.store();
    let mut gone = std::process::Command::new("true").spawn().expect("spawn");
    let dead = gone.id();
    gone.wait().expect("reap");
    store
        .conn
        .execute(
            "UPDATE batches SET writer_pid = ?1 WHERE batch_id = ?2",
            rusqlite::params![dead, orphan.as_str()],
        )
        .expect("a dead writer");
    let reopened = Store::open(&path).expect("reopen");
    let d = reopened
        .batch(orphan.as_str())
        .expect("query")
        .expect("found");
    assert_eq!(
        (d.batch.status.as_str(), d.batch.interrupted),
        ("STOPPED", true)
    );
    assert_eq!(
        d.builds[3].status, "STOPPED",
        "a waiting node will not start now"
    );
    // A live writer's batch is left alone.
    let ours = BatchId::new_for("demo");
    let mut rec = Recorder::new(reopened);
    record(&mut rec, &[started(&ours, graph(), 200)]);
    let again = Store::open(&path).expect("reopen");
    let d = again.batch(ours.as_str()).expect("query").expect("found");
    assert_eq!(
        (d.batch.status.as_str(), d.batch.interrupted),
        ("IN_PROGRESS", false)
    );
    drop(rec);
}

/// Records a build of `project` with BUILD taking `ms`: outside batches (`task` None) or as
/// task `task` of a batch of its own. Returns the regressions flagged.
fn one(rec: &mut Recorder, task: Option<&str>, start: i64, ms: u64) -> Vec<BuildEvent> {
    let id = BuildId::new_for("app");
    match task {
        None => record(rec, &build_events(&id, start, ms, 4)),
        Some(identifier) => {
            let batch = BatchId::new_for("app");
            let mut events = vec![started(
                &batch,
                vec![node("unit", &[]), node("lint", &[])],
                start,
            )];
            events.extend(child(&batch, identifier, &id, start, ms, Status::Succeeded));
            record(rec, &events)
        }
    }
}

#[test]
fn a_batch_task_is_judged_against_earlier_builds_of_the_same_task_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rec = open(&dir);
    // History: plain builds take 60 s; the batch's `unit` task 30 s, its `lint` task 5 s.
    let mut start = 0;
    for (task, ms) in [
        (None, 60_000),
        (Some("unit"), 30_000),
        (Some("lint"), 5_000),
    ] {
        for _ in 0..5 {
            start += 100;
            assert!(one(&mut rec, task, start, ms).is_empty());
        }
    }
    let baseline = |task| {
        rec.store()
            .task_baseline("app", "local", task, "", 10)
            .expect("baseline")
            .iter()
            .map(|m| m.phases.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        baseline(Some("unit")),
        vec![vec![(PhaseKind::Build, 30_000)]; 5]
    );
    assert_eq!(baseline(None), vec![vec![(PhaseKind::Build, 60_000)]; 5]);
    assert_eq!(
        rec.store()
            .baseline("app", "local", "", 10)
            .expect("baseline")
            .len(),
        5,
        "builds outside batches: their own baseline, as before batches"
    );

    // `unit` at 60 s: as slow as plain builds, but twice its own median — flagged.
    let flagged = one(&mut rec, Some("unit"), start + 100, 60_000);
    assert_eq!(flagged.len(), 1, "{flagged:#?}");
    let BuildEvent::Regression { regression, .. } = &flagged[0] else {
        panic!("{flagged:?}");
    };
    assert!((regression.baseline - 30_000.0).abs() < f64::EPSILON);
    // `lint` at 20 s: faster than `unit` and plain builds, but four times its own median.
    let flagged = one(&mut rec, Some("lint"), start + 200, 20_000);
    let [BuildEvent::Regression { regression, .. }] = flagged.as_slice() else {
        panic!("{flagged:#?}");
    };
    assert!((regression.baseline - 5_000.0).abs() < f64::EPSILON);
    // A plain build at 60 s is not compared with the faster batch tasks.
    assert!(one(&mut rec, None, start + 300, 60_000).is_empty());
    // A task never seen before has no baseline yet.
    assert!(
        rec.store()
            .task_baseline("app", "local", Some("e2e"), "", 10)
            .expect("baseline")
            .is_empty()
    );
}
