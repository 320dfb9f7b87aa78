//! The parsed, checked buildspec: what the engine runs.
//!
//! These are plain types with no serde attributes: `parse.rs` reads YAML into its own raw
//! structs (which mirror the file, with positions) and lowers them into these, so that the
//! engine never sees YAML quirks (`yes`/`no` booleans, a string where a list was expected).

use std::collections::BTreeMap;

use crate::model::PhaseKind;

/// A position in the buildspec file, 1-based.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
}

/// Buildspec `version`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    /// 0.1: every command runs in a fresh shell.
    V01,
    /// 0.2: one shell state (`cd`, `export`) carries over between commands and phases.
    V02,
}

/// The shell commands run in (`env.shell`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Shell {
    /// CodeBuild's default on Linux: `/bin/sh` (dash on the Ubuntu images).
    Sh,
    Bash,
    /// Windows shells (`powershell.exe`, `cmd.exe`), which a Linux container cannot run.
    Other(String),
}

/// One command with the position of its text in the buildspec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    pub text: String,
    pub pos: Pos,
}

/// `on-failure` of a phase.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum OnFailure {
    /// Unset: CodeBuild's default transitions.
    #[default]
    Default,
    Abort,
    Continue,
    /// `RETRY`, `RETRY-<count>`, `RETRY-<regex>`, `RETRY-<count>-<regex>`. `count` defaults to
    /// 3 and `pattern` to `.*`; the pattern is matched against the failed command's error
    /// message.
    Retry {
        count: u32,
        pattern: Option<String>,
    },
}

/// One of the four command phases.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Phase {
    pub run_as: Option<String>,
    pub on_failure: OnFailure,
    /// `runtime-versions`: runtime → version, in file order (the order they install in).
    pub runtime_versions: Vec<(String, String)>,
    pub commands: Vec<Command>,
    pub finally: Vec<Command>,
    /// Where the phase key is in the file.
    pub pos: Pos,
}

/// `env`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Env {
    pub shell: Shell,
    /// `env.variables`, literal values, in file order.
    pub variables: Vec<(String, String)>,
    /// `env.parameter-store`: local name → SSM parameter name.
    pub parameter_store: Vec<(String, String)>,
    /// `env.secrets-manager`: local name → `secret-id[:json-key[:version-stage[:version-id]]]`.
    pub secrets_manager: Vec<(String, String)>,
    pub exported_variables: Vec<String>,
    pub git_credential_helper: bool,
}

impl Default for Env {
    fn default() -> Self {
        Self {
            shell: Shell::Sh,
            variables: Vec::new(),
            parameter_store: Vec::new(),
            secrets_manager: Vec::new(),
            exported_variables: Vec::new(),
            git_credential_helper: false,
        }
    }
}

/// A primary or secondary artifact.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Artifact {
    pub files: Vec<String>,
    /// Shell-evaluated at build time.
    pub name: Option<String>,
    pub base_directory: Option<String>,
    pub discard_paths: bool,
    pub exclude_paths: Vec<String>,
    pub enable_symlinks: bool,
    pub s3_prefix: Option<String>,
}

/// `artifacts`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Artifacts {
    pub primary: Artifact,
    /// `secondary-artifacts`, by identifier.
    pub secondary: BTreeMap<String, Artifact>,
}

/// A report group.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Report {
    pub files: Vec<String>,
    pub base_directory: Option<String>,
    pub discard_paths: bool,
    pub file_format: String,
}

/// `cache.action`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum CacheAction {
    #[default]
    RestoreAndSave,
    Restore,
    Save,
}

/// `cache`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Cache {
    pub paths: Vec<String>,
    pub key: Option<String>,
    pub fallback_keys: Vec<String>,
    pub action: CacheAction,
}

/// A batch build kind (`batch:`): recognised, reported, not run locally.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Batch {
    pub fast_fail: bool,
    /// `build-list`, `build-matrix`, `build-graph` or `build-fanout`.
    pub kind: Option<String>,
}

/// A whole buildspec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Buildspec {
    pub version: Version,
    pub run_as: Option<String>,
    pub env: Env,
    pub phases: BTreeMap<PhaseKind, Phase>,
    pub artifacts: Option<Artifacts>,
    pub reports: BTreeMap<String, Report>,
    pub cache: Option<Cache>,
    pub batch: Option<Batch>,
}

impl Buildspec {
    /// The phase of that kind, if the buildspec defines it.
    #[must_use]
    pub fn phase(&self, kind: PhaseKind) -> Option<&Phase> {
        self.phases.get(&kind)
    }
}
