//! CodeBuild's phase and status enumerations, named as the API names them
//! (`BuildPhaseType` and `StatusType` in the CodeBuild API model).

use serde::{Deserialize, Serialize};
use std::fmt;

/// A build phase, in the order CodeBuild runs them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PhaseKind {
    Submitted,
    Queued,
    Provisioning,
    DownloadSource,
    Install,
    PreBuild,
    Build,
    PostBuild,
    UploadArtifacts,
    Finalizing,
    Completed,
}

impl PhaseKind {
    /// Every phase, in execution order.
    pub const ALL: [Self; 11] = [
        Self::Submitted,
        Self::Queued,
        Self::Provisioning,
        Self::DownloadSource,
        Self::Install,
        Self::PreBuild,
        Self::Build,
        Self::PostBuild,
        Self::UploadArtifacts,
        Self::Finalizing,
        Self::Completed,
    ];

    /// The four phases a buildspec defines commands for.
    pub const BUILDSPEC: [Self; 4] = [Self::Install, Self::PreBuild, Self::Build, Self::PostBuild];

    /// The API name, for example `PRE_BUILD`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Submitted => "SUBMITTED",
            Self::Queued => "QUEUED",
            Self::Provisioning => "PROVISIONING",
            Self::DownloadSource => "DOWNLOAD_SOURCE",
            Self::Install => "INSTALL",
            Self::PreBuild => "PRE_BUILD",
            Self::Build => "BUILD",
            Self::PostBuild => "POST_BUILD",
            Self::UploadArtifacts => "UPLOAD_ARTIFACTS",
            Self::Finalizing => "FINALIZING",
            Self::Completed => "COMPLETED",
        }
    }

    /// Parses an API name; unknown names (a newer API) give `None` rather than an error,
    /// so that a dashboard never fails on a phase it does not know yet.
    #[must_use]
    pub fn from_api(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == name)
    }

    /// The buildspec key of a command phase (`pre_build`), if this is one.
    #[must_use]
    pub const fn buildspec_key(self) -> Option<&'static str> {
        match self {
            Self::Install => Some("install"),
            Self::PreBuild => Some("pre_build"),
            Self::Build => Some("build"),
            Self::PostBuild => Some("post_build"),
            _ => None,
        }
    }
}

impl fmt::Display for PhaseKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Status of a phase or of a whole build (`StatusType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    Succeeded,
    Failed,
    Fault,
    TimedOut,
    InProgress,
    Stopped,
}

impl Status {
    /// The API name, for example `TIMED_OUT`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "SUCCEEDED",
            Self::Failed => "FAILED",
            Self::Fault => "FAULT",
            Self::TimedOut => "TIMED_OUT",
            Self::InProgress => "IN_PROGRESS",
            Self::Stopped => "STOPPED",
        }
    }

    /// Parses an API name.
    #[must_use]
    pub fn from_api(name: &str) -> Option<Self> {
        [
            Self::Succeeded,
            Self::Failed,
            Self::Fault,
            Self::TimedOut,
            Self::InProgress,
            Self::Stopped,
        ]
        .into_iter()
        .find(|s| s.as_str() == name)
    }

    /// Whether this status ends a build or phase.
    #[must_use]
    pub const fn is_terminal(self) -> bool {
        !matches!(self, Self::InProgress)
    }

    /// The process exit code `cbdash` uses for a build that ended with this status:
    /// 0 succeeded, 1 failed/timed out/stopped, 3 infrastructure fault.
    #[must_use]
    pub const fn exit_code(self) -> u8 {
        match self {
            Self::Succeeded => 0,
            Self::Fault => 3,
            Self::Failed | Self::TimedOut | Self::Stopped | Self::InProgress => 1,
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The status codes CodeBuild puts in a phase context.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusCode {
    CommandExecutionError,
    YamlFileError,
    ClientError,
    DecryptedVariablesError,
    BuildTimedOut,
    BuildStopped,
}

impl StatusCode {
    /// The code as CodeBuild writes it.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::CommandExecutionError => "COMMAND_EXECUTION_ERROR",
            Self::YamlFileError => "YAML_FILE_ERROR",
            Self::ClientError => "CLIENT_ERROR",
            Self::DecryptedVariablesError => "Decrypted Variables Error",
            Self::BuildTimedOut => "BUILD_TIMED_OUT",
            Self::BuildStopped => "BUILD_STOPPED",
        }
    }
}

/// `phases[].contexts[]`: why a phase ended as it did. A successful phase has an empty one.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhaseContext {
    pub status_code: String,
    pub message: String,
}

impl PhaseContext {
    /// A context with a known status code.
    #[must_use]
    pub fn new(code: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status_code: code.as_str().to_owned(),
            message: message.into(),
        }
    }

    /// Whether this is the empty context of a successful phase.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.status_code.is_empty() && self.message.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phase_names_round_trip() {
        for p in PhaseKind::ALL {
            assert_eq!(PhaseKind::from_api(p.as_str()), Some(p));
        }
        assert_eq!(PhaseKind::from_api("NOT_A_PHASE"), None);
    }

    #[test]
    fn phases_are_ordered_as_codebuild_runs_them() {
        let mut sorted = PhaseKind::ALL;
        sorted.sort();
        assert_eq!(sorted, PhaseKind::ALL);
        assert!(PhaseKind::Install < PhaseKind::PostBuild);
    }

    #[test]
    fn serde_uses_api_names() {
        let json = serde_json::to_string(&PhaseKind::PreBuild).expect("serialize");
        assert_eq!(json, "\"PRE_BUILD\"");
        let json = serde_json::to_string(&Status::TimedOut).expect("serialize");
        assert_eq!(json, "\"TIMED_OUT\"");
    }

    #[test]
    fn exit_codes_follow_the_contract() {
        assert_eq!(Status::Succeeded.exit_code(), 0);
        assert_eq!(Status::Failed.exit_code(), 1);
        assert_eq!(Status::TimedOut.exit_code(), 1);
        assert_eq!(Status::Stopped.exit_code(), 1);
        assert_eq!(Status::Fault.exit_code(), 3);
    }
}
