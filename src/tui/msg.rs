//! What flows into the reducer ([`Msg`]) and what comes out of it ([`Effect`]).
//!
//! The event loop turns terminal input into `Msg::Key`, the clock into `Msg::Tick`, and the executor
//! forwards backend `BuildEvent`s as `Msg::Build`. The reducer answers with `Effect`s: the
//! ones about builds (start, stop, shell) go to the executor, which owns the backends; the ones
//! about the terminal (clipboard, bell, saving a file) the event loop performs itself.

use std::path::PathBuf;

use chrono::{DateTime, Utc};

use super::keymap::Key;
use super::state::{PastBuild, ProjectKey};
use crate::model::{BatchId, BuildEvent, BuildId, DockerAccess, NoticeLevel, PhaseKind};

/// An input to [`super::update::update`].
#[derive(Clone, Debug)]
pub enum Msg {
    /// A key press (releases and repeats are dropped by the event loop).
    Key(Key),
    /// A backend event, as the pipeline forwards it (cache reports and regressions included:
    /// `BuildEvent::Cache`, `BuildEvent::Regression`). Its build's project is matched by name
    /// (and backend) when exactly one project has that name: what replayed events and tests
    /// send.
    Build(BuildEvent),
    /// A backend event of a build of `project`: what the executor sends, as it knows which
    /// project (group and all) it started or follows, so one name in two groups never mixes.
    ProjectBuild {
        project: ProjectKey,
        event: BuildEvent,
    },
    /// The clock: every time-dependent thing in the state is computed from this.
    Tick(DateTime<Utc>),
    /// The terminal's size changed.
    Resize { width: u16, height: u16 },
    /// Projects found (replaces the list for their groups).
    Projects(Vec<ProjectKey>),
    /// Past builds and per-phase medians of a project, from the history.
    History {
        project: ProjectKey,
        builds: Vec<PastBuild>,
        phase_medians: Vec<(PhaseKind, u64)>,
    },
    /// The layer-cache report of `build` (its Dockerfiles over their history), or why there
    /// is none; answers `Effect::LoadCacheReport`.
    CacheReport {
        build: BuildId,
        report: Result<Vec<crate::cache::CacheOverview>, String>,
    },
    /// The history of the steps of one docker build of `build` (each step over its
    /// Dockerfile's last builds, this one the newest), or why there is none; answers
    /// `Effect::LoadStepHistory`.
    StepHistory {
        build: BuildId,
        docker_build: u32,
        steps: Result<Vec<crate::cache::StepSeries>, String>,
    },
    /// Read the next slice of a search in progress (the event loop sends this to itself after
    /// `Effect::ContinueSearch`, so input is read between slices).
    ContinueSearch,
    /// A message for the status line (an effect failed, a feature is not available).
    Flash(NoticeLevel, String),
    /// Files of a watched project changed (and its buildspec, if it changed, is valid).
    FilesChanged { project: ProjectKey, files: usize },
    /// A local project's settings as its `.cbdash.toml` gives them (the image it runs on, the
    /// default one when the file names none, and its Docker access): what the run form starts
    /// from before the project has a build this session.
    Settings {
        project: ProjectKey,
        image: String,
        docker: DockerAccess,
    },
}

/// How much of a build to run again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunMode {
    /// A fresh build.
    Full,
    /// Resume `build` in place from its failed `phase` (a local build whose container was
    /// kept); the executor starts a fresh build, saying so, when that is not possible.
    FromFailedPhase { build: BuildId, phase: PhaseKind },
}

/// What a cloud build is started with instead of the project's settings.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct StartOverrides {
    pub source_version: Option<String>,
    /// Plaintext variables.
    pub env: Vec<(String, String)>,
    /// A local file sent as the buildspec override (validated before it is sent).
    pub buildspec: Option<PathBuf>,
    pub image: Option<String>,
}

