//! Cloud batches against the scripted fake endpoint (moto does not implement batches): a
//! graph progressing over several polls, a failed node whose dependents end STOPPED, a retry,
//! a stop, malformed and throttled answers, and the calls each poll costs.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use cbdash::engine::cloud::batch_actions;
use cbdash::engine::cloud::batch_poller::BatchPoller;
use cbdash::engine::cloud::schedule::PollerState;
use cbdash::engine::cloud::{CloudError, batch};
use cbdash::model::{BatchId, BuildEvent, BuildId, NodeStatus, NoticeLevel, Status};
use serde_json::{Value, json};

use crate::cloud_batch_world::{
    BATCH, Node, Step, World, batch_json, child_json, follow_scripted, graph_steps, node, position,
    serve, story,
};
use crate::cloud_fake::{FakeAws, Reply};
use crate::cloud_scripted::{clients_for, fast};

#[tokio::test]
async fn a_graph_batch_is_followed_node_by_node_to_its_end() {
    let world = World::new(graph_steps());
    let fake = serve(&world).await;
    let (outcome, events) = follow_scripted(&fake).await;
    assert_eq!(outcome.status, NodeStatus::Is(Status::Succeeded));
    assert_eq!(batch::exit_code(&outcome.status), 0);
    let s = story(&events);
    assert_eq!(
        s[..5],
        [
            "batch+4",
            "compile=IN_PROGRESS#1",
            "lint=IN_PROGRESS#1",
            "unit=PENDING#1",
            "e2e=PENDING#1"
        ],
        "{s:?}"
    );
    assert_eq!(s.last().map(String::as_str), Some("batch-SUCCEEDED"));
    let Some(BuildEvent::BatchStarted {
        kind,
        builds,
        backend,
        ..
    }) = events
        .iter()
        .find(|e| matches!(e, BuildEvent::BatchStarted { .. }))
    else {
        panic!("no batch_started")
    };
    assert_eq!(kind.as_str(), "graph");
    assert_eq!(backend.as_str(), "cloud");
    assert_eq!(builds[2].depends_on, ["compile"]);
    assert!(
        builds.iter().all(|b| b.identifier != "DOWNLOAD_SOURCE"),
        "the internal group is no node"
    );
    // Each child: its node's status change, then its own start and end, before the batch's.
    for (node, child) in [
        ("compile", "demo:c"),
        ("lint", "demo:l"),
        ("unit", "demo:u"),
        ("e2e", "demo:e"),
    ] {
        let started = position(&s, &format!("+{child}@{node}"));
        let ended = position(&s, &format!("-{child}:SUCCEEDED"));
        assert!(
            position(&s, &format!("{node}=IN_PROGRESS#1")) < started,
            "{s:?}"
        );
        assert!(started < ended && ended < s.len() - 1, "{s:?}");
    }
    assert!(position(&s, "compile=SUCCEEDED#1") < position(&s, "unit=IN_PROGRESS#1"));
    assert!(position(&s, "unit=SUCCEEDED#1") < position(&s, "e2e=IN_PROGRESS#1"));
    assert_eq!(
        fake.count("BatchGetBuildBatches"),
        5,
        "one per poll until complete"
    );
    // compile+lint, then compile+lint+unit, unit+e2e, and e2e's last look: never a done child.
    let sizes: Vec<usize> = fake
        .calls()
        .iter()
        .filter(|(op, _)| op == "BatchGetBuilds")
        .map(|(_, b)| b["ids"].as_array().map_or(0, Vec::len))
        .collect();
    assert_eq!(sizes, [2, 3, 2, 1]);
    let BuildEvent::BatchFinished {
        builds,
        duration_ms,
        ..
    } = events.last().expect("events")
    else {
        unreachable!()
    };
    assert_eq!(*duration_ms, 90_000);
    assert!(
        builds
            .iter()
            .all(|b| b.status == NodeStatus::Is(Status::Succeeded) && b.attempt == 1)
    );
    assert_eq!(builds[3].build_id, Some(BuildId("demo:e".into())));
}

