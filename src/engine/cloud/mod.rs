//! The cloud backend: lists CodeBuild projects and builds, follows a build's phases and its
//! CloudWatch log, and starts, retries and stops builds, through the AWS SDK.

/// Errors of the cloud backend.
#[derive(Debug, thiserror::Error)]
pub enum CloudError {
    #[error("AWS call '{operation}' failed: {message}")]
    Api { operation: String, message: String },
}
