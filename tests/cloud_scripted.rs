//! The cloud backend against the scripted fake endpoint (`cloud_fake`): phase progress,
//! failure contexts, throttling storms, 500s, expired credentials, paging, call counts.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use cbdash::engine::cloud::follow::{FollowOptions, follow_build};
use cbdash::engine::cloud::logs::TailOptions;
use cbdash::engine::cloud::poller::Poller;
use cbdash::engine::cloud::reports::ReportOptions;
use cbdash::engine::cloud::schedule::{Intervals, PollerState, Priority};
use cbdash::engine::cloud::{
    CloudClients, CloudError, CloudTarget, ConnectOptions, actions, projects,
};
use cbdash::engine::{EngineError, EventSink};
use cbdash::model::BuildOutcome;
use cbdash::model::{BuildEvent, BuildId, LogStream, NoticeLevel, PhaseKind, Status};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::cloud_fake::{FakeAws, Reply, Req, build, phase};

pub async fn clients_for(fake: &FakeAws, region: &str) -> CloudClients {
    let opts = ConnectOptions {
        sdk_retries: false,
        endpoint_url: Some(fake.url()),
        static_credentials: Some(("testing".into(), "testing".into())),
    };
    let target = CloudTarget {
        profile: None,
        region: Some(region.into()),
    };
    CloudClients::connect(&target, &opts).await
}

pub fn fast() -> FollowOptions {
    let ms = Duration::from_millis;
    let intervals = Intervals {
        focused: ms(30),
        background: ms(200),
        backoff_base: ms(20),
        backoff_max: ms(200),
    };
    FollowOptions {
        intervals,
        tail: TailOptions {
            poll: ms(30),
            ..TailOptions::default()
        },
        live_tail: false,
        reports: ReportOptions {
            intervals,
            generating_wait: ms(20),
            waits: 5,
        },
        after_retry: false,
    }
}

const ID: &str = "demo:11111111-2222-3333-4444-555555555555";
const LOG: (&str, &str) = (
    "/aws/codebuild/demo",
    "11111111-2222-3333-4444-555555555555",
);

/// The n-th BatchGetBuilds answer of a build that runs to BUILD and fails there.
pub fn failing_build(n: usize) -> serde_json::Value {
    let mut phases = vec![phase("SUBMITTED", Some("SUCCEEDED"), 0.0, Some(1.0))];
    let (status, log) = match n {
        0 => {
            phases.push(phase("QUEUED", None, 1.0, None));
            ("IN_PROGRESS", None)
        }
        1 => {
            phases.push(phase("QUEUED", Some("SUCCEEDED"), 1.0, Some(2.0)));
            phases.push(phase("PROVISIONING", None, 2.0, None));
            ("IN_PROGRESS", None)
        }
        2 | 3 => {
            phases.push(phase("QUEUED", Some("SUCCEEDED"), 1.0, Some(2.0)));
            phases.push(phase("PROVISIONING", Some("SUCCEEDED"), 2.0, Some(5.0)));
            phases.push(phase("BUILD", None, 5.0, None));
            ("IN_PROGRESS", Some(LOG))
        }
        _ => {
            phases.push(phase("QUEUED", Some("SUCCEEDED"), 1.0, Some(2.0)));
            phases.push(phase("PROVISIONING", Some("SUCCEEDED"), 2.0, Some(5.0)));
            let mut b = phase("BUILD", Some("FAILED"), 5.0, Some(9.0));
            b["contexts"] = json!([{"statusCode": "COMMAND_EXECUTION_ERROR",
                "message": "Error while executing command: make test. Reason: exit status 2"}]);
            phases.push(b);
            phases.push(phase("FINALIZING", Some("SUCCEEDED"), 9.0, Some(10.0)));
            phases.push(json!({"phaseType": "COMPLETED", "startTime": 10.0}));
            ("FAILED", Some(LOG))
        }
    };
    build(ID, status, phases, log)
}

