//! Following a cloud batch end to end on the scripted endpoint: each child's log tailed before
//! its end, and Ctrl-C (the cancel token) ending the follow as STOPPED.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use cbdash::engine::cloud::batch;
use cbdash::model::{BatchId, BuildEvent, NodeStatus, Status};
use serde_json::json;

use crate::cloud_batch_world::{
    BATCH, Step, World, batch_json, child_json, follow_scripted, node, serve,
};
use crate::cloud_fake::{FakeAws, Reply};
use crate::cloud_scripted::{clients_for, fast};

#[tokio::test]
async fn each_childs_log_comes_before_its_end_and_every_end_before_the_batchs() {
    let polls = Arc::new(AtomicUsize::new(0));
    let p2 = polls.clone();
    let log = ("/aws/codebuild/demo", "c-stream");
    let fake = FakeAws::start(move |r| match r.op.as_str() {
        "BatchGetBuildBatches" => {
            let done = p2.fetch_add(1, Ordering::SeqCst) >= 2;
            let (status, st) = if done {
                ("SUCCEEDED", "SUCCEEDED")
            } else {
                ("IN_PROGRESS", "IN_PROGRESS")
            };
            let step = Step {
                status,
                complete: done,
                nodes: vec![node("compile", &[], "demo:c", st)],
            };
            Reply::ok(json!({"buildBatches": [batch_json(BATCH, &step, 1)]}))
        }
        "BatchGetBuilds" => {
            let done = p2.load(Ordering::SeqCst) > 2;
            let mut b = child_json("demo:c", if done { "SUCCEEDED" } else { "IN_PROGRESS" });
            b["logs"] = json!({"groupName": log.0, "streamName": log.1});
            Reply::ok(json!({"builds": [b]}))
        }
        "GetLogEvents" => crate::cloud_scripted::log_page(&r.body),
        _ => Reply::error(400, "InvalidInputException", "unexpected"),
    })
    .await;
    let (outcome, events) = follow_scripted(&fake).await;
    assert_eq!(outcome.status, NodeStatus::Is(Status::Succeeded));
    let lines: Vec<usize> = events
        .iter()
        .enumerate()
        .filter(|(_, e)| matches!(e, BuildEvent::Logs { .. }))
        .map(|(i, _)| i)
        .collect();
    let count: usize = events
        .iter()
        .map(|e| match e {
            BuildEvent::Logs { lines, .. } => lines.len(),
            _ => 0,
        })
        .sum();
    assert_eq!(count, 4, "the child's whole log, once");
    let end = events
        .iter()
        .position(|e| matches!(e, BuildEvent::Finished { .. }))
        .expect("the child ends");
    assert!(lines.iter().all(|i| *i < end), "the log before the end");
    assert_eq!(end, events.len() - 2, "then only batch_finished");
    assert!(matches!(
        events.last(),
        Some(BuildEvent::BatchFinished { .. })
    ));
}

#[tokio::test]
async fn cancelling_stops_following_with_stopped() {
    let s = |status, complete, nodes| Step {
        status,
        complete,
        nodes,
    };
    let world = World::new(vec![s(
        "IN_PROGRESS",
        false,
        vec![node("compile", &[], "demo:c", "IN_PROGRESS")],
    )]);
    let fake = serve(&world).await;
    let clients = clients_for(&fake, "us-east-1").await;
    let (sink, mut rx) = cbdash::engine::EventSink::channel(64);
    let drain = tokio::spawn(async move { while rx.recv().await.is_some() {} });
    let cancel = tokio_util::sync::CancellationToken::new();
    let c2 = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        c2.cancel();
    });
    let outcome = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        cbdash::engine::cloud::batch_follow::follow_batch(
            &clients,
            BatchId(BATCH.into()),
            &fast(),
            sink,
            cancel,
        ),
    )
    .await
    .expect("no hang")
    .expect("follow");
    drain.await.expect("join");
    assert_eq!(outcome.status, NodeStatus::Is(Status::Stopped));
    assert_eq!(batch::exit_code(&outcome.status), 1);
    assert!(
        fake.count("BatchGetBuildBatches") >= 2,
        "it was polling until then"
    );
}

/// After a retry, BatchGetBuildBatches answers the previous run's end twice, then the retried
/// run's end (new build, another end time) without ever showing it running: followed as
/// retried, the batch ends on the new end; followed plainly, the stale end would be taken.
#[tokio::test]
async fn a_retried_batch_ends_on_its_new_end_even_unseen_running() {
    use cbdash::engine::EventSink;
    use cbdash::engine::cloud::batch_follow::follow_batch;
    use cbdash::engine::cloud::follow::FollowOptions;
    use tokio_util::sync::CancellationToken;

    let stale = || Step {
        status: "FAILED",
        complete: true,
        nodes: vec![node("compile", &[], "demo:c1", "FAILED")],
    };
    let new_end = Step {
        status: "SUCCEEDED",
        complete: true,
        nodes: vec![node("compile", &[], "demo:c2", "SUCCEEDED")],
    };
    for (after_retry, expected) in [(true, Status::Succeeded), (false, Status::Failed)] {
        let world = World::new(vec![stale(), stale(), new_end.clone()]);
        let fake = serve(&world).await;
        let clients = clients_for(&fake, "us-east-1").await;
        let (sink, mut rx) = EventSink::channel(64);
        let drain = tokio::spawn(async move {
            let mut v = Vec::new();
            while let Some(e) = rx.recv().await {
                v.push(e);
            }
            v
        });
        let opts = FollowOptions {
            after_retry,
            ..fast()
        };
        let outcome = follow_batch(
            &clients,
            BatchId(BATCH.into()),
            &opts,
            sink,
            CancellationToken::new(),
        )
        .await
        .expect("follow");
        assert_eq!(
            outcome.status,
            NodeStatus::Is(expected),
            "after_retry {after_retry}"
        );
        let events = drain.await.expect("join");
        let followed: Vec<&str> = events
            .iter()
            .filter_map(|e| match e {
                BuildEvent::Started { build_id, .. } => Some(build_id.0.as_str()),
                _ => None,
            })
            .collect();
        let want: &[&str] = if after_retry {
            &["demo:c2"]
        } else {
            &["demo:c1"]
        };
        assert_eq!(followed, want, "after_retry {after_retry}");
    }
}
