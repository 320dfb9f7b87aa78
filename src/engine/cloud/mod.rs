//! The cloud backend: lists CodeBuild projects and builds, follows a build's phases and its
//! CloudWatch log, shows the ECR image it pushed, and starts, retries and stops builds,
//! through the AWS SDK.
//!
//! How the pieces fit:
//! - [`client`]: one [`CloudClients`] per [`CloudTarget`] (profile/region pair) built from
//!   aws-config's default chain, and the mapping of SDK errors onto [`CloudError`].
//! - [`projects`]: ListProjects/BatchGetProjects and ListBuildsForProject/BatchGetBuilds, one
//!   [`ProjectGroup`] per target whose error stays inside that group.
//! - [`snapshot`] (pure): a CodeBuild `Build` as a [`BuildSnapshot`], and the diff of two
//!   successive snapshots as `BuildEvent`s, so each phase transition is emitted once.
//! - [`schedule`] (pure, time injected): which followed builds are due, and the backoff.
//! - [`poller`]: follows any number of builds with ONE BatchGetBuilds per poll.
//! - [`logs`]: the CloudWatch tailer (GetLogEvents from the head; optional StartLiveTail).
//! - [`ecr`]: images a build pushed, from its log lines or its project's environment.
//! - [`actions`]: StartBuild with overrides, RetryBuild, StopBuild.
//! - Batches: [`batch`] (pure: a `BuildBatch` as a [`BatchSnapshot`], and the tracker that
//!   turns successive ones into the batch events), [`batch_poller`] (every followed batch in
//!   ONE BatchGetBuildBatches per poll, their running children in ONE BatchGetBuilds),
//!   [`batch_follow`] (poller + one log tailer per child), [`batch_actions`]
//!   (StartBuildBatch, RetryBuildBatch, StopBuildBatch, ListBuildBatchesForProject).
//! - [`reports`]: a build's test and coverage reports (`BatchGetReports`, `DescribeTestCases`
//!   FAILED then ERROR, `DescribeCodeCoverages`) as the shared `TestReport`, and a report
//!   group's trends (`GetReportGroupTrend`).
//! - [`follow`]: poller + tailer for one build, which is what [`CloudBackend::run`] and
//!   `cbdash cloud watch` use; when the build has ended, its reports (`reportArns`) are read
//!   and emitted as `BuildEvent::Report`s before its `Finished`.
//! - [`CloudBuilds`]: what the dashboard does with an account besides `Backend::run`, the
//!   seam its executor is tested through with a fake.

pub mod actions;
pub mod batch;
pub mod batch_actions;
pub mod batch_follow;
pub mod batch_poller;
pub mod client;
pub mod ecr;
pub mod follow;
pub mod logs;
pub mod poller;
pub mod projects;
pub mod reports;
pub mod reproduce;
pub mod schedule;
pub mod snapshot;

pub use batch::BatchSnapshot;
pub use batch_follow::BatchOutcome;
pub use client::{CloudClients, ConnectOptions};
pub use projects::{ProjectGroup, ProjectInfo};
pub use snapshot::{BuildSnapshot, LogLocation};

use serde::Deserialize;
use tokio_util::sync::CancellationToken;

use crate::engine::{Backend, BuildRequest, EngineError, EventSink, ProjectSummary};
use crate::model::{BackendKind, BatchId, BuildId, BuildOutcome};

/// One AWS profile/region pair, shown as its own group of projects. Both `None` means the
/// default chain (environment, default profile, instance role).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
pub struct CloudTarget {
    pub profile: Option<String>,
    pub region: Option<String>,
}

impl CloudTarget {
    /// The group label, `profile/region`: what the target names, else what the default chain
    /// takes from the environment, else `default` (see [`CloudTarget::resolved`]).
    #[must_use]
    pub fn label(&self) -> String {
        let (profile, region) = self.resolved(|name| std::env::var(name).ok());
        format!("{profile}/{region}")
    }

    /// The profile and region the target names, else the ones the SDK's default chain takes
    /// from `env` (`AWS_PROFILE`; `AWS_REGION`, then `AWS_DEFAULT_REGION`), else `default`:
    /// the one naming of a group, for `cbdash cloud` and the dashboard alike.
    #[must_use]
    pub fn resolved(&self, env: impl Fn(&str) -> Option<String>) -> (String, String) {
        let env = |names: &[&str]| names.iter().find_map(|n| env(n).filter(|v| !v.is_empty()));
        let profile = self
            .profile
            .clone()
            .or_else(|| env(&["AWS_PROFILE"]))
            .unwrap_or_else(|| "default".to_owned());
        let region = self
            .region
            .clone()
            .or_else(|| env(&["AWS_REGION", "AWS_DEFAULT_REGION"]))
            .unwrap_or_else(|| "default".to_owned());
        (profile, region)
    }
}

