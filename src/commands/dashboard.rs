//! The dashboard's driver: finds the projects, owns the backends, runs the build effects the
//! reducer emits and forwards every `BuildEvent` into the TUI as a `Msg`.
//!
//! This is the one place where the dashboard meets the engine. The TUI shell and the driver
//! run as two futures on one task and talk over two bounded channels: `Msg`s in (events,
//! flashes) and `Effect`s out (start, stop, shell). Builds run as futures inside the driver
//! (the `Backend` trait's futures are not `Send`, so they are polled here rather than
//! spawned); each build's own bounded event channel is drained and forwarded as it runs.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::pin::Pin;

use anyhow::{Context, Result};
use chrono::Utc;
use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::cli::GlobalArgs;
use crate::config::user::UserConfig;
use crate::engine::local::LocalBackend;
use crate::engine::{Backend, BuildRequest, EventSink};
use crate::model::{BuildEvent, BuildId, NoticeLevel};

use super::pipeline::Pipeline;
use crate::history::Store;
use crate::tui::keymap::Keymap;
use crate::tui::msg::{Effect, Msg, RunMode};
use crate::tui::shell::{self, ShellOptions};
use crate::tui::state::PastBuild;
use crate::tui::state::{Group, Options, ProjectKey, State};
use crate::tui::theme::{self, Theme};

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
    for c in &config.cloud {
        for name in &c.projects {
            out.push(ProjectKey {
                name: name.clone(),
                group: Group::Cloud {
                    profile: c.profile.clone(),
                    region: c.region.clone(),
                },
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
pub async fn run_dashboard<L: Backend>(
    setup: Setup,
    local: Option<L>,
    initial: Vec<Effect>,
    request_for: RequestFor<'_>,
) -> Result<u8> {
    let (msg_tx, msg_rx) = mpsc::channel(MSG_CAPACITY);
    let (fx_tx, fx_rx) = mpsc::channel(64);
    let mut state = State::new(Utc::now());
    state.options = Options {
        notify: setup.config.options.notify,
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
        history: setup.history.clone(),
        store: None,
        request_for,
        msgs: msg_tx,
        cancels: HashMap::new(),
    };
    let ui = shell::run(state, &setup.keymap, &setup.theme, opts, msg_rx, fx_tx);
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
    let failed = state.builds.values().any(|b| b.status.exit_code() != 0);
    Ok(u8::from(failed))
}

type BuildFuture<'a> = Pin<Box<dyn std::future::Future<Output = ()> + 'a>>;

/// Owns the backends and the running builds.
struct Driver<'a, L> {
    local: Option<&'a L>,
    history: Option<PathBuf>,
    /// Opened on the first history request.
    store: Option<Store>,
    request_for: RequestFor<'a>,
    msgs: mpsc::Sender<Msg>,
    cancels: HashMap<String, CancellationToken>,
}

impl<'a, L: Backend> Driver<'a, L> {
    async fn run(mut self, mut effects: mpsc::Receiver<Effect>) {
        let mut builds: FuturesUnordered<BuildFuture<'a>> = FuturesUnordered::new();
        let (started_tx, mut started_rx) = mpsc::channel::<(BuildId, String)>(16);
        let mut by_id: HashMap<BuildId, String> = HashMap::new();
        loop {
            tokio::select! {
                fx = effects.recv() => match fx {
                    None => break,
                    Some(fx) => {
                        if let Some(f) = self.effect(fx, &by_id, &started_tx) {
                            builds.push(f);
                        }
                    }
                },
                Some((id, project)) = started_rx.recv() => { by_id.insert(id, project); },
                Some(()) = builds.next(), if !builds.is_empty() => {},
            }
        }
        // Cancel what still runs and let it clean up.
        for token in self.cancels.values() {
            token.cancel();
        }
        while builds.next().await.is_some() {}
    }

    fn effect(
        &mut self,
        fx: Effect,
        by_id: &HashMap<BuildId, String>,
        started: &mpsc::Sender<(BuildId, String)>,
    ) -> Option<BuildFuture<'a>> {
        match fx {
            Effect::StartBuild { project, mode } => self.start(project, mode, started.clone()),
            Effect::StopBuild(id) => {
                match by_id.get(&id).and_then(|p| self.cancels.get(p)) {
                    Some(token) => token.cancel(),
                    None => self.flash(NoticeLevel::Warning, format!("'{id}' is not running here")),
                }
                None
            }
            Effect::OpenShell(_) => {
                self.flash(
                    NoticeLevel::Warning,
                    "a shell in the build container is not available yet".to_owned(),
                );
                None
            }
            Effect::LoadHistory(project) => {
                self.load_history(project, by_id);
                None
            }
            _ => None,
        }
    }

    /// Sends a project's past builds and phase medians from the run history (builds of this
    /// session are already on screen and left out). A history that cannot be read flashes.
    fn load_history(&mut self, project: ProjectKey, by_id: &HashMap<BuildId, String>) {
        if self.store.is_none() {
            let opened = self
                .history
                .clone()
                .map_or_else(Store::default_path, Ok)
                .and_then(|p| Store::open(&p));
            match opened {
                Ok(store) => self.store = Some(store),
                Err(e) => {
                    self.flash(
                        NoticeLevel::Warning,
                        format!("run history unavailable: {e}"),
                    );
                    return;
                }
            }
        }
        let Some(store) = self.store.as_ref() else {
            return;
        };
        match history_msg(store, project, |id| by_id.contains_key(id)) {
            Ok(msg) => {
                self.msgs.try_send(msg).ok();
            }
            Err(e) => self.flash(NoticeLevel::Warning, format!("run history: {e}")),
        }
    }

    fn flash(&self, level: NoticeLevel, text: String) {
        self.msgs.try_send(Msg::Flash(level, text)).ok();
    }

    fn start(
        &mut self,
        project: ProjectKey,
        mode: RunMode,
        started: mpsc::Sender<(BuildId, String)>,
    ) -> Option<BuildFuture<'a>> {
        if project.group != Group::Local {
            self.flash(
                NoticeLevel::Warning,
                "cloud builds are not available in this build yet".to_owned(),
            );
            return None;
        }
        let Some(backend) = self.local else {
            self.flash(
                NoticeLevel::Error,
                "no local backend: is the Docker engine part of this build?".to_owned(),
            );
            return None;
        };
        if let RunMode::FromFailedPhase(phase) = mode {
            // Resuming needs per-phase snapshots (a later issue): run the whole build.
            self.flash(
                NoticeLevel::Info,
                format!("resume from {phase} is not available yet: running the whole build"),
            );
        }
        let req = match (self.request_for)(&project) {
            Ok(req) => req,
            Err(e) => {
                self.flash(
                    NoticeLevel::Error,
                    format!("cannot build '{}': {e:#}", project.name),
                );
                return None;
            }
        };
        let buildspec = req
            .buildspec
            .as_deref()
            .and_then(|p| std::fs::read_to_string(p).ok());
        let token = CancellationToken::new();
        self.cancels.insert(project.name.clone(), token.clone());
        let msgs = self.msgs.clone();
        let history = self.history.clone();
        Some(Box::pin(async move {
            let (sink, mut rx) = EventSink::channel(EVENT_CAPACITY);
            let forward = async {
                // The same pipeline as headless runs: cache reports from the log, history.
                let mut pipeline = Pipeline::new(history.as_deref()).with_buildspec(buildspec);
                while let Some(backend_event) = rx.recv().await {
                    if let BuildEvent::Started {
                        build_id, project, ..
                    } = &backend_event
                    {
                        started.send((build_id.clone(), project.clone())).await.ok();
                    }
                    for ev in pipeline.process(backend_event) {
                        // Once the UI is gone keep draining, so the build can finish and
                        // clean up.
                        let _ = msgs.send(Msg::Build(ev)).await;
                    }
                }
                pipeline.finish();
            };
            let run = async {
                let r = backend.run(req, sink, token).await;
                if let Err(e) = r {
                    msgs.send(Msg::Flash(
                        NoticeLevel::Error,
                        format!("build of '{}' failed to run: {e:#}", project.name),
                    ))
                    .await
                    .ok();
                }
            };
            futures_util::future::join(run, forward).await;
        }))
    }
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
pub async fn follow_build<L: Backend>(
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

/// How many past builds a project shows.
const HISTORY_BUILDS: usize = 30;
/// How many recent successful runs make a phase's median.
const MEDIAN_RUNS: usize = 5;

/// The `Msg::History` of a project: its past builds (newest first, without the ones
/// `in_session` already shows) and each phase's median over its recent successful runs.
fn history_msg(
    store: &Store,
    project: ProjectKey,
    in_session: impl Fn(&BuildId) -> bool,
) -> crate::history::Result<Msg> {
    let backend = project.backend().as_str();
    let builds = store
        .list_runs(Some(&project.name), HISTORY_BUILDS)?
        .into_iter()
        .filter(|r| r.backend == backend)
        .filter_map(|r| {
            Some(PastBuild {
                build_id: BuildId(r.build_id),
                status: crate::model::Status::from_api(&r.status)?,
                started: chrono::DateTime::parse_from_rfc3339(&r.started_at)
                    .ok()?
                    .with_timezone(&Utc),
                duration_ms: r.duration_ms?,
            })
        })
        .filter(|b| !in_session(&b.build_id))
        .collect();
    let recent = store.baseline(&project.name, backend, "", MEDIAN_RUNS)?;
    let phase_medians = crate::model::PhaseKind::ALL
        .into_iter()
        .filter_map(|phase| {
            let mut ms: Vec<u64> = recent
                .iter()
                .filter_map(|m| m.phases.iter().find(|(p, _)| *p == phase).map(|(_, d)| *d))
                .collect();
            ms.sort_unstable();
            ms.get(ms.len() / 2).map(|m| (phase, *m))
        })
        .collect();
    Ok(Msg::History {
        project,
        builds,
        phase_medians,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::Recorder;
    use crate::model::{BackendKind, PhaseContext, PhaseKind, Status};
    use chrono::TimeZone;

    /// Records a local build of `project` whose BUILD phase took `build_ms`.
    fn record(rec: &mut Recorder, project: &str, n: i64, build_ms: u64, status: Status) -> BuildId {
        let id = BuildId(format!("{project}:0000000{n}-0000-0000-0000-000000000000"));
        let at = Utc
            .timestamp_opt(1_700_000_000 + n * 100, 0)
            .single()
            .expect("time");
        let events = [
            BuildEvent::Started {
                build_id: id.clone(),
                project: project.into(),
                backend: BackendKind::Local,
                image: "img".into(),
                at,
            },
            BuildEvent::PhaseStarted {
                build_id: id.clone(),
                phase: PhaseKind::Build,
                attempt: 1,
                at,
            },
            BuildEvent::PhaseFinished {
                build_id: id.clone(),
                phase: PhaseKind::Build,
                attempt: 1,
                status,
                duration_ms: build_ms,
                context: PhaseContext::default(),
                at,
            },
            BuildEvent::Finished {
                build_id: id.clone(),
                status,
                duration_ms: build_ms + 10,
                at,
            },
        ];
        for ev in &events {
            rec.record(ev).expect("record");
        }
        id
    }

    #[test]
    fn history_gives_past_builds_newest_first_and_phase_medians() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("h.sqlite")).expect("open");
        let mut rec = Recorder::new(store);
        record(&mut rec, "api", 1, 1000, Status::Succeeded);
        record(&mut rec, "api", 2, 3000, Status::Succeeded);
        let failed = record(&mut rec, "api", 3, 9000, Status::Failed);
        let session = record(&mut rec, "api", 4, 2000, Status::Succeeded);
        record(&mut rec, "other", 5, 50, Status::Succeeded);
        let store = rec.finish().expect("finish");
        let project = ProjectKey {
            name: "api".into(),
            group: Group::Local,
            dir: None,
        };
        let msg = history_msg(&store, project, |id| *id == session).expect("history");
        let Msg::History {
            builds,
            phase_medians,
            ..
        } = msg
        else {
            panic!("not a history message");
        };
        assert_eq!(
            builds.len(),
            3,
            "this session's build is left out: {builds:?}"
        );
        assert_eq!(builds[0].build_id, failed, "newest first");
        assert_eq!(builds[0].status, Status::Failed);
        // Successful runs only: 1000, 3000 and the session's 2000 → median 2000.
        assert_eq!(phase_medians, vec![(PhaseKind::Build, 2000)]);
    }
}
