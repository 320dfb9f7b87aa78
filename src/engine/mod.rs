//! The engine: backends that run or follow builds and report them as [`BuildEvent`]s.
//!
//! Two backends implement [`Backend`]: [`local`] runs a buildspec in a Docker container through
//! bollard, [`cloud`] follows CodeBuild builds through the AWS SDK. Neither knows the TUI: they
//! only push events into an [`EventSink`], a bounded channel whose receiver is the headless
//! printer, the history recorder or the dashboard. The engine never imports ratatui.

pub mod batch;
pub mod cloud;
pub mod local;
pub mod mask;
mod sink;

pub use sink::{EventSink, LogBatcher};

use std::path::PathBuf;

use tokio_util::sync::CancellationToken;

use crate::model::{BackendKind, BuildOutcome};

/// What to build, as either backend understands it. Fields a backend cannot honour are
/// ignored by it (the cloud has no `mount_source`; a local build has no `source_version`).
#[derive(Clone, Debug, Default)]
pub struct BuildRequest {
    /// Project name (`CODEBUILD_BUILD_ID` is `<project>:<uuid>`).
    pub project: String,
    /// Local: the project directory copied into the container.
    pub source_dir: Option<PathBuf>,
    /// A buildspec file to use instead of the project's `buildspec.yml`.
    pub buildspec: Option<PathBuf>,
    /// Image override.
    pub image: Option<String>,
    /// Environment overrides (`--env`, StartBuild `environmentVariablesOverride`), highest
    /// precedence, literal values.
    pub env: Vec<(String, String)>,
    /// Values that must never be shown (from `--secret`): masked as `***` in every output.
    pub secrets: Vec<(String, String)>,
    /// Privileged mode (Docker-in-Docker).
    pub privileged: bool,
    /// A cloud build's `debugSessionEnabled` (`cloud start --debug-session`): a
    /// `codebuild-breakpoint` pauses it and its Session Manager target can be joined.
    pub debug_session: bool,
    /// Cloud: source version override.
    pub source_version: Option<String>,
    /// Local execution options.
    pub local: LocalOptions,
    /// Set when the build is one task of a batch.
    pub batch: Option<BatchContext>,
}

/// What a build run as one task of a batch knows about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchContext {
    /// The batch and this task's identifier (`CODEBUILD_BATCH_BUILD_IDENTIFIER`).
    pub member: crate::model::BatchMember,
    /// A fanout shard: `(number from 1, count)`, for `codebuild-tests-run`.
    pub shard: Option<(u32, u32)>,
    /// The build's id, chosen by the batch runner so the node knows it before the build
    /// starts.
    pub build_id: Option<crate::model::BuildId>,
}

/// When to pull the image.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PullPolicy {
    Always,
    #[default]
    Missing,
    Never,
}

/// When a local build's container is kept after the build, waiting for a resume or a shell.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Keep {
    /// Removed at the end (the default of `cbdash run`).
    #[default]
    Never,
    /// Kept when the build ended `FAILED` or `FAULT` (the dashboard, watch mode); removed otherwise.
    Failed,
    /// Always kept (`cbdash run --keep`).
    Always,
}

/// The idle time after which a kept container is removed, unless configured otherwise.
pub const DEFAULT_KEEP_IDLE: std::time::Duration = std::time::Duration::from_mins(30);

/// Options only a local build has.
#[derive(Clone, Debug)]
pub struct LocalOptions {
    pub pull: PullPolicy,
    /// Bind-mount the source instead of copying it.
    pub mount_source: bool,
    /// Mount the host's Docker socket into the build.
    pub docker_socket: bool,
    /// When the container outlives the build (for `cbdash resume` and `cbdash shell`).
    pub keep: Keep,
    /// How long a kept container may sit unused before any cbdash process removes it.
    pub keep_idle: std::time::Duration,
    /// Where artifacts go; default `.cbdash/artifacts/<build-id>/` in the project.
    pub artifacts_dir: Option<PathBuf>,
    /// Build timeout.
    pub timeout: std::time::Duration,
    /// tmpfs mounts (path, size such as `1m`): a testing aid for full disks (`--tmpfs`).
    pub tmpfs: Vec<(String, String)>,
    /// The project config's variables (`.cbdash.toml` `[env]`): above the buildspec's, below
    /// `BuildRequest::env`.
    pub project_env: Vec<(String, String)>,
    /// Docker inside a privileged build (see `local::dind`).
    pub dind: DindOptions,
    /// `--debug`: pause after the first failing command, before its phase ends (see
    /// `local::breakpoint`).
    pub debug: bool,
}

/// Docker inside a privileged local build.
#[derive(Clone, Debug)]
pub struct DindOptions {
    /// The inner `/var/lib/docker` lives in a per-project volume, so layers persist between
    /// runs (CodeBuild's `LOCAL_DOCKER_LAYER_CACHE`; `--no-layer-cache` turns it off).
    pub layer_cache: bool,
    /// How long the inner daemon may take to answer `docker info`.
    pub wait: std::time::Duration,
    /// A testing aid (never set by the CLI): start the image's daemon even without privileged
    /// mode, where it cannot work, to exercise the wait and the failure report on machines
    /// that cannot run privileged containers.
    pub start_unprivileged: bool,
}

impl Default for DindOptions {
    fn default() -> Self {
        Self {
            layer_cache: true,
            wait: local::dind::DEFAULT_WAIT,
            start_unprivileged: false,
        }
    }
}

impl Default for LocalOptions {
    fn default() -> Self {
        Self {
            pull: PullPolicy::Missing,
            mount_source: false,
            docker_socket: false,
            keep: Keep::Never,
            keep_idle: DEFAULT_KEEP_IDLE,
            artifacts_dir: None,
            timeout: std::time::Duration::from_hours(1),
            tmpfs: Vec::new(),
            project_env: Vec::new(),
            dind: DindOptions::default(),
            debug: false,
        }
    }
}

/// A project a backend knows about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProjectSummary {
    pub name: String,
    pub backend: BackendKind,
    /// Cloud: `profile/region` group; local: the directory.
    pub group: String,
    pub description: Option<String>,
}

/// Errors of the engine as a whole. A build that fails is not an error (it is a
/// `BuildOutcome` with status FAILED); these are the cases where no build outcome exists.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Local(#[from] local::LocalError),
    #[error(transparent)]
    Cloud(#[from] cloud::CloudError),
    #[error("the event receiver went away")]
    SinkClosed,
}

/// An error and every cause under it, `: `-joined (what anyhow's `{:#}` prints), for errors
/// shown without anyhow (the dashboard's flashes).
#[must_use]
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

/// A place builds run or are followed: the local Docker daemon or CodeBuild.
///
/// Only a driver (a headless command or the dashboard's executor) calls a backend; the UI sees
/// nothing but the events it emits. The futures are `Send`, so the dashboard runs every build
/// on a task of its own, never on the task that reads keys and draws; the executor is tested
/// through this trait with a fake backend.
pub trait Backend: Send + Sync + 'static {
    /// Which backend this is.
    fn kind(&self) -> BackendKind;
    /// Projects this backend can build or show.
    fn list_projects(
        &self,
    ) -> impl Future<Output = Result<Vec<ProjectSummary>, EngineError>> + Send;
    /// Run (local) or start and follow (cloud) a build until it ends or `cancel` fires,
    /// emitting every event into `sink`.
    fn run(
        &self,
        req: BuildRequest,
        sink: EventSink,
        cancel: CancellationToken,
    ) -> impl Future<Output = Result<BuildOutcome, EngineError>> + Send;
}
