//! The effect executor: owns the backends and the builds in flight, runs the effects the
//! reducer emits, and forwards every event into the TUI as a `Msg`.
//!
//! It runs on a task of its own, and every build, history load and API call it starts is a
//! task of its own too (a [`JoinSet`]): Docker streams, the cache and diagnosis taps, the
//! SQLite recorder and its lock waits never run where keys are read and frames drawn. Each
//! build has a bounded event channel, drained by [`Forward::forward`] through the same
//! [`Pipeline`] as headless runs (cache reports, diagnoses, history). Local builds are stopped
//! by cancelling their token; cloud builds by StopBuild (see [`super::cloud`]), and their
//! followers are cancelled only when the dashboard closes.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::cloud::CloudPool;
use super::history::LocalHistory;
use super::kept::{self, Kept};
use super::{EVENT_CAPACITY, RequestFor};
use crate::app::pipeline::Pipeline;
use crate::app::request::RunOverrides;
use crate::engine::cloud::{CloudBackend, CloudBuilds};
use crate::engine::local::KeptBuilds;
use crate::engine::{Backend, BuildRequest, EventSink};
use crate::model::{BuildEvent, BuildId, NoticeLevel};
use crate::tui::msg::{Effect, LocalOverrides, Msg, RunMode};
use crate::tui::state::{Group, ProjectKey};

/// A build, history load or API call in flight: spawned on the runtime.
pub(super) type Task = BoxFuture<'static, ()>;

/// A build's id and project, sent when its `Started` event passes by.
pub(super) type StartedTx = mpsc::Sender<(BuildId, ProjectKey)>;

/// Owns the backends and the running builds.
pub(super) struct Executor<L, C = CloudBackend> {
    pub local: Option<Arc<L>>,
    pub cloud: CloudPool<C>,
    pub history: LocalHistory,
    pub request_for: RequestFor,
    pub msgs: mpsc::Sender<Msg>,
    /// Local builds in flight, by project: cancelling stops the build.
    pub cancels: HashMap<ProjectKey, CancellationToken>,
    /// Parent of every cloud watcher's token: cancelled when the dashboard closes.
    pub shutdown: CancellationToken,
    /// Where tasks hand over a local build request to start (set by `run`).
    pub local_requests: Option<mpsc::Sender<(ProjectKey, BuildRequest)>>,
    /// Kept local builds: resume, shell, watch, idle expiry (see [`kept`]).
    pub kept: Kept,
}

impl<L: Backend + KeptBuilds, C: CloudBuilds> Executor<L, C> {
    /// Runs effects until the UI closes the channel, then stops what still runs and waits for
    /// it to clean up (local builds remove their containers).
    pub async fn run(mut self, mut effects: mpsc::Receiver<Effect>) {
        let mut tasks: JoinSet<()> = JoinSet::new();
        let (started_tx, mut started_rx) = mpsc::channel::<(BuildId, ProjectKey)>(16);
        let mut by_id: HashMap<BuildId, ProjectKey> = HashMap::new();
        // Local builds whose request was made by a task (a reproduced cloud build).
        let (local_tx, mut local_rx) = mpsc::channel::<(ProjectKey, BuildRequest)>(4);
        self.local_requests = Some(local_tx);
        for t in self.cloud.discover(&self.msgs) {
            tasks.spawn(t);
        }
        if let Some(backend) = &self.local {
            tasks.spawn(kept::expiry(backend.clone(), self.shutdown.child_token()));
        }
        loop {
            tokio::select! {
                // A build's id is registered before any effect is read: a task sends it before
                // the UI can see the build, so a stop pressed at once finds it.
                biased;
                Some((id, project)) = started_rx.recv() => {
                    if project.group == Group::Local {
                        self.kept.started(&project, &id);
                    }
                    by_id.insert(id, project);
                },
                fx = effects.recv() => match fx {
                    None => break,
                    Some(fx) => {
                        if let Some(t) = self.effect(fx, &by_id, &started_tx) {
                            tasks.spawn(t);
                        }
                    }
                },
                Some((project, req)) = local_rx.recv() => {
                    if let Some(t) = self.spawn_local(project, req, started_tx.clone()) {
                        tasks.spawn(t);
                    }
                }
                Some(done) = tasks.join_next(), if !tasks.is_empty() => {
                    if let Err(e) = done.map_err(|e| e.to_string()) {
                        self.flash(NoticeLevel::Error, format!("a task ended abnormally: {e}"));
                    }
                },
            }
        }
        // Cancel what still runs and let it clean up (local builds remove their containers).
        for token in self.cancels.values() {
            token.cancel();
        }
        self.shutdown.cancel();
        while tasks.join_next().await.is_some() {}
        // Leaving the dashboard leaves its kept builds: their containers go.
        if let Some(backend) = &self.local {
            self.kept.leave(backend.as_ref()).await;
        }
    }

