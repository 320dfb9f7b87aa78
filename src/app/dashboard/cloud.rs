//! The dashboard's cloud side: one cloud backend per `[[cloud]]` group, and the tasks that
//! list a group's projects, list a project's recent builds, start, retry, follow and stop
//! builds. Every task reports through `Msg`s; an AWS error becomes a flash naming the group and
//! the fix, never the end of the dashboard. The pool speaks to each group only through the
//! engine's `Backend` and `CloudBuilds` traits: AWS in the dashboard, a fake in the executor's
//! tests.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;

use tokio::sync::mpsc;

use super::EVENT_CAPACITY;
use super::executor::{Forward, Task};
use super::history::cloud_history_msg;
use crate::config::user::CloudTarget as ConfigTarget;
use crate::engine::cloud::{
    CloudBackend, CloudBuilds, CloudClients, CloudError, CloudTarget, ConnectOptions, actions,
};
use crate::engine::{BuildRequest, EventSink};
use crate::model::{BatchId, BuildId, NoticeLevel};
use crate::tui::msg::{Msg, StartOverrides};
use crate::tui::state::{Group, ProjectKey};

/// How many recent builds a cloud project's list shows.
const RECENT_BUILDS: usize = 30;
/// Selecting a project again within this time reuses its list instead of calling AWS.
const RELIST_AFTER: Duration = Duration::from_secs(15);
/// At discovery, the builds of this many projects per group are listed (so the sidebar
/// shows their last status before they are selected); the others are listed when selected.
const DISCOVERY_LISTS: usize = 50;
/// How many of those lists run at once (each is two calls), to stay under the API's rate.
const DISCOVERY_CONCURRENCY: usize = 4;

/// The backend of every configured cloud group.
pub(super) struct CloudPool<C = CloudBackend> {
    clients: HashMap<Group, C>,
    /// Each group's configured `projects`; an empty list: every project of the account.
    configured: Vec<(Group, Vec<String>)>,
    /// When each project's builds were last listed (shared with the discovery tasks).
    listed: Listed,
    /// Builds being followed: each once at a time (a follow that ends, or fails, leaves).
    following: Arc<Mutex<HashSet<BuildId>>>,
}

/// When each project's builds were last listed.
type Listed = Arc<Mutex<HashMap<ProjectKey, Instant>>>;

/// The dashboard group of a config target: what it names, else what the SDK's default chain
/// will pick from the environment (`AWS_PROFILE`; `AWS_REGION`, `AWS_DEFAULT_REGION`), else
/// `default`.
pub(super) fn group_of(t: &ConfigTarget) -> Group {
    group_from(t, |name| std::env::var(name).ok())
}

/// [`group_of`] with the environment passed in (pure, for tests): named as `cbdash cloud`
/// names it ([`CloudTarget::resolved`]).
pub(super) fn group_from(t: &ConfigTarget, env: impl Fn(&str) -> Option<String>) -> Group {
    let target = CloudTarget {
        profile: t.profile.clone(),
        region: t.region.clone(),
    };
    let (profile, region) = target.resolved(env);
    Group::Cloud { profile, region }
}

impl CloudPool<CloudBackend> {
    /// Builds the clients of each target. Nothing is called yet: credentials are checked by
    /// the first call, whose error shows up as a flash.
    pub async fn connect(targets: &[ConfigTarget]) -> Self {
        let mut clients = HashMap::new();
        let mut configured = Vec::new();
        for t in targets {
            let group = group_of(t);
            if clients.contains_key(&group) {
                continue;
            }
            let target = CloudTarget {
                // No profile: the default chain (environment, SSO, instance roles). "default"
                // is what the chain picks anyway; naming it would demand a profile file.
                profile: t.profile.clone().filter(|p| p != "default"),
                region: t.region.clone(),
            };
            let mut c = CloudClients::connect(&target, &ConnectOptions::default()).await;
            // Errors name the group as the sidebar does (the profile the environment chose).
            if let Group::Cloud { profile, region } = &group {
                c.group = format!("{profile}/{region}");
            }
            let backend = CloudBackend {
                clients: c,
                live_tail: false,
            };
            clients.insert(group.clone(), backend);
            configured.push((group, t.projects.clone()));
        }
        CloudPool::with(clients, configured)
    }
}

impl<C: CloudBuilds> CloudPool<C> {
    /// A pool of these backends, each group with its configured `projects` (empty: every
    /// project of the account).
    pub fn with(clients: HashMap<Group, C>, configured: Vec<(Group, Vec<String>)>) -> Self {
        Self {
            clients,
            configured,
            listed: Arc::default(),
            following: Arc::default(),
        }
    }

    /// No cloud group (a dashboard of local projects only).
    #[cfg(test)]
    pub fn empty() -> Self {
        Self::with(HashMap::new(), Vec::new())
    }

