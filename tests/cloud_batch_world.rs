//! The scripted batch world of the cloud batch tests: BatchGetBuildBatches answers, step by
//! step, and BatchGetBuilds answers for the children in the state the last step shows.

use std::sync::{Arc, Mutex};

use cbdash::engine::EventSink;
use cbdash::engine::cloud::batch_follow::{BatchOutcome, follow_batch};
use cbdash::model::{BatchId, BuildEvent};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::cloud_fake::{FakeAws, Reply, Req, build, phase};
use crate::cloud_scripted::{clients_for, fast};

pub const BATCH: &str = "demo:bbbbbbbb-0000-0000-0000-000000000001";

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

pub fn summary(build: &str, status: &str) -> Value {
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
pub fn graph_steps() -> Vec<Step> {
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

pub async fn serve(world: &Arc<World>) -> FakeAws {
    let w = world.clone();
    FakeAws::start(move |r| w.reply(r)).await
}

/// Follows `BATCH` with fast polling: the outcome and every event, in order.
pub async fn follow_scripted(fake: &FakeAws) -> (BatchOutcome, Vec<BuildEvent>) {
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
pub fn story(events: &[BuildEvent]) -> Vec<String> {
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

pub fn position(story: &[String], word: &str) -> usize {
    story
        .iter()
        .position(|s| s == word)
        .unwrap_or_else(|| panic!("{word} missing from {story:?}"))
}
