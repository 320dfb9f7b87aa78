//! The dashboard's cloud side: one set of AWS clients per `[[cloud]]` group, and the tasks
//! that list a group's projects, list a project's recent builds, start, retry, follow and stop
//! builds. Every task reports through `Msg`s; an AWS error becomes a flash naming the group and
//! the fix, never the end of the dashboard.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::EVENT_CAPACITY;
use super::executor::{Forward, Task};
use super::history::cloud_history_msg;
use crate::config::user::CloudTarget as ConfigTarget;
use crate::engine::cloud::watch::{WatchOptions, watch_build};
use crate::engine::cloud::{
    CloudClients, CloudError, CloudTarget, ConnectOptions, actions, projects, reproduce,
};
use crate::engine::{BuildRequest, EventSink};
use crate::model::{BuildId, NoticeLevel};
use crate::tui::msg::{Msg, StartOverrides};
use crate::tui::state::{Group, ProjectKey};

/// How many recent builds a cloud project's list shows.
const RECENT_BUILDS: usize = 30;
/// Selecting a project again within this time reuses its list instead of calling AWS.
const RELIST_AFTER: Duration = Duration::from_secs(15);

/// The clients of every configured cloud group.
pub(super) struct CloudPool {
    clients: HashMap<Group, CloudClients>,
    /// Groups configured without a `projects` list: every project of the account is shown.
    list_all: Vec<Group>,
    listed: HashMap<ProjectKey, Instant>,
    watch: WatchOptions,
}

/// The dashboard group of a config target.
pub(super) fn group_of(t: &ConfigTarget) -> Group {
    Group::Cloud {
        profile: t.profile.clone(),
        region: t.region.clone(),
    }
}

impl CloudPool {
    /// Builds the clients of each target. Nothing is called yet: credentials are checked by
    /// the first call, whose error shows up as a flash.
    pub async fn connect(targets: &[ConfigTarget]) -> Self {
        let mut clients = HashMap::new();
        let mut list_all = Vec::new();
        for t in targets {
            let group = group_of(t);
            if clients.contains_key(&group) {
                continue;
            }
            let target = CloudTarget {
                // "default" is what the chain picks anyway; naming it would demand a profile file.
                profile: Some(t.profile.clone()).filter(|p| p != "default"),
                region: Some(t.region.clone()),
            };
            let c = CloudClients::connect(&target, &ConnectOptions::default()).await;
            clients.insert(group.clone(), c);
            if t.projects.is_empty() {
                list_all.push(group);
            }
        }
        Self {
            clients,
            list_all,
            listed: HashMap::new(),
            watch: WatchOptions::default(),
        }
    }

    /// No cloud group (a dashboard of local projects only, and the executor's tests).
    #[cfg(test)]
    pub fn empty() -> Self {
        Self {
            clients: HashMap::new(),
            list_all: Vec::new(),
            listed: HashMap::new(),
            watch: WatchOptions::default(),
        }
    }

    /// Tasks that list the projects of the groups configured without a list.
    pub fn discover(&self, msgs: &mpsc::Sender<Msg>) -> Vec<Task> {
        self.list_all
            .iter()
            .filter_map(|g| Some((g.clone(), self.clients.get(g)?.clone())))
            .map(|(group, clients)| {
                let msgs = msgs.clone();
                Box::pin(async move {
                    let msg = match projects::list_project_names(&clients.codebuild).await {
                        Ok(names) => Msg::Projects(
                            names
                                .into_iter()
                                .map(|name| ProjectKey {
                                    name,
                                    group: group.clone(),
                                    dir: None,
                                })
                                .collect(),
                        ),
                        Err(e) => Msg::Flash(NoticeLevel::Error, format!("{group}: {e}")),
                    };
                    msgs.send(msg).await.ok();
                }) as Task
            })
            .collect()
    }

    fn clients(&self, group: &Group, msgs: &mpsc::Sender<Msg>) -> Option<CloudClients> {
        let c = self.clients.get(group).cloned();
        if c.is_none() {
            let text = format!("{group} is not configured: add it as [[cloud]] in the config");
            msgs.try_send(Msg::Flash(NoticeLevel::Error, text)).ok();
        }
        c
    }

    /// StartBuild of the project (no overrides) and follow the new build.
    pub fn start(&self, project: ProjectKey, ctx: Forward) -> Option<Task> {
        self.start_with(project, StartOverrides::default(), ctx)
    }

    /// StartBuild with overrides (a buildspec file is validated before anything is sent), and
    /// follow the new build.
    pub fn start_with(&self, project: ProjectKey, o: StartOverrides, ctx: Forward) -> Option<Task> {
        let clients = self.clients(&project.group, &ctx.msgs)?;
        let watch = self.watch;
        let req = BuildRequest {
            project: project.name.clone(),
            source_version: o.source_version,
            env: o.env,
            image: o.image,
            ..BuildRequest::default()
        };
        Some(Box::pin(async move {
            let spec = match o.buildspec.as_deref().map(actions::read_buildspec) {
                None => None,
                Some(Ok(text)) => Some(text),
                Some(Err(e)) => return ctx.fail(&project.name, &e).await,
            };
            let started = actions::start_build(&clients.codebuild, &req, spec)
                .await
                .map(|b| b.id);
            follow_new(clients, watch, project, started, ctx).await;
        }))
    }

