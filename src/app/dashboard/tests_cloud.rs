//! The executor's cloud side through the engine's `Backend` and `CloudBuilds` traits: a fake
//! account per group records every call and follows builds with scripted events, so starting,
//! stopping, listing and discovering are tested without AWS, and two groups with a project of
//! one name are shown never to mix.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::Utc;
use tokio_util::sync::CancellationToken;

use super::cloud::CloudPool;
use super::tests::{Fake, Harness, start_full};
use crate::engine::cloud::{BatchOutcome, BatchSnapshot, BuildSnapshot, CloudBuilds, CloudError};
use crate::engine::{Backend, BuildRequest, EngineError, EventSink, ProjectSummary};
use crate::model::{
    BackendKind, BatchId, BuildEvent, BuildId, BuildOutcome, DockerAccess, NodeStatus, Status,
};
use crate::tui::msg::{Effect, Msg, RunMode};
use crate::tui::state::{Group, ProjectKey};

/// One fake account: its name, projects, and the calls it was given.
#[derive(Clone, Default)]
struct FakeCloud {
    tag: String,
    projects: Vec<String>,
    calls: Arc<Mutex<Vec<String>>>,
}

impl FakeCloud {
    fn new(tag: &str, projects: &[&str]) -> Self {
        Self {
            tag: tag.into(),
            projects: projects.iter().map(|p| (*p).to_owned()).collect(),
            calls: Arc::default(),
        }
    }

    fn call(&self, what: String) {
        self.calls.lock().expect("lock").push(what);
    }

    fn calls(&self) -> Vec<String> {
        self.calls.lock().expect("lock").clone()
    }
}

impl Backend for FakeCloud {
    fn kind(&self) -> BackendKind {
        BackendKind::Cloud
    }

    async fn list_projects(&self) -> Result<Vec<ProjectSummary>, EngineError> {
        self.call("list_projects".into());
        Ok(self
            .projects
            .iter()
            .map(|name| ProjectSummary {
                name: name.clone(),
                backend: BackendKind::Cloud,
                group: self.tag.clone(),
                description: None,
            })
            .collect())
    }

    async fn run(
        &self,
        req: BuildRequest,
        sink: EventSink,
        cancel: CancellationToken,
    ) -> Result<BuildOutcome, EngineError> {
        let id = self.start(&req, None).await?;
        self.follow(id, sink, cancel).await
    }
}

impl CloudBuilds for FakeCloud {
    async fn recent_builds(
        &self,
        project: &str,
        _max: usize,
    ) -> Result<Vec<BuildSnapshot>, CloudError> {
        self.call(format!("recent_builds {project}"));
        Ok(Vec::new())
    }

    async fn start(
        &self,
        req: &BuildRequest,
        _buildspec: Option<String>,
    ) -> Result<BuildId, CloudError> {
        self.call(format!("start {}", req.project));
        Ok(BuildId(format!("{}:{}-1", req.project, self.tag)))
    }

    async fn retry(&self, id: &BuildId) -> Result<BuildId, CloudError> {
        self.call(format!("retry {id}"));
        Ok(BuildId(format!("{id}-retried")))
    }

    async fn stop(&self, id: &BuildId) -> Result<(), CloudError> {
        self.call(format!("stop {id}"));
        Ok(())
    }

    /// A build that runs until it is stopped or the dashboard closes.
    async fn follow(
        &self,
        id: BuildId,
        sink: EventSink,
        cancel: CancellationToken,
    ) -> Result<BuildOutcome, EngineError> {
        self.call(format!("follow {id}"));
        sink.send(BuildEvent::Started {
            build_id: id.clone(),
            project: id.project().to_owned(),
            backend: BackendKind::Cloud,
            image: format!("image-of-{}", self.tag),
            docker: DockerAccess::None,
            batch: None,
            at: Utc::now(),
        })
        .await?;
        cancel.cancelled().await;
        Ok(BuildOutcome {
            build_id: id,
            status: Status::Stopped,
        })
    }

    async fn start_batch(
        &self,
        req: &BuildRequest,
        _buildspec: Option<String>,
    ) -> Result<BatchId, CloudError> {
        self.call(format!("start_batch {}", req.project));
        Ok(BatchId(format!("{}:{}-batch", req.project, self.tag)))
    }

    async fn retry_batch(&self, id: &BatchId, failed_only: bool) -> Result<(), CloudError> {
        self.call(format!("retry_batch {id} {failed_only}"));
        Ok(())
    }

    async fn stop_batch(&self, id: &BatchId) -> Result<(), CloudError> {
        self.call(format!("stop_batch {id}"));
        Ok(())
    }

    async fn recent_batches(
        &self,
        project: &str,
        _max: usize,
    ) -> Result<Vec<BatchSnapshot>, CloudError> {
        self.call(format!("recent_batches {project}"));
        Ok(Vec::new())
    }

    /// A batch that runs until it is stopped or the dashboard closes.
    async fn follow_batch(
        &self,
        id: BatchId,
        _sink: EventSink,
        cancel: CancellationToken,
    ) -> Result<BatchOutcome, EngineError> {
        self.call(format!("follow_batch {id}"));
        cancel.cancelled().await;
        Ok(BatchOutcome {
            batch_id: id,
            status: NodeStatus::Is(Status::Stopped),
        })
    }

