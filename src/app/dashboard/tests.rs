//! The executor through the `Backend` seam: a fake local backend that records the requests it
//! is given and emits a build's events, so the effect handling, the request building from
//! `.cbdash.toml`, the run form, stopping, history loads and past builds (reopened through the
//! reducer, as the dashboard does) are tested without Docker.

use std::sync::Mutex;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::*;
use crate::engine::cloud::{CloudBackend, CloudBuilds};
use crate::engine::local::{ResumeRequest, ShellRequest, ShellSession};
use crate::engine::{EngineError, EventSink, ProjectSummary};
use crate::model::{
    BuildEvent, BuildId, BuildOutcome, CaseStatus, DockerAccess, ReportBody, ReportStatus, Status,
    TestCase, TestReport, TestSummary,
};
use crate::tui::msg::LocalOverrides;

/// Runs builds that succeed at once (sending `reports` before their end), or (when `hold`)
/// wait until they are stopped.
#[derive(Default)]
pub(super) struct Fake {
    requests: Mutex<Vec<BuildRequest>>,
    hold: bool,
    reports: Vec<TestReport>,
}

impl Backend for Fake {
    fn kind(&self) -> BackendKind {
        BackendKind::Local
    }

    async fn list_projects(&self) -> Result<Vec<ProjectSummary>, EngineError> {
        Ok(Vec::new())
    }

    async fn run(
        &self,
        req: BuildRequest,
        sink: EventSink,
        cancel: CancellationToken,
    ) -> Result<BuildOutcome, EngineError> {
        let build_id = BuildId::new_for(&req.project);
        self.requests.lock().expect("lock").push(req.clone());
        sink.send(BuildEvent::Started {
            build_id: build_id.clone(),
            project: req.project.clone(),
            backend: BackendKind::Local,
            image: req.image.clone().unwrap_or_default(),
            docker: crate::model::DockerAccess::from_flags(req.local.docker_socket, req.privileged),
            batch: None,
            at: Utc::now(),
        })
        .await?;
        let status = if self.hold {
            cancel.cancelled().await;
            Status::Stopped
        } else {
            Status::Succeeded
        };
        sink.send(BuildEvent::Logs {
            build_id: build_id.clone(),
            lines: vec![crate::model::LogLine::from_log(None, "hello from the fake")],
        })
        .await?;
        for report in &self.reports {
            sink.send(BuildEvent::Report {
                build_id: build_id.clone(),
                backend: BackendKind::Local,
                report: report.clone(),
            })
            .await?;
        }
        sink.send(BuildEvent::Finished {
            build_id: build_id.clone(),
            status,
            duration_ms: 1,
            at: Utc::now(),
            exported_variables: std::collections::BTreeMap::new(),
        })
        .await?;
        Ok(BuildOutcome { build_id, status })
    }
}

impl KeptBuilds for Fake {
    async fn resume(
        &self,
        req: ResumeRequest,
        _sink: EventSink,
        _cancel: CancellationToken,
    ) -> Result<BuildOutcome, EngineError> {
        Err(crate::engine::local::LocalError::ContainerGone {
            build_id: req.build_id,
            kept: Vec::new(),
        }
        .into())
    }

    async fn open_shell(&self, req: &ShellRequest) -> Result<ShellSession, EngineError> {
        Err(crate::engine::local::LocalError::ContainerGone {
            build_id: req.build_id.clone(),
            kept: Vec::new(),
        }
        .into())
    }

    async fn discard(&self, _build_id: &str) -> Result<bool, EngineError> {
        Ok(false)
    }

    async fn expire_kept(&self) -> Result<usize, EngineError> {
        Ok(0)
    }
}

const SPEC: &str = "version: 0.2\nphases:\n  build:\n    commands:\n      - echo hi\n";

pub(super) struct Harness {
    pub(super) fake: Arc<Fake>,
    pub(super) effects: mpsc::Sender<Effect>,
    pub(super) msgs: mpsc::Receiver<Msg>,
    pub(super) project: ProjectKey,
    pub(super) dir: tempfile::TempDir,
    pub(super) done: tokio::task::JoinHandle<()>,
}