    /// One task per group: list its projects (a group configured without a `projects` list
    /// shows every project of the account), then the builds of each, so the sidebar has their
    /// last status and a selected project opens its newest build at once.
    pub fn discover(&self, msgs: &mpsc::Sender<Msg>) -> Vec<Task> {
        self.configured
            .iter()
            .filter_map(|(g, names)| Some((g.clone(), names.clone(), self.clients.get(g)?)))
            .map(|(group, names, clients)| {
                let (msgs, clients, listed) = (msgs.clone(), clients.clone(), self.listed.clone());
                Box::pin(async move {
                    let names = if names.is_empty() {
                        match clients.list_projects().await {
                            Ok(found) => found.into_iter().map(|p| p.name).collect(),
                            Err(e) => {
                                let text = format!("{group}: {e}");
                                msgs.send(Msg::Flash(NoticeLevel::Error, text)).await.ok();
                                return;
                            }
                        }
                    } else {
                        names
                    };
                    let keys: Vec<ProjectKey> = names
                        .into_iter()
                        .map(|name| ProjectKey {
                            name,
                            group: group.clone(),
                            dir: None,
                        })
                        .collect();
                    // Marked listed before the reducer sees them, so its selection does not
                    // list the selected project a second time.
                    let first: Vec<ProjectKey> =
                        keys.iter().take(DISCOVERY_LISTS).cloned().collect();
                    {
                        let mut listed = lock(&listed);
                        for key in &first {
                            listed.insert(key.clone(), Instant::now());
                        }
                    }
                    msgs.send(Msg::Projects(keys)).await.ok();
                    let lists = first.into_iter().map(|key| list_builds(&clients, key));
                    let mut lists =
                        futures_util::stream::iter(lists).buffered(DISCOVERY_CONCURRENCY);
                    while let Some(msg) = lists.next().await {
                        // One error (expired credentials, denied) says it for the group: the
                        // other lists would only repeat it.
                        let failed = matches!(msg, Msg::Flash(..));
                        msgs.send(msg).await.ok();
                        if failed {
                            break;
                        }
                    }
                }) as Task
            })
            .collect()
    }