#[tokio::test]
async fn every_poll_costs_at_most_one_call_of_each_kind() {
    let world = World::new(graph_steps());
    let fake = serve(&world).await;
    let clients = clients_for(&fake, "us-east-1").await;
    let iv = fast().intervals;
    let mut p = BatchPoller::new(clients.codebuild.clone(), clients.group.clone(), iv);
    let t0 = Instant::now();
    p.follow(BatchId(BATCH.into()), t0);
    let mut now = t0;
    let mut polls = 0;
    while !p.is_done() {
        let (batches, builds) = (
            fake.count("BatchGetBuildBatches"),
            fake.count("BatchGetBuilds"),
        );
        let out = p.poll_once(now).await.expect("poll");
        let made = (
            fake.count("BatchGetBuildBatches") - batches,
            fake.count("BatchGetBuilds") - builds,
        );
        assert!(made.0 <= 1 && made.1 <= 1, "poll {polls}: {made:?}");
        assert_eq!(out.calls, made.0 + made.1);
        // Between ticks nothing is called.
        assert_eq!(p.poll_once(now).await.expect("idle").calls, 0);
        now = p.next_wake().unwrap_or(now);
        polls += 1;
        assert!(polls < 20, "the batch ends");
    }
    assert_eq!(polls, 5);
    assert_eq!(p.next_wake(), None);
}

#[tokio::test]
async fn a_failed_node_stops_its_dependents_which_never_start() {
    let s = |status, complete, nodes| Step {
        status,
        complete,
        nodes,
    };
    let world = World::new(vec![
        s(
            "IN_PROGRESS",
            false,
            vec![
                node("compile", &[], "demo:c", "IN_PROGRESS"),
                node("unit", &["compile"], "demo:u", "PENDING"),
                node("e2e", &["unit"], "demo:e", "PENDING"),
            ],
        ),
        s(
            "FAILED",
            true,
            vec![
                node("compile", &[], "demo:c", "FAILED"),
                node("unit", &["compile"], "demo:u", "STOPPED"),
                node("e2e", &["unit"], "demo:e", "STOPPED"),
            ],
        ),
    ]);
    let fake = serve(&world).await;
    let (outcome, events) = follow_scripted(&fake).await;
    assert_eq!(outcome.status, NodeStatus::Is(Status::Failed));
    assert_eq!(batch::exit_code(&outcome.status), 1);
    let s = story(&events);
    assert_eq!(
        s,
        [
            "batch+3",
            "compile=IN_PROGRESS#1",
            "unit=PENDING#1",
            "e2e=PENDING#1",
            "+demo:c@compile",
            "compile=FAILED#1",
            "unit=STOPPED#1",
            "e2e=STOPPED#1",
            "-demo:c:FAILED",
            "batch-FAILED"
        ]
    );
    let calls = fake.calls();
    assert!(
        calls
            .iter()
            .filter(|(op, _)| op == "BatchGetBuilds")
            .all(|(_, b)| b["ids"] == json!(["demo:c"])),
        "the stopped dependents are never polled: {calls:?}"
    );
}