    fn effect(
        &mut self,
        fx: Effect,
        by_id: &HashMap<BuildId, ProjectKey>,
        started: &StartedTx,
    ) -> Option<Task> {
        match fx {
            Effect::StartBuild { project, mode } => match project.group {
                Group::Local => self.start_local(project, mode, started.clone()),
                Group::Cloud { .. } => self.cloud.start(project, self.ctx(started)),
            },
            Effect::StartLocal { project, overrides } => {
                self.start_with(project, &overrides, started.clone())
            }
            Effect::StartCloud { project, overrides } => {
                self.cloud.start_with(project, overrides, self.ctx(started))
            }
            Effect::RetryBuild { project, build } => {
                self.cloud.retry(project, build, self.ctx(started))
            }
            fx @ (Effect::ResumeBatch { .. } | Effect::RetryBatch { .. }) => {
                self.batch_effect(fx, started.clone())
            }
            Effect::FollowBuild { project, build } if !by_id.contains_key(&build) => {
                match project.group {
                    Group::Local => Some(self.history.replay_in_background(
                        project,
                        build,
                        self.msgs.clone(),
                    )),
                    Group::Cloud { .. } => self.cloud.follow(project, build, self.ctx(started)),
                }
            }
            Effect::StopBuild(id) => self.stop(&id, by_id),
            Effect::Reproduce {
                cloud,
                build,
                local,
            } => {
                let to = self.local_requests.clone()?;
                self.cloud
                    .reproduce(cloud, build, local, to, self.msgs.clone())
            }
            Effect::OpenShell(id) => match (by_id.get(&id), &self.local) {
                (Some(p), _) if p.group != Group::Local => {
                    self.flash(
                        NoticeLevel::Warning,
                        "a shell needs a local build".to_owned(),
                    );
                    None
                }
                (_, Some(backend)) => Some(kept::shell(
                    backend.clone(),
                    id,
                    self.kept.suspend.clone(),
                    self.msgs.clone(),
                )),
                (_, None) => None,
            },
            Effect::JoinDebugSession(command) => Some(super::debug::join(
                command,
                self.kept.suspend.clone(),
                self.msgs.clone(),
            )),
            Effect::Watch { project, on } => self.watch(project, on),
            Effect::LoadCacheReport { build, dir } => Some(
                self.history
                    .cache_report_in_background(build, dir, self.msgs.clone()),
            ),
            Effect::LoadStepHistory {
                build,
                docker_build,
            } => Some(self.history.step_history_in_background(
                build,
                docker_build,
                self.msgs.clone(),
            )),
            Effect::LoadHistory(project) => match project.group {
                Group::Local => {
                    let in_session = by_id.keys().cloned().collect();
                    Some(
                        self.history
                            .load_in_background(project, in_session, self.msgs.clone()),
                    )
                }
                Group::Cloud { .. } => self.cloud.history(project, self.msgs.clone()),
            },
            _ => None,
        }
    }

    /// What a cloud build task needs to report back.
    fn ctx(&self, started: &StartedTx) -> Forward {
        Forward {
            msgs: self.msgs.clone(),
            history: self.history.path(),
            started: started.clone(),
            cancel: self.shutdown.child_token(),
            buildspec: None,
            source: None,
        }
    }

    fn stop(&mut self, id: &BuildId, by_id: &HashMap<BuildId, ProjectKey>) -> Option<Task> {
        match by_id.get(id) {
            Some(p) if p.group == Group::Local => {
                if let Some(token) = self.cancels.get(p) {
                    token.cancel();
                }
                None
            }
            Some(p) => self.cloud.stop(&p.group, id.clone(), self.msgs.clone()),
            None => {
                self.flash(NoticeLevel::Warning, format!("'{id}' is not running here"));
                None
            }
        }
    }

    /// `r` on a failed batch: resume a local one (`cbdash resume BATCH_ID`), retry a cloud
    /// one's failed builds (`RetryBuildBatch`). Not wired yet: it says so. This is the one place
    /// to replace with the local batch runner and the cloud calls.
    /// `r` on a failed batch: a local one resumes in place (its record is in the project's
    /// directory), a cloud one is retried.
    fn batch_effect(&mut self, fx: Effect, started: StartedTx) -> Option<Task> {
        match fx {
            Effect::ResumeBatch { project, batch_id } => {
                let req = self.request(&project, &RunOverrides::default())?;
                let ctx = self.local_ctx(&project, &req, started);
                let run = super::batch::BatchRun::Resume(batch_id);
                Some(super::batch::spawn(project, req, run, ctx))
            }
            Effect::RetryBatch {
                project,
                batch_id,
                failed_only,
            } => self
                .cloud
                .retry_batch(project, batch_id, failed_only, self.ctx(&started)),
            _ => None,
        }
    }