fn start(fake: Fake, settings: &str) -> Harness {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("buildspec.yml"), SPEC).expect("spec");
    std::fs::write(dir.path().join(".cbdash.toml"), settings).expect("settings");
    start_in(fake, dir)
}

/// An executor on the project in `dir`, whose history is `dir/history.sqlite`.
fn start_in(fake: Fake, dir: tempfile::TempDir) -> Harness {
    start_full(fake, dir, CloudPool::<CloudBackend>::empty())
}

/// [`start_in`] with these cloud groups.
pub(super) fn start_full<C: CloudBuilds>(
    fake: Fake,
    dir: tempfile::TempDir,
    cloud: CloudPool<C>,
) -> Harness {
    let project = ProjectKey {
        name: "svc".into(),
        group: Group::Local,
        dir: Some(dir.path().to_path_buf()),
    };
    let fake = Arc::new(fake);
    let (msgs_tx, msgs) = mpsc::channel(256);
    let (effects, fx_rx) = mpsc::channel(16);
    let (suspend, _) = mpsc::channel(1);
    let executor = Executor {
        local: Some(fake.clone()),
        cloud,
        history: LocalHistory::new(Some(dir.path().join("history.sqlite"))),
        request_for: Arc::new(project_request),
        msgs: msgs_tx,
        cancels: HashMap::new(),
        shutdown: CancellationToken::new(),
        local_requests: None,
        kept: kept::Kept::new(Duration::from_mins(1), suspend),
    };
    let done = tokio::spawn(executor.run(fx_rx));
    Harness {
        fake,
        effects,
        msgs,
        project,
        dir,
        done,
    }
}

impl Harness {
    /// The next message that `pick` accepts, skipping the others (within five seconds).
    pub(super) async fn next<T>(&mut self, mut pick: impl FnMut(Msg) -> Option<T>) -> T {
        let wait = async {
            while let Some(m) = self.msgs.recv().await {
                if let Some(t) = pick(m) {
                    return t;
                }
            }
            panic!("the executor closed its channel");
        };
        tokio::time::timeout(Duration::from_secs(5), wait)
            .await
            .expect("no such message within 5 s")
    }

    async fn finished(&mut self) -> Status {
        self.next(|m| match m {
            Msg::ProjectBuild {
                event: BuildEvent::Finished { status, .. },
                ..
            } => Some(status),
            _ => None,
        })
        .await
    }

    /// `r` on `project`.
    async fn start_build(&self, project: &ProjectKey) {
        self.effects
            .send(Effect::StartBuild {
                project: project.clone(),
                mode: RunMode::Full,
            })
            .await
            .expect("send");
    }

    /// `r` on `project`: the id of the build it started.
    async fn run(&mut self, project: &ProjectKey) -> BuildId {
        self.start_build(project).await;
        self.next(|m| match m {
            Msg::ProjectBuild {
                event: BuildEvent::Started { build_id, .. },
                ..
            } => Some(build_id),
            _ => None,
        })
        .await
    }

