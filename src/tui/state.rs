//! Everything the dashboard shows, as plain data. The reducer ([`super::update`]) is the only
//! writer; the views only read it. Time is whatever the last `Msg::Tick` said, so a state
//! built by replaying recorded events renders the same screen every time.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use chrono::{DateTime, Utc};

use super::batch::{Batch, BatchView};
use super::logbuf::LogStore;
use super::logview::LogView;
use crate::model::{
    BackendKind, BatchId, BuildId, Diagnosis, DockerAccess, NoticeLevel, PhaseContext, PhaseKind,
    Status, TestReport,
};

/// Where a project lives: the local group or one cloud profile + region.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Group {
    Local,
    Cloud { profile: String, region: String },
}

impl fmt::Display for Group {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Local => f.write_str("Local"),
            Self::Cloud { profile, region } => write!(f, "Cloud {profile}/{region}"),
        }
    }
}

/// A project, as the executor names it.
///
/// Its identity is its group and its name, and nothing else: equality, hashing and order
/// (every map keyed by project, in the reducer and in the executor) use `(group, name)`. So two
/// cloud projects with one name in two profiles or regions are two projects, and a local
/// project is one name, as the run history keys it (`dir` is where it lives: data the
/// executor needs, not part of who it is; a key made without it still names the same project).
#[derive(Clone, Debug)]
pub struct ProjectKey {
    pub name: String,
    pub group: Group,
    /// Local: the project directory.
    pub dir: Option<PathBuf>,
}

impl ProjectKey {
    /// What identifies the project.
    fn identity(&self) -> (&Group, &str) {
        (&self.group, &self.name)
    }
}

impl PartialEq for ProjectKey {
    fn eq(&self, other: &Self) -> bool {
        self.identity() == other.identity()
    }
}

impl Eq for ProjectKey {}

impl std::hash::Hash for ProjectKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.identity().hash(state);
    }
}

impl PartialOrd for ProjectKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ProjectKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.identity().cmp(&other.identity())
    }
}

impl ProjectKey {
    /// Local or cloud.
    #[must_use]
    pub const fn backend(&self) -> BackendKind {
        match self.group {
            Group::Local => BackendKind::Local,
            Group::Cloud { .. } => BackendKind::Cloud,
        }
    }
}

/// A build from the history (or a cloud project's recent builds).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PastBuild {
    pub build_id: BuildId,
    pub status: Status,
    pub started: DateTime<Utc>,
    pub duration_ms: u64,
}

/// A project in the left pane.
#[derive(Clone, Debug)]
pub struct Project {
    pub key: ProjectKey,
    /// Builds seen this session, oldest first.
    pub builds: Vec<BuildId>,
    /// Past builds from the history, newest first.
    pub history: Vec<PastBuild>,
    /// Median phase durations from the history, for the running phase's progress bar.
    pub phase_medians: BTreeMap<PhaseKind, u64>,
    /// A local project's image and Docker access from its `.cbdash.toml` (`Msg::Settings`).
    pub settings: Option<(String, DockerAccess)>,
}

impl Project {
    /// Recent build durations, oldest first (the sparkline).
    #[must_use]
    pub fn durations(&self, builds: &BTreeMap<BuildId, Build>) -> Vec<u64> {
        // A past build opened this session (a cloud project's newest) counts once.
        let mut d: Vec<u64> = self
            .history
            .iter()
            .rev()
            .filter(|b| !self.builds.contains(&b.build_id))
            .map(|b| b.duration_ms)
            .collect();
        d.extend(
            self.builds
                .iter()
                .filter_map(|id| builds.get(id))
                .filter_map(|b| b.duration_ms),
        );
        let skip = d.len().saturating_sub(12);
        d.split_off(skip)
    }

    /// The newest build's status (session first, then history).
    #[must_use]
    pub fn last_status(&self, builds: &BTreeMap<BuildId, Build>) -> Option<Status> {
        self.builds
            .last()
            .and_then(|id| builds.get(id))
            .map(|b| b.status)
            .or_else(|| self.history.first().map(|b| b.status))
    }
}