/// GetLogEvents over a fixed log: one page per call, empty pages in the middle, then the
/// same token at the end.
pub fn log_page(body: &serde_json::Value) -> Reply {
    let lines = [
        "[Container] 2026/11/27 10:00:00.1 Entering phase BUILD\n",
        "[Container] 2026/11/27 10:00:00.2 Running command make test\n",
        "cc -o app main.c\n",
        "make: *** [test] Error 2\n",
    ];
    let pos: usize = body["nextToken"]
        .as_str()
        .and_then(|t| t.strip_prefix("f/"))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    // Token f/1 answers an empty page that moves on: empty pages may precede the end.
    let (events, next) = match pos {
        0 => (&lines[..2], 1),
        1 => (&lines[..0], 2),
        2 => (&lines[2..], 4),
        n => (&lines[..0], n),
    };
    let events: Vec<_> = events.iter().enumerate().map(|(i, m)| json!({"timestamp": 1_700_000_000_000_i64 + i64::try_from(i).unwrap_or(0), "message": m, "ingestionTime": 1})).collect();
    Reply::ok(
        json!({"events": events, "nextForwardToken": format!("f/{next}"), "nextBackwardToken": "b/0"}),
    )
}

/// Watches the build `ID` against the scripted endpoint with [`fast`] polling: the outcome,
/// and every event the watch emitted.
async fn watch_scripted(fake: &FakeAws) -> (Result<BuildOutcome, EngineError>, Vec<BuildEvent>) {
    let clients = clients_for(fake, "us-east-1").await;
    let (sink, mut rx) = EventSink::channel(16);
    let printer = tokio::spawn(async move {
        let mut v = Vec::new();
        while let Some(e) = rx.recv().await {
            v.push(e);
        }
        v
    });
    let outcome = follow_build(
        &clients,
        BuildId(ID.into()),
        &fast(),
        sink,
        CancellationToken::new(),
    )
    .await;
    (outcome, printer.await.expect("join"))
}

/// A scripted BatchGetBuilds answer: every requested build, in progress in BUILD.
pub fn running_builds(r: &Req) -> Reply {
    let ids = r.body["ids"].as_array().cloned().unwrap_or_default();
    let builds: Vec<_> = ids
        .iter()
        .map(|i| {
            build(
                i.as_str().unwrap_or_default(),
                "IN_PROGRESS",
                vec![phase("BUILD", None, 0.0, None)],
                None,
            )
        })
        .collect();
    Reply::ok(json!({"builds": builds, "buildsNotFound": []}))
}

