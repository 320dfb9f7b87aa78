//! The local backend: runs a buildspec in a Docker container through the Docker Engine API
//! (bollard), with CodeBuild's phase, shell and environment semantics.
//!
//! How the pieces fit:
//! - [`run`] drives one build: it connects ([`docker`]), loads the buildspec, then asks the
//!   pure state machine [`plan`] which phase runs next and runs it ([`phases`], [`upload`]),
//!   under the timeout and the cancel token.
//! - Commands run through ONE long-lived exec per build ([`driver`]): each command is a
//!   script ([`script`]) that loads and saves the shell state in `/codebuild/output/tmp/env.sh`.
//! - [`envvars`] builds the environment (`CODEBUILD_*`, precedence, SSM/Secrets Manager),
//!   [`source`] the tars copied in, [`artifacts`] and [`upload`] what is copied out,
//!   [`cache`] the cache volumes, [`state`] the build counter.
//! - Everything leaves through [`emit::Emitter`], which masks secrets and batches lines.
//! - [`watchdog`] pings the daemon while a phase runs, so a daemon that goes away or stalls
//!   turns the build into a FAULT instead of a hang; cleanup calls are bounded too.

pub mod artifacts;
pub mod cache;
pub mod docker;
pub mod driver;
pub mod emit;
pub mod envvars;
mod phases;
pub mod plan;
pub mod run;
pub mod script;
pub mod source;
pub mod state;
mod upload;
pub mod watchdog;

pub use run::{DEFAULT_IMAGE, run_build};

use tokio_util::sync::CancellationToken;

use crate::engine::{Backend, BuildRequest, EngineError, EventSink, ProjectSummary};
use crate::model::{BackendKind, BuildOutcome};

/// Errors of the local backend: the cases where a build cannot even be run or reported. A
/// build whose commands fail is not an error but a FAILED outcome.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error(
        "no Docker daemon answered at '{host}': {reason}\n  \
         start Docker, or point DOCKER_HOST at a running daemon (unix://, tcp://, ssh://)"
    )]
    DockerUnavailable { host: String, reason: String },
    #[error("cannot pull image '{image}': {reason}")]
    Pull { image: String, reason: String },
    #[error("Docker container error: {0}")]
    Container(String),
    #[error("build shell error: {0}")]
    Exec(String),
    #[error("cannot read the source: {0}")]
    Source(String),
    #[error("artifacts: {0}")]
    Artifacts(String),
    #[error("the build container is gone")]
    NoContainer,
    #[error("the event receiver went away")]
    SinkClosed,
}

/// The local Docker backend.
#[derive(Clone, Copy, Debug, Default)]
pub struct LocalBackend;

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