/// One attempt of one phase.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PhaseRow {
    pub kind: PhaseKind,
    pub attempt: u32,
    pub status: Status,
    pub started: DateTime<Utc>,
    pub duration_ms: Option<u64>,
    pub context: PhaseContext,
    /// Set when the history says this phase ran markedly slower than usual.
    pub regression: Option<String>,
}

pub use super::cache_panel::{CacheSummary, StepLine, StepTrend};

/// A build and everything known about it.
#[derive(Debug)]
pub struct Build {
    pub id: BuildId,
    /// The project's name, as the build's events say it.
    pub project: String,
    /// The project the build belongs to, when known (the executor says which; a replayed event
    /// names only a project, which is matched when exactly one project has that name).
    pub key: Option<ProjectKey>,
    pub backend: BackendKind,
    pub image: String,
    /// How its `docker` commands reach a daemon (the title says it).
    pub docker: DockerAccess,
    pub started: DateTime<Utc>,
    /// When it ended (`Finished`): the clock of its phases stops here, whatever comes late.
    pub ended: Option<DateTime<Utc>>,
    pub status: Status,
    pub duration_ms: Option<u64>,
    pub phases: Vec<PhaseRow>,
    pub log: LogStore,
    pub caches: Vec<CacheSummary>,
    /// The latest warning/notice (a throttled poll), shown under the timeline.
    pub notice: Option<(NoticeLevel, String)>,
    /// Known failures recognised in the log, in the order found.
    pub diagnoses: Vec<Diagnosis>,
    /// Its test and coverage reports, one per report group (the Reports panel).
    pub reports: Vec<TestReport>,
    /// Paused at a breakpoint, or a cloud debug session to join (`e` steps in).
    pub debug: Option<super::debug::DebugStop>,
}

impl Build {
    /// Whether this is a build of `key`: by the project the executor named; a build whose
    /// project was not named (a replayed event) by its name and backend.
    #[must_use]
    pub fn belongs_to(&self, key: &ProjectKey) -> bool {
        self.key.as_ref().map_or_else(
            || self.project == key.name && self.backend == key.backend(),
            |k| k == key,
        )
    }

    /// The clock of this build's phases: now while it runs, its end once it ended (a
    /// finished build's rows never keep counting).
    #[must_use]
    pub fn clock(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        self.ended.unwrap_or(now)
    }

    /// The phase that is running, if any.
    #[must_use]
    pub fn running_phase(&self) -> Option<&PhaseRow> {
        self.phases
            .iter()
            .rev()
            .find(|p| p.status == Status::InProgress)
    }

    /// The findings about `phase`, for the row of its latest attempt (the timeline's marker).
    #[must_use]
    pub fn diagnosed(&self, row: &PhaseRow) -> Option<&Diagnosis> {
        let latest = self.phases.iter().rev().find(|p| p.kind == row.kind)?;
        if latest.attempt != row.attempt {
            return None;
        }
        self.diagnoses.iter().find(|d| d.phase == Some(row.kind))
    }

    /// The first phase whose last attempt failed (a phase that failed and then passed on a
    /// resume or a retry has not failed).
    #[must_use]
    pub fn failed_phase(&self) -> Option<&PhaseRow> {
        self.phases.iter().find(|p| {
            matches!(p.status, Status::Failed | Status::Fault | Status::TimedOut)
                && self
                    .phases
                    .iter()
                    .rev()
                    .find(|q| q.kind == p.kind)
                    .is_some_and(|last| std::ptr::eq(last, *p))
        })
    }
}

/// Which pane has the keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Focus {
    #[default]
    Projects,
    Log,
    /// The Reports panel: the movement keys go through the failed cases.
    Reports,
}

/// A destructive action waiting for `y`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pending {
    Quit,
    Stop(BuildId),
    /// Start a cloud build (it costs money, so it asks first).
    Start(ProjectKey),
    /// RetryBuild on a finished cloud build.
    Retry {
        project: ProjectKey,
        build: BuildId,
    },
    /// `RetryBuildBatch` (the failed builds) on a failed cloud batch.
    RetryBatch {
        project: ProjectKey,
        batch_id: BatchId,
    },
}