/// Errors of the cloud backend. Each says what failed and, where there is one, the fix.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CloudError {
    #[error(
        "AWS credentials for {group} are missing or expired ({message}); run `aws sso login` or set AWS_PROFILE / AWS_ACCESS_KEY_ID"
    )]
    Credentials { group: String, message: String },
    #[error(
        "access denied to {operation}: {message}; the role needs the codebuild/logs/ecr permission for it"
    )]
    AccessDenied { operation: String, message: String },
    #[error("{operation} was throttled ({message}); retrying later")]
    Throttled { operation: String, message: String },
    #[error("{operation} failed with a server error (HTTP {status}): {message}")]
    Server {
        operation: String,
        status: u16,
        message: String,
    },
    /// An answer that cannot be read: malformed JSON, a truncated body, an HTML page from a
    /// proxy. Usually transient, so retried like a server error.
    #[error("the answer to {operation} could not be read ({message}); retrying later")]
    Garbled { operation: String, message: String },
    #[error("cannot reach AWS for {operation}: {message}; check the region and the network")]
    Unreachable { operation: String, message: String },
    #[error("{what} was not found")]
    NotFound { what: String },
    #[error("{0}")]
    InvalidInput(String),
    #[error("AWS call '{operation}' failed: {message}")]
    Api { operation: String, message: String },
}

impl CloudError {
    /// Whether waiting and trying again may help (throttling, 5xx, unreadable answers).
    #[must_use]
    pub const fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Throttled { .. } | Self::Server { .. } | Self::Garbled { .. }
        )
    }
}

/// What the dashboard does with one CodeBuild account besides [`Backend::run`] (StartBuild
/// and follow) and [`Backend::list_projects`]: list a project's builds, start one with
/// overrides, follow, retry and stop builds, read a project for a local reproduction.
/// [`CloudBackend`] calls AWS; the dashboard executor's tests use a fake.
pub trait CloudBuilds: Backend + Clone {
    /// The project's most recent builds, newest first.
    fn recent_builds(
        &self,
        project: &str,
        max: usize,
    ) -> impl Future<Output = Result<Vec<BuildSnapshot>, CloudError>> + Send;
    /// StartBuild with `req`'s overrides (and a buildspec override's text); the new id.
    fn start(
        &self,
        req: &BuildRequest,
        buildspec: Option<String>,
    ) -> impl Future<Output = Result<BuildId, CloudError>> + Send;
    /// RetryBuild of a finished build; the new build's id.
    fn retry(&self, id: &BuildId) -> impl Future<Output = Result<BuildId, CloudError>> + Send;
    /// StopBuild; its follower sees it end as STOPPED.
    fn stop(&self, id: &BuildId) -> impl Future<Output = Result<(), CloudError>> + Send;
    /// Follows an existing build (running or finished) to its end: phases, then its log.
    fn follow(
        &self,
        id: BuildId,
        sink: EventSink,
        cancel: CancellationToken,
    ) -> impl Future<Output = Result<BuildOutcome, EngineError>> + Send;
    /// StartBuildBatch with `req`'s overrides (and a buildspec override's text); the batch id.
    fn start_batch(
        &self,
        req: &BuildRequest,
        buildspec: Option<String>,
    ) -> impl Future<Output = Result<BatchId, CloudError>> + Send;
    /// RetryBuildBatch: the same batch runs again, its failed builds only or all of them.
    fn retry_batch(
        &self,
        id: &BatchId,
        failed_only: bool,
    ) -> impl Future<Output = Result<(), CloudError>> + Send;
    /// StopBuildBatch; its follower sees it end as STOPPED.
    fn stop_batch(&self, id: &BatchId) -> impl Future<Output = Result<(), CloudError>> + Send;
    /// The project's most recent batches, newest first (by batch number).
    fn recent_batches(
        &self,
        project: &str,
        max: usize,
    ) -> impl Future<Output = Result<Vec<BatchSnapshot>, CloudError>> + Send;
    /// Follows a batch and every child to its end: the batch events, each child's phases and
    /// log.
    fn follow_batch(
        &self,
        id: BatchId,
        sink: EventSink,
        cancel: CancellationToken,
    ) -> impl Future<Output = Result<BatchOutcome, EngineError>> + Send;
    /// [`Self::follow_batch`] just after [`Self::retry_batch`]: the batch keeps its id, and
    /// answers that still show its previous run's end are not its end (skipped).
    fn follow_retried_batch(
        &self,
        id: BatchId,
        sink: EventSink,
        cancel: CancellationToken,
    ) -> impl Future<Output = Result<BatchOutcome, EngineError>> + Send {
        self.follow_batch(id, sink, cancel)
    }
    /// A project's (or build's) image, variables and buildspec as a local request on `dir`.
    fn reproduce(
        &self,
        target: &str,
        dir: &std::path::Path,
    ) -> impl Future<Output = Result<BuildRequest, CloudError>> + Send;
}

