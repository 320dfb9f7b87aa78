//! Recorded event sequences, as the local and cloud backends emit them, on a fixed clock.

use cbdash::model::{
    BackendKind, BuildEvent, BuildId, LogLine, NoticeLevel, PhaseContext, PhaseKind, Status,
    StatusCode,
};
use cbdash::tui::keymap::{Key, Keymap};
use cbdash::tui::msg::{Effect, Msg};
use cbdash::tui::state::{Group, PastBuild, ProjectKey, State};
use cbdash::tui::update::update;
use chrono::{DateTime, TimeDelta, TimeZone, Utc};

pub fn t(secs: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0)
        .single()
        .expect("valid date")
        + TimeDelta::seconds(secs)
}

pub fn keymap() -> Keymap {
    let cfg = cbdash::config::user::UserConfig::defaults().expect("defaults");
    Keymap::from_bindings(&cfg.keys).expect("keymap")
}

pub fn local(name: &str) -> ProjectKey {
    ProjectKey {
        name: name.into(),
        group: Group::Local,
        dir: None,
    }
}

pub fn cloud(name: &str) -> ProjectKey {
    ProjectKey {
        name: name.into(),
        group: Group::Cloud {
            profile: "prod".into(),
            region: "eu-west-1".into(),
        },
        dir: None,
    }
}

/// A dashboard with a few projects and some history.
pub fn dashboard() -> (State, Keymap) {
    let km = keymap();
    let mut s = State::new(t(0));
    let projects = vec![
        local("api"),
        local("web"),
        local("worker"),
        cloud("api-prod"),
        cloud("nightly"),
    ];
    send(&mut s, &km, Msg::Projects(projects));
    let history = (0..6)
        .map(|i| PastBuild {
            build_id: BuildId(format!("api:0000000{i}-aaaa-bbbb-cccc-dddddddddddd")),
            status: if i == 2 {
                Status::Failed
            } else {
                Status::Succeeded
            },
            started: t(-86_400 + i * 3600),
            duration_ms: [62_000, 58_000, 91_000, 60_500, 57_000, 61_000]
                [usize::try_from(i).unwrap_or(0)],
        })
        .collect();
    send(
        &mut s,
        &km,
        Msg::History {
            project: local("api"),
            builds: history,
            phase_medians: vec![(PhaseKind::Install, 8_000), (PhaseKind::Build, 30_000)],
        },
    );
    (s, km)
}

pub fn send(s: &mut State, km: &Keymap, msg: Msg) -> Vec<Effect> {
    update(s, km, msg)
}

pub fn keys(s: &mut State, km: &Keymap, keys: &str) -> Vec<Effect> {
    keys.chars()
        .flat_map(|c| update(s, km, Msg::Key(Key::char(c))))
        .collect()
}

pub fn replay(s: &mut State, km: &Keymap, events: Vec<(i64, BuildEvent)>) {
    for (at, ev) in events {
        update(s, km, Msg::Tick(t(at)));
        update(s, km, Msg::Build(ev));
    }
}

fn lines(phase: PhaseKind, texts: &[&str]) -> Vec<LogLine> {
    texts
        .iter()
        .map(|t| LogLine::from_log(Some(phase), t))
        .collect()
}

pub const ID: &str = "api:3f1c2a9e-6b7d-4c1e-9a55-0d2b8e4f7a10";

fn phase(
    id: &BuildId,
    kind: PhaseKind,
    at: i64,
    dur: i64,
    status: Status,
    ctx: PhaseContext,
    log: &[&str],
) -> Vec<(i64, BuildEvent)> {
    let mut out = vec![(
        at,
        BuildEvent::PhaseStarted {
            build_id: id.clone(),
            phase: kind,
            attempt: 1,
            at: t(at),
        },
    )];
    if !log.is_empty() {
        out.push((
            at + 1,
            BuildEvent::Logs {
                build_id: id.clone(),
                lines: lines(kind, log),
            },
        ));
    }
    if status != Status::InProgress {
        out.push((
            at + dur,
            BuildEvent::PhaseFinished {
                build_id: id.clone(),
                phase: kind,
                attempt: 1,
                status,
                duration_ms: u64::try_from(dur * 1000).unwrap_or(0),
                context: ctx,
                at: t(at + dur),
            },
        ));
    }
    out
}

