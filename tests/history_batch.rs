//! Batches in the run history on real SQLite files: a database of the last release before
//! batches (schema version 4) migrated with its runs, and `cbdash history` listing a recorded
//! batch and showing its builds.

use std::process::Command;

use cbdash::history::{Recorder, Store};
use cbdash::model::{
    BackendKind, BatchId, BatchKind, BatchMember, BatchNode, BatchResult, BuildEvent, BuildId,
    NodeStatus, PhaseContext, PhaseKind, Status,
};
use chrono::Utc;

use crate::common::cbdash_bin;

/// The schema as cbdash wrote it at version 4 (before batches), kept here verbatim so that the
/// migration is tested against what real databases contain, not against the code.
const V4_SCHEMA: &str = "CREATE TABLE runs (
        build_id TEXT PRIMARY KEY, project TEXT NOT NULL, backend TEXT NOT NULL, image TEXT,
        source_version TEXT, started_at TEXT NOT NULL, ended_at TEXT, status TEXT NOT NULL,
        exit_code INTEGER, duration_ms INTEGER, writer_pid INTEGER, log_path TEXT);
    CREATE INDEX runs_by_project ON runs (project, backend, started_at);
    CREATE TABLE phases (
        build_id TEXT NOT NULL REFERENCES runs (build_id) ON DELETE CASCADE,
        phase TEXT NOT NULL, attempt INTEGER NOT NULL, status TEXT NOT NULL, started_at TEXT,
        ended_at TEXT, duration_ms INTEGER, context_code TEXT NOT NULL DEFAULT '',
        context_message TEXT NOT NULL DEFAULT '', PRIMARY KEY (build_id, phase, attempt));
    ALTER TABLE runs ADD COLUMN interrupted INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE runs ADD COLUMN log_bytes INTEGER;
    CREATE TABLE cache_reports (
        build_id TEXT NOT NULL REFERENCES runs (build_id) ON DELETE CASCADE,
        docker_build INTEGER NOT NULL, image TEXT, builder TEXT NOT NULL,
        steps_total INTEGER NOT NULL, steps_cached INTEGER NOT NULL, finished INTEGER NOT NULL,
        report TEXT NOT NULL, PRIMARY KEY (build_id, docker_build));
    CREATE TABLE cache_steps (
        build_id TEXT NOT NULL REFERENCES runs (build_id) ON DELETE CASCADE,
        docker_build INTEGER NOT NULL, position INTEGER NOT NULL, step INTEGER NOT NULL,
        instruction TEXT NOT NULL, cached INTEGER NOT NULL, duration_ms INTEGER,
        PRIMARY KEY (build_id, docker_build, position));
    CREATE INDEX cache_steps_by_instruction ON cache_steps (instruction, cached);
    CREATE TABLE regressions (
        build_id TEXT NOT NULL REFERENCES runs (build_id) ON DELETE CASCADE,
        seq INTEGER NOT NULL, phase TEXT, kind TEXT NOT NULL, message TEXT NOT NULL,
        baseline REAL NOT NULL, current REAL NOT NULL, baseline_runs INTEGER NOT NULL,
        PRIMARY KEY (build_id, seq));
    ALTER TABLE runs ADD COLUMN exported_variables TEXT NOT NULL DEFAULT '{}';
    ALTER TABLE runs ADD COLUMN docker TEXT;
    PRAGMA user_version = 4;";

/// One child build of `batch` as task `identifier`: BUILD then the end, with `status`.
fn child(batch: &BatchId, identifier: &str, id: &BuildId, status: Status) -> Vec<BuildEvent> {
    let now = Utc::now();
    vec![
        BuildEvent::Started {
            build_id: id.clone(),
            project: id.project().to_owned(),
            backend: BackendKind::Local,
            image: "cbdash-test/base:2".into(),
            docker: cbdash::model::DockerAccess::default(),
            batch: Some(BatchMember {
                batch_id: batch.clone(),
                identifier: identifier.into(),
            }),
            at: now,
        },
        BuildEvent::PhaseStarted {
            build_id: id.clone(),
            phase: PhaseKind::Build,
            attempt: 1,
            at: now,
        },
        BuildEvent::PhaseFinished {
            build_id: id.clone(),
            phase: PhaseKind::Build,
            attempt: 1,
            status,
            duration_ms: 1_500,
            context: PhaseContext::default(),
            at: now,
        },
        BuildEvent::Finished {
            build_id: id.clone(),
            status,
            duration_ms: 1_500,
            at: now,
            exported_variables: std::collections::BTreeMap::new(),
        },
    ]
}

fn node(identifier: &str, depends_on: &[&str]) -> BatchNode {
    BatchNode {
        identifier: identifier.into(),
        depends_on: depends_on.iter().map(|d| (*d).to_owned()).collect(),
        ignore_failure: false,
        label: None,
    }
}