impl CloudBuilds for CloudBackend {
    async fn recent_builds(
        &self,
        project: &str,
        max: usize,
    ) -> Result<Vec<BuildSnapshot>, CloudError> {
        let cb = &self.clients.codebuild;
        let ids = projects::list_build_ids(cb, project, max).await?;
        projects::get_builds(cb, &ids).await
    }

    async fn start(
        &self,
        req: &BuildRequest,
        buildspec: Option<String>,
    ) -> Result<BuildId, CloudError> {
        Ok(
            actions::start_build(&self.clients.codebuild, req, buildspec)
                .await?
                .id,
        )
    }

    async fn retry(&self, id: &BuildId) -> Result<BuildId, CloudError> {
        Ok(actions::retry_build(&self.clients.codebuild, &id.0)
            .await?
            .id)
    }

    async fn stop(&self, id: &BuildId) -> Result<(), CloudError> {
        actions::stop_build(&self.clients.codebuild, &id.0)
            .await
            .map(|_| ())
    }

    async fn follow(
        &self,
        id: BuildId,
        sink: EventSink,
        cancel: CancellationToken,
    ) -> Result<BuildOutcome, EngineError> {
        let opts = follow::FollowOptions {
            live_tail: self.live_tail,
            ..follow::FollowOptions::default()
        };
        Box::pin(follow::follow_build(&self.clients, id, &opts, sink, cancel)).await
    }

    async fn start_batch(
        &self,
        req: &BuildRequest,
        buildspec: Option<String>,
    ) -> Result<BatchId, CloudError> {
        Ok(
            batch_actions::start_batch(&self.clients.codebuild, req, buildspec)
                .await?
                .id,
        )
    }

    async fn retry_batch(&self, id: &BatchId, failed_only: bool) -> Result<(), CloudError> {
        batch_actions::retry_batch(&self.clients.codebuild, id, failed_only)
            .await
            .map(|_| ())
    }

    async fn stop_batch(&self, id: &BatchId) -> Result<(), CloudError> {
        batch_actions::stop_batch(&self.clients.codebuild, id)
            .await
            .map(|_| ())
    }

    async fn recent_batches(
        &self,
        project: &str,
        max: usize,
    ) -> Result<Vec<BatchSnapshot>, CloudError> {
        batch_actions::recent_batches(&self.clients.codebuild, project, max).await
    }

    async fn follow_batch(
        &self,
        id: BatchId,
        sink: EventSink,
        cancel: CancellationToken,
    ) -> Result<BatchOutcome, EngineError> {
        self.follow_batch_as(id, false, sink, cancel).await
    }

    async fn follow_retried_batch(
        &self,
        id: BatchId,
        sink: EventSink,
        cancel: CancellationToken,
    ) -> Result<BatchOutcome, EngineError> {
        self.follow_batch_as(id, true, sink, cancel).await
    }

    async fn reproduce(
        &self,
        target: &str,
        dir: &std::path::Path,
    ) -> Result<BuildRequest, CloudError> {
        reproduce::reproduce(&self.clients, target, dir).await
    }
}

/// The cloud backend for one target.
#[derive(Clone, Debug)]
pub struct CloudBackend {
    pub clients: CloudClients,
    /// Use StartLiveTail for the log (falls back to polling on error).
    pub live_tail: bool,
}

impl CloudBackend {
    /// Follows a batch; `after_retry`: see [`follow::FollowOptions::after_retry`].
    async fn follow_batch_as(
        &self,
        id: BatchId,
        after_retry: bool,
        sink: EventSink,
        cancel: CancellationToken,
    ) -> Result<BatchOutcome, EngineError> {
        let opts = follow::FollowOptions {
            live_tail: self.live_tail,
            after_retry,
            ..follow::FollowOptions::default()
        };
        Box::pin(batch_follow::follow_batch(
            &self.clients,
            id,
            &opts,
            sink,
            cancel,
        ))
        .await
    }
}

impl Backend for CloudBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Cloud
    }

    async fn list_projects(&self) -> Result<Vec<ProjectSummary>, EngineError> {
        let names = projects::list_project_names(&self.clients.codebuild).await?;
        Ok(names
            .into_iter()
            .map(|name| ProjectSummary {
                name,
                backend: BackendKind::Cloud,
                group: self.clients.group.clone(),
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
        let buildspec = match &req.buildspec {
            Some(path) => Some(actions::read_buildspec(path)?),
            None => None,
        };
        let started = actions::start_build(&self.clients.codebuild, &req, buildspec).await?;
        let opts = follow::FollowOptions {
            live_tail: self.live_tail,
            ..follow::FollowOptions::default()
        };
        Box::pin(follow::follow_build(
            &self.clients,
            started.id,
            &opts,
            sink,
            cancel,
        ))
        .await
    }
}
