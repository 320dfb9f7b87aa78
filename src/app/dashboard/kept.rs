//! Kept local builds in the dashboard (issue 7): a failed local build keeps its container;
//! `r` resumes it in place from the failed phase (or, when its container is gone, runs it
//! afresh with a message); `e` opens a shell in its container with the TUI suspended; `w`
//! watches a project's files; a timer removes kept containers whose idle time passed; a fresh
//! build of a project (`R`) or leaving the dashboard removes what this session kept.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::EVENT_CAPACITY;
use super::executor::{Forward, Task};
use crate::engine::local::{KeptBuilds, ResumeRequest};
use crate::engine::{BuildRequest, EngineError, EventSink, Keep};
use crate::model::{BuildId, NoticeLevel, PhaseKind};
use crate::tui::event_loop::Suspend;
use crate::tui::msg::Msg;
use crate::tui::state::ProjectKey;
use crate::watch::{DEBOUNCE, ProjectWatcher};

/// How often kept containers are checked for their idle time.
const EXPIRY_EVERY: Duration = Duration::from_mins(1);

/// What the executor knows about kept builds.
pub(super) struct Kept {
    /// The idle time after which a kept container goes (`[options] keep_idle`).
    pub keep_idle: Duration,
    /// Where the terminal is asked for (the TUI shell).
    pub suspend: mpsc::Sender<Suspend>,
    /// The last local build of each project in this session.
    pub latest: HashMap<ProjectKey, BuildId>,
    /// Projects whose builds this session keeps only while it lasts (not `--keep`).
    pub ours: HashSet<ProjectKey>,
    /// Builds to remove when the dashboard closes.
    pub session: Vec<BuildId>,
    /// Watched projects, by the token that stops their watcher.
    pub watchers: HashMap<ProjectKey, CancellationToken>,
}

impl Kept {
    pub fn new(keep_idle: Duration, suspend: mpsc::Sender<Suspend>) -> Self {
        Self {
            keep_idle,
            suspend,
            latest: HashMap::new(),
            ours: HashSet::new(),
            session: Vec::new(),
            watchers: HashMap::new(),
        }
    }

    /// A dashboard build keeps its container when it fails (unless `--keep` keeps it anyway).
    pub fn request(&mut self, project: &ProjectKey, mut req: BuildRequest) -> BuildRequest {
        if req.local.keep == Keep::Never {
            req.local.keep = Keep::Failed;
            req.local.keep_idle = self.keep_idle;
            self.ours.insert(project.clone());
        }
        req
    }

    /// A local build started (or was resumed).
    pub fn started(&mut self, project: &ProjectKey, id: &BuildId) {
        self.latest.insert(project.clone(), id.clone());
        if self.ours.contains(project) && !self.session.contains(id) {
            self.session.push(id.clone());
        }
    }

    /// Stops every watcher and removes the containers this session kept.
    pub async fn leave<L: KeptBuilds>(&mut self, backend: &L) {
        for token in self.watchers.values() {
            token.cancel();
        }
        for id in self.session.drain(..) {
            if let Err(e) = backend.discard(id.as_str()).await {
                tracing::warn!("could not remove the container of {id}: {e}");
            }
        }
    }
}

/// Removes kept containers whose idle time passed, every minute until `stop`.
pub(super) fn expiry<L: KeptBuilds>(backend: Arc<L>, stop: CancellationToken) -> Task {
    Box::pin(async move {
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(EXPIRY_EVERY) => {}
            }
            if let Err(e) = backend.expire_kept().await {
                tracing::warn!("could not remove idle kept containers: {e}");
            }
        }
    })
}