fn node_event(
    batch: &BatchId,
    identifier: &str,
    build: Option<&BuildId>,
    status: Status,
) -> BuildEvent {
    BuildEvent::BatchBuild {
        batch_id: batch.clone(),
        identifier: identifier.into(),
        build_id: build.cloned(),
        status: status.into(),
        attempt: u32::from(build.is_some()),
        at: Utc::now(),
    }
}

/// Records a graph batch of `project`: `compile` fails, `package` (after it) ends STOPPED
/// without starting, `lint` succeeds. Returns the batch and the two builds.
fn record_failed_batch(rec: &mut Recorder, project: &str) -> (BatchId, BuildId, BuildId) {
    let batch = BatchId::new_for(project);
    let (compile, lint) = (BuildId::new_for(project), BuildId::new_for(project));
    let mut events = vec![BuildEvent::BatchStarted {
        batch_id: batch.clone(),
        project: project.into(),
        backend: BackendKind::Local,
        kind: BatchKind::Graph,
        builds: vec![
            node("compile", &[]),
            node("package", &["compile"]),
            node("lint", &[]),
        ],
        at: Utc::now(),
    }];
    events.push(node_event(
        &batch,
        "compile",
        Some(&compile),
        Status::InProgress,
    ));
    events.push(node_event(&batch, "lint", Some(&lint), Status::InProgress));
    events.extend(child(&batch, "compile", &compile, Status::Failed));
    events.extend(child(&batch, "lint", &lint, Status::Succeeded));
    events.push(node_event(
        &batch,
        "compile",
        Some(&compile),
        Status::Failed,
    ));
    events.push(node_event(&batch, "lint", Some(&lint), Status::Succeeded));
    events.push(node_event(&batch, "package", None, Status::Stopped));
    let result = |identifier: &str, build: Option<&BuildId>, status: Status| BatchResult {
        identifier: identifier.into(),
        build_id: build.cloned(),
        status: NodeStatus::Is(status),
        attempt: u32::from(build.is_some()),
        duration_ms: build.map(|_| 1_600),
    };
    events.push(BuildEvent::BatchFinished {
        batch_id: batch.clone(),
        status: Status::Failed.into(),
        duration_ms: 95_000,
        builds: vec![
            result("compile", Some(&compile), Status::Failed),
            result("package", None, Status::Stopped),
            result("lint", Some(&lint), Status::Succeeded),
        ],
        at: Utc::now(),
    });
    for ev in &events {
        rec.record(ev).expect("record");
    }
    (batch, compile, lint)
}

#[test]
fn a_version_4_database_is_migrated_with_its_runs_and_then_keeps_batches() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("history.sqlite");
    let conn = rusqlite::Connection::open(&path).expect("create v4");
    conn.execute_batch(V4_SCHEMA).expect("v4 schema");
    conn.execute_batch(
        "INSERT INTO runs (build_id, project, backend, image, started_at, ended_at, status,
             exit_code, duration_ms, docker)
         VALUES ('old:1', 'old', 'local', 'img', '2026-11-01T00:00:00.000Z',
             '2026-11-01T00:01:00.000Z', 'SUCCEEDED', 0, 60000, 'host_socket');
         INSERT INTO phases VALUES ('old:1', 'BUILD', 1, 'SUCCEEDED', NULL, NULL, 55000, '', '');",
    )
    .expect("v4 rows");
    drop(conn);

    let store = Store::open(&path).expect("open and migrate");
    assert!(store.schema_version().expect("version") >= 5);
    assert_eq!(
        store.schema_version().expect("version"),
        cbdash::history::CURRENT_VERSION
    );
    let d = store.run("old:1").expect("query").expect("old run kept");
    assert_eq!(d.run.status, "SUCCEEDED");
    assert_eq!(d.run.docker.as_deref(), Some("host_socket"));
    assert_eq!(
        (d.run.batch_id.as_deref(), d.run.identifier.as_deref()),
        (None, None)
    );
    assert_eq!(d.phases[0].duration_ms, Some(55_000));
    assert!(store.recent_batches(None, 10).expect("batches").is_empty());
    // An old run is a build outside batches: still the baseline of such builds.
    assert_eq!(
        store
            .baseline("old", "local", "", 5)
            .expect("baseline")
            .len(),
        1
    );

    // The new tables work on the migrated database.
    let mut rec = Recorder::new(store);
    let (batch, compile, _) = record_failed_batch(&mut rec, "old");
    let store = rec.finish().expect("finish");
    let b = store.batch(batch.as_str()).expect("query").expect("batch");
    assert_eq!(b.batch.status, "FAILED");
    assert_eq!(b.builds[0].build_id.as_deref(), Some(compile.as_str()));
    assert_eq!(store.list_runs(Some("old"), 10).expect("runs").len(), 3);
}

