//! `cbdash cloud` on batches as a user runs it (the real binary against the scripted
//! endpoint), and the benchmark of API calls per minute following 10 batches of 20 builds:
//!   `cargo test --test integration cloud_bench_batches -- --ignored --nocapture`

use std::time::{Duration, Instant};

use cbdash::engine::cloud::batch_actions;
use cbdash::engine::cloud::batch_poller::BatchPoller;
use cbdash::engine::cloud::schedule::Intervals;
use cbdash::model::BatchId;
use serde_json::{Value, json};

use crate::cloud_batch_world::{BATCH, Step, World, batch_json, graph_steps, node, serve, summary};
use crate::cloud_fake::{FakeAws, Reply};
use crate::cloud_scripted::clients_for;

/// API calls in one minute of injected time following `batches` batches of `builds` running
/// builds each: cbdash's poller, or the naive one (per 2 s poll: one BatchGetBuildBatches
/// per batch plus one BatchGetBuilds per child).
async fn batch_calls_in_a_minute(
    fake: &FakeAws,
    batches: usize,
    builds: usize,
    naive: bool,
) -> (usize, usize) {
    let clients = clients_for(fake, "us-east-1").await;
    fake.reset_calls();
    let t0 = Instant::now();
    let ids: Vec<String> = (0..batches).map(|i| format!("demo:batch{i}")).collect();
    let mut polls = 0;
    if naive {
        for _ in 0..30 {
            for id in &ids {
                let _ =
                    batch_actions::get_batches(&clients.codebuild, &[BatchId(id.clone())]).await;
                for c in 0..builds {
                    let _ = clients
                        .codebuild
                        .batch_get_builds()
                        .ids(format!("{id}-{c}"))
                        .send()
                        .await;
                }
            }
            polls += 1;
        }
    } else {
        let mut p = BatchPoller::new(
            clients.codebuild.clone(),
            clients.group.clone(),
            Intervals::default(),
        );
        for id in &ids {
            p.follow(BatchId(id.clone()), t0);
        }
        for step in 0..600 {
            let out = p
                .poll_once(t0 + Duration::from_millis(step * 100))
                .await
                .expect("poll");
            polls += usize::from(out.calls > 0);
            assert!(out.calls <= 2);
        }
    }
    (fake.calls().len(), polls)
}

#[tokio::test]
#[ignore = "benchmark: run explicitly, figures go to BENCHMARKS.md"]
async fn cloud_bench_batches_api_calls_per_minute() {
    // 10 batches of 20 builds, every build running all minute long (the worst case: 200
    // children to poll, twice what one BatchGetBuilds takes).
    let fake = FakeAws::start(|r| match r.op.as_str() {
        "BatchGetBuildBatches" => {
            let ids = r.body["ids"].as_array().cloned().unwrap_or_default();
            let bs: Vec<Value> = ids
                .iter()
                .filter_map(Value::as_str)
                .map(|id| bench_batch(id, 20))
                .collect();
            Reply::ok(json!({"buildBatches": bs}))
        }
        _ => crate::cloud_scripted::running_builds(r),
    })
    .await;
    let (ours, our_polls) = batch_calls_in_a_minute(&fake, 10, 20, false).await;
    let (naive, naive_polls) = batch_calls_in_a_minute(&fake, 10, 20, true).await;
    #[allow(clippy::cast_precision_loss)]
    let (per_poll, naive_per_poll, ratio) = (
        ours as f64 / our_polls as f64,
        naive as f64 / naive_polls as f64,
        naive as f64 / ours as f64,
    );
    println!(
        "BENCH batches=10 builds_per_batch=20 cbdash_calls_per_min={ours} polls={our_polls} calls_per_poll={per_poll:.2} naive_calls_per_min={naive} naive_calls_per_poll={naive_per_poll:.0} naive/cbdash={ratio:.0}x"
    );
    assert!(per_poll <= 2.0, "target: at most 2 calls per poll");
}

/// A running batch of `n` running builds (`<id>-0` ...).
fn bench_batch(id: &str, n: usize) -> Value {
    let groups: Vec<Value> = (0..n)
        .map(|i| {
            json!({"identifier": format!("t{i}"), "dependsOn": [],
            "currentBuildSummary": summary(&format!("{id}-{i}"), "IN_PROGRESS")})
        })
        .collect();
    json!({"id": id, "buildBatchStatus": "IN_PROGRESS", "complete": false, "projectName": "demo",
        "startTime": 1_700_000_000.0, "buildGroups": groups})
}

