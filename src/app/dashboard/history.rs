//! Past builds for the builds list and the phase medians behind the progress bars: from the
//! run history for local projects, from ListBuildsForProject/BatchGetBuilds for cloud ones.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use chrono::Utc;

use crate::engine::cloud::BuildSnapshot;
use crate::history::Store;
use crate::model::{BuildId, NoticeLevel, PhaseKind, Status};
use crate::tui::msg::Msg;
use crate::tui::state::{PastBuild, ProjectKey};

/// The run history, opened on the first request. Cheap to clone: every clone shares the one
/// connection, which loads run on a blocking thread (SQLite may wait for a writer's lock).
#[derive(Clone)]
pub(super) struct LocalHistory {
    path: Option<PathBuf>,
    store: Arc<Mutex<Option<Store>>>,
    /// Builds replayed in this session: the reducer may ask again before the first replay's
    /// events arrive (a history load and the settings both reopen the newest build), and a
    /// second replay would show every phase twice.
    replayed: Arc<Mutex<HashSet<BuildId>>>,
}

impl LocalHistory {
    /// The history at `path` (`--history`), or the default one.
    pub fn new(path: Option<PathBuf>) -> Self {
        Self {
            path,
            store: Arc::new(Mutex::new(None)),
            replayed: Arc::new(Mutex::new(HashSet::new())),
        }
    }

    /// Loads a project's history off the async threads; the answer goes to `msgs`.
    pub fn load_in_background(
        &self,
        project: ProjectKey,
        in_session: HashSet<BuildId>,
        msgs: tokio::sync::mpsc::Sender<Msg>,
    ) -> super::executor::Task {
        let this = self.clone();
        Box::pin(async move {
            let load = tokio::task::spawn_blocking(move || {
                let settings = settings_msg(&project);
                (this.load(project, |id| in_session.contains(id)), settings)
            });
            if let Ok((msg, settings)) = load.await {
                msgs.send(msg).await.ok();
                if let Some(settings) = settings {
                    msgs.send(settings).await.ok();
                }
            }
        })
    }

    /// The layer-cache report of a build's Dockerfiles (`x`), read off the async threads
    /// (the same report as `cbdash cache`); the answer goes to `msgs`.
    pub fn cache_report_in_background(
        &self,
        build: BuildId,
        dir: Option<PathBuf>,
        msgs: tokio::sync::mpsc::Sender<Msg>,
    ) -> super::executor::Task {
        let id = build.clone();
        let read = self.read_off_thread(move |store| {
            crate::app::cache::build_report(
                store,
                id.as_str(),
                dir.as_deref(),
                crate::app::cache::DEFAULT_BUILDS,
            )
        });
        Box::pin(async move {
            let report = read
                .await
                .and_then(|r| r.ok_or_else(|| format!("{build} is not in the run history")));
            msgs.send(Msg::CacheReport { build, report }).await.ok();
        })
    }