    /// RetryBuild of a finished build, and follow the new one.
    pub fn retry(&self, project: ProjectKey, build: BuildId, ctx: Forward) -> Option<Task> {
        let clients = self.clients(&project.group, &ctx.msgs)?;
        let watch = self.watch;
        Some(Box::pin(async move {
            let started = actions::retry_build(&clients.codebuild, &build.0)
                .await
                .map(|b| b.id);
            follow_new(clients, watch, project, started, ctx).await;
        }))
    }

    /// Follow an existing build (running or finished): its phases, then its log.
    pub fn follow(&self, project: ProjectKey, build: BuildId, ctx: Forward) -> Option<Task> {
        let clients = self.clients(&project.group, &ctx.msgs)?;
        Some(Box::pin(follow(clients, self.watch, project, build, ctx)))
    }

    /// StopBuild; the build's watcher sees it end as STOPPED.
    pub fn stop(&self, group: &Group, id: BuildId, msgs: mpsc::Sender<Msg>) -> Option<Task> {
        let clients = self.clients(group, &msgs)?;
        Some(Box::pin(async move {
            let msg = match actions::stop_build(&clients.codebuild, &id.0).await {
                Ok(_) => Msg::Flash(NoticeLevel::Info, format!("stop requested for {id}")),
                Err(e) => Msg::Flash(NoticeLevel::Error, format!("cannot stop {id}: {e}")),
            };
            msgs.send(msg).await.ok();
        }))
    }

    /// The project's recent builds (at most once per [`RELIST_AFTER`]).
    pub fn history(&mut self, project: ProjectKey, msgs: mpsc::Sender<Msg>) -> Option<Task> {
        let now = Instant::now();
        if self
            .listed
            .get(&project)
            .is_some_and(|at| now.duration_since(*at) < RELIST_AFTER)
        {
            return None;
        }
        let clients = self.clients(&project.group, &msgs)?;
        self.listed.insert(project.clone(), now);
        Some(Box::pin(async move {
            let cb = &clients.codebuild;
            let listed = match projects::list_build_ids(cb, &project.name, RECENT_BUILDS).await {
                Ok(ids) => projects::get_builds(cb, &ids).await,
                Err(e) => Err(e),
            };
            let msg = match listed {
                Ok(snaps) => cloud_history_msg(project, &snaps),
                Err(e) => Msg::Flash(NoticeLevel::Warning, format!("{}: {e}", project.name)),
            };
            msgs.send(msg).await.ok();
        }))
    }

    /// Reads a cloud project (or one of its builds), resolves its secret variables and hands
    /// the local request on the current directory to the driver, as the project `local`.
    pub fn reproduce(
        &self,
        cloud: ProjectKey,
        build: Option<BuildId>,
        local: ProjectKey,
        to: mpsc::Sender<(ProjectKey, BuildRequest)>,
        msgs: mpsc::Sender<Msg>,
    ) -> Option<Task> {
        let clients = self.clients(&cloud.group, &msgs)?;
        Some(Box::pin(async move {
            let target = build.map_or_else(|| cloud.name.clone(), |b| b.0);
            let dir = std::env::current_dir().unwrap_or_else(|_| ".".into());
            match reproduce::reproduce(&clients, &target, &dir).await {
                Ok(req) => {
                    let local = ProjectKey {
                        dir: Some(dir),
                        ..local
                    };
                    to.send((local, req)).await.ok();
                }
                Err(e) => {
                    let text = format!("cannot reproduce {target} locally: {e}");
                    msgs.send(Msg::Flash(NoticeLevel::Error, text)).await.ok();
                }
            }
        }))
    }
}

/// Follows the build a StartBuild or RetryBuild call started, or says why there is none.
async fn follow_new(
    clients: CloudClients,
    watch: WatchOptions,
    project: ProjectKey,
    started: Result<BuildId, CloudError>,
    ctx: Forward,
) {
    match started {
        // (Boxed: watching a build is a large future, and this one is inlined in callers.)
        Ok(id) => Box::pin(follow(clients, watch, project, id, ctx)).await,
        Err(e) => ctx.fail(&project.name, &e).await,
    }
}

/// Watches `id` to its end, its events going through the pipeline into the TUI.
async fn follow(
    clients: CloudClients,
    watch: WatchOptions,
    project: ProjectKey,
    id: BuildId,
    ctx: Forward,
) {
    let (sink, rx) = EventSink::channel(EVENT_CAPACITY);
    let run = async {
        if let Err(e) = watch_build(&clients, id, &watch, sink, ctx.cancel.clone()).await {
            ctx.fail(&project.name, &e).await;
        }
    };
    futures_util::future::join(run, ctx.forward(rx, project.clone())).await;
}
