//! The dashboard: finds the projects, starts the TUI's event loop and the executor that owns
//! the backends, and runs them until the user quits.
//!
//! This is the one place where the dashboard meets the engine. The event loop runs on the
//! calling task and does nothing but read input, fold messages into the state and draw; the
//! executor runs on a task of its own and spawns every build, history load and AWS call as a
//! task too. They talk over two bounded channels: `Msg`s in (events, flashes) and `Effect`s
//! out (start, stop, retry, follow, shell).
//! - [`executor`]: runs effects; local builds, and the event forwarding shared by all.
//! - [`cloud`]: one client set per `[[cloud]]` group; start, retry, follow, stop, list.
//! - [`history`]: past builds and phase medians (run history, or CodeBuild's build list).
//! - [`debug`]: `e` on a cloud build with a debug session: `aws ssm start-session`, the TUI suspended.
//! - [`kept`]: kept local builds: resume in place, a shell (the TUI suspended), watching.
//! - [`settings`]: the run form's "save to .cbdash.toml".

mod batch;
mod cloud;
mod debug;
mod executor;
mod history;
mod history_batch;
mod kept;
mod settings;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_cache;
#[cfg(test)]
mod tests_cloud;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use chrono::Utc;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::app::request::{RunOverrides, build_request, load_settings};
use crate::cli::GlobalArgs;
use crate::config::user::UserConfig;
use crate::engine::local::{KeptBuilds, LocalBackend};
use crate::engine::{Backend, BuildRequest};
use crate::model::BackendKind;
use crate::tui::event_loop::{self, LoopOptions};
use crate::tui::keymap::Keymap;
use crate::tui::msg::{Effect, Msg, RunMode};
use crate::tui::state::{Group, Options, ProjectKey, State};
use crate::tui::theme::{self, Theme};

use cloud::CloudPool;
use executor::Executor;
use history::LocalHistory;

/// Capacity of the channel from the executor to the TUI.
const MSG_CAPACITY: usize = 1024;
/// Capacity of one build's event channel.
const EVENT_CAPACITY: usize = 256;

/// Everything the dashboard is started with.
pub struct Setup {
    pub config: UserConfig,
    pub keymap: Keymap,
    pub theme: Theme,
    pub projects: Vec<ProjectKey>,
    /// The run history (`--history`), where every build is recorded.
    pub history: Option<PathBuf>,
}

impl Setup {
    /// Loads the config and finds the projects under `dir`.
    pub fn load(global: &GlobalArgs, dir: &Path) -> Result<Self> {
        let config = UserConfig::load(global.config.as_deref())?;
        let keymap = Keymap::from_bindings(&config.keys).context("invalid [keys] in the config")?;
        let theme = Theme::from_config(&config.theme, !theme::no_color_env())?;
        let projects = discover(dir, &config);
        Ok(Self {
            config,
            keymap,
            theme,
            projects,
            history: global.history.clone(),
        })
    }
}

/// Local projects (the directory and its children that have a `buildspec.yml` or a
/// `.cbdash.toml`, which may name another buildspec, plus the config's `[[projects]]`) and the
/// configured cloud projects.
#[must_use]
pub fn discover(dir: &Path, config: &UserConfig) -> Vec<ProjectKey> {
    let mut out = Vec::new();
    let mut local = |path: &Path, name: Option<String>| {
        let is_project = path.join("buildspec.yml").is_file()
            || path.join(crate::config::project::FILE_NAME).is_file();
        if is_project {
            let name = name.unwrap_or_else(|| project_name(path));
            out.push(ProjectKey {
                name,
                group: Group::Local,
                dir: Some(path.to_path_buf()),
            });
        }
    };
    local(dir, None);
    if let Ok(entries) = std::fs::read_dir(dir) {
        let mut subdirs: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir())
            .collect();
        subdirs.sort();
        for d in subdirs {
            local(&d, None);
        }
    }
    for p in &config.projects {
        local(&expand_home(&p.path), Some(p.name.clone()));
    }
    // Groups without a `projects` list get every project of the account from the executor.
    for c in &config.cloud {
        for name in &c.projects {
            out.push(ProjectKey {
                name: name.clone(),
                group: cloud::group_of(c),
                dir: None,
            });
        }
    }
    out
}

/// The project's name: `name` in its `.cbdash.toml`, else the directory name. A file that
/// does not parse still lists the project (its error shows when it runs).
fn project_name(dir: &Path) -> String {
    let config = load_settings(dir).unwrap_or_default();
    crate::app::request::project_name(dir, &config)
}