fn ndjson(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

#[tokio::test]
async fn cloud_watch_of_a_batch_id_prints_the_batch_events_as_ndjson() {
    let world = World::new(graph_steps());
    let fake = serve(&world).await;
    let (code, stdout, stderr) =
        crate::cloud_cli::cbdash(&fake, &["cloud", "watch", BATCH, "--json"]).await;
    assert_eq!(code, 0, "a SUCCEEDED batch exits 0; stderr: {stderr}");
    let events = ndjson(&stdout);
    let types: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(types.first(), Some(&"batch_started"), "{types:?}");
    assert_eq!(types.last(), Some(&"batch_finished"), "{types:?}");
    assert_eq!(events[0]["backend"], "cloud");
    assert_eq!(events[0]["kind"], "graph");
    assert_eq!(events[0]["builds"].as_array().map(Vec::len), Some(4));
    let started: Vec<&Value> = events
        .iter()
        .filter(|e| e["type"] == "build_started")
        .collect();
    assert_eq!(started.len(), 4, "every child: {types:?}");
    assert!(
        started
            .iter()
            .all(|e| e["batch_id"] == BATCH && e["backend"] == "cloud")
    );
    let unit = started
        .iter()
        .find(|e| e["build_id"] == "demo:u")
        .expect("unit");
    assert_eq!(unit["identifier"], "unit");
    let nodes = events
        .iter()
        .filter(|e| e["type"] == "batch_build" && e["identifier"] == "e2e");
    let words: Vec<&str> = nodes.filter_map(|e| e["status"].as_str()).collect();
    assert_eq!(words, ["PENDING", "IN_PROGRESS", "SUCCEEDED"]);
    assert_eq!(
        events.last().map(|e| e["status"].clone()),
        Some(json!("SUCCEEDED"))
    );
}

#[tokio::test]
async fn a_failed_batch_exits_1_and_failed_only_needs_a_batch() {
    let s = |status, complete, nodes| Step {
        status,
        complete,
        nodes,
    };
    let world = World::new(vec![s(
        "FAILED",
        true,
        vec![node("compile", &[], "demo:c", "FAILED")],
    )]);
    let fake = serve(&world).await;
    let (code, stdout, stderr) =
        crate::cloud_cli::cbdash(&fake, &["cloud", "watch", BATCH, "--batch"]).await;
    assert_eq!(
        code, 1,
        "a FAILED batch exits 1; stdout: {stdout} stderr: {stderr}"
    );
    assert_eq!(
        fake.count("BatchGetBuildBatches"),
        1,
        "--batch: no lookup first"
    );
    // A build id (the lookup finds no batch) cannot be retried "failed builds only".
    let plain = FakeAws::start(|r| match r.op.as_str() {
        "BatchGetBuildBatches" => {
            Reply::ok(json!({"buildBatches": [], "buildBatchesNotFound": ["demo:x"]}))
        }
        _ => Reply::error(400, "InvalidInputException", "unexpected"),
    })
    .await;
    let (code, _, stderr) =
        crate::cloud_cli::cbdash(&plain, &["cloud", "retry", "demo:x", "--failed-only"]).await;
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--failed-only"), "{stderr}");
}

#[tokio::test]
async fn cloud_batches_lists_a_projects_batches() {
    let fake = FakeAws::start(|r| match r.op.as_str() {
        "ListBuildBatchesForProject" => Reply::ok(json!({"ids": ["demo:n1", "demo:n2"]})),
        "BatchGetBuildBatches" => {
            let step = Step {
                status: "FAILED",
                complete: true,
                nodes: vec![node("a", &[], "demo:a", "SUCCEEDED"), node("b", &["a"], "demo:b", "CLIENT_ERROR")],
            };
            Reply::ok(json!({"buildBatches": [batch_json("demo:n1", &step, 1), batch_json("demo:n2", &step, 2)]}))
        }
        _ => Reply::error(400, "InvalidInputException", "unexpected"),
    })
    .await;
    let (code, stdout, stderr) =
        crate::cloud_cli::cbdash(&fake, &["cloud", "batches", "demo", "--json"]).await;
    assert_eq!(code, 0, "{stderr}");
    let lines = ndjson(&stdout);
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["id"], "demo:n2", "newest first");
    assert_eq!(lines[0]["builds"][1]["status"], "CLIENT_ERROR");
    assert_eq!(lines[0]["backend"], "cloud");
    let (code, stdout, _) = crate::cloud_cli::cbdash(&fake, &["cloud", "batches", "demo"]).await;
    assert_eq!(code, 0);
    let first = stdout.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("FAILED")
            && first.contains("#2")
            && first.contains("1/2 builds succeeded"),
        "{stdout}"
    );
}

/// `retry --watch` of a batch: RetryBuildBatch keeps the batch's id, and the first answers of
/// BatchGetBuildBatches still show the previous run's end (FAILED, complete). The follow skips
/// them and ends on the retried run's end, never on the stale one.
#[tokio::test]
async fn retry_watch_of_a_batch_never_ends_on_the_previous_runs_end() {
    let s = |status, complete, nodes| Step {
        status,
        complete,
        nodes,
    };
    let stale = || {
        s(
            "FAILED",
            true,
            vec![node("compile", &[], "demo:c1", "FAILED")],
        )
    };
    let retried = |st| crate::cloud_batch_world::Node {
        id: "compile",
        deps: &[],
        current: ("demo:c2", st),
        prior: vec![("demo:c1", "FAILED")],
    };
    let world = World::new(vec![
        stale(),
        stale(),
        s("IN_PROGRESS", false, vec![retried("IN_PROGRESS")]),
        s("SUCCEEDED", true, vec![retried("SUCCEEDED")]),
    ]);
    let w = world.clone();
    let fake = FakeAws::start(move |r| match r.op.as_str() {
        "RetryBuildBatch" => {
            let step = Step {
                status: "IN_PROGRESS",
                complete: false,
                nodes: vec![],
            };
            Reply::ok(json!({"buildBatch": batch_json(BATCH, &step, 1)}))
        }
        _ => w.reply(r),
    })
    .await;
    let (code, stdout, stderr) = crate::cloud_cli::cbdash(
        &fake,
        &["cloud", "retry", BATCH, "--batch", "--watch", "--json"],
    )
    .await;
    assert_eq!(
        code, 0,
        "the retried run SUCCEEDED; stdout: {stdout} stderr: {stderr}"
    );
    let events = ndjson(&stdout);
    let finished: Vec<&Value> = events
        .iter()
        .filter(|e| e["type"] == "batch_finished")
        .collect();
    assert_eq!(finished.len(), 1, "{stdout}");
    assert_eq!(finished[0]["status"], "SUCCEEDED");
    assert!(
        !events.iter().any(|e| e["build_id"] == "demo:c1"),
        "the previous run's build is not followed: {stdout}"
    );
    assert_eq!(
        fake.count("BatchGetBuildBatches"),
        4,
        "two stale answers were asked past"
    );
}