#[tokio::test]
async fn a_build_moves_through_its_phases_and_fails_in_build_with_its_log() {
    let n = Arc::new(AtomicUsize::new(0));
    let n2 = n.clone();
    let fake = FakeAws::start(move |r| match r.op.as_str() {
        "BatchGetBuilds" => Reply::ok(json!({"builds": [failing_build(n2.fetch_add(1, Ordering::SeqCst))], "buildsNotFound": []})),
        "GetLogEvents" => log_page(&r.body),
        _ => Reply::error(400, "InvalidInputException", "unexpected"),
    })
    .await;
    let (outcome, events) = watch_scripted(&fake).await;
    let outcome = outcome.expect("watch");
    assert_eq!(outcome.status, Status::Failed);
    let phases: Vec<String> = events
        .iter()
        .filter_map(|e| match e {
            BuildEvent::PhaseStarted { phase, .. } => Some(format!("+{phase}")),
            BuildEvent::PhaseFinished { phase, status, .. } => Some(format!("-{phase}:{status}")),
            _ => None,
        })
        .collect();
    assert_eq!(
        phases,
        [
            "+SUBMITTED",
            "-SUBMITTED:SUCCEEDED",
            "+QUEUED",
            "-QUEUED:SUCCEEDED",
            "+PROVISIONING",
            "-PROVISIONING:SUCCEEDED",
            "+BUILD",
            "-BUILD:FAILED",
            "+FINALIZING",
            "-FINALIZING:SUCCEEDED"
        ]
    );
    let ctx = events
        .iter()
        .find_map(|e| match e {
            BuildEvent::PhaseFinished {
                phase: PhaseKind::Build,
                context,
                ..
            } => Some(context.clone()),
            _ => None,
        })
        .expect("BUILD finished");
    assert_eq!(ctx.status_code, "COMMAND_EXECUTION_ERROR");
    let lines: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            BuildEvent::Logs { lines, .. } => Some(lines.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(lines.len(), 4, "every log line once: {lines:?}");
    assert_eq!(lines[0].stream, LogStream::Agent);
    assert_eq!(lines[3].text, "make: *** [test] Error 2");
    assert_eq!(lines[3].phase, Some(PhaseKind::Build));
    assert!(
        matches!(
            events.last(),
            Some(BuildEvent::Finished {
                status: Status::Failed,
                ..
            })
        ),
        "log before the end: {:?}",
        events.last()
    );
    assert_eq!(
        fake.count("BatchGetBuilds"),
        5,
        "finished builds are not polled again"
    );
}

#[tokio::test]
async fn throttling_storms_and_500s_back_off_with_notices() {
    let n = Arc::new(AtomicUsize::new(0));
    let n2 = n.clone();
    let fake = FakeAws::start(move |r| {
        assert_eq!(r.op, "BatchGetBuilds");
        match n2.fetch_add(1, Ordering::SeqCst) {
            0..=2 => Reply::error(400, "ThrottlingException", "Rate exceeded"),
            3 => Reply::raw(500, "<html>Internal Server Error</html>"),
            _ => Reply::ok(json!({"builds": [failing_build(9)], "buildsNotFound": []})),
        }
    })
    .await;
    let clients = clients_for(&fake, "us-east-1").await;
    let iv = fast().intervals;
    let mut p = Poller::new(clients.codebuild.clone(), clients.group.clone(), iv);
    let t0 = Instant::now();
    p.follow(BuildId(ID.into()), Priority::Focused, t0);
    let mut now = t0;
    let mut notices = Vec::new();
    for expected_attempt in 1..=4 {
        let out = p.poll_once(now).await.expect("throttling is never fatal");
        assert!(out.called);
        notices.extend(out.events);
        let PollerState::Backoff { until, attempt } = p.state() else {
            panic!("expected backoff, got {:?}", p.state())
        };
        assert_eq!(attempt, expected_attempt);
        // Inside the backoff window nothing is called.
        let calls = fake.count("BatchGetBuilds");
        assert!(!p.poll_once(now).await.expect("idle").called);
        assert_eq!(fake.count("BatchGetBuilds"), calls);
        assert_eq!(p.next_wake(), Some(until));
        now = until;
    }
    assert_eq!(notices.len(), 4);
    assert!(notices.iter().all(|n| matches!(
        n,
        BuildEvent::Notice {
            level: NoticeLevel::Warning,
            ..
        }
    )));
    let BuildEvent::Notice { message, .. } = &notices[0] else {
        unreachable!()
    };
    assert!(
        message.contains("Rate exceeded") && message.contains("attempt 1"),
        "{message}"
    );
    let BuildEvent::Notice { message, .. } = &notices[3] else {
        unreachable!()
    };
    assert!(message.contains("500"), "{message}");
    let out = p.poll_once(now).await.expect("recovered");
    assert!(
        out.events
            .iter()
            .any(|e| matches!(e, BuildEvent::Finished { .. }))
    );
    assert_eq!(p.state(), PollerState::Done);
}

#[tokio::test]
async fn expired_credentials_mid_watch_end_it_with_a_clear_error() {
    let n = Arc::new(AtomicUsize::new(0));
    let n2 = n.clone();
    let fake = FakeAws::start(
        move |r| match (r.op.as_str(), n2.fetch_add(1, Ordering::SeqCst)) {
            ("BatchGetBuilds", 0 | 1) => Reply::ok(json!({"builds": [failing_build(0)]})),
            _ => Reply::error(
                400,
                "ExpiredTokenException",
                "The security token included in the request is expired",
            ),
        },
    )
    .await;
    let (outcome, events) = watch_scripted(&fake).await;
    let err = outcome.expect_err("expired");
    assert!(
        matches!(err, EngineError::Cloud(CloudError::Credentials { .. })),
        "{err:?}"
    );
    assert!(err.to_string().contains("aws sso login"), "{err}");
    assert!(events.iter().any(|e| matches!(
        e,
        BuildEvent::PhaseStarted {
            phase: PhaseKind::Queued,
            ..
        }
    )));
}

#[tokio::test]
async fn following_100_running_builds_costs_one_call_per_poll() {
    let fake = FakeAws::start(running_builds).await;
    let clients = clients_for(&fake, "us-east-1").await;
    let iv = Intervals {
        focused: Duration::from_secs(2),
        background: Duration::from_secs(15),
        ..Intervals::default()
    };
    let mut p = Poller::new(clients.codebuild.clone(), clients.group.clone(), iv);
    let t0 = Instant::now();
    for i in 0..100 {
        p.follow(BuildId(format!("p{i}:{i}")), Priority::Background, t0);
    }
    p.focus(&BuildId("p0:0".into()), t0);
    let out = p.poll_once(t0).await.expect("poll");
    assert_eq!(out.snapshots.len(), 100);
    assert_eq!(fake.count("BatchGetBuilds"), 1, "100 builds, one call");
    assert_eq!(
        fake.calls()[0].1["ids"][0],
        "p0:0",
        "the focused build leads the batch"
    );
    // 2 s later only the focused build is due; 15 s later all of them, in one call again.
    p.poll_once(t0 + Duration::from_secs(2))
        .await
        .expect("poll");
    let calls = fake.calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[1].1["ids"].as_array().map(Vec::len), Some(1));
    p.poll_once(t0 + Duration::from_secs(15))
        .await
        .expect("poll");
    assert_eq!(fake.count("BatchGetBuilds"), 3);
    // 150 builds: one call of 100 and one of 50.
    for i in 100..150 {
        p.follow(BuildId(format!("p{i}:{i}")), Priority::Background, t0);
    }
    let later = t0 + Duration::from_mins(1);
    p.poll_once(later).await.expect("poll");
    p.poll_once(later).await.expect("poll");
    let calls = fake.calls();
    assert_eq!(calls[3].1["ids"].as_array().map(Vec::len), Some(100));
    assert_eq!(calls[4].1["ids"].as_array().map(Vec::len), Some(50));
}