/// What a local build is started with instead of its project's settings (the `R` form).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct LocalOverrides {
    pub image: Option<String>,
    /// How the build reaches Docker; `None` keeps the project's setting.
    pub docker: Option<DockerAccess>,
    /// Extra variables for this run, above the project's.
    pub env: Vec<(String, String)>,
    /// Pause after the first failing command, as `cbdash run --debug` (this run only).
    pub debug: bool,
    /// Also write `image` and `docker` into the project's `.cbdash.toml` (never variables
    /// given here, which may be secrets).
    pub save: bool,
}

/// An output of the reducer, performed by the event loop or the executor.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    /// Start a build of a project.
    StartBuild { project: ProjectKey, mode: RunMode },
    /// Start a fresh build of a local project with overrides (the `R` form).
    StartLocal {
        project: ProjectKey,
        overrides: LocalOverrides,
    },
    /// Stop a running build.
    StopBuild(BuildId),
    /// StartBuild of a cloud project with overrides.
    StartCloud {
        project: ProjectKey,
        overrides: StartOverrides,
    },
    /// RetryBuild on a finished cloud build, and follow the new build.
    RetryBuild { project: ProjectKey, build: BuildId },
    /// Resume a failed local batch in place, as `cbdash resume BATCH_ID` does: each failed
    /// build from its failed phase, then the dependents that were STOPPED.
    ResumeBatch {
        project: ProjectKey,
        batch_id: BatchId,
    },
    /// `RetryBuildBatch` on a finished cloud batch (`failed_only`: `RETRY_FAILED_BUILDS`, else
    /// `RETRY_ALL_BUILDS`), and follow it.
    RetryBatch {
        project: ProjectKey,
        batch_id: BatchId,
        failed_only: bool,
    },
    /// Follow a build that is not on screen yet (a cloud project's earlier or running
    /// build, opened from its builds list).
    FollowBuild { project: ProjectKey, build: BuildId },
    /// Run a cloud project's (or build's) image, variables and buildspec locally on the
    /// working tree, as the local project `local`.
    Reproduce {
        cloud: ProjectKey,
        build: Option<BuildId>,
        local: ProjectKey,
    },
    /// Open a shell in the build's container.
    OpenShell(BuildId),
    /// Join a cloud build's debug session: run this `aws ssm start-session` command line
    /// with the terminal (when the Session Manager plugin is installed).
    JoinDebugSession(String),
    /// Start (`on`) or stop watching a local project's files for changes.
    Watch { project: ProjectKey, on: bool },
    /// Load a project's history (past builds, phase medians).
    LoadHistory(ProjectKey),
    /// Load the layer-cache report of a build's Dockerfiles from the history (`dir`: its
    /// local project's directory, where the Dockerfile is read for the advice).
    LoadCacheReport {
        build: BuildId,
        dir: Option<PathBuf>,
    },
    /// Load the history of the steps of one docker build of `build` (the cache panel's
    /// sparklines and miss rates): asked when its finished report arrives.
    LoadStepHistory { build: BuildId, docker_build: u32 },
    /// Put text on the clipboard (OSC 52).
    Clipboard(String),
    /// Write a file (a saved log) at `path` under cbdash's data directory (never into a
    /// project, where a watched project would see it); the event loop flashes the full path.
    SaveFile { path: PathBuf, contents: String },
    /// Ring the bell and send an OSC 9 notification.
    Notify(String),
    /// Send `Msg::ContinueSearch` back after reading input.
    ContinueSearch,
    /// Leave the dashboard.
    Quit,
}

impl Effect {
    /// Whether the executor (which owns the backends) performs this effect, rather than the
    /// terminal event loop.
    #[must_use]
    pub const fn for_executor(&self) -> bool {
        matches!(
            self,
            Self::StartBuild { .. }
                | Self::StartLocal { .. }
                | Self::StartCloud { .. }
                | Self::StopBuild(_)
                | Self::RetryBuild { .. }
                | Self::ResumeBatch { .. }
                | Self::RetryBatch { .. }
                | Self::FollowBuild { .. }
                | Self::Reproduce { .. }
                | Self::OpenShell(_)
                | Self::JoinDebugSession(_)
                | Self::Watch { .. }
                | Self::LoadHistory(_)
                | Self::LoadCacheReport { .. }
                | Self::LoadStepHistory { .. }
        )
    }
}
