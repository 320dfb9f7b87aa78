//! The cloud backend against moto (`CBDASH_TEST_AWS_ENDPOINT`): project details, a build
//! started and followed, a log that grows while tailed, the live-tail fallback, ECR images,
//! unknown projects. Names are unique per test, so tests run in parallel without a reset.

use std::time::Duration;

use cbdash::engine::cloud::ecr::{self, EcrRef};
use cbdash::engine::cloud::follow::follow_build;
use cbdash::engine::cloud::logs::{TailInfo, TailOptions, tail};
use cbdash::engine::cloud::{
    CloudClients, CloudError, CloudTarget, ConnectOptions, LogLocation, actions, projects,
};
use cbdash::engine::{BuildRequest, EventSink};
use cbdash::model::{BuildEvent, NoticeLevel, Status};
use tokio_util::sync::CancellationToken;

use crate::common::require;

async fn moto() -> Option<CloudClients> {
    let url = require("CBDASH_TEST_AWS_ENDPOINT")?;
    let opts = ConnectOptions {
        // As cbdash connects to AWS: the SDK retries a transient 5xx. The emulator answers one
        // now and then under a parallel test run (Werkzeug's "500 Internal Server Error").
        sdk_retries: true,
        endpoint_url: Some(url),
        static_credentials: Some(("testing".into(), "testing".into())),
    };
    Some(
        CloudClients::connect(
            &CloudTarget {
                profile: None,
                region: Some("us-east-1".into()),
            },
            &opts,
        )
        .await,
    )
}

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    )
}

async fn create_project(c: &CloudClients, name: &str) {
    use aws_sdk_codebuild::types::{ComputeType, EnvironmentType, ProjectEnvironment};
    c.codebuild
        .create_project()
        .name(name)
        .description("made by cloud_moto")
        .source(no_source("version: 0.2"))
        .artifacts(no_artifacts())
        .environment(
            ProjectEnvironment::builder()
                .r#type(EnvironmentType::LinuxContainer)
                .image("aws/codebuild/standard:7.0")
                .compute_type(ComputeType::BuildGeneral1Small)
                .privileged_mode(true)
                .build()
                .expect("env"),
        )
        .service_role("arn:aws:iam::123456789012:role/cbdash")
        .send()
        .await
        .expect("create project");
}

#[tokio::test]
async fn projects_are_listed_with_details() {
    let Some(c) = moto().await else { return };
    let names: Vec<String> = (0..3).map(|_| unique("cbd-list")).collect();
    for n in &names {
        create_project(&c, n).await;
    }
    let all = projects::list_project_names(&c.codebuild)
        .await
        .expect("list");
    assert!(names.iter().all(|n| all.contains(n)));
    let infos = projects::get_projects(&c.codebuild, &names)
        .await
        .expect("details");
    assert_eq!(infos.len(), 3);
    assert_eq!(
        infos[0].image.as_deref(),
        Some("aws/codebuild/standard:7.0")
    );
    assert_eq!(
        infos[0].compute_type.as_deref(),
        Some("BUILD_GENERAL1_SMALL")
    );
    assert!(infos[0].privileged);
    assert_eq!(infos[0].description.as_deref(), Some("made by cloud_moto"));
}

#[tokio::test]
async fn a_build_is_started_with_overrides_and_followed_to_its_end() {
    let Some(c) = moto().await else { return };
    let name = unique("cbd-start");
    create_project(&c, &name).await;
    let dir = tempfile::tempdir().expect("tmp");
    let spec = dir.path().join("buildspec.yml");
    std::fs::write(
        &spec,
        "version: 0.2\nphases:\n  build:\n    commands: [echo hi]\n",
    )
    .expect("write");
    let req = BuildRequest {
        project: name.clone(),
        env: vec![("A".into(), "1 2".into())],
        source_version: Some("main".into()),
        image: Some("my/builder:3".into()),
        privileged: true,
        ..BuildRequest::default()
    };
    let buildspec = actions::read_buildspec(&spec).expect("valid");
    let started = actions::start_build(&c.codebuild, &req, Some(buildspec.clone()))
        .await
        .expect("start");
    assert_eq!(started.id.project(), name);
    // moto keeps only the source version of a StartBuild: its build echoes it.
    let got = c
        .codebuild
        .batch_get_builds()
        .ids(started.id.as_str())
        .send()
        .await
        .expect("get build");
    assert_eq!(got.builds()[0].source_version(), Some("main"));
    // Every override as sent: the same call to a recording endpoint.
    overrides_are_sent(&req, &buildspec).await;
    let (sink, mut rx) = EventSink::channel(64);
    let printer = tokio::spawn(async move {
        let mut v = Vec::new();
        while let Some(e) = rx.recv().await {
            v.push(e);
        }
        v
    });
    let outcome = follow_build(
        &c,
        started.id.clone(),
        &crate::cloud_scripted::fast(),
        sink,
        CancellationToken::new(),
    )
    .await
    .expect("watch");
    let events = printer.await.expect("join");
    assert_eq!(outcome.status, Status::Succeeded);
    assert!(matches!(events.first(), Some(BuildEvent::Started { .. })));
    assert!(matches!(
        events.last(),
        Some(BuildEvent::Finished {
            status: Status::Succeeded,
            ..
        })
    ));
    let finished = events
        .iter()
        .filter(|e| matches!(e, BuildEvent::PhaseFinished { .. }))
        .count();
    assert!(finished >= 9, "moto's phases: {finished}");
    let ids = projects::list_build_ids(&c.codebuild, &name, 10)
        .await
        .expect("builds");
    assert_eq!(ids, std::slice::from_ref(&started.id.0));
}