#[tokio::test]
async fn a_retried_batch_keeps_its_id_and_counts_attempts() {
    let s = |status, complete, nodes| Step {
        status,
        complete,
        nodes,
    };
    let retried = |b, st| Node {
        id: "compile",
        deps: &[],
        current: (b, st),
        prior: vec![("demo:c1", "FAILED")],
    };
    let world = World::new(vec![
        s(
            "IN_PROGRESS",
            false,
            vec![
                retried("demo:c2", "IN_PROGRESS"),
                node("lint", &[], "demo:l", "SUCCEEDED"),
            ],
        ),
        s(
            "SUCCEEDED",
            true,
            vec![
                retried("demo:c2", "SUCCEEDED"),
                node("lint", &[], "demo:l", "SUCCEEDED"),
            ],
        ),
    ]);
    let w = world.clone();
    let fake = FakeAws::start(move |r| match r.op.as_str() {
        "RetryBuildBatch" => {
            let step = Step { status: "IN_PROGRESS", complete: false, nodes: vec![] };
            Reply::ok(json!({"buildBatch": batch_json(r.body["id"].as_str().unwrap_or_default(), &step, 1)}))
        }
        _ => w.reply(r),
    })
    .await;
    let clients = clients_for(&fake, "us-east-1").await;
    let b = batch_actions::retry_batch(&clients.codebuild, &BatchId(BATCH.into()), true)
        .await
        .expect("retry");
    assert_eq!(b.id.as_str(), BATCH, "the same batch id");
    let (_, body) = &fake.calls()[0];
    assert_eq!(body["retryType"], "RETRY_FAILED_BUILDS");
    assert!(body["idempotencyToken"].is_string());
    batch_actions::retry_batch(&clients.codebuild, &BatchId(BATCH.into()), false)
        .await
        .expect("retry all");
    assert_eq!(fake.calls()[1].1["retryType"], "RETRY_ALL_BUILDS");
    let (outcome, events) = follow_scripted(&fake).await;
    assert_eq!(outcome.status, NodeStatus::Is(Status::Succeeded));
    let s = story(&events);
    assert_eq!(
        s[..3],
        ["batch+2", "compile=IN_PROGRESS#2", "lint=SUCCEEDED#1"],
        "{s:?}"
    );
    assert!(s.contains(&"+demo:c2@compile".to_owned()), "{s:?}");
    assert!(
        !s.iter().any(|w| w.contains("demo:c1")),
        "the failed first attempt is not followed"
    );
    let BuildEvent::BatchFinished { builds, .. } = events.last().expect("events") else {
        unreachable!()
    };
    assert_eq!(
        (builds[0].attempt, builds[0].build_id.clone()),
        (2, Some(BuildId("demo:c2".into())))
    );
}

#[tokio::test]
async fn a_stopped_batch_ends_after_one_last_look_at_its_running_children() {
    let s = |status, complete, nodes| Step {
        status,
        complete,
        nodes,
    };
    // Right after StopBuildBatch: the batch is STOPPED, its children have not converged yet.
    let stopped = s(
        "STOPPED",
        true,
        vec![
            node("compile", &[], "demo:c", "IN_PROGRESS"),
            node("unit", &["compile"], "demo:u", "PENDING"),
        ],
    );
    let world = World::new(vec![stopped.clone()]);
    let w = world.clone();
    let fake = FakeAws::start(move |r| match r.op.as_str() {
        "StopBuildBatch" => Reply::ok(json!({"buildBatch": batch_json(r.body["id"].as_str().unwrap_or_default(), &stopped, 1)})),
        "BatchGetBuilds" => Reply::ok(json!({"builds": [child_json("demo:c", "STOPPED")]})),
        _ => w.reply(r),
    })
    .await;
    let clients = clients_for(&fake, "us-east-1").await;
    let b = batch_actions::stop_batch(&clients.codebuild, &BatchId(BATCH.into()))
        .await
        .expect("stop");
    assert_eq!(b.status, NodeStatus::Is(Status::Stopped));
    assert_eq!(fake.calls()[0].1["id"], BATCH);
    let (outcome, events) = follow_scripted(&fake).await;
    assert_eq!(batch::exit_code(&outcome.status), 1);
    let s = story(&events);
    assert_eq!(
        s,
        [
            "batch+2",
            "compile=IN_PROGRESS#1",
            "unit=PENDING#1",
            "+demo:c@compile",
            "compile=STOPPED#1",
            "-demo:c:STOPPED",
            "batch-STOPPED"
        ]
    );
    assert_eq!(fake.count("BatchGetBuildBatches"), 1);
    assert_eq!(fake.count("BatchGetBuilds"), 1, "one last look at compile");
}