fn expand_home(p: &Path) -> PathBuf {
    match (p.strip_prefix("~"), directories::BaseDirs::new()) {
        (Ok(rest), Some(d)) => d.home_dir().join(rest),
        _ => p.to_path_buf(),
    }
}

/// Turns a project (and what this run changes, from the `R` form) into the request a backend
/// runs. The dashboard's default reads the project's `.cbdash.toml`; `cbdash run` passes one
/// that gives its own project the request its command line made.
pub type RequestFor = Arc<dyn Fn(&ProjectKey, &RunOverrides) -> Result<BuildRequest> + Send + Sync>;

/// The request for a local project from its settings (`.cbdash.toml`) and `over`.
pub fn project_request(project: &ProjectKey, over: &RunOverrides) -> Result<BuildRequest> {
    let dir = project.dir.clone().unwrap_or_else(|| PathBuf::from("."));
    Ok(build_request(&dir, over)?)
}

/// Runs the dashboard on the local Docker backend until the user quits. `initial` effects
/// run first (`cbdash run` starts its build this way).
pub async fn run_dashboard(setup: Setup, initial: Vec<Effect>) -> Result<u8> {
    let request_for: RequestFor = Arc::new(project_request);
    run_with(setup, Some(Arc::new(LocalBackend)), initial, request_for).await
}

/// Runs the dashboard with the given local backend (a fake one in tests).
pub async fn run_with<L: Backend + KeptBuilds>(
    setup: Setup,
    local: Option<Arc<L>>,
    initial: Vec<Effect>,
    request_for: RequestFor,
) -> Result<u8> {
    let (msg_tx, msg_rx) = mpsc::channel(MSG_CAPACITY);
    let (fx_tx, fx_rx) = mpsc::channel(64);
    let (suspend_tx, suspend_rx) = mpsc::channel(1);
    let session_start = Utc::now();
    let mut state = State::new(session_start);
    state.options = Options {
        notify: setup.config.options.notify,
        desktop_notify: setup.config.options.desktop_notify,
    };
    msg_tx.try_send(Msg::Projects(setup.projects.clone())).ok();
    for fx in initial {
        fx_tx.try_send(fx).ok();
    }
    let opts = LoopOptions {
        mouse: setup.config.options.mouse,
        max_fps: setup.config.options.max_fps,
    };
    let executor = Executor {
        local,
        cloud: CloudPool::connect(&setup.config.cloud).await,
        history: LocalHistory::new(setup.history.clone()),
        request_for,
        msgs: msg_tx,
        cancels: HashMap::new(),
        shutdown: CancellationToken::new(),
        local_requests: None,
        kept: kept::Kept::new(setup.config.options.keep_idle, suspend_tx),
    };
    let executor = tokio::spawn(executor.run(fx_rx));
    let state = event_loop::run(
        state,
        &setup.keymap,
        &setup.theme,
        opts,
        msg_rx,
        fx_tx,
        suspend_rx,
    )
    .await;
    // The UI's end closed the effects channel: the executor cancels what still runs and waits
    // for those builds to stop and remove their containers (bounded, so a stuck daemon cannot
    // keep us forever).
    let _ = tokio::time::timeout(std::time::Duration::from_mins(1), executor).await;
    let state = state?;
    // Only local builds run in this session decide: cloud builds only looked at here and past
    // builds opened from the history (started before the session) do not make it fail.
    let failed = state.builds.values().any(|b| {
        b.backend == BackendKind::Local && b.started >= session_start && b.status.exit_code() != 0
    });
    Ok(u8::from(failed))
}

/// `cbdash run` on a terminal: the dashboard on the request's project, with its build started
/// at once and run exactly as requested (image, env, secrets, options). Other projects (and
/// this one's `R` form) use their settings.
pub async fn open_on_build(global: &GlobalArgs, req: BuildRequest) -> Result<u8> {
    let dir = req.source_dir.clone().unwrap_or_else(|| PathBuf::from("."));
    let mut setup = Setup::load(global, &dir)?;
    let key = ProjectKey {
        name: req.project.clone(),
        group: Group::Local,
        dir: Some(dir),
    };
    setup
        .projects
        .retain(|p| !(p.group == Group::Local && p.name == key.name));
    setup.projects.insert(0, key.clone());
    let initial = vec![Effect::StartBuild {
        project: key.clone(),
        mode: RunMode::Full,
    }];
    let request_for: RequestFor = Arc::new(move |p: &ProjectKey, over: &RunOverrides| {
        if *p == key && over.is_empty() {
            Ok(req.clone())
        } else {
            project_request(p, over)
        }
    });
    run_with(setup, Some(Arc::new(LocalBackend)), initial, request_for).await
}