fn started(id: &BuildId, project: &str, backend: BackendKind, image: &str) -> (i64, BuildEvent) {
    (
        0,
        BuildEvent::Started {
            build_id: id.clone(),
            project: project.into(),
            backend,
            image: image.into(),
            docker: cbdash::model::DockerAccess::default(),
            batch: None,
            at: t(0),
        },
    )
}

const INSTALL_LOG: &[&str] = &[
    "[Container] 2026/03/01 12:00:02 Running command npm ci",
    "added 812 packages, and audited 813 packages in 6s",
    "\x1b[33m3 moderate severity vulnerabilities\x1b[0m\x1b]0;npm ci\x07",
];

/// A local build running its BUILD phase (a `docker build` inside it).
pub fn running() -> Vec<(i64, BuildEvent)> {
    let id = BuildId(ID.into());
    let mut ev = vec![started(
        &id,
        "api",
        BackendKind::Local,
        "aws/codebuild/standard:7.0",
    )];
    ev.extend(phase(
        &id,
        PhaseKind::DownloadSource,
        0,
        1,
        Status::Succeeded,
        PhaseContext::default(),
        &[],
    ));
    ev.extend(phase(
        &id,
        PhaseKind::Install,
        1,
        8,
        Status::Succeeded,
        PhaseContext::default(),
        INSTALL_LOG,
    ));
    ev.extend(phase(
        &id,
        PhaseKind::PreBuild,
        9,
        2,
        Status::Succeeded,
        PhaseContext::default(),
        &[
            "[Container] 2026/03/01 12:00:09 Running command npm run lint",
            "\x1b[32m✔ no lint errors\x1b[0m",
        ],
    ));
    ev.extend(phase(
        &id,
        PhaseKind::Build,
        11,
        0,
        Status::InProgress,
        PhaseContext::default(),
        &[
            "[Container] 2026/03/01 12:00:11 Running command docker build -t api .",
            "#5 [2/6] COPY package*.json ./",
            "#5 CACHED",
            "#6 [3/6] RUN npm ci --omit=dev",
            "#6 3.210 added 402 packages in 3s",
            "#6 DONE 3.4s",
            "\x1b[2K\x1b[1G#7 [4/6] COPY . .",
        ],
    ));
    ev.push((
        26,
        BuildEvent::Logs {
            build_id: id,
            lines: lines(
                PhaseKind::Build,
                &["#7 DONE 0.4s", "#8 [5/6] RUN npm run build"],
            ),
        },
    ));
    ev
}

/// `events` as the dashboard receives them from the pipeline: through the layer-cache tap
/// (which adds a `BuildEvent::Cache` after each batch of lines that changes a docker build's
/// report), with `saved_ms` as the time saved the history estimates for the cached steps.
pub fn with_cache(events: Vec<(i64, BuildEvent)>, saved_ms: u64) -> Vec<(i64, BuildEvent)> {
    let mut tap = cbdash::cache::CacheTap::new();
    let mut out = Vec::new();
    for (at, ev) in events {
        let ms = u64::try_from(at * 1000).unwrap_or(0);
        for mut ev in tap.observe(ev, ms) {
            if let BuildEvent::Cache { report, .. } = &mut ev {
                report.time_saved_ms = Some(saved_ms);
            }
            out.push((at, ev));
        }
    }
    out
}