    pub(super) async fn close(self) {
        drop(self.effects);
        tokio::time::timeout(Duration::from_secs(5), self.done)
            .await
            .expect("the executor ends when the UI goes")
            .expect("no panic");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_runs_the_project_with_every_setting_of_its_file() {
    let mut h = start(Fake::default(), "image = \"img:7\"\ndocker_socket = true\n");
    let project = h.project.clone();
    h.start_build(&project).await;
    assert_eq!(h.finished().await, Status::Succeeded);
    let req = h.fake.requests.lock().expect("lock")[0].clone();
    assert_eq!(req.image.as_deref(), Some("img:7"));
    assert!(req.local.docker_socket, "{req:?}");
    h.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_run_form_overrides_and_saves_docker_access_but_never_variables() {
    let mut h = start(Fake::default(), "# mine\nimage = \"img:7\"\n");
    let overrides = LocalOverrides {
        image: Some("other:1".into()),
        docker: Some(DockerAccess::Privileged),
        env: vec![("TOKEN".into(), "abc".into())],
        debug: true,
        save: true,
    };
    let project = h.project.clone();
    h.effects
        .send(Effect::StartLocal { project, overrides })
        .await
        .expect("send");
    assert_eq!(h.finished().await, Status::Succeeded);
    let req = h.fake.requests.lock().expect("lock")[0].clone();
    assert_eq!(req.image.as_deref(), Some("other:1"));
    assert!(req.privileged && !req.local.docker_socket, "{req:?}");
    assert!(req.env.contains(&("TOKEN".into(), "abc".into())));
    assert!(req.local.debug, "paused on failure, as `run --debug`");
    let saved = std::fs::read_to_string(h.dir.path().join(".cbdash.toml")).expect("read");
    assert!(saved.starts_with("# mine\n"), "{saved}");
    assert!(saved.contains("image = \"other:1\"") && saved.contains("privileged = true"));
    assert!(!saved.contains("TOKEN"), "{saved}");
    assert!(!saved.contains("debug"), "pausing is never saved: {saved}");
    h.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_settings_file_is_flashed_whole_and_nothing_runs() {
    let mut h = start(Fake::default(), "imgae = \"x\"\n");
    let project = h.project.clone();
    h.start_build(&project).await;
    let text = h
        .next(|m| match m {
            Msg::Flash(_, t) => Some(t),
            _ => None,
        })
        .await;
    assert!(
        text.contains(":1:1: unknown key `imgae`; did you mean `image`?"),
        "{text}"
    );
    assert!(h.fake.requests.lock().expect("lock").is_empty());
    h.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_cancels_a_running_build_and_history_loads_meanwhile() {
    let mut h = start(
        Fake {
            hold: true,
            ..Fake::default()
        },
        "",
    );
    let project = h.project.clone();
    let id = h.run(&project).await;
    // The build holds; the executor still answers a history load.
    h.effects
        .send(Effect::LoadHistory(project.clone()))
        .await
        .expect("send");
    let loaded = h
        .next(|m| match m {
            Msg::History { project, .. } => Some(project),
            Msg::Flash(_, t) => panic!("history: {t}"),
            _ => None,
        })
        .await;
    assert_eq!(loaded, project);
    h.effects.send(Effect::StopBuild(id)).await.expect("send");
    assert_eq!(h.finished().await, Status::Stopped);
    h.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_past_local_build_opens_from_the_history_with_its_log() {
    let mut h = start(Fake::default(), "");
    let project = h.project.clone();
    let id = h.run(&project).await;
    assert_eq!(h.finished().await, Status::Succeeded);
    let Harness {
        effects, done, dir, ..
    } = h;
    drop(effects);
    done.await.expect("first session ends");
    // A later session opens it from the history: the same build, log and end.
    let mut h = start_in(Fake::default(), dir);
    h.effects
        .send(Effect::FollowBuild {
            project,
            build: id.clone(),
        })
        .await
        .expect("send");
    let started = h
        .next(|m| match m {
            Msg::ProjectBuild {
                event: BuildEvent::Started { build_id, .. },
                ..
            } => Some(build_id),
            Msg::Flash(_, t) => panic!("{t}"),
            _ => None,
        })
        .await;
    assert_eq!(started, id);
    let line = h
        .next(|m| match m {
            Msg::ProjectBuild {
                event: BuildEvent::Logs { lines, .. },
                ..
            } => Some(lines[0].text.clone()),
            _ => None,
        })
        .await;
    assert_eq!(line, "hello from the fake");
    assert_eq!(h.finished().await, Status::Succeeded);
    assert!(
        h.fake.requests.lock().expect("lock").is_empty(),
        "nothing ran again"
    );
    h.close().await;
}

/// A failed JUnit group with one failed case.
fn unit_report() -> TestReport {
    TestReport {
        group: "unit".into(),
        format: "JUNITXML".into(),
        status: ReportStatus::Failed,
        files: vec!["reports/junit.xml".into()],
        body: ReportBody::Test(TestSummary {
            tests: 3,
            passed: 2,
            failed: 1,
            duration_ms: 250,
            failed_cases: vec![TestCase {
                name: "rejects an empty basket".into(),
                prefix: "orders".into(),
                status: CaseStatus::Failed,
                message: Some("expected 400, received 500".into()),
                duration_ms: Some(12),
            }],
            ..TestSummary::default()
        }),
        warnings: vec![],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_past_local_build_opens_from_the_history_with_its_reports_panel() {
    let fake = Fake {
        reports: vec![unit_report()],
        ..Fake::default()
    };
    // Named as the harness's project key, so the history lists the build under it.
    let mut h = start(fake, "name = \"svc\"\n");
    let project = h.project.clone();
    let id = h.run(&project).await;
    assert_eq!(h.finished().await, Status::Succeeded);
    let Harness {
        effects, done, dir, ..
    } = h;
    drop(effects);
    done.await.expect("first session ends");
    // A later session, driven by the reducer as the dashboard is: the project is listed, its
    // history loads, its newest build opens from the history.
    let mut h = start_in(Fake::default(), dir);
    let cfg = crate::config::user::UserConfig::defaults().expect("defaults");
    let km = crate::tui::keymap::Keymap::from_bindings(&cfg.keys).expect("keymap");
    let mut state = State::new(Utc::now());
    let mut fx = crate::tui::update::update(&mut state, &km, Msg::Projects(vec![project]));
    let mut seen = Vec::new();
    loop {
        for e in fx.drain(..) {
            h.effects.send(e).await.expect("send");
        }
        let msg = h.next(Some).await;
        if let Msg::ProjectBuild { event, .. } = &msg
            && event.build_id() == Some(&id)
        {
            seen.push(match event {
                BuildEvent::Report { report, .. } => format!("report {}", report.group),
                BuildEvent::Finished { .. } => "finished".into(),
                _ => "other".into(),
            });
        }
        if let Msg::Flash(_, text) = &msg {
            panic!("{text}");
        }
        fx = crate::tui::update::update(&mut state, &km, msg);
        if seen.last().is_some_and(|s| s == "finished") {
            break;
        }
    }
    assert_eq!(seen[seen.len() - 2..], ["report unit", "finished"]);
    let build = state.build().expect("the past build is open");
    assert_eq!(build.id, id);
    assert_eq!(build.reports, [unit_report()]);
    // The panel's drawing of these reports is the TUI's own test (`tests/tui/reports.rs`): the
    // app layer never imports the terminal library.
    assert!(
        h.fake.requests.lock().expect("lock").is_empty(),
        "nothing ran again"
    );
    h.close().await;
}

#[test]
fn a_folder_is_a_project_with_a_buildspec_or_a_settings_file() {
    let root = tempfile::tempdir().expect("tempdir");
    for (dir, file, text) in [
        ("a", "buildspec.yml", SPEC),
        (
            "b",
            ".cbdash.toml",
            "name = \"bee\"\nbuildspec = \"ci/spec.yml\"\n",
        ),
        ("c", "README", "not a project"),
    ] {
        std::fs::create_dir(root.path().join(dir)).expect("mkdir");
        std::fs::write(root.path().join(dir).join(file), text).expect("write");
    }
    let config = UserConfig::defaults().expect("built-in config");
    let found = discover(root.path(), &config);
    let names: Vec<&str> = found.iter().map(|k| k.name.as_str()).collect();
    assert_eq!(names, ["a", "bee"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resuming_a_batch_without_its_record_says_so_and_runs_nothing() {
    let mut h = start(Fake::default(), "");
    let project = h.project.clone();
    for (fx, what) in [(
        Effect::ResumeBatch {
            project: project.clone(),
            batch_id: crate::model::BatchId("p:1".into()),
        },
        "build of 'svc' failed to run: batch p:1 has no record",
    )] {
        h.effects.send(fx).await.expect("send");
        let text = h
            .next(|m| match m {
                Msg::Flash(_, t) => Some(t),
                _ => None,
            })
            .await;
        assert!(text.starts_with(what), "{text}");
    }
    assert!(
        h.fake.requests.lock().expect("lock").is_empty(),
        "no build ran"
    );
    h.close().await;
}
