//! Cloud batches against the scripted fake endpoint (moto does not implement batches): a
//! graph progressing over several polls, a failed node whose dependents end STOPPED, a retry,
//! a stop, malformed and throttled answers, and the calls each poll costs.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cbdash::engine::EventSink;
use cbdash::engine::cloud::batch_actions;
use cbdash::engine::cloud::batch_follow::{BatchOutcome, follow_batch};
use cbdash::engine::cloud::batch_poller::BatchPoller;
use cbdash::engine::cloud::schedule::{Intervals, PollerState};
use cbdash::engine::cloud::{CloudError, batch};
use cbdash::model::{BatchId, BuildEvent, BuildId, NodeStatus, NoticeLevel, Status};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::cloud_fake::{FakeAws, Reply, Req, build, phase};
use crate::cloud_scripted::{clients_for, fast};

const BATCH: &str = "demo:bbbbbbbb-0000-0000-0000-000000000001";

/// One node in one step: identifier, depends-on, current (build, status), prior attempts.
#[derive(Clone)]
pub struct Node {
    pub id: &'static str,
    pub deps: &'static [&'static str],
    pub current: (&'static str, &'static str),
    pub prior: Vec<(&'static str, &'static str)>,
}

pub fn node(
    id: &'static str,
    deps: &'static [&'static str],
    b: &'static str,
    s: &'static str,
) -> Node {
    Node {
        id,
        deps,
        current: (b, s),
        prior: Vec::new(),
    }
}

/// One BatchGetBuildBatches answer: the batch's status, `complete`, its nodes.
#[derive(Clone)]
pub struct Step {
    pub status: &'static str,
    pub complete: bool,
    pub nodes: Vec<Node>,
}

fn summary(build: &str, status: &str) -> Value {
    json!({"arn": format!("arn:aws:codebuild:us-east-1:123456789012:build/{build}"),
        "requestedOn": 1_700_000_000.0, "buildStatus": status})
}

/// A `BuildBatch` as BatchGetBuildBatches returns it, with the internal `DOWNLOAD_SOURCE` group
/// first once there are groups.
pub fn batch_json(id: &str, step: &Step, number: i64) -> Value {
    let mut groups: Vec<Value> = Vec::new();
    if !step.nodes.is_empty() {
        groups.push(
            json!({"identifier": "DOWNLOAD_SOURCE", "ignoreFailure": false,
            "currentBuildSummary": summary("demo:download", "SUCCEEDED")}),
        );
    }
    for n in &step.nodes {
        let prior: Vec<Value> = n.prior.iter().map(|(b, s)| summary(b, s)).collect();
        groups.push(
            json!({"identifier": n.id, "dependsOn": n.deps, "ignoreFailure": false,
            "currentBuildSummary": summary(n.current.0, n.current.1),
            "priorBuildSummaryList": prior}),
        );
    }
    let mut b = json!({"id": id, "arn": format!("arn:aws:codebuild:us-east-1:123456789012:build-batch/{id}"),
        "startTime": 1_700_000_000.0, "currentPhase": if step.complete { step.status } else { "IN_PROGRESS" },
        "buildBatchStatus": step.status, "projectName": "demo", "complete": step.complete,
        "buildBatchNumber": number, "buildGroups": groups});
    if step.complete {
        b["endTime"] = json!(1_700_000_090.0);
    }
    b
}

/// A child build in the state its node shows in `step` (PENDING: only SUBMITTED so far).
pub fn child_json(id: &str, status: &str) -> Value {
    let done = |s: &str| phase(s, Some("SUCCEEDED"), 0.0, Some(1.0));
    match status {
        "PENDING" => build(
            id,
            "IN_PROGRESS",
            vec![phase("SUBMITTED", None, 0.0, None)],
            None,
        ),
        "IN_PROGRESS" => build(
            id,
            "IN_PROGRESS",
            vec![done("SUBMITTED"), phase("BUILD", None, 1.0, None)],
            None,
        ),
        s => build(
            id,
            s,
            vec![
                done("SUBMITTED"),
                phase("BUILD", Some(s), 1.0, Some(9.0)),
                json!({"phaseType": "COMPLETED", "startTime": 9.0}),
            ],
            None,
        ),
    }
}

/// A scripted batch world: the n-th BatchGetBuildBatches answers step n (the last one
/// repeats); BatchGetBuilds answers each child as the last step answered shows it.
pub struct World {
    pub steps: Vec<Step>,
    pub at: Mutex<Option<usize>>,
}

impl World {
    pub fn new(steps: Vec<Step>) -> Arc<Self> {
        Arc::new(Self {
            steps,
            at: Mutex::new(None),
        })
    }