    fn clients(&self, group: &Group, msgs: &mpsc::Sender<Msg>) -> Option<C> {
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
            let started = clients.start(&req, spec).await;
            follow_new(clients, project, started, ctx).await;
        }))
    }

    /// RetryBuild of a finished build, and follow the new one.
    pub fn retry(&self, project: ProjectKey, build: BuildId, ctx: Forward) -> Option<Task> {
        let clients = self.clients(&project.group, &ctx.msgs)?;
        Some(Box::pin(async move {
            let started = clients.retry(&build).await;
            follow_new(clients, project, started, ctx).await;
        }))
    }

    /// RetryBuildBatch (its failed builds only, or all), then the same batch followed again
    /// (answers still showing its previous run's end skipped): the batch keeps its id, its
    /// retried nodes count their next attempt.
    pub fn retry_batch(
        &self,
        project: ProjectKey,
        batch: BatchId,
        failed_only: bool,
        ctx: Forward,
    ) -> Option<Task> {
        let clients = self.clients(&project.group, &ctx.msgs)?;
        Some(Box::pin(async move {
            if let Err(e) = clients.retry_batch(&batch, failed_only).await {
                ctx.fail(&project.name, &e).await;
                return;
            }
            let (sink, rx) = EventSink::channel(EVENT_CAPACITY);
            let run = async {
                let followed = clients.follow_retried_batch(batch, sink, ctx.cancel.clone());
                if let Err(e) = followed.await {
                    ctx.fail(&project.name, &e).await;
                }
            };
            futures_util::future::join(run, ctx.forward(rx, project.clone())).await;
        }))
    }

    /// Follow an existing build (running or finished): its phases, then its log.
    pub fn follow(&mut self, project: ProjectKey, build: BuildId, ctx: Forward) -> Option<Task> {
        // Selecting a project again before its build's `Started` came back asks again.
        let following = self.following.clone();
        if !lock(&following).insert(build.clone()) {
            return None;
        }
        let Some(clients) = self.clients(&project.group, &ctx.msgs) else {
            lock(&following).remove(&build);
            return None;
        };
        Some(Box::pin(async move {
            follow(clients, project, build.clone(), ctx).await;
            lock(&following).remove(&build);
        }))
    }

    /// StopBuild; the build's watcher sees it end as STOPPED.
    pub fn stop(&self, group: &Group, id: BuildId, msgs: mpsc::Sender<Msg>) -> Option<Task> {
        let clients = self.clients(group, &msgs)?;
        Some(Box::pin(async move {
            let msg = match clients.stop(&id).await {
                Ok(()) => Msg::Flash(NoticeLevel::Info, format!("stop requested for {id}")),
                Err(e) => Msg::Flash(NoticeLevel::Error, format!("cannot stop {id}: {e}")),
            };
            msgs.send(msg).await.ok();
        }))
    }

    /// The project's recent builds (at most once per [`RELIST_AFTER`]).
    pub fn history(&mut self, project: ProjectKey, msgs: mpsc::Sender<Msg>) -> Option<Task> {
        let now = Instant::now();
        {
            let mut listed = lock(&self.listed);
            if listed
                .get(&project)
                .is_some_and(|at| now.duration_since(*at) < RELIST_AFTER)
            {
                return None;
            }
            listed.insert(project.clone(), now);
        }
        let clients = self.clients(&project.group, &msgs)?;
        Some(Box::pin(async move {
            let msg = list_builds(&clients, project).await;
            msgs.send(msg).await.ok();
        }))
    }

    /// Reads a cloud project (or one of its builds), resolves its secret variables and hands
    /// the local request on the current directory to the executor, as the project `local`.
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
            match clients.reproduce(&target, &dir).await {
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

/// The map or set behind `m` (a panic elsewhere leaves it usable: it holds no invariant).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A project's recent builds as a `Msg::History`, or a flash saying why there are none.
async fn list_builds<C: CloudBuilds>(clients: &C, project: ProjectKey) -> Msg {
    match clients.recent_builds(&project.name, RECENT_BUILDS).await {
        Ok(snaps) => cloud_history_msg(project, &snaps),
        // Named with its group: one name may be listed in several.
        Err(e) => Msg::Flash(
            NoticeLevel::Warning,
            format!("{} ({}): {e}", project.name, project.group),
        ),
    }
}

/// Follows the build a StartBuild or RetryBuild call started, or says why there is none.
async fn follow_new<C: CloudBuilds>(
    clients: C,
    project: ProjectKey,
    started: Result<BuildId, CloudError>,
    ctx: Forward,
) {
    match started {
        // (Boxed: watching a build is a large future, and this one is inlined in callers.)
        Ok(id) => Box::pin(follow(clients, project, id, ctx)).await,
        Err(e) => ctx.fail(&project.name, &e).await,
    }
}

/// Watches `id` to its end, its events going through the pipeline into the TUI.
async fn follow<C: CloudBuilds>(clients: C, project: ProjectKey, id: BuildId, ctx: Forward) {
    let (sink, rx) = EventSink::channel(EVENT_CAPACITY);
    let run = async {
        if let Err(e) = clients.follow(id, sink, ctx.cancel.clone()).await {
            ctx.fail(&project.name, &e).await;
        }
    };
    futures_util::future::join(run, ctx.forward(rx, project.clone())).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_util::sync::CancellationToken;

    fn target(profile: Option<&str>, region: Option<&str>) -> ConfigTarget {
        ConfigTarget {
            profile: profile.map(str::to_owned),
            region: region.map(str::to_owned),
            projects: Vec::new(),
        }
    }

    fn cloud(profile: &str, region: &str) -> Group {
        Group::Cloud {
            profile: profile.into(),
            region: region.into(),
        }
    }

    #[test]
    fn a_target_without_profile_is_named_by_the_environment_or_default() {
        let none = |_: &str| None;
        assert_eq!(
            group_from(&target(None, Some("eu-west-1")), none),
            cloud("default", "eu-west-1")
        );
        let env = |name: &str| match name {
            "AWS_PROFILE" => Some("dev".to_owned()),
            "AWS_DEFAULT_REGION" => Some("us-east-2".to_owned()),
            _ => None,
        };
        assert_eq!(
            group_from(&target(None, None), env),
            cloud("dev", "us-east-2")
        );
        // What the file names wins over the environment.
        assert_eq!(
            group_from(&target(Some("prod"), Some("eu-west-1")), env),
            cloud("prod", "eu-west-1")
        );
    }

    fn api(profile: &str) -> ProjectKey {
        ProjectKey {
            name: "api".into(),
            group: cloud(profile, "eu-west-1"),
            dir: None,
        }
    }

    /// Two groups with a project `api` each: lists and follows are keyed by the whole
    /// identity, so neither group's list or build stands in for the other's. No task is
    /// polled: nothing calls AWS.
    #[tokio::test]
    async fn the_pool_keys_lists_and_follows_by_group() {
        let targets = [
            target(Some("prod"), Some("eu-west-1")),
            target(Some("dev"), Some("eu-west-1")),
        ];
        let mut pool = CloudPool::connect(&targets).await;
        let (msgs, mut flashes) = mpsc::channel(8);
        assert!(pool.history(api("prod"), msgs.clone()).is_some());
        assert!(
            pool.history(api("dev"), msgs.clone()).is_some(),
            "dev's api is listed although prod's just was"
        );
        assert!(
            pool.history(api("prod"), msgs.clone()).is_none(),
            "prod's api was listed a moment ago"
        );
        // A group that is not configured says so instead of borrowing another's clients.
        assert!(pool.history(api("staging"), msgs.clone()).is_none());
        assert!(
            matches!(flashes.try_recv(), Ok(Msg::Flash(NoticeLevel::Error, t)) if t.contains("staging"))
        );

        let (started, _rx) = mpsc::channel(1);
        let ctx = || Forward {
            msgs: msgs.clone(),
            history: None,
            started: started.clone(),
            cancel: CancellationToken::new(),
            buildspec: None,
            source: None,
        };
        let id = BuildId("api:1".into());
        assert!(pool.follow(api("prod"), id.clone(), ctx()).is_some());
        assert!(
            pool.follow(api("prod"), id, ctx()).is_none(),
            "a build is followed once at a time"
        );
    }
}
