//! The dashboard: finds the projects, starts the TUI shell and the driver that owns the
//! backends, and runs them until the user quits.
//!
//! This is the one place where the dashboard meets the engine. The TUI shell and the driver
//! run as two futures on one task and talk over two bounded channels: `Msg`s in (events,
//! flashes) and `Effect`s out (start, stop, retry, follow, shell).
//! - [`driver`]: the effect executor; local builds, and the event forwarding shared by all.
//! - [`cloud`]: one client set per `[[cloud]]` group; start, retry, follow, stop, list.
//! - [`history`]: past builds and phase medians (run history, or CodeBuild's build list).
//! - [`kept`]: kept local builds: resume in place, a shell (the TUI suspended), watching.

mod cloud;
mod driver;
mod history;
mod kept;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use chrono::Utc;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::cli::GlobalArgs;
use crate::config::user::UserConfig;
use crate::engine::local::{KeptBuilds, LocalBackend};
use crate::engine::{Backend, BuildRequest};
use crate::model::BackendKind;
use crate::tui::keymap::Keymap;
use crate::tui::msg::{Effect, Msg, RunMode};
use crate::tui::shell::{self, ShellOptions};
use crate::tui::state::{Group, Options, ProjectKey, State};
use crate::tui::theme::{self, Theme};

use cloud::CloudPool;
use driver::Driver;
use history::LocalHistory;

/// Capacity of the channel from the driver to the TUI.
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

/// Local projects (the directory and its children that have a `buildspec.yml`, plus the
/// config's `[[projects]]`) and the configured cloud projects.
#[must_use]
pub fn discover(dir: &Path, config: &UserConfig) -> Vec<ProjectKey> {
    let mut out = Vec::new();
    let mut local = |path: &Path, name: Option<String>| {
        if path.join("buildspec.yml").is_file() {
            let name = name
                .or_else(|| project_name(path))
                .unwrap_or_else(|| "project".to_owned());
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
    // Groups without a `projects` list get every project of the account from the driver.
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

/// The project's name: `name` in its `.cbdash.toml`, else the directory name.
fn project_name(dir: &Path) -> Option<String> {
    let from_file = std::fs::read_to_string(dir.join(".cbdash.toml"))
        .ok()
        .and_then(|t| t.parse::<toml::Table>().ok())
        .and_then(|t| t.get("name").and_then(|v| v.as_str().map(str::to_owned)));
    let canonical = dir.canonicalize().ok();
    from_file.or_else(|| {
        canonical
            .as_deref()
            .and_then(Path::file_name)
            .map(|n| n.to_string_lossy().into_owned())
    })
}

fn expand_home(p: &Path) -> PathBuf {
    match (p.strip_prefix("~"), directories::BaseDirs::new()) {
        (Ok(rest), Some(d)) => d.home_dir().join(rest),
        _ => p.to_path_buf(),
    }
}

/// Turns a project into the request a backend runs. The dashboard's default reads nothing
/// but the project; `cbdash run` passes one built from its command line (image, env, ...).
pub type RequestFor<'a> = &'a dyn Fn(&ProjectKey) -> Result<BuildRequest>;

/// The request for a local project, as `cbdash run DIR` would build it with no other flags
/// (the project's `.cbdash.toml` gives its image and variables; the buildspec is validated).
pub fn project_request(project: &ProjectKey) -> Result<BuildRequest> {
    let dir = project.dir.clone().unwrap_or_else(|| PathBuf::from("."));
    let cli = <crate::cli::Cli as clap::Parser>::try_parse_from([
        std::ffi::OsStr::new("cbdash"),
        "run".as_ref(),
        dir.as_os_str(),
    ])
    .context("cannot build the run request")?;
    match cli.command {
        Some(crate::cli::Command::Run(args)) => super::run::request(&args),
        _ => Err(anyhow::anyhow!("cannot build the run request")),
    }
}

/// Runs the dashboard with the given local backend until the user quits. `initial` effects
/// run first (`cbdash run` starts its build this way).
pub async fn run_dashboard<L: Backend + KeptBuilds>(
    setup: Setup,
    local: Option<L>,
    initial: Vec<Effect>,
    request_for: RequestFor<'_>,
) -> Result<u8> {
    let (msg_tx, msg_rx) = mpsc::channel(MSG_CAPACITY);
    let (fx_tx, fx_rx) = mpsc::channel(64);
    let (suspend_tx, suspend_rx) = mpsc::channel(1);
    let mut state = State::new(Utc::now());
    state.options = Options {
        notify: setup.config.options.notify,
        desktop_notify: setup.config.options.desktop_notify,
    };
    msg_tx.try_send(Msg::Projects(setup.projects.clone())).ok();
    for fx in initial {
        fx_tx.try_send(fx).ok();
    }
    let opts = ShellOptions {
        mouse: setup.config.options.mouse,
        max_fps: setup.config.options.max_fps,
    };
    let driver = Driver {
        local: local.as_ref(),
        cloud: CloudPool::connect(&setup.config.cloud).await,
        history: LocalHistory::new(setup.history.clone()),
        request_for,
        msgs: msg_tx,
        cancels: HashMap::new(),
        shutdown: CancellationToken::new(),
        local_requests: None,
        kept: kept::Kept::new(setup.config.options.keep_idle, suspend_tx),
    };
    let ui = shell::run(
        state,
        &setup.keymap,
        &setup.theme,
        opts,
        msg_rx,
        fx_tx,
        suspend_rx,
    );
    tokio::pin!(ui);
    let drive = driver.run(fx_rx);
    tokio::pin!(drive);
    // The UI decides when we are done. Its end closes the effects channel, so the driver
    // cancels what still runs and waits for those builds to stop and remove their
    // containers (bounded, so a stuck daemon cannot keep us forever).
    let mut driver_done = false;
    let state = tokio::select! {
        s = &mut ui => s?,
        () = &mut drive => {
            driver_done = true;
            (&mut ui).await?
        }
    };
    if !driver_done {
        let _ = tokio::time::timeout(std::time::Duration::from_mins(1), &mut drive).await;
    }
    // Cloud builds only looked at here do not make the dashboard fail.
    let failed = state
        .builds
        .values()
        .any(|b| b.backend == BackendKind::Local && b.status.exit_code() != 0);
    Ok(u8::from(failed))
}

/// `cbdash` with no command: the dashboard on the current directory.
pub fn open(global: &GlobalArgs) -> Result<u8> {
    let dir = std::env::current_dir().context("cannot read the current directory")?;
    let setup = Setup::load(global, &dir)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(run_dashboard(
        setup,
        Some(LocalBackend),
        Vec::new(),
        &project_request,
    ))
}

/// `cbdash run` on a terminal: the dashboard on the request's project, with its build started
/// at once and run exactly as requested (image, env, secrets, options). Call it from the run
/// command when stdout is a TTY and neither `--plain` nor `--json` was given.
pub async fn follow_build<L: Backend + KeptBuilds>(
    global: &GlobalArgs,
    local: L,
    req: BuildRequest,
) -> Result<u8> {
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
        project: key,
        mode: RunMode::Full,
    }];
    let request_for = move |_: &ProjectKey| Ok(req.clone());
    run_dashboard(setup, Some(local), initial, &request_for).await
}