/// What the keys are doing right now.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum Mode {
    #[default]
    Normal,
    /// The keys (scrolled when the screen is too short for them).
    Help {
        scroll: u16,
    },
    /// This session's warnings and errors in full, newest first.
    Messages {
        scroll: u16,
    },
    /// `R` on a local project: a fresh build with another image, Docker mode or variables.
    RunForm(RunForm),
    /// `:` jump to a project by name.
    Palette {
        query: String,
        selected: usize,
    },
    /// `/` typing a search.
    Search {
        query: String,
    },
    /// The builds list of the selected project.
    Builds {
        selected: usize,
    },
    /// The open build's failure diagnosis: finding `selected` of its list.
    Diagnosis {
        selected: usize,
    },
    /// A failed test case's message: case `index` of the open build's failed cases
    /// ([`super::reports::cases`]).
    Case {
        index: usize,
    },
    /// `x`: the layer-cache report of the open build's Dockerfiles (`State::cache_report`),
    /// scrolled.
    CacheReport {
        scroll: u16,
    },
    Confirm(Pending),
    /// `R` on a cloud project: StartBuild's overrides, typed in before anything is sent.
    StartForm(StartForm),
}

/// The start-with-overrides form of a cloud project. Empty fields are not overridden.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StartForm {
    pub project: ProjectKey,
    /// In [`StartForm::LABELS`] order.
    pub fields: [String; 4],
    /// The field being typed in.
    pub focus: usize,
}

impl StartForm {
    /// The fields: source version, variables (`NAME=VALUE ...`), a local buildspec file sent as
    /// the override, the image.
    pub const LABELS: [&str; 4] = ["source version", "variables", "buildspec file", "image"];

    /// An empty form for `project`.
    #[must_use]
    pub fn new(project: ProjectKey) -> Self {
        Self {
            project,
            fields: Default::default(),
            focus: 0,
        }
    }
}

/// The run form of a local project (`R`): image and Docker mode (prefilled with what the
/// project's last build used), extra variables for this run, and whether to save the image
/// and mode into the project's `.cbdash.toml`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunForm {
    pub project: ProjectKey,
    pub image: String,
    pub docker: DockerAccess,
    /// `NAME=VALUE`, separated by commas or spaces.
    pub vars: String,
    /// Pause after the first failing command (`cbdash run --debug`): `e` opens a shell there.
    pub debug: bool,
    pub save: bool,
    /// The field being edited, in [`RunForm::LABELS`] order.
    pub focus: usize,
    /// What the form was prefilled with: an unchanged field overrides nothing (unless saved).
    pub prefill: (String, DockerAccess),
}

impl RunForm {
    pub const LABELS: [&str; 5] = [
        "image",
        "docker",
        "variables",
        "pause on failure",
        "save to .cbdash.toml",
    ];

    /// A form for `project`, prefilled with the image and Docker mode of its last build.
    #[must_use]
    pub fn new(project: ProjectKey, last: Option<(&str, DockerAccess)>) -> Self {
        let (image, docker) = last.map_or_else(
            || (String::new(), DockerAccess::default()),
            |(i, d)| (i.to_owned(), d),
        );
        Self {
            project,
            prefill: (image.clone(), docker),
            image,
            docker,
            vars: String::new(),
            debug: false,
            save: false,
            focus: 0,
        }
    }
}

/// A warning or error kept for the messages overlay (a flash shows only its first line).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub level: NoticeLevel,
    pub text: String,
    pub at: DateTime<Utc>,
}

/// A status-line message that disappears after a while.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flash {
    pub level: NoticeLevel,
    pub text: String,
    pub until: DateTime<Utc>,
}

/// Display options that the config sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    pub notify: bool,
    /// Also `notify-send` when a build ends.
    pub desktop_notify: bool,
}