/// Resumes `build` from `phase` in place; when it cannot be resumed, says why and hands
/// `fresh` (the project's request) to the executor to run the whole build.
pub(super) fn resume<L: KeptBuilds>(
    backend: Arc<L>,
    (project, build, phase): (ProjectKey, BuildId, PhaseKind),
    fresh: (BuildRequest, mpsc::Sender<(ProjectKey, BuildRequest)>),
    ctx: Forward,
) -> Task {
    Box::pin(async move {
        let (sink, rx) = EventSink::channel(EVENT_CAPACITY);
        let name = project.name.clone();
        let run = async {
            let req = ResumeRequest {
                build_id: build.to_string(),
                phase: Some(phase),
                batch: None,
            };
            match backend.resume(req, sink, ctx.cancel.clone()).await {
                Ok(_) => {}
                Err(EngineError::Local(e)) if e.needs_fresh_build() => {
                    let text = format!("{e}: running the whole build instead");
                    ctx.msgs
                        .send(Msg::Flash(NoticeLevel::Warning, text))
                        .await
                        .ok();
                    let (req, to) = fresh;
                    to.send((project.clone(), req)).await.ok();
                }
                Err(e) => ctx.fail(&name, &e).await,
            }
        };
        futures_util::future::join(run, ctx.forward(rx, project.clone())).await;
    })
}

/// Opens a shell in `build`'s container, with the TUI suspended until it exits.
pub(super) fn shell<L: KeptBuilds>(
    backend: Arc<L>,
    build: BuildId,
    suspend: mpsc::Sender<Suspend>,
    msgs: mpsc::Sender<Msg>,
) -> Task {
    Box::pin(async move {
        // Open it first: an error is a flash on the dashboard, not a blank screen.
        let req = crate::app::attach::request(build.as_str());
        let session = match backend.open_shell(&req).await {
            Ok(s) => s,
            Err(e) => {
                let text = format!("no shell: {}", crate::engine::error_chain(&e));
                msgs.send(Msg::Flash(NoticeLevel::Warning, text)).await.ok();
                return;
            }
        };
        let Some(done) = Suspend::terminal(&suspend).await else {
            return;
        };
        let phase = if session.at_breakpoint {
            " at its breakpoint (`codebuild-resume` lets the build go on)".to_owned()
        } else {
            session
                .phase
                .map_or_else(String::new, |p| format!(" at the start of {p}"))
        };
        println!("cbdash: a shell in {build}{phase}; `exit` returns to the dashboard\r");
        let result = crate::app::attach::attach(session).await;
        let _ = done.send(());
        if let Err(e) = result {
            let text = format!("the shell ended with an error: {e:#}");
            msgs.send(Msg::Flash(NoticeLevel::Warning, text)).await.ok();
        }
    })
}

/// Watches a local project's files until `stop`: each quiet window with changes becomes one
/// `Msg::FilesChanged` (the reducer re-runs the project); a changed buildspec is validated
/// first, and an invalid one is flashed instead.
pub(super) fn watch(
    project: ProjectKey,
    req: &BuildRequest,
    msgs: mpsc::Sender<Msg>,
    stop: CancellationToken,
) -> Task {
    let dir = req
        .source_dir
        .clone()
        .unwrap_or_else(|| std::path::PathBuf::from("."));
    let spec = req
        .buildspec
        .clone()
        .unwrap_or_else(|| dir.join("buildspec.yml"));
    let skip: Vec<_> = req.local.artifacts_dir.iter().cloned().collect();
    Box::pin(async move {
        let mut watcher = match ProjectWatcher::start(&dir, &spec, &skip, DEBOUNCE) {
            Ok(w) => w,
            Err(e) => {
                msgs.send(Msg::Flash(NoticeLevel::Error, e.to_string()))
                    .await
                    .ok();
                return;
            }
        };
        loop {
            let change = tokio::select! {
                c = watcher.next() => c,
                () = stop.cancelled() => None,
            };
            let Some(change) = change else { return };
            if change.buildspec
                && let Err(e) = crate::app::request::validate_spec(&spec)
            {
                let text = format!("{e:#}");
                msgs.send(Msg::Flash(NoticeLevel::Error, text)).await.ok();
                continue;
            }
            let files = change.files.len();
            let msg = Msg::FilesChanged {
                project: project.clone(),
                files,
            };
            if msgs.send(msg).await.is_err() {
                return;
            }
        }
    })
}