    fn flash(&self, level: NoticeLevel, text: String) {
        self.msgs.try_send(Msg::Flash(level, text)).ok();
    }

    /// The project's request with `over` on top, or a flash with the whole error (a bad
    /// `.cbdash.toml`, an invalid buildspec: `file:line:col` and the hint).
    fn request(&self, project: &ProjectKey, over: &RunOverrides) -> Option<BuildRequest> {
        match (self.request_for)(project, over) {
            Ok(req) => Some(req),
            Err(e) => {
                self.flash(
                    NoticeLevel::Error,
                    format!("cannot build '{}': {e:#}", project.name),
                );
                None
            }
        }
    }

    /// `R`: a fresh build with the run form's overrides, saved into `.cbdash.toml` first when
    /// asked (image and Docker access only: variables typed there may be secrets).
    fn start_with(
        &mut self,
        project: ProjectKey,
        form: &LocalOverrides,
        started: StartedTx,
    ) -> Option<Task> {
        let mut over = RunOverrides {
            image: form.image.clone(),
            env: form.env.iter().map(|(k, v)| format!("{k}={v}")).collect(),
            ..RunOverrides::default()
        };
        if let Some(docker) = form.docker {
            over = over.with_docker(docker);
        }
        if form.save {
            match super::settings::save(&project, form) {
                Ok(path) => self.flash(NoticeLevel::Info, format!("saved to {}", path.display())),
                Err(e) => {
                    self.flash(NoticeLevel::Error, format!("not saved: {e:#}"));
                    return None;
                }
            }
        }
        let mut req = self.request(&project, &over)?;
        // Never saved: pausing is a choice for one run, as `cbdash run --debug`.
        req.local.debug = form.debug;
        self.spawn_local(project, req, started)
    }

    fn start_local(
        &mut self,
        project: ProjectKey,
        mode: RunMode,
        started: StartedTx,
    ) -> Option<Task> {
        let req = self.request(&project, &RunOverrides::default())?;
        match (mode, self.local.clone(), self.local_requests.clone()) {
            (RunMode::FromFailedPhase { build, phase }, Some(backend), Some(fresh)) => {
                let req = self.kept.request(&project, req);
                let ctx = self.local_ctx(&project, &req, started);
                let what = (project, build, phase);
                Some(kept::resume(backend, what, (req, fresh), ctx))
            }
            _ => self.spawn_local(project, req, started),
        }
    }

    /// What a local build task reports through; its token stops it.
    fn local_ctx(
        &mut self,
        project: &ProjectKey,
        req: &BuildRequest,
        started: StartedTx,
    ) -> Forward {
        let token = CancellationToken::new();
        self.cancels.insert(project.clone(), token.clone());
        // The diagnosis of a YAML_FILE_ERROR shows the validator's line and hint.
        let buildspec = req
            .buildspec
            .as_deref()
            .and_then(|p| std::fs::read_to_string(p).ok());
        Forward {
            msgs: self.msgs.clone(),
            history: self.history.path(),
            started,
            cancel: token,
            source: crate::app::explain::LocalSource::of(req, buildspec.as_deref()),
            buildspec,
        }
    }

    /// `w`: starts or stops watching a local project's files.
    fn watch(&mut self, project: ProjectKey, on: bool) -> Option<Task> {
        if let Some(token) = self.kept.watchers.remove(&project) {
            token.cancel();
        }
        if !on {
            return None;
        }
        let req = self.request(&project, &RunOverrides::default())?;
        let stop = self.shutdown.child_token();
        self.kept.watchers.insert(project.clone(), stop.clone());
        Some(kept::watch(project, &req, self.msgs.clone(), stop))
    }