    pub fn reply(&self, r: &Req) -> Reply {
        match r.op.as_str() {
            "BatchGetBuildBatches" => {
                let mut at = self.at.lock().expect("lock");
                let n = at.map_or(0, |n| (n + 1).min(self.steps.len() - 1));
                *at = Some(n);
                let ids = r.body["ids"].as_array().cloned().unwrap_or_default();
                let batches: Vec<Value> = ids
                    .iter()
                    .map(|i| batch_json(i.as_str().unwrap_or_default(), &self.steps[n], 1))
                    .collect();
                Reply::ok(json!({"buildBatches": batches, "buildBatchesNotFound": []}))
            }
            "BatchGetBuilds" => {
                let step = &self.steps[self.at.lock().expect("lock").unwrap_or(0)];
                let ids = r.body["ids"].as_array().cloned().unwrap_or_default();
                let builds: Vec<Value> = ids
                    .iter()
                    .filter_map(Value::as_str)
                    .map(|i| {
                        let status = step
                            .nodes
                            .iter()
                            .flat_map(|n| n.prior.iter().chain(std::iter::once(&n.current)))
                            .find(|(b, _)| *b == i)
                            .map_or("IN_PROGRESS", |(_, s)| *s);
                        child_json(i, status)
                    })
                    .collect();
                Reply::ok(json!({"builds": builds, "buildsNotFound": []}))
            }
            _ => Reply::error(400, "InvalidInputException", "unexpected"),
        }
    }
}

/// A graph: compile and lint first, unit after compile, e2e after unit.
fn graph_steps() -> Vec<Step> {
    let s = |status, complete, nodes| Step {
        status,
        complete,
        nodes,
    };
    vec![
        s("IN_PROGRESS", false, vec![]),
        s(
            "IN_PROGRESS",
            false,
            vec![
                node("compile", &[], "demo:c", "IN_PROGRESS"),
                node("lint", &[], "demo:l", "IN_PROGRESS"),
                node("unit", &["compile"], "demo:u", "PENDING"),
                node("e2e", &["unit"], "demo:e", "PENDING"),
            ],
        ),
        s(
            "IN_PROGRESS",
            false,
            vec![
                node("compile", &[], "demo:c", "SUCCEEDED"),
                node("lint", &[], "demo:l", "SUCCEEDED"),
                node("unit", &["compile"], "demo:u", "IN_PROGRESS"),
                node("e2e", &["unit"], "demo:e", "PENDING"),
            ],
        ),
        s(
            "IN_PROGRESS",
            false,
            vec![
                node("compile", &[], "demo:c", "SUCCEEDED"),
                node("lint", &[], "demo:l", "SUCCEEDED"),
                node("unit", &["compile"], "demo:u", "SUCCEEDED"),
                node("e2e", &["unit"], "demo:e", "IN_PROGRESS"),
            ],
        ),
        s(
            "SUCCEEDED",
            true,
            vec![
                node("compile", &[], "demo:c", "SUCCEEDED"),
                node("lint", &[], "demo:l", "SUCCEEDED"),
                node("unit", &["compile"], "demo:u", "SUCCEEDED"),
                node("e2e", &["unit"], "demo:e", "SUCCEEDED"),
            ],
        ),
    ]
}

async fn serve(world: &Arc<World>) -> FakeAws {
    let w = world.clone();
    FakeAws::start(move |r| w.reply(r)).await
}

/// Follows `BATCH` with fast polling: the outcome and every event, in order.
async fn follow_scripted(fake: &FakeAws) -> (BatchOutcome, Vec<BuildEvent>) {
    let clients = clients_for(fake, "us-east-1").await;
    let (sink, mut rx) = EventSink::channel(64);
    let printer = tokio::spawn(async move {
        let mut v = Vec::new();
        while let Some(e) = rx.recv().await {
            v.push(e);
        }
        v
    });
    let outcome = follow_batch(
        &clients,
        BatchId(BATCH.into()),
        &fast(),
        sink,
        CancellationToken::new(),
    )
    .await
    .expect("follow");
    (outcome, printer.await.expect("join"))
}

/// The events as short words: batch events, each child's start (with its node) and end.
fn story(events: &[BuildEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            BuildEvent::BatchStarted { builds, .. } => Some(format!("batch+{}", builds.len())),
            BuildEvent::BatchBuild {
                identifier,
                status,
                attempt,
                ..
            } => Some(format!("{identifier}={status}#{attempt}")),
            BuildEvent::Started {
                build_id, batch, ..
            } => Some(format!(
                "+{build_id}@{}",
                batch.as_ref().map_or("-", |m| m.identifier.as_str())
            )),
            BuildEvent::Finished {
                build_id, status, ..
            } => Some(format!("-{build_id}:{status}")),
            BuildEvent::BatchFinished { status, .. } => Some(format!("batch-{status}")),
            _ => None,
        })
        .collect()
}

fn position(story: &[String], word: &str) -> usize {
    story
        .iter()
        .position(|s| s == word)
        .unwrap_or_else(|| panic!("{word} missing from {story:?}"))
}

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