    /// `read` on the history, on a blocking thread: its value, or the error as a message.
    fn read_off_thread<T: Send + 'static, E: std::fmt::Display + Send + 'static>(
        &self,
        read: impl FnOnce(&Store) -> Result<T, E> + Send + 'static,
    ) -> impl std::future::Future<Output = Result<T, String>> + Send + 'static {
        let this = self.clone();
        async move {
            match tokio::task::spawn_blocking(move || this.with_store(read)).await {
                Ok(Ok(Ok(value))) => Ok(value),
                Ok(Ok(Err(e))) => Err(format!("run history: {e}")),
                Ok(Err(e)) => Err(e),
                Err(e) => Err(format!("run history: {e}")),
            }
        }
    }

    /// The history of the steps of one docker build of `build` (the cache panel's sparklines
    /// and miss rates), read off the async threads; the answer goes to `msgs`.
    pub fn step_history_in_background(
        &self,
        build: BuildId,
        docker_build: u32,
        msgs: tokio::sync::mpsc::Sender<Msg>,
    ) -> super::executor::Task {
        let id = build.clone();
        let read = self.read_off_thread(move |store| {
            crate::app::cache::step_history(
                store,
                id.as_str(),
                docker_build,
                crate::app::cache::DEFAULT_BUILDS,
            )
        });
        Box::pin(async move {
            let steps = read.await.and_then(|s| {
                s.ok_or_else(|| {
                    format!(
                        "docker build #{} of {build} is not in the run history",
                        docker_build + 1
                    )
                })
            });
            msgs.send(Msg::StepHistory {
                build,
                docker_build,
                steps,
            })
            .await
            .ok();
        })
    }

    /// Where builds are recorded (`None`: the default location).
    pub fn path(&self) -> Option<PathBuf> {
        self.path.clone()
    }

    /// Opens a past local build from the history: its stored phases, regressions and log,
    /// replayed as the events they were made of through the cache and diagnosis taps (no
    /// recorder: nothing is written twice), so it shows as it did live.
    /// The events go with `project`, as a live build's do (one identity: see `ProjectKey`).
    pub fn replay_in_background(
        &self,
        project: ProjectKey,
        build: BuildId,
        msgs: tokio::sync::mpsc::Sender<Msg>,
    ) -> super::executor::Task {
        let this = self.clone();
        let first = self
            .replayed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(build.clone());
        Box::pin(async move {
            if !first {
                return;
            }
            let load = tokio::task::spawn_blocking(move || this.replay(&build));
            let msgs_out = match load.await {
                Ok(Ok(events)) => events
                    .into_iter()
                    .map(|event| Msg::ProjectBuild {
                        project: project.clone(),
                        event,
                    })
                    .collect(),
                Ok(Err(text)) => vec![Msg::Flash(NoticeLevel::Warning, text)],
                Err(e) => vec![Msg::Flash(NoticeLevel::Error, format!("history: {e}"))],
            };
            for m in msgs_out {
                if msgs.send(m).await.is_err() {
                    return;
                }
            }
        })
    }

    /// A past build's events; for a batch's build, its whole batch's (see `history_batch`).
    fn replay(&self, build: &BuildId) -> Result<Vec<crate::model::BuildEvent>, String> {
        self.with_store(|store| {
            let batch = store
                .run(build.as_str())
                .map_err(|e| format!("run history: {e}"))?
                .and_then(|d| d.run.batch_id);
            match batch {
                Some(batch) => super::history_batch::replay_batch(store, &batch, |id| {
                    Self::replay_run(store, id)
                }),
                None => Self::replay_run(store, build),
            }
        })?
    }

    /// A stored build's events, through the cache and diagnosis taps (no recorder: nothing is
    /// written twice), with the cache reports the history stored.
    fn replay_run(store: &Store, build: &BuildId) -> Result<Vec<crate::model::BuildEvent>, String> {
        let detail = store
            .run(build.as_str())
            .map_err(|e| format!("run history: {e}"))?
            .ok_or_else(|| format!("'{build}' is not in the run history"))?;
        let log = store.read_log(build.as_str()).ok().flatten();
        let mut pipeline = crate::app::pipeline::Pipeline::without_history();
        let events = crate::history::replay(&detail, log.as_ref().map(|l| l.text.as_str()))
            .into_iter()
            .flat_map(|ev| pipeline.process(ev));
        // The tap re-derives the cache reports from the log; the stored ones replace them (the
        // miss reason, time lost and saved that the history worked out live): see
        // `with_stored_cache_reports` for why this way and not a pipeline option.
        let id = BuildId(detail.run.build_id.clone());
        Ok(crate::history::with_stored_cache_reports(
            &id,
            events,
            &detail.cache_reports,
        ))
    }

    /// The `Msg::History` of a local project, or a flash saying why there is none.
    pub fn load(&self, project: ProjectKey, in_session: impl Fn(&BuildId) -> bool) -> Msg {
        self.with_store(|store| {
            history_msg(store, project, in_session)
                .unwrap_or_else(|e| Msg::Flash(NoticeLevel::Warning, format!("run history: {e}")))
        })
        .unwrap_or_else(|e| Msg::Flash(NoticeLevel::Warning, e))
    }

    /// Runs `f` on the store, opening it on first use.
    fn with_store<T>(&self, f: impl FnOnce(&Store) -> T) -> Result<T, String> {
        let mut store = self
            .store
            .lock()
            .map_err(|_| "run history unavailable".to_owned())?;
        if store.is_none() {
            let opened = self
                .path
                .clone()
                .map_or_else(Store::default_path, Ok)
                .and_then(|p| Store::open(&p))
                .map_err(|e| format!("run history unavailable: {e}"))?;
            *store = Some(opened);
        }
        store
            .as_ref()
            .map(f)
            .ok_or_else(|| "run history unavailable".to_owned())
    }
}