/// Sends `req`'s StartBuild to a recording endpoint and checks the request carries every
/// override: variables (typed PLAINTEXT), source version, image, privileged mode, buildspec.
async fn overrides_are_sent(req: &BuildRequest, buildspec: &str) {
    use crate::cloud_fake::{FakeAws, Reply, build};
    let fake = FakeAws::start(|r| {
        let id = format!("{}:0b7c", r.body["projectName"].as_str().unwrap_or("p"));
        Reply::ok(serde_json::json!({ "build": build(&id, "IN_PROGRESS", vec![], None) }))
    })
    .await;
    let clients = CloudClients::connect(
        &CloudTarget {
            profile: None,
            region: Some("us-east-1".into()),
        },
        &ConnectOptions {
            sdk_retries: false,
            endpoint_url: Some(fake.url()),
            static_credentials: Some(("testing".into(), "testing".into())),
        },
    )
    .await;
    actions::start_build(&clients.codebuild, req, Some(buildspec.to_owned()))
        .await
        .expect("start on the recording endpoint");
    let calls = fake.calls();
    let (op, body) = calls.first().expect("one call");
    assert_eq!(op, "StartBuild");
    assert_eq!(body["projectName"], req.project.as_str());
    assert_eq!(body["sourceVersion"], "main");
    assert_eq!(body["imageOverride"], "my/builder:3");
    assert_eq!(body["privilegedModeOverride"], true);
    assert_eq!(body["buildspecOverride"], buildspec);
    assert_eq!(
        body["environmentVariablesOverride"],
        serde_json::json!([{"name": "A", "value": "1 2", "type": "PLAINTEXT"}])
    );
}

#[tokio::test]
async fn the_backend_runs_a_build_start_to_end() {
    use cbdash::engine::Backend;
    let Some(c) = moto().await else { return };
    let name = unique("cbd-backend");
    create_project(&c, &name).await;
    let backend = cbdash::engine::cloud::CloudBackend {
        clients: c,
        live_tail: false,
    };
    let listed = backend.list_projects().await.expect("list");
    assert!(
        listed
            .iter()
            .any(|p| p.name == name && p.group == "default/us-east-1")
    );
    let (sink, mut rx) = EventSink::channel(64);
    let drain = tokio::spawn(async move { while rx.recv().await.is_some() {} });
    let req = BuildRequest {
        project: name.clone(),
        image: Some("aws/codebuild/standard:7.0".into()),
        ..BuildRequest::default()
    };
    let outcome = backend
        .run(req, sink, CancellationToken::new())
        .await
        .expect("run");
    drain.await.expect("join");
    assert_eq!(outcome.status, Status::Succeeded);
    assert_eq!(outcome.build_id.project(), name);
}

#[tokio::test]
async fn bad_buildspecs_and_unknown_projects_are_clear_errors() {
    let Some(c) = moto().await else { return };
    let dir = tempfile::tempdir().expect("tmp");
    let spec = dir.path().join("bad.yml");
    std::fs::write(&spec, "phases:\n  build: [\n").expect("write");
    let e = actions::read_buildspec(&spec).expect_err("invalid");
    assert!(e.to_string().contains("bad.yml"), "{e}");
    let req = BuildRequest {
        project: unique("cbd-missing"),
        ..BuildRequest::default()
    };
    let e = actions::start_build(&c.codebuild, &req, None)
        .await
        .expect_err("unknown project");
    assert!(
        matches!(e, CloudError::NotFound { .. } | CloudError::InvalidInput(_)),
        "{e:?}"
    );
}

async fn put(c: &CloudClients, loc: &LogLocation, lines: &[&str]) {
    let now = chrono::Utc::now().timestamp_millis();
    let events: Vec<_> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
                .timestamp(now + i64::try_from(i).unwrap_or(0))
                .message(*l)
                .build()
                .expect("event")
        })
        .collect();
    c.logs
        .put_log_events()
        .log_group_name(&loc.group)
        .log_stream_name(&loc.stream)
        .set_log_events(Some(events))
        .send()
        .await
        .expect("put");
}

async fn log_stream(c: &CloudClients) -> LogLocation {
    let group = format!("/aws/codebuild/{}", unique("cbd-log"));
    c.logs
        .create_log_group()
        .log_group_name(&group)
        .send()
        .await
        .expect("group");
    c.logs
        .create_log_stream()
        .log_group_name(&group)
        .log_stream_name("s1")
        .send()
        .await
        .expect("stream");
    LogLocation {
        group_arn: Some(format!(
            "arn:aws:logs:us-east-1:123456789012:log-group:{group}"
        )),
        group,
        stream: "s1".into(),
    }
}