#[tokio::test]
async fn gone_builds_are_reported_and_dropped() {
    let fake = FakeAws::start(|_| Reply::ok(json!({"builds": [], "buildsNotFound": [ID]}))).await;
    let clients = clients_for(&fake, "us-east-1").await;
    let mut p = Poller::new(
        clients.codebuild.clone(),
        clients.group.clone(),
        Intervals::default(),
    );
    p.follow(BuildId(ID.into()), Priority::Focused, Instant::now());
    let out = p.poll_once(Instant::now()).await.expect("poll");
    assert!(matches!(
        &out.events[..],
        [BuildEvent::Notice {
            level: NoticeLevel::Error,
            ..
        }]
    ));
    assert_eq!(p.state(), PollerState::Done);
}

#[tokio::test]
async fn two_hundred_fifty_projects_over_pages() {
    let fake = FakeAws::start(|r| match r.op.as_str() {
        "ListProjects" => {
            let start: usize = r.body["nextToken"].as_str().and_then(|t| t.parse().ok()).unwrap_or(0);
            let end = (start + 100).min(250);
            let names: Vec<String> = (start..end).map(|i| format!("proj-{i:03}")).collect();
            let mut v = json!({"projects": names});
            if end < 250 {
                v["nextToken"] = json!(end.to_string());
            }
            Reply::ok(v)
        }
        "BatchGetProjects" => {
            let names = r.body["names"].as_array().cloned().unwrap_or_default();
            assert!(names.len() <= 100);
            let ps: Vec<_> = names.iter().map(|n| json!({"name": n, "description": "d",
                "source": {"type": "GITHUB", "location": "https://github.com/o/r"},
                "environment": {"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0", "computeType": "BUILD_GENERAL1_SMALL", "privilegedMode": true},
                "cache": {"type": "LOCAL", "modes": ["LOCAL_DOCKER_LAYER_CACHE"]}})).collect();
            Reply::ok(json!({"projects": ps, "projectsNotFound": []}))
        }
        "ListBuildsForProject" => {
            let p = r.body["projectName"].as_str().unwrap_or_default();
            Reply::ok(json!({"ids": [format!("{p}:last")]}))
        }
        "BatchGetBuilds" => {
            let ids = r.body["ids"].as_array().cloned().unwrap_or_default();
            let bs: Vec<_> = ids.iter().map(|i| build(i.as_str().unwrap_or_default(), "SUCCEEDED", vec![], None)).collect();
            Reply::ok(json!({"builds": bs}))
        }
        _ => Reply::error(400, "InvalidInputException", "unexpected"),
    })
    .await;
    let clients = clients_for(&fake, "us-east-1").await;
    let ps = projects::load_projects(&clients).await.expect("projects");
    assert_eq!(ps.len(), 250);
    assert_eq!(ps[249].name, "proj-249");
    assert!(ps[0].privileged);
    assert_eq!(ps[0].cache.as_deref(), Some("LOCAL"));
    assert_eq!(ps[0].compute_type.as_deref(), Some("BUILD_GENERAL1_SMALL"));
    assert_eq!(
        ps[7].last_build.as_ref().map(|b| b.status.as_str()),
        Some("SUCCEEDED")
    );
    assert_eq!(fake.count("ListProjects"), 3);
    assert_eq!(fake.count("BatchGetProjects"), 3);
    assert_eq!(fake.count("BatchGetBuilds"), 3);
}