#[tokio::test]
async fn unknown_status_words_are_shown_raw() {
    let s = |status, complete, nodes| Step {
        status,
        complete,
        nodes,
    };
    let world = World::new(vec![
        s(
            "IN_PROGRESS",
            false,
            vec![
                node("a", &[], "demo:a", "CLIENT_ERROR"),
                node("b", &[], "demo:b", "PENDING"),
            ],
        ),
        s(
            "FAILED",
            true,
            vec![
                node("a", &[], "demo:a", "FAILED"),
                node("b", &[], "demo:b", "RETRY"),
            ],
        ),
    ]);
    let fake = serve(&world).await;
    let (outcome, events) = follow_scripted(&fake).await;
    assert_eq!(outcome.status, NodeStatus::Is(Status::Failed));
    let s = story(&events);
    assert!(s.contains(&"a=CLIENT_ERROR#1".to_owned()), "{s:?}");
    assert!(s.contains(&"b=RETRY#1".to_owned()), "{s:?}");
    let BuildEvent::BatchFinished { builds, .. } = events.last().expect("events") else {
        unreachable!()
    };
    assert_eq!(builds[1].status.as_str(), "RETRY");
}

#[tokio::test]
async fn malformed_answers_are_clear_errors_and_never_panic() {
    let n = Arc::new(AtomicUsize::new(0));
    let n2 = n.clone();
    let fake = FakeAws::start(
        move |r| match (r.op.as_str(), n2.fetch_add(1, Ordering::SeqCst)) {
            ("BatchGetBuildBatches", 0) => Reply::raw(200, "<html>proxy error</html>"),
            ("BatchGetBuildBatches", 1) => {
                Reply::ok(json!({"buildBatches": [{"id": 42, "complete": "yes"}]}))
            }
            ("BatchGetBuildBatches", 2) => Reply::truncated(
                json!({"buildBatches": [batch_json(BATCH, &graph_steps()[4], 1)]}),
                30,
            ),
            ("BatchGetBuildBatches", _) => {
                Reply::ok(json!({"buildBatches": [batch_json(BATCH, &graph_steps()[4], 1)]}))
            }
            ("StartBuildBatch", _) => Reply::raw(200, "{\"buildBatch\": "),
            _ => Reply::ok(json!({"builds": []})),
        },
    )
    .await;
    let clients = clients_for(&fake, "us-east-1").await;
    let mut p = BatchPoller::new(
        clients.codebuild.clone(),
        clients.group.clone(),
        fast().intervals,
    );
    let mut now = Instant::now();
    p.follow(BatchId(BATCH.into()), now);
    for attempt in 1..=3 {
        let out = p
            .poll_once(now)
            .await
            .expect("an unreadable answer is retried, not fatal");
        let [
            BuildEvent::Notice {
                level: NoticeLevel::Warning,
                message,
                ..
            },
        ] = &out.events[..]
        else {
            panic!("one notice: {:?}", out.events)
        };
        assert!(
            message.contains("the answer to BatchGetBuildBatches could not be read"),
            "{message}"
        );
        assert!(
            matches!(p.state(), PollerState::Backoff { attempt: a, .. } if a == attempt),
            "{:?}",
            p.state()
        );
        now = p.next_wake().expect("retried");
    }
    let out = p.poll_once(now).await.expect("recovered");
    assert!(
        out.events
            .iter()
            .any(|e| matches!(e, BuildEvent::BatchFinished { .. }))
    );
    let req = cbdash::engine::BuildRequest {
        project: "demo".into(),
        ..Default::default()
    };
    let err = batch_actions::start_batch(&clients.codebuild, &req, None)
        .await
        .expect_err("garbled");
    assert!(matches!(err, CloudError::Garbled { .. }), "{err:?}");
    assert!(err.to_string().contains("StartBuildBatch"), "{err}");
}