/// Tails `loc` while the test writes: 2 lines, then 3 more once the first are seen, then
/// the build ends. Returns the lines and the notices.
async fn tail_growing_log(
    c: &CloudClients,
    loc: LogLocation,
    live_tail: bool,
) -> (Vec<String>, Vec<String>) {
    let (info_tx, info_rx) = tokio::sync::watch::channel(TailInfo {
        location: Some(loc.clone()),
        ended: false,
    });
    let (sink, mut rx) = EventSink::channel(64);
    let opts = TailOptions {
        poll: Duration::from_millis(50),
        live_tail,
        ..TailOptions::default()
    };
    let c2 = c.clone();
    let tailer = tokio::spawn(async move {
        tail(
            &c2,
            cbdash::model::BuildId("p:1".into()),
            info_rx,
            opts,
            sink,
            CancellationToken::new(),
        )
        .await
    });
    put(c, &loc, &["[Container] Entering phase BUILD", "first"]).await;
    let (mut lines, mut notices) = (Vec::new(), Vec::new());
    let mut wrote_more = false;
    while let Some(ev) = tokio::time::timeout(Duration::from_secs(20), rx.recv())
        .await
        .expect("no stall")
    {
        match ev {
            BuildEvent::Logs { lines: l, .. } => lines.extend(l.into_iter().map(|l| l.text)),
            BuildEvent::Notice {
                level: NoticeLevel::Warning,
                message,
                ..
            } => notices.push(message),
            _ => {}
        }
        if lines.len() >= 2 && !wrote_more {
            wrote_more = true;
            put(c, &loc, &["second", "third", "fourth"]).await;
            info_tx.send_replace(TailInfo {
                location: Some(loc.clone()),
                ended: true,
            });
        }
    }
    tailer.await.expect("join").expect("tail");
    (lines, notices)
}

/// A project source of type `NO_SOURCE` with this inline buildspec.
pub fn no_source(buildspec: &str) -> aws_sdk_codebuild::types::ProjectSource {
    use aws_sdk_codebuild::types::{ProjectSource, SourceType};
    ProjectSource::builder()
        .r#type(SourceType::NoSource)
        .location("none")
        .buildspec(buildspec)
        .build()
        .expect("source")
}

/// Project artifacts of type `NO_ARTIFACTS`.
pub fn no_artifacts() -> aws_sdk_codebuild::types::ProjectArtifacts {
    use aws_sdk_codebuild::types::{ArtifactsType, ProjectArtifacts};
    ProjectArtifacts::builder()
        .r#type(ArtifactsType::NoArtifacts)
        .build()
        .expect("artifacts")
}

/// What [`tail_growing_log`] must read, whole and in order.
const GROWN_LOG: [&str; 5] = [
    "[Container] Entering phase BUILD",
    "first",
    "second",
    "third",
    "fourth",
];

#[tokio::test]
async fn a_log_that_grows_while_tailed_is_read_to_its_end() {
    let Some(c) = moto().await else { return };
    let loc = log_stream(&c).await;
    let (lines, _) = tail_growing_log(&c, loc, false).await;
    assert_eq!(lines, GROWN_LOG);
}

#[tokio::test]
async fn live_tail_falls_back_to_polling() {
    let Some(c) = moto().await else { return };
    let loc = log_stream(&c).await;
    let (lines, notices) = tail_growing_log(&c, loc, true).await;
    assert_eq!(lines, GROWN_LOG);
    assert!(
        notices.iter().any(|n| n.contains("live tail unavailable")),
        "{notices:?}"
    );
}

#[tokio::test]
async fn ecr_images_are_described() {
    let Some(c) = moto().await else { return };
    let repo = unique("cbd-app");
    let out = c
        .ecr
        .create_repository()
        .repository_name(&repo)
        .send()
        .await
        .expect("repo");
    let uri = out
        .repository()
        .and_then(|r| r.repository_uri())
        .expect("uri")
        .to_owned();
    let manifest = serde_json::json!({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1234, "digest": format!("sha256:{}", "a".repeat(64))},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 5678, "digest": format!("sha256:{}", "b".repeat(64))}]});
    c.ecr
        .put_image()
        .repository_name(&repo)
        .image_manifest(manifest.to_string())
        .image_tag("v1")
        .send()
        .await
        .expect("put image");
    let log = [format!("docker push {uri}:v1")];
    let refs = ecr::pushes_in_log(log.iter().map(String::as_str));
    assert_eq!(refs.len(), 1, "{refs:?}");
    let img = ecr::describe(&c.ecr, &refs[0]).await.expect("describe");
    assert_eq!(img.tags, ["v1"]);
    assert!(
        img.digest
            .as_deref()
            .is_some_and(|d| d.starts_with("sha256:"))
    );
    assert!(img.size_bytes.unwrap_or(0) > 0);
    assert!(img.pushed_at.is_some());
    let missing = EcrRef {
        tag: Some("nope".into()),
        ..refs[0].clone()
    };
    assert!(ecr::describe(&c.ecr, &missing).await.is_err());
}
