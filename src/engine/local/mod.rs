//! The local backend: runs a buildspec in a Docker container through the Docker Engine API
//! (bollard), with CodeBuild's phase, shell and environment semantics.

/// Errors of the local backend.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error("no Docker daemon answered at '{host}': {reason}")]
    DockerUnavailable { host: String, reason: String },
}