#[tokio::test]
async fn throttled_answers_back_off_then_succeed() {
    let n = Arc::new(AtomicUsize::new(0));
    let n2 = n.clone();
    let world = World::new(graph_steps());
    let w = world.clone();
    let fake = FakeAws::start(move |r| {
        if r.op == "BatchGetBuildBatches" && n2.fetch_add(1, Ordering::SeqCst) < 2 {
            return Reply::error(400, "ThrottlingException", "Rate exceeded");
        }
        if r.op == "BatchGetBuilds" && n2.load(Ordering::SeqCst) == 4 {
            return Reply::error(400, "ThrottlingException", "Rate exceeded");
        }
        w.reply(r)
    })
    .await;
    let clients = clients_for(&fake, "us-east-1").await;
    let mut p = BatchPoller::new(
        clients.codebuild.clone(),
        clients.group.clone(),
        fast().intervals,
    );
    let mut now = Instant::now();
    p.follow(BatchId(BATCH.into()), now);
    for attempt in 1..=2 {
        let out = p.poll_once(now).await.expect("throttling is not fatal");
        assert_eq!(
            out.calls, 1,
            "no children call while the batch call backs off"
        );
        let PollerState::Backoff { until, attempt: a } = p.state() else {
            panic!("{:?}", p.state())
        };
        assert_eq!(a, attempt);
        assert!(out.events.iter().any(
            |e| matches!(e, BuildEvent::Notice { message, .. } if message.contains("Rate exceeded"))
        ));
        assert_eq!(
            p.poll_once(now).await.expect("idle").calls,
            0,
            "nothing inside the window"
        );
        assert_eq!(p.next_wake(), Some(until));
        now = until;
    }
    let mut events = Vec::new();
    while !p.is_done() {
        events.extend(p.poll_once(now).await.expect("poll").events);
        now = p.next_wake().unwrap_or(now);
    }
    let s = story(&events);
    assert_eq!(
        s.last().map(String::as_str),
        Some("batch-SUCCEEDED"),
        "{s:?}"
    );
    assert!(s.contains(&"-demo:e:SUCCEEDED".to_owned()), "{s:?}");
}

#[tokio::test]
async fn batches_are_listed_newest_first() {
    let fake = FakeAws::start(|r| match r.op.as_str() {
        "ListBuildBatchesForProject" => match r.body["nextToken"].as_str() {
            None => Reply::ok(json!({"ids": ["demo:n2", "demo:n10"], "nextToken": "p2"})),
            Some(_) => Reply::ok(json!({"ids": ["demo:n7"]})),
        },
        "BatchGetBuildBatches" => {
            let ids = r.body["ids"].as_array().cloned().unwrap_or_default();
            let step = Step {
                status: "SUCCEEDED",
                complete: true,
                nodes: vec![node("a", &[], "demo:a", "SUCCEEDED")],
            };
            let bs: Vec<Value> = ids
                .iter()
                .filter_map(Value::as_str)
                .map(|i| {
                    let n: i64 = i.trim_start_matches("demo:n").parse().unwrap_or(0);
                    batch_json(i, &step, n)
                })
                .collect();
            Reply::ok(json!({"buildBatches": bs}))
        }
        _ => Reply::error(400, "InvalidInputException", "unexpected"),
    })
    .await;
    let clients = clients_for(&fake, "us-east-1").await;
    let bs = batch_actions::recent_batches(&clients.codebuild, "demo", 20)
        .await
        .expect("list");
    let ids: Vec<&str> = bs.iter().map(|b| b.id.as_str()).collect();
    assert_eq!(ids, ["demo:n10", "demo:n7", "demo:n2"]);
    assert_eq!(fake.count("ListBuildBatchesForProject"), 2);
    assert_eq!(
        fake.count("BatchGetBuildBatches"),
        1,
        "one call for up to 100 batches"
    );
    assert_eq!(fake.calls()[0].1["projectName"], "demo");
}