fn cbdash(path: &std::path::Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(cbdash_bin())
        .arg("--history")
        .arg(path)
        .args(args)
        .output()
        .expect("run cbdash");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A history holding one failed graph batch of `shop` (see `record_failed_batch`).
fn recorded() -> (
    tempfile::TempDir,
    std::path::PathBuf,
    BatchId,
    BuildId,
    BuildId,
) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("history.sqlite");
    let mut rec = Recorder::new(Store::open(&path).expect("open"));
    let (batch, compile, lint) = record_failed_batch(&mut rec, "shop");
    drop(rec.finish().expect("finish"));
    (dir, path, batch, compile, lint)
}

#[test]
fn the_history_command_lists_a_batch_with_its_nodes_by_outcome() {
    let (_dir, path, batch, compile, _) = recorded();

    // The list: the builds, then a row per batch with its nodes by outcome.
    let (code, out, err) = cbdash(&path, &["history"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.starts_with("BUILD ID"), "{out}");
    let (_, batches) = out.split_once("\n\n").expect("a second table");
    let mut lines = batches.lines();
    let header: Vec<&str> = lines
        .next()
        .expect("header")
        .split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(
        header,
        [
            "BATCH ID",
            "PROJECT",
            "BACKEND",
            "KIND",
            "STATUS",
            "STARTED",
            "DURATION",
            "BUILDS",
            "SUCCEEDED",
            "FAILED",
            "STOPPED"
        ]
    );
    let row: Vec<&str> = lines
        .next()
        .expect("the batch")
        .split_whitespace()
        .collect();
    assert_eq!(
        row[..5],
        [batch.as_str(), "shop", "local", "graph", "FAILED"]
    );
    assert_eq!(row[row.len() - 5..], ["1m35s", "3", "1", "1", "1"]);
    assert_eq!(lines.next(), None, "one batch");

    // JSON: a line per run, then a line per batch.
    let (code, out, _) = cbdash(&path, &["history", "shop", "--json"]);
    assert_eq!(code, Some(0));
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(lines.len(), 3);
    let child = lines
        .iter()
        .find(|l| l["build_id"] == compile.as_str())
        .expect("the compile build");
    assert_eq!(child["batch_id"], batch.as_str());
    assert_eq!(child["identifier"], "compile");
    let b = &lines[2];
    assert_eq!(b["batch_id"], batch.as_str());
    assert!(b.get("build_id").is_none());
    assert_eq!(b["kind"], "graph");
    assert_eq!(b["duration_ms"], 95_000);
    assert_eq!(
        b["nodes"],
        serde_json::json!({"total": 3, "succeeded": 1, "failed": 1, "stopped": 1})
    );
}

#[test]
fn the_history_command_shows_a_batch_with_its_builds_in_order() {
    let (_dir, path, batch, compile, lint) = recorded();
    // One batch, by a prefix of its uuid: its nodes in the batch's order.
    let uuid = batch.as_str().split_once(':').expect("project:uuid").1;
    let (code, out, err) = cbdash(&path, &["history", "show", &uuid[..8]]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.starts_with(&format!("batch    {batch}\n")), "{out}");
    assert!(
        out.contains("status   FAILED\n") && out.contains("attempts 1\n"),
        "{out}"
    );
    assert!(
        out.contains("builds   1 succeeded, 1 failed, 1 stopped of 3"),
        "{out}"
    );
    let nodes: Vec<Vec<&str>> = out
        .lines()
        .skip_while(|l| !l.starts_with("IDENTIFIER"))
        .skip(1)
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        nodes,
        [
            vec!["compile", "FAILED", "1", "1.6s", compile.as_str()],
            vec!["package", "STOPPED", "0", "-", "-", "compile"],
            vec!["lint", "SUCCEEDED", "1", "1.6s", lint.as_str()],
        ]
    );

    let (code, out, _) = cbdash(&path, &["history", "show", batch.as_str(), "--json"]);
    assert_eq!(code, Some(0));
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("one JSON object");
    let ids: Vec<&str> = v["builds"]
        .as_array()
        .expect("builds")
        .iter()
        .map(|n| n["identifier"].as_str().expect("identifier"))
        .collect();
    assert_eq!(ids, ["compile", "package", "lint"]);
    assert_eq!(v["builds"][0]["builds"][0]["build_id"], compile.as_str());
    assert_eq!(v["builds"][1]["depends_on"], serde_json::json!(["compile"]));

    // A child build names its batch and task.
    let (code, out, err) = cbdash(&path, &["history", "show", compile.as_str()]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains(&format!("batch    {batch} (task compile)\n")),
        "{out}"
    );
}
