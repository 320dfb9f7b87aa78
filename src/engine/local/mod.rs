//! The local backend: runs a buildspec in a Docker container through the Docker Engine API
//! (bollard), with CodeBuild's phase, shell and environment semantics.
//!
//! How the pieces fit:
//! - [`run`] drives one build: it connects ([`docker`]), loads the buildspec, then asks the
//!   pure state machine [`plan`] which phase runs next and runs it ([`phases`], [`upload`]),
//!   under the timeout and the cancel token.
//! - Commands run through ONE long-lived exec per build ([`driver`]): each command is a
//!   script ([`script`]) that loads and saves the shell state in `/codebuild/output/tmp/env.sh`.
//! - [`images`] turns CodeBuild's image names into the public images AWS publishes, or
//!   stops a run that names one AWS does not publish; [`dind`] starts the image's own Docker
//!   daemon in a privileged build and keeps its layers in a cache volume.
//! - [`envvars`] builds the environment (`CODEBUILD_*`, precedence, SSM/Secrets Manager),
//!   [`source`] the tars copied in, [`artifacts`] and [`upload`] what is copied out (and
//!   [`reports`] the `reports:` groups, parsed by [`crate::reports`]),
//!   [`cache`] the cache volumes, [`state`] the build counter, [`exported`] the values of
//!   `env.exported-variables` read from the saved shell state when the build ends.
//! - [`install`] runs `runtime-versions` at the start of INSTALL from the image's runtime table
//!   ([`runtimes`], pure); [`helpers`] are the `codebuild-*` commands copied into every build;
//!   [`cache_keys`] evaluates `cache.key`, restores at `DOWNLOAD_SOURCE` and saves after
//!   `UPLOAD_ARTIFACTS`.
//! - [`steps`] drives the machine for a build and for a resume: it saves the shell state at the
//!   start of every phase ([`script::snapshot`]) and numbers attempts across resumes.
//! - A failed build can be kept ([`crate::engine::Keep`]): its container stays, labelled, and
//!   [`kept`] records what a resume needs; [`locate`] finds kept builds by id and removes
//!   containers whose idle time passed or whose process died; [`resume`] re-runs a phase in
//!   place; [`shell`] opens an interactive shell in the container.
//! - Everything leaves through [`emit::Emitter`], which masks secrets and batches lines.
//! - [`watchdog`] pings the daemon while a phase runs, so a daemon that goes away or stalls
//!   turns the build into a FAULT instead of a hang; cleanup calls are bounded too.

pub mod artifacts;
pub mod batch;
pub mod batch_record;
pub mod breakpoint;
pub mod cache;
mod cache_keys;
pub mod dind;
pub mod docker;
pub mod driver;
pub mod emit;
pub mod envvars;
pub mod exported;
pub mod helpers;
pub mod images;
mod install;
pub mod kept;
pub mod locate;
mod phases;
pub mod plan;
mod reports;
pub mod resume;
pub mod run;
pub mod runtimes;
pub mod script;
pub mod shell;
pub mod source;
pub mod state;
mod steps;
mod upload;
pub mod watchdog;

pub use resume::ResumeRequest;
pub use run::{DEFAULT_IMAGE, run_build};
pub use shell::{ShellRequest, ShellSession};

use tokio_util::sync::CancellationToken;

use crate::engine::{Backend, BuildRequest, EngineError, EventSink, ProjectSummary};
use crate::model::{BackendKind, BuildOutcome};

/// The error underneath a [`LocalError`] (bollard's, io's, a task's, or the daemon's own
/// message), kept as it is so `{:#}` prints the whole chain and callers can downcast it.
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// `: what`, or nothing for an empty `what` (the source then follows the variant's words).
fn colon(what: &str) -> String {
    if what.is_empty() {
        String::new()
    } else {
        format!(": {what}")
    }
}

/// Errors of the local backend: the cases where a build cannot even be run or reported. A
/// build whose commands fail is not an error but a FAILED outcome. Errors from below (Docker,
/// files) are kept as their [`Cause`], not as strings.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error(
        "no Docker daemon answered at '{host}' (start Docker, or point DOCKER_HOST at a running \
         daemon: unix://, tcp://, ssh://)"
    )]
    DockerUnavailable {
        host: String,
        #[source]
        source: Cause,
    },
    #[error("cannot pull image '{image}'")]
    Pull {
        image: String,
        #[source]
        source: Cause,
    },
    #[error("Docker container error{}", colon(what))]
    Container {
        what: String,
        #[source]
        source: Option<Cause>,
    },
    #[error("build shell error{}", colon(what))]
    Exec {
        what: String,
        #[source]
        source: Option<Cause>,
    },
    #[error("cannot read the source{}", colon(what))]
    Source {
        what: String,
        #[source]
        source: Option<Cause>,
    },
    #[error("artifacts{}", colon(what))]
    Artifacts {
        what: String,
        #[source]
        source: Option<Cause>,
    },
    #[error("the build container is gone")]
    NoContainer,
    #[error("the event receiver went away")]
    SinkClosed,
    /// No container has the build id: it was removed after its idle time, was never kept, or
    /// the id is unknown (the engine cannot tell; the commands ask the history). `kept` lists
    /// the builds that are kept now.
    #[error(
        "the container of build '{build_id}' is gone (removed after its idle time, or the \
         build was not kept): start a fresh build (`cbdash run`; `--keep` keeps the next one)"
    )]
    ContainerGone { build_id: String, kept: Vec<String> },
    /// The build exists but cannot be resumed as asked.
    #[error("cannot resume: {0}")]
    NotResumable(String),
    /// The buildspec on disk does not parse (rendered diagnostics, `file:line:col`).
    #[error("invalid buildspec\n{0}")]
    InvalidBuildspec(String),
    /// A CodeBuild image name that cannot run locally, with what to do (see [`images`]).
    #[error(transparent)]
    Image(#[from] images::ImageError),
}

