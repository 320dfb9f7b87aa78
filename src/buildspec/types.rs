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

/// `batch:`: the builds a batch run makes of this buildspec (see `buildspec::batch` for the
/// expansion into tasks and the graph checks).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Batch {
    /// Where `batch:` is (errors about the whole section point here).
    pub pos: Pos,
    pub fast_fail: bool,
    /// The one build type given (`build-graph` ...); `None` when the section names none.
    pub kind: Option<crate::model::BatchKind>,
    /// Where the build type's key is (`batch:` when there is none).
    pub kind_pos: Pos,
    /// Where `version` is when the file writes it as a string (`"0.2"`), which CodeBuild's
    /// batch runs reject; `None` when it is a number.
    pub version_string: Option<Pos>,
    /// `build-list` / `build-graph` tasks, in file order.
    pub tasks: Vec<BatchTask>,
    /// `build-matrix`.
    pub matrix: Option<Matrix>,
    /// `build-fanout`.
    pub fanout: Option<Fanout>,
}

/// One task of a `build-list` or `build-graph` (and, after expansion, of every kind).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct BatchTask {
    pub identifier: String,
    /// Where the task's `identifier` is.
    pub pos: Pos,
    /// The task's own buildspec, relative to the source directory; `None`: this file.
    pub buildspec: Option<String>,
    /// Where the `buildspec` value is (the task's `pos` when it has none).
    pub buildspec_pos: Pos,
    pub env: TaskEnv,
    pub ignore_failure: bool,
    /// `depend-on` (graph only), with the position of each name.
    pub depend_on: Vec<(String, Pos)>,
    pub debug_session: bool,
    /// For generated builds (matrix, fanout): what tells this one apart, for people.
    pub label: Option<String>,
}

/// A task's `env` overrides.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct TaskEnv {
    pub image: Option<String>,
    pub privileged_mode: Option<bool>,
    /// Like StartBuild's `environmentVariablesOverride`: above the project's and the
    /// buildspec's variables.
    pub variables: Vec<(String, String)>,
    /// Recorded, not applied locally (one machine has one compute type).
    pub compute_type: Option<String>,
    pub fleet: Option<String>,
    pub env_type: Option<String>,
}

/// `build-matrix`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Matrix {
    /// Where the `build-matrix` key is.
    pub pos: Pos,
    pub ignore_failure: bool,
    /// `static.env.privileged-mode` (the only `static.env` key CodeBuild applies besides `type`).
    pub privileged_mode: Option<bool>,
    pub env_type: Option<String>,
    /// `dynamic.buildspec`, with the position of each entry.
    pub buildspecs: Vec<(String, Pos)>,
    /// `dynamic.env.compute-type`.
    pub compute_types: Vec<String>,
    /// `dynamic.env.image`.
    pub images: Vec<String>,
    /// `dynamic.env.variables`: one axis per variable, in file order.
    pub variables: Vec<(String, Vec<String>)>,
}

/// `build-fanout`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Fanout {
    /// Where `parallelism` is (the `build-fanout` key when it is missing).
    pub pos: Pos,
    /// 0 when missing or not above 0 (an error in batch mode).
    pub parallelism: u32,
    pub ignore_failure: bool,
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