    /// Runs `req` as a build of the local `project`.
    fn spawn_local(
        &mut self,
        project: ProjectKey,
        req: BuildRequest,
        started: StartedTx,
    ) -> Option<Task> {
        let Some(backend) = self.local.clone() else {
            self.flash(
                NoticeLevel::Error,
                "no local backend: is the Docker engine part of this build?".to_owned(),
            );
            return None;
        };
        let req = self.kept.request(&project, req);
        if crate::app::batch::runs_as_batch(&req, false) {
            let ctx = self.local_ctx(&project, &req, started);
            return Some(super::batch::spawn(
                project,
                req,
                super::batch::BatchRun::Fresh,
                ctx,
            ));
        }
        // A fresh build leaves the project's earlier kept build behind.
        let previous = self.kept.latest.remove(&project);
        let ctx = self.local_ctx(&project, &req, started);
        Some(Box::pin(async move {
            if let Some(id) = previous {
                let _ = backend.discard(id.as_str()).await;
            }
            let (sink, rx) = EventSink::channel(EVENT_CAPACITY);
            let name = project.name.clone();
            let run = async {
                let r = backend.run(req, sink, ctx.cancel.clone()).await;
                if let Err(e) = r {
                    ctx.fail(&name, &e).await;
                }
            };
            futures_util::future::join(run, ctx.forward(rx, project.clone())).await;
        }))
    }
}

/// Where a build task's events go.
pub(super) struct Forward {
    pub msgs: mpsc::Sender<Msg>,
    pub history: Option<PathBuf>,
    pub started: StartedTx,
    pub cancel: CancellationToken,
    /// The buildspec's text, when known, for the diagnosis rules that quote it.
    pub buildspec: Option<String>,
    /// A local build's project, where the cache-miss explainer reads the files.
    pub source: Option<crate::app::explain::LocalSource>,
}

impl Forward {
    /// Drains a build's events through the pipeline (cache reports, history) into the TUI,
    /// reporting its id and project when it starts.
    pub async fn forward(&self, mut rx: mpsc::Receiver<BuildEvent>, project: ProjectKey) {
        let mut pipeline = Pipeline::new(self.history.as_deref())
            .with_buildspec(self.buildspec.clone())
            .with_source(self.source.clone());
        while let Some(backend_event) = rx.recv().await {
            if let BuildEvent::Started { build_id, .. } = &backend_event {
                self.started
                    .send((build_id.clone(), project.clone()))
                    .await
                    .ok();
            }
            for ev in pipeline.process(backend_event) {
                // Once the UI is gone keep draining, so the build can finish and clean up.
                // The project goes with the event: one name in two groups never mixes.
                let msg = Msg::ProjectBuild {
                    project: project.clone(),
                    event: ev,
                };
                let _ = self.msgs.send(msg).await;
            }
        }
        pipeline.finish();
    }

    /// Tells the user a build could not run (not a failed build: one that has no outcome).
    pub async fn fail(&self, project: &str, e: &(dyn std::error::Error + Sync + 'static)) {
        let e = crate::engine::error_chain(e);
        self.msgs
            .send(Msg::Flash(
                NoticeLevel::Error,
                format!("build of '{project}' failed to run: {e}"),
            ))
            .await
            .ok();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{BackendKind, Status};

    /// Every event of a build reaches the TUI with the project the executor knows it by, and
    /// its id is registered under that project (the executor's `by_id`, used to stop it): the
    /// event itself names only "api", which two groups have.
    #[tokio::test]
    async fn forwarded_events_carry_their_project() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (msgs, mut msg_rx) = mpsc::channel(16);
        let (started, mut started_rx) = mpsc::channel(4);
        let fwd = Forward {
            msgs,
            history: Some(dir.path().join("h.sqlite")),
            started,
            cancel: CancellationToken::new(),
            buildspec: None,
            source: None,
        };
        let dev = ProjectKey {
            name: "api".into(),
            group: Group::Cloud {
                profile: "dev".into(),
                region: "eu-west-1".into(),
            },
            dir: None,
        };
        let id = BuildId("api:1".into());
        let at = chrono::Utc::now();
        let (tx, rx) = mpsc::channel(4);
        tx.send(BuildEvent::Started {
            build_id: id.clone(),
            project: "api".into(),
            backend: BackendKind::Cloud,
            image: "img".into(),
            docker: crate::model::DockerAccess::None,
            batch: None,
            at,
        })
        .await
        .expect("send");
        tx.send(BuildEvent::Finished {
            build_id: id.clone(),
            status: Status::Succeeded,
            duration_ms: 1,
            at,
            exported_variables: std::collections::BTreeMap::new(),
        })
        .await
        .expect("send");
        drop(tx);
        fwd.forward(rx, dev.clone()).await;
        let (registered, under) = started_rx.try_recv().expect("registered");
        assert_eq!((registered, &under.group), (id, &dev.group));
        let mut n = 0;
        while let Ok(msg) = msg_rx.try_recv() {
            let Msg::ProjectBuild { project, .. } = msg else {
                panic!("an event without its project: {msg:?}");
            };
            assert_eq!(project.group, dev.group);
            n += 1;
        }
        assert!(n >= 2, "Started and Finished forwarded: {n}");
    }
}