/// The local Docker backend.
#[derive(Clone, Copy, Debug, Default)]
pub struct LocalBackend;

/// What a backend with kept builds can do besides running them (the local one): the driver
/// of the dashboard and the headless commands call these.
pub trait KeptBuilds: Send + Sync + 'static {
    /// Resumes a kept build in place (see [`resume`]): re-runs `req.phase` (default: the
    /// failed one) and what follows it, emitting the build's events under its own id.
    fn resume(
        &self,
        req: ResumeRequest,
        sink: EventSink,
        cancel: CancellationToken,
    ) -> impl Future<Output = Result<BuildOutcome, EngineError>> + Send;

    /// Opens an interactive shell in a kept build's container (see [`shell`]).
    fn open_shell(
        &self,
        req: &ShellRequest,
    ) -> impl Future<Output = Result<ShellSession, EngineError>> + Send;

    /// Removes a kept build's container and record (the user left it); `false` when there
    /// was none.
    fn discard(&self, build_id: &str) -> impl Future<Output = Result<bool, EngineError>> + Send;

    /// Removes kept containers whose idle time has passed and containers of dead cbdash
    /// processes (a long-lived dashboard calls this now and then). Returns how many went.
    fn expire_kept(&self) -> impl Future<Output = Result<usize, EngineError>> + Send;
}

impl KeptBuilds for LocalBackend {
    async fn resume(
        &self,
        req: ResumeRequest,
        sink: EventSink,
        cancel: CancellationToken,
    ) -> Result<BuildOutcome, EngineError> {
        Ok(Box::pin(resume::resume_build(req, sink, cancel)).await?)
    }

    async fn open_shell(&self, req: &ShellRequest) -> Result<ShellSession, EngineError> {
        Ok(shell::open_shell(req).await?)
    }

    async fn discard(&self, build_id: &str) -> Result<bool, EngineError> {
        let docker = docker::connect().await?;
        Ok(locate::discard(&docker, build_id).await?)
    }

    async fn expire_kept(&self) -> Result<usize, EngineError> {
        let docker = docker::connect().await?;
        Ok(locate::remove_stale(&docker).await?)
    }
}

impl LocalError {
    /// A Docker call about `what` (may be empty) failed with `source`.
    pub(crate) fn container(what: impl Into<String>, source: impl Into<Cause>) -> Self {
        Self::Container {
            what: what.into(),
            source: Some(source.into()),
        }
    }

    /// The build shell (an exec) failed with `source`.
    pub(crate) fn exec(what: impl Into<String>, source: impl Into<Cause>) -> Self {
        Self::Exec {
            what: what.into(),
            source: Some(source.into()),
        }
    }

    /// The build shell did something unexpected; no error underneath.
    pub(crate) fn exec_msg(what: impl Into<String>) -> Self {
        Self::Exec {
            what: what.into(),
            source: None,
        }
    }

    /// Reading or copying the source failed with `source`.
    pub(crate) fn source_io(what: impl Into<String>, source: impl Into<Cause>) -> Self {
        Self::Source {
            what: what.into(),
            source: Some(source.into()),
        }
    }

    /// The source cannot be used; no error underneath.
    pub(crate) fn source_msg(what: impl Into<String>) -> Self {
        Self::Source {
            what: what.into(),
            source: None,
        }
    }

    /// Selecting or copying the artifacts failed with `source`.
    pub(crate) fn artifacts(what: impl Into<String>, source: impl Into<Cause>) -> Self {
        Self::Artifacts {
            what: what.into(),
            source: Some(source.into()),
        }
    }

    /// Whether this says the build cannot be resumed (its container is gone, it was not
    /// kept, or the phase cannot be resumed): a fresh build is the way on.
    #[must_use]
    pub const fn needs_fresh_build(&self) -> bool {
        matches!(self, Self::ContainerGone { .. } | Self::NotResumable(_))
    }
}

impl Backend for LocalBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Local
    }

    async fn list_projects(&self) -> Result<Vec<ProjectSummary>, EngineError> {
        Ok(Vec::new())
    }

    async fn run(
        &self,
        req: BuildRequest,
        sink: EventSink,
        cancel: CancellationToken,
    ) -> Result<BuildOutcome, EngineError> {
        Ok(Box::pin(run_build(req, sink, cancel)).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_local_error_keeps_its_source_and_prints_the_whole_chain() {
        let io = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "permission denied");
        let e = LocalError::source_io("/p/a.txt", io);
        // The real error underneath, not a string.
        let source = std::error::Error::source(&e).expect("a source");
        assert_eq!(
            source
                .downcast_ref::<std::io::Error>()
                .map(std::io::Error::kind),
            Some(std::io::ErrorKind::PermissionDenied)
        );
        assert_eq!(e.to_string(), "cannot read the source: /p/a.txt");
        let any = anyhow::Error::from(EngineError::from(e));
        assert_eq!(
            format!("{any:#}"),
            "cannot read the source: /p/a.txt: permission denied"
        );
        // Without anyhow (the dashboard's flashes): the same chain.
        let e = LocalError::DockerUnavailable {
            host: "unix:///nonexistent".into(),
            source: "connection refused".into(),
        };
        let text = crate::engine::error_chain(&e);
        assert!(
            text.starts_with("no Docker daemon answered at 'unix:///nonexistent'")
                && text.ends_with(": connection refused"),
            "{text}"
        );
        // A message with nothing underneath prints as it is.
        assert_eq!(
            LocalError::exec_msg("the shell did not attach").to_string(),
            "build shell error: the shell did not attach"
        );
    }
}