/// A build whose BUILD phase failed, with CodeBuild's context message.
pub fn failed() -> Vec<(i64, BuildEvent)> {
    let id = BuildId(ID.into());
    let mut ev = vec![started(
        &id,
        "api",
        BackendKind::Local,
        "aws/codebuild/standard:7.0",
    )];
    ev.extend(phase(
        &id,
        PhaseKind::Install,
        0,
        8,
        Status::Succeeded,
        PhaseContext::default(),
        INSTALL_LOG,
    ));
    ev.extend(phase(
        &id,
        PhaseKind::PreBuild,
        8,
        2,
        Status::Succeeded,
        PhaseContext::default(),
        &[],
    ));
    ev.extend(phase(&id, PhaseKind::Build, 10, 14, Status::Failed, PhaseContext::new(StatusCode::CommandExecutionError, "Error while executing command: npm test. Reason: exit status 1"), &[
        "[Container] 2026/03/01 12:00:10 Running command npm test",
        "> api@1.4.0 test",
        "\x1b[31m✘ FAIL\x1b[0m src/orders.test.ts",
        "  ● orders › rejects an empty basket",
        "    expected 400, received 500",
        "Tests: \x1b[31m1 failed\x1b[0m, 41 passed, 42 total",
        "[Container] 2026/03/01 12:00:24 Command did not exit successfully npm test exit status 1",
    ]));
    ev.extend(phase(
        &id,
        PhaseKind::PostBuild,
        24,
        1,
        Status::Succeeded,
        PhaseContext::default(),
        &[
            "[Container] 2026/03/01 12:00:24 Running command echo done",
            "done",
        ],
    ));
    ev.push((
        25,
        BuildEvent::Finished {
            build_id: id,
            status: Status::Failed,
            duration_ms: 25_000,
            at: t(25),
            exported_variables: std::collections::BTreeMap::new(),
        },
    ));
    ev
}

/// A build where every docker layer came from the cache.
pub fn fully_cached() -> Vec<(i64, BuildEvent)> {
    let id = BuildId(ID.into());
    let mut ev = vec![started(
        &id,
        "api",
        BackendKind::Local,
        "aws/codebuild/standard:7.0",
    )];
    ev.extend(phase(
        &id,
        PhaseKind::Install,
        0,
        2,
        Status::Succeeded,
        PhaseContext::default(),
        &[],
    ));
    ev.extend(phase(
        &id,
        PhaseKind::Build,
        2,
        3,
        Status::Succeeded,
        PhaseContext::default(),
        &[
            "[Container] 2026/03/01 12:00:02 Running command docker build -t api .",
            "#4 [1/6] FROM docker.io/library/node:20-alpine",
            "#5 [2/6] COPY package*.json ./",
            "#5 CACHED",
            "#6 [3/6] RUN npm ci --omit=dev",
            "#6 CACHED",
            "#7 [4/6] COPY . .",
            "#7 CACHED",
            "#8 [5/6] RUN npm run build",
            "#8 CACHED",
            "#9 [6/6] RUN npm prune --omit=dev",
            "#9 CACHED",
            "#10 exporting to image",
            "#10 naming to docker.io/library/api:latest done",
            "#10 DONE 0.1s",
        ],
    ));
    ev.push((
        5,
        BuildEvent::Finished {
            build_id: id.clone(),
            status: Status::Succeeded,
            duration_ms: 5_000,
            at: t(5),
            exported_variables: std::collections::BTreeMap::new(),
        },
    ));
    ev
}

pub const CLOUD_ID: &str = "api-prod:8d0e7b3c-2f41-4a9e-b6c2-51f0a7d9e3b4";