    async fn reproduce(
        &self,
        target: &str,
        _dir: &std::path::Path,
    ) -> Result<BuildRequest, CloudError> {
        Err(CloudError::NotFound {
            what: target.to_owned(),
        })
    }
}

fn group(profile: &str) -> Group {
    Group::Cloud {
        profile: profile.into(),
        region: "eu-west-1".into(),
    }
}

fn api(profile: &str) -> ProjectKey {
    ProjectKey {
        name: "api".into(),
        group: group(profile),
        dir: None,
    }
}

/// An executor with two accounts, `prod` (projects listed from the account) and `dev`
/// (configured with `api`).
fn two_accounts() -> (Harness, FakeCloud, FakeCloud) {
    let prod = FakeCloud::new("prod", &["api", "web"]);
    let dev = FakeCloud::new("dev", &["api"]);
    let pool = CloudPool::with(
        HashMap::from([(group("prod"), prod.clone()), (group("dev"), dev.clone())]),
        vec![
            (group("prod"), Vec::new()),
            (group("dev"), vec!["api".to_owned()]),
        ],
    );
    let dir = tempfile::tempdir().expect("tempdir");
    (start_full(Fake::default(), dir, pool), prod, dev)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_lists_an_accounts_projects_through_the_backend_and_their_builds() {
    let (mut h, prod, dev) = two_accounts();
    let listed = h
        .next(|m| match m {
            Msg::Projects(keys) if keys.iter().any(|k| k.group == group("prod")) => Some(keys),
            _ => None,
        })
        .await;
    let names: Vec<&str> = listed.iter().map(|k| k.name.as_str()).collect();
    assert_eq!(names, ["api", "web"]);
    // Each discovered project's builds are listed, for the sidebar.
    h.next(|m| match m {
        Msg::History { project, .. } if project.name == "web" => Some(()),
        _ => None,
    })
    .await;
    assert!(prod.calls().contains(&"list_projects".to_owned()));
    assert!(
        !dev.calls().contains(&"list_projects".to_owned()),
        "dev names its projects"
    );
    h.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_and_stop_reach_only_their_own_account() {
    let (mut h, prod, dev) = two_accounts();
    h.effects
        .send(Effect::StartBuild {
            project: api("dev"),
            mode: RunMode::Full,
        })
        .await
        .expect("send");
    let (owner, image) = h
        .next(|m| match m {
            Msg::ProjectBuild {
                project,
                event: BuildEvent::Started { image, .. },
            } => Some((project, image)),
            _ => None,
        })
        .await;
    assert_eq!((owner, image.as_str()), (api("dev"), "image-of-dev"));
    let id = BuildId("api:dev-1".into());
    h.effects
        .send(Effect::StopBuild(id.clone()))
        .await
        .expect("send");
    h.next(|m| match m {
        Msg::Flash(_, t) if t.contains("stop requested") => Some(()),
        _ => None,
    })
    .await;
    let dev_calls = dev.calls();
    assert!(dev_calls.contains(&"start api".to_owned()), "{dev_calls:?}");
    assert!(dev_calls.contains(&format!("stop {id}")), "{dev_calls:?}");
    let prod_calls = prod.calls();
    assert!(
        !prod_calls
            .iter()
            .any(|c| c.starts_with("start") || c.starts_with("stop")),
        "prod's api never stands in for dev's: {prod_calls:?}"
    );
    // Closing the dashboard cancels the follower (the fake's build then ends).
    h.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_follows_the_new_build_in_its_own_account() {
    let (mut h, prod, _dev) = two_accounts();
    // Let discovery's own lists pass first.
    h.next(|m| match m {
        Msg::History { project, .. } if project == api("dev") => Some(()),
        _ => None,
    })
    .await;
    let before = prod.calls().len();
    h.effects
        .send(Effect::RetryBuild {
            project: api("prod"),
            build: BuildId("api:old".into()),
        })
        .await
        .expect("send");
    h.next(|m| match m {
        Msg::ProjectBuild { project, .. } if project == api("prod") => Some(()),
        _ => None,
    })
    .await;
    assert_eq!(
        prod.calls()[before..],
        [
            "retry api:old".to_owned(),
            "follow api:old-retried".to_owned()
        ]
    );
    h.close().await;
}

/// `r` on a failed cloud batch (after its confirmation): RetryBuildBatch of its failed builds
/// in the batch's own account, then the same batch followed again; the other account sees
/// nothing.
#[tokio::test]
async fn retrying_a_batch_retries_its_failed_builds_then_follows_it_in_its_own_account() {
    let (mut h, prod, dev) = two_accounts();
    h.next(|m| match m {
        Msg::History { project, .. } if project == api("dev") => Some(()),
        _ => None,
    })
    .await;
    let (before, dev_before) = (prod.calls().len(), dev.calls().len());
    h.effects
        .send(Effect::RetryBatch {
            project: api("prod"),
            batch_id: BatchId("api:b1".into()),
            failed_only: true,
        })
        .await
        .expect("send");
    let want = [
        "retry_batch api:b1 true".to_owned(),
        "follow_batch api:b1".to_owned(),
    ];
    for _ in 0..200 {
        if prod.calls().len() >= before + 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(prod.calls()[before..], want);
    assert_eq!(dev.calls().len(), dev_before, "{:?}", dev.calls());
    h.close().await;
}