/// The whole dashboard.
#[derive(Debug)]
pub struct State {
    pub projects: Vec<Project>,
    pub builds: BTreeMap<BuildId, Build>,
    /// Batches seen this session (their child builds are in `builds`).
    pub batches: BTreeMap<BatchId, Batch>,
    /// Index into `projects`.
    pub selected: usize,
    /// The build shown in the main pane.
    pub open_build: Option<BuildId>,
    /// The batch shown in the main pane (its graph, or one of its nodes' builds, which is then
    /// `open_build`).
    pub batch: Option<BatchView>,
    pub focus: Focus,
    pub mode: Mode,
    pub log: LogView,
    pub flash: Option<Flash>,
    /// Warnings and errors of this session, oldest first (the messages overlay).
    pub messages: Vec<Message>,
    pub now: DateTime<Utc>,
    pub width: u16,
    pub height: u16,
    pub options: Options,
    pub quitting: bool,
    /// Local projects whose files are watched (`w`): a change re-runs them.
    pub watching: std::collections::BTreeSet<ProjectKey>,
    /// Watched projects that changed while they were building: re-run when the build ends.
    pub rerun_pending: std::collections::BTreeSet<ProjectKey>,
    /// The selected failed case of the Reports panel (kept inside the list when read:
    /// [`super::reports::cursor`]).
    pub report_cursor: usize,
    /// The layer-cache report asked for with `x` (the executor loads it from the history).
    pub cache_report: Option<CacheReportView>,
}

/// The layer-cache report of one build, as the `x` overlay shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct CacheReportView {
    pub build: BuildId,
    /// `None` while the executor loads it; the error says why there is none.
    pub report: Option<Result<Vec<crate::cache::CacheOverview>, String>>,
}

impl State {
    /// An empty dashboard at time `now`.
    #[must_use]
    pub fn new(now: DateTime<Utc>) -> Self {
        Self {
            projects: Vec::new(),
            builds: BTreeMap::new(),
            batches: BTreeMap::new(),
            selected: 0,
            open_build: None,
            batch: None,
            focus: Focus::default(),
            mode: Mode::default(),
            log: LogView::default(),
            flash: None,
            messages: Vec::new(),
            now,
            width: 120,
            height: 32,
            options: Options {
                notify: true,
                desktop_notify: false,
            },
            quitting: false,
            watching: std::collections::BTreeSet::new(),
            rerun_pending: std::collections::BTreeSet::new(),
            report_cursor: 0,
            cache_report: None,
        }
    }

    /// The selected project.
    #[must_use]
    pub fn project(&self) -> Option<&Project> {
        self.projects.get(self.selected)
    }

    /// The build in the main pane.
    #[must_use]
    pub fn build(&self) -> Option<&Build> {
        self.open_build.as_ref().and_then(|id| self.builds.get(id))
    }

    /// Whether a local build is still running (quitting stops it; a cloud build goes on
    /// without us, so it does not count).
    #[must_use]
    pub fn any_running(&self) -> bool {
        self.builds
            .values()
            .any(|b| b.status == Status::InProgress && b.backend == BackendKind::Local)
    }

    /// Projects in display order: grouped (Local first, then each cloud group), by name.
    #[must_use]
    pub fn ordered(&self) -> Vec<usize> {
        let mut idx: Vec<usize> = (0..self.projects.len()).collect();
        idx.sort_by(|a, b| self.projects[*a].key.cmp(&self.projects[*b].key));
        idx
    }

    /// The index of a project, adding it when new.
    pub fn project_index(&mut self, key: &ProjectKey) -> usize {
        if let Some(i) = self.projects.iter().position(|p| p.key == *key) {
            // A key made without the directory (a reproduced cloud project) learns it here.
            let known = &mut self.projects[i].key;
            if known.dir.is_none() {
                known.dir.clone_from(&key.dir);
            }
            return i;
        }
        self.projects.push(Project {
            key: key.clone(),
            builds: Vec::new(),
            history: Vec::new(),
            phase_medians: BTreeMap::new(),
            settings: None,
        });
        self.projects.len() - 1
    }
}