#[tokio::test]
async fn access_denied_and_expired_groups_keep_the_others_working() {
    let fake = FakeAws::start(|r| match (r.region.as_str(), r.op.as_str()) {
        ("eu-west-1", _) => Reply::error(
            400,
            "AccessDeniedException",
            "User: arn:aws:iam::1:user/x is not authorized to perform: codebuild:ListProjects",
        ),
        ("ap-south-1", _) => Reply::error(
            400,
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        ),
        (_, "ListProjects") => Reply::ok(json!({"projects": ["ok-project"]})),
        (_, "BatchGetProjects") => Reply::ok(json!({"projects": [{"name": "ok-project"}]})),
        (_, "ListBuildsForProject") => Reply::ok(json!({"ids": []})),
        _ => Reply::ok(json!({"builds": []})),
    })
    .await;
    let opts = ConnectOptions {
        sdk_retries: false,
        endpoint_url: Some(fake.url()),
        static_credentials: Some(("k".into(), "s".into())),
    };
    let t = |r: &str| CloudTarget {
        profile: None,
        region: Some(r.into()),
    };
    let groups =
        projects::load_groups(&[t("eu-west-1"), t("us-east-1"), t("ap-south-1")], &opts).await;
    assert!(
        matches!(&groups[0].projects, Err(CloudError::AccessDenied { .. })),
        "{:?}",
        groups[0].projects
    );
    assert_eq!(
        groups[1].projects.as_ref().map(|p| p[0].name.clone()).ok(),
        Some("ok-project".into())
    );
    let Err(e) = &groups[2].projects else {
        panic!("expected an error")
    };
    assert!(
        matches!(e, CloudError::Credentials { group, .. } if group == "default/ap-south-1"),
        "{e:?}"
    );
}

#[tokio::test]
async fn retry_and_stop_return_the_build() {
    let fake = FakeAws::start(|r| match r.op.as_str() {
        "RetryBuild" => {
            assert!(r.body["idempotencyToken"].is_string());
            Reply::ok(json!({"build": build("demo:new", "IN_PROGRESS", vec![phase("SUBMITTED", Some("SUCCEEDED"), 0.0, Some(1.0))], None)}))
        }
        "StopBuild" => Reply::ok(json!({"build": build(r.body["id"].as_str().unwrap_or_default(), "STOPPED", vec![], None)})),
        _ => Reply::error(400, "InvalidInputException", "unexpected"),
    })
    .await;
    let clients = clients_for(&fake, "us-east-1").await;
    let b = actions::retry_build(&clients.codebuild, ID)
        .await
        .expect("retry");
    assert_eq!(b.id.0, "demo:new");
    assert_eq!(fake.calls()[0].1["id"], ID);
    let b = actions::stop_build(&clients.codebuild, ID)
        .await
        .expect("stop");
    assert_eq!(b.status, Status::Stopped);
}

#[tokio::test]
async fn an_unknown_region_is_an_error_in_its_group() {
    // No endpoint override: the SDK resolves codebuild.xx-nowhere-1.amazonaws.com, which does
    // not exist (and no AWS is reachable from the test machine either way).
    let opts = ConnectOptions {
        sdk_retries: false,
        endpoint_url: None,
        static_credentials: Some(("k".into(), "s".into())),
    };
    let target = CloudTarget {
        profile: None,
        region: Some("xx-nowhere-1".into()),
    };
    let groups = tokio::time::timeout(
        Duration::from_mins(1),
        projects::load_groups(&[target], &opts),
    )
    .await
    .expect("no hang");
    let Err(e) = &groups[0].projects else {
        panic!("expected an error")
    };
    assert!(matches!(e, CloudError::Unreachable { .. }), "{e:?}");
    assert!(e.to_string().contains("check the region"), "{e}");
}