/// A cloud build followed by polling, one poll throttled.
pub fn cloud_throttled() -> Vec<(i64, BuildEvent)> {
    let id = BuildId(CLOUD_ID.into());
    let mut ev = vec![started(
        &id,
        "api-prod",
        BackendKind::Cloud,
        "aws/codebuild/amazonlinux2-x86_64-standard:5.0",
    )];
    for (k, at, d) in [
        (PhaseKind::Submitted, 0, 1),
        (PhaseKind::Queued, 1, 4),
        (PhaseKind::Provisioning, 5, 12),
        (PhaseKind::DownloadSource, 17, 3),
    ] {
        ev.extend(phase(
            &id,
            k,
            at,
            d,
            Status::Succeeded,
            PhaseContext::default(),
            &[],
        ));
    }
    ev.extend(phase(
        &id,
        PhaseKind::Install,
        20,
        0,
        Status::InProgress,
        PhaseContext::default(),
        &[
            "[Container] 2026/03/01 12:00:21 Running command pip install -r requirements.txt",
            "Collecting boto3==1.34.0",
        ],
    ));
    ev.push((
        31,
        BuildEvent::Notice {
            build_id: Some(id),
            level: NoticeLevel::Warning,
            message: "BatchGetBuilds throttled (ThrottlingException): next poll in 8s".into(),
        },
    ));
    ev
}

/// A build whose `docker build` found no daemon (privileged mode off), with the diagnosis the
/// real diagnosis tap derives from its events.
pub fn failed_diagnosed() -> Vec<(i64, BuildEvent)> {
    let id = BuildId(ID.into());
    let mut ev = vec![started(
        &id,
        "api",
        BackendKind::Local,
        "aws/codebuild/standard:7.0",
    )];
    ev.extend(phase(
        &id,
        PhaseKind::Install,
        0,
        8,
        Status::Succeeded,
        PhaseContext::default(),
        INSTALL_LOG,
    ));
    ev.extend(phase(&id, PhaseKind::Build, 8, 2, Status::Failed, PhaseContext::new(StatusCode::CommandExecutionError, "Error while executing command: docker build -t api .. Reason: exit status 1"), &[
        "[Container] 2026/03/01 12:00:08 Running command docker build -t api .",
        "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?",
        "[Container] 2026/03/01 12:00:09 Command did not exit successfully docker build -t api . exit status 1",
    ]));
    ev.push((
        10,
        BuildEvent::Finished {
            build_id: id,
            status: Status::Failed,
            duration_ms: 10_000,
            at: t(10),
            exported_variables: std::collections::BTreeMap::new(),
        },
    ));
    let mut tap = cbdash::diagnose::DiagnosisTap::builtin().expect("rules");
    ev.into_iter()
        .flat_map(|(at, e)| tap.observe(e).into_iter().map(move |e| (at, e)))
        .collect()
}

/// The whole screen of `state` drawn at `w`x`h` on a `TestBackend`, as the event loop draws it.
pub fn render(state: &State, w: u16, h: u16) -> ratatui::Terminal<ratatui::backend::TestBackend> {
    let km = keymap();
    let theme = cbdash::tui::theme::Theme::default();
    let mut term =
        ratatui::Terminal::new(ratatui::backend::TestBackend::new(w, h)).expect("terminal");
    term.draw(|f| {
        cbdash::tui::view::render(
            f,
            state,
            &cbdash::tui::view::Ctx {
                keymap: &km,
                theme: &theme,
            },
        );
    })
    .expect("draw");
    term
}

/// The screen as text with durations masked (`12.3s`, `850ms`, `4m05s` become `[dur]`),
/// padded back to the same width so columns stay aligned.
pub fn masked(term: &ratatui::Terminal<ratatui::backend::TestBackend>) -> String {
    let re = regex::Regex::new(r"\b\d+(\.\d)?(ms|s)\b|\b\d+[mh]\d\d[sm]\b").expect("regex");
    format!("{}", term.backend())
        .lines()
        .map(|l| {
            let m = re.replace_all(l, "[dur]");
            let pad = l.chars().count().saturating_sub(m.chars().count());
            format!("{m}{}", " ".repeat(pad))
        })
        .collect::<Vec<_>>()
        .join("\n")
}
