//! Acting on builds: StartBuild with overrides, RetryBuild, StopBuild.

use std::path::Path;

use aws_sdk_codebuild::types::{EnvironmentVariable, EnvironmentVariableType};

use super::CloudError;
use super::client::classify;
use super::snapshot::BuildSnapshot;
use crate::engine::BuildRequest;

/// Reads a buildspec override and checks it is a YAML mapping with a `version` key before
/// sending it: a typo is reported here with its position, not as a failed cloud build.
pub fn read_buildspec(path: &Path) -> Result<String, CloudError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        CloudError::InvalidInput(format!("cannot read buildspec {}: {e}", path.display()))
    })?;
    check_buildspec(&text)
        .map_err(|m| CloudError::InvalidInput(format!("{}: {m}", path.display())))?;
    Ok(text)
}

/// The same validation as `cbdash validate`: the first error, rendered with its line, column,
/// snippet and hint, refuses the override before anything is sent.
pub fn check_buildspec(text: &str) -> Result<(), String> {
    crate::buildspec::parse(text)
        .map(|_| ())
        .map_err(|diagnostics| {
            diagnostics
                .iter()
                .find(|d| d.severity == crate::buildspec::Severity::Error)
                .or(diagnostics.first())
                .map_or_else(|| "invalid buildspec".to_owned(), |d| d.render("buildspec"))
        })
}

/// StartBuild with the overrides in `req`; `buildspec` is the override's text.
pub async fn start_build(
    cb: &aws_sdk_codebuild::Client,
    req: &BuildRequest,
    buildspec: Option<String>,
) -> Result<BuildSnapshot, CloudError> {
    let env = env_overrides(req)?;
    let mut call = cb
        .start_build()
        .project_name(&req.project)
        .set_source_version(req.source_version.clone())
        .set_buildspec_override(buildspec)
        .set_image_override(req.image.clone());
    if !env.is_empty() {
        call = call.set_environment_variables_override(Some(env));
    }
    if req.privileged {
        call = call.privileged_mode_override(true);
    }
    if req.debug_session {
        call = call.debug_session_enabled(true);
    }
    let out = call
        .send()
        .await
        .map_err(|e| classify("StartBuild", "", &e))?;
    build_of(out.build_value(), "StartBuild")
}

/// `req`'s variables as plaintext `environmentVariablesOverride` entries (StartBuild and
/// StartBuildBatch alike).
pub fn env_overrides(req: &BuildRequest) -> Result<Vec<EnvironmentVariable>, CloudError> {
    req.env
        .iter()
        .map(|(k, v)| {
            EnvironmentVariable::builder()
                .name(k)
                .value(v)
                .r#type(EnvironmentVariableType::Plaintext)
                .build()
                .map_err(|e| CloudError::InvalidInput(format!("environment variable {k}: {e}")))
        })
        .collect()
}

/// RetryBuild: a new build with the same settings as the finished `id`.
pub async fn retry_build(
    cb: &aws_sdk_codebuild::Client,
    id: &str,
) -> Result<BuildSnapshot, CloudError> {
    let out = cb
        .retry_build()
        .id(id)
        .idempotency_token(uuid::Uuid::new_v4().to_string())
        .send()
        .await
        .map_err(|e| classify("RetryBuild", "", &e))?;
    build_of(out.build_value(), "RetryBuild")
}

/// StopBuild on a running build.
pub async fn stop_build(
    cb: &aws_sdk_codebuild::Client,
    id: &str,
) -> Result<BuildSnapshot, CloudError> {
    let out = cb
        .stop_build()
        .id(id)
        .send()
        .await
        .map_err(|e| classify("StopBuild", "", &e))?;
    build_of(out.build_value(), "StopBuild")
}

fn build_of(
    b: Option<&aws_sdk_codebuild::types::Build>,
    op: &str,
) -> Result<BuildSnapshot, CloudError> {
    b.map(BuildSnapshot::from_sdk)
        .ok_or_else(|| CloudError::Api {
            operation: op.into(),
            message: "the response holds no build".into(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buildspec_overrides_are_checked() {
        assert!(check_buildspec("version: 0.2\nphases:\n  build:\n    commands: [make]\n").is_ok());
        assert!(
            check_buildspec("phases: {}\n")
                .expect_err("rejected")
                .contains("version")
        );
        assert!(
            check_buildspec("- a\n")
                .expect_err("rejected")
                .contains("mapping")
        );
        let e = check_buildspec("version: 0.2\nphases: [\n").expect_err("rejected");
        assert!(
            e.starts_with("buildspec:2:"),
            "the position of the error: {e}"
        );
        let e =
            check_buildspec("version: 0.2\nphases:\n  build:\n    commands:\n      - echo a: b\n")
                .expect_err("rejected");
        assert!(e.starts_with("buildspec:5:"), "{e}");
        assert!(e.contains("must be quoted"), "the validator's hint: {e}");
    }
}