/// A local project's image and Docker access from its `.cbdash.toml` (`None` when the file
/// does not parse: running it says why, in full).
fn settings_msg(project: &ProjectKey) -> Option<Msg> {
    let dir = project.dir.as_deref()?;
    let config = crate::app::request::load_settings(dir).ok()?;
    Some(Msg::Settings {
        project: project.clone(),
        image: config
            .image
            .clone()
            .unwrap_or_else(|| crate::engine::local::DEFAULT_IMAGE.to_owned()),
        docker: config.docker(),
    })
}

/// The `Msg::History` of a cloud project from its recent builds (newest first, as
/// `ListBuildsForProject` gives them); medians over its successful builds.
pub(super) fn cloud_history_msg(project: ProjectKey, snaps: &[BuildSnapshot]) -> Msg {
    let builds = snaps
        .iter()
        .filter_map(|s| {
            Some(PastBuild {
                build_id: s.id.clone(),
                status: s.status,
                started: s.start?,
                duration_ms: s.duration_ms(),
            })
        })
        .collect();
    let ok: Vec<&BuildSnapshot> = snaps
        .iter()
        .filter(|s| s.status == Status::Succeeded)
        .take(MEDIAN_RUNS)
        .collect();
    let phase_medians = PhaseKind::ALL
        .into_iter()
        .filter_map(|phase| {
            let ms = ok.iter().filter_map(|s| {
                let p = s.phases.iter().find(|p| p.kind == phase)?;
                u64::try_from(p.duration_secs?).ok().map(|d| d * 1000)
            });
            median(ms.collect()).map(|m| (phase, m))
        })
        .collect();
    Msg::History {
        project,
        builds,
        phase_medians,
    }
}

fn median(mut ms: Vec<u64>) -> Option<u64> {
    ms.sort_unstable();
    ms.get(ms.len() / 2).copied()
}

/// How many past builds a project shows.
const HISTORY_BUILDS: usize = 30;
/// How many recent successful runs make a phase's median.
const MEDIAN_RUNS: usize = 5;

/// The `Msg::History` of a project: its past builds (newest first, without the ones
/// `in_session` already shows) and each phase's median over its recent successful runs.
pub(super) fn history_msg(
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
                status: Status::from_api(&r.status)?,
                started: chrono::DateTime::parse_from_rfc3339(&r.started_at)
                    .ok()?
                    .with_timezone(&Utc),
                duration_ms: r.duration_ms?,
            })
        })
        .filter(|b| !in_session(&b.build_id))
        .collect();
    let recent = store.baseline(&project.name, backend, "", MEDIAN_RUNS)?;
    let phase_medians = PhaseKind::ALL
        .into_iter()
        .filter_map(|phase| {
            let ms = recent
                .iter()
                .filter_map(|m| m.phases.iter().find(|(p, _)| *p == phase).map(|(_, d)| *d));
            median(ms.collect()).map(|m| (phase, m))
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
    use crate::model::{BackendKind, BuildEvent, PhaseContext};
    use crate::tui::state::Group;
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
                docker: crate::model::DockerAccess::default(),
                batch: None,
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
                exported_variables: std::collections::BTreeMap::new(),
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
