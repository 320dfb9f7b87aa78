//! The Layer cache panel with its history: a finished docker build asks for its steps'
//! history (`Effect::LoadStepHistory`), the answer (`Msg::StepHistory`) gives each step its
//! sparkline and miss rate; whole screens at 80x24 (the rows the panel always had) and 200x50
//! (the steps that ran listed), insta snapshots with durations masked.

use cbdash::cache::{StepPoint, StepSeries};
use cbdash::model::{
    BackendKind, BuildEvent, BuildId, LogLine, MissKind, MissReason, PhaseContext, PhaseKind,
    Status,
};
use cbdash::tui::msg::{Effect, Msg};
use cbdash::tui::state::State;
use ratatui::style::Color;

use super::fixtures::{self, ID, masked, send, t};
use super::screen::{draw, find, rows};

fn id() -> BuildId {
    BuildId(ID.into())
}

const DOCKER_LOG: &[&str] = &[
    "[Container] 2026/03/01 12:00:02 Running command docker build -t api .",
    "#4 [1/6] FROM docker.io/library/node:20-alpine",
    "#5 [2/6] COPY package*.json ./",
    "#5 CACHED",
    "#6 [3/6] RUN npm ci --omit=dev",
    "#6 CACHED",
    "#7 [4/6] COPY . .",
    "#7 DONE 0.4s",
    "#8 [5/6] RUN npm run build",
    "#8 DONE 21.3s",
    "#9 [6/6] RUN npm prune --omit=dev",
    "#9 DONE 2.2s",
    "#10 exporting to image",
    "#10 naming to docker.io/library/api:latest done",
    "#10 DONE 0.1s",
];

/// A local build whose `docker build` missed at `COPY . .` (a source file changed) and re-ran
/// the two steps after it, as the pipeline sends it: cache reports from the tap, the finished
/// one with the reason and the time saved the history worked out.
fn missed_build() -> Vec<(i64, BuildEvent)> {
    let phase = |kind, at: i64, dur: i64, log: &[&str]| {
        let mut ev = vec![(
            at,
            BuildEvent::PhaseStarted {
                build_id: id(),
                phase: kind,
                attempt: 1,
                at: t(at),
            },
        )];
        if !log.is_empty() {
            ev.push((
                at + 1,
                BuildEvent::Logs {
                    build_id: id(),
                    lines: log
                        .iter()
                        .map(|l| LogLine::from_log(Some(kind), l))
                        .collect(),
                },
            ));
        }
        ev.push((
            at + dur,
            BuildEvent::PhaseFinished {
                build_id: id(),
                phase: kind,
                attempt: 1,
                status: Status::Succeeded,
                duration_ms: u64::try_from(dur * 1000).expect("positive"),
                context: PhaseContext::default(),
                at: t(at + dur),
            },
        ));
        ev
    };
    let mut events = vec![(
        0,
        BuildEvent::Started {
            build_id: id(),
            project: "api".into(),
            backend: BackendKind::Local,
            image: "aws/codebuild/standard:7.0".into(),
            docker: cbdash::model::DockerAccess::HostSocket,
            batch: None,
            at: t(0),
        },
    )];
    events.extend(phase(PhaseKind::Install, 0, 2, &[]));
    events.extend(phase(PhaseKind::Build, 2, 26, DOCKER_LOG));
    events.push((
        28,
        BuildEvent::Finished {
            build_id: id(),
            status: Status::Succeeded,
            duration_ms: 28_000,
            at: t(28),
            exported_variables: std::collections::BTreeMap::new(),
        },
    ));
    let mut tap = cbdash::cache::CacheTap::new();
    let mut out = Vec::new();
    for (at, ev) in events {
        for mut ev in tap.observe(ev, u64::try_from(at * 1000).expect("positive")) {
            if let BuildEvent::Cache { report, .. } = &mut ev
                && report.finished
            {
                report.time_saved_ms = Some(41_000);
                if let Some(m) = report.first_miss.as_mut() {
                    m.reason = Some(MissReason {
                        files: vec!["src/routes.js".into()],
                        ..MissReason::bare(MissKind::FilesChanged)
                    });
                }
            }
            out.push((at, ev));
        }
    }
    out
}

/// Replays `events`, returning every effect the reducer asked for.
fn replay(s: &mut State, events: Vec<(i64, BuildEvent)>) -> Vec<Effect> {
    let km = fixtures::keymap();
    let mut fx = Vec::new();
    for (at, ev) in events {
        send(s, &km, Msg::Tick(t(at)));
        fx.extend(send(s, &km, Msg::Build(ev)));
    }
    fx
}

/// Eight builds of the Dockerfile, this one the newest: `COPY . .` missed in 5 of them.
fn history() -> Vec<StepSeries> {
    let p = |cached, ms| {
        Some(StepPoint {
            cached,
            duration_ms: Some(ms),
        })
    };
    let hit = || p(true, 0);
    let series = |position: u32, instruction: &str, runs: Vec<Option<StepPoint>>| {
        let present: Vec<&StepPoint> = runs.iter().flatten().collect();
        let misses = u32::try_from(present.iter().filter(|p| !p.cached).count()).expect("small");
        let builds = u32::try_from(present.len()).expect("small");
        StepSeries {
            position,
            stage: None,
            platform: None,
            instruction: instruction.into(),
            miss_rate: f64::from(misses) / f64::from(builds),
            miss_cost_ms: runs.iter().flatten().filter_map(|p| p.duration_ms).sum(),
            builds,
            misses,
            runs,
        }
    };
    vec![
        series(
            0,
            "COPY package*.json ./",
            vec![
                p(false, 300),
                hit(),
                hit(),
                hit(),
                hit(),
                hit(),
                hit(),
                hit(),
            ],
        ),
        series(
            1,
            "RUN npm ci --omit=dev",
            vec![
                p(false, 38_000),
                hit(),
                hit(),
                hit(),
                p(false, 41_000),
                hit(),
                hit(),
                hit(),
            ],
        ),
        series(
            2,
            "COPY . .",
            vec![
                p(false, 500),
                p(false, 400),
                hit(),
                p(false, 450),
                p(false, 420),
                hit(),
                hit(),
                p(false, 400),
            ],
        ),
        series(
            3,
            "RUN npm run build",
            vec![
                p(false, 20_000),
                p(false, 19_000),
                hit(),
                p(false, 22_000),
                p(false, 21_000),
                hit(),
                hit(),
                p(false, 21_300),
            ],
        ),
        series(
            4,
            "RUN npm prune --omit=dev",
            vec![
                None,
                None,
                None,
                p(false, 2_000),
                p(false, 2_400),
                hit(),
                hit(),
                p(false, 2_200),
            ],
        ),
    ]
}

/// The build replayed and the history's answer given.
fn with_history() -> State {
    let (mut s, km) = fixtures::dashboard();
    replay(&mut s, missed_build());
    send(
        &mut s,
        &km,
        Msg::StepHistory {
            build: id(),
            docker_build: 0,
            steps: Ok(history()),
        },
    );
    s
}

#[test]
fn a_finished_docker_build_asks_once_for_its_steps_history() {
    let (mut s, _) = fixtures::dashboard();
    let effects: Vec<Effect> = replay(&mut s, missed_build())
        .into_iter()
        .filter(|e| !matches!(e, Effect::Notify(_)))
        .collect();
    assert_eq!(
        effects,
        vec![Effect::LoadStepHistory {
            build: id(),
            docker_build: 0
        }],
        "the live updates before the end ask nothing (only the end notifies)"
    );
    assert!(effects[0].for_executor(), "the executor reads the history");
    let cache = &s.build().expect("open").caches[0];
    assert!(cache.trends.is_empty(), "nothing until the history answers");
    let ran: Vec<(u32, &str)> = cache
        .ran
        .iter()
        .map(|r| (r.position, r.instruction.as_str()))
        .collect();
    assert_eq!(
        ran,
        [
            (2, "COPY . ."),
            (3, "RUN npm run build"),
            (4, "RUN npm prune --omit=dev")
        ]
    );
    assert_eq!(cache.first_miss_at, Some(2));
}

#[test]
fn the_history_answer_fills_the_trends_and_a_failed_or_stray_one_changes_nothing() {
    let (mut s, km) = fixtures::dashboard();
    replay(&mut s, missed_build());
    let answer = |build: &str, docker_build, steps| Msg::StepHistory {
        build: BuildId(build.into()),
        docker_build,
        steps,
    };
    send(
        &mut s,
        &km,
        answer(ID, 0, Err("run history: locked".into())),
    );
    send(&mut s, &km, answer("api:other", 0, Ok(history())));
    send(&mut s, &km, answer(ID, 3, Ok(history())));
    assert!(s.build().expect("open").caches[0].trends.is_empty());
    assert_eq!(send(&mut s, &km, answer(ID, 0, Ok(history()))), vec![]);
    let cache = &s.build().expect("open").caches[0];
    let (trend, first_miss) = cache.followed().expect("followed");
    assert!(first_miss);
    assert_eq!(
        (trend.instruction.as_str(), trend.rate()),
        ("COPY . .", "misses 5/8".to_owned())
    );
}

#[test]
fn at_80x24_the_panel_keeps_its_rows_with_the_first_miss_and_its_reason() {
    let mut s = with_history();
    let term = draw(&mut s, 80, 24);
    insta::assert_snapshot!("cache_panel_80x24", masked(&term));
    let (x, y) = find(&term, "saved ~41.0s");
    assert!(x + 12 <= 79, "on the gauge's row, inside the border");
    let (_, miss_y) = find(&term, "missed step 4: COP…");
    assert_eq!(miss_y, y + 1, "the first miss has the second row");
    // The reason is what the panel is asked: the instruction is cut for it, and the trend
    // (in `x`, and on a taller screen) gives way.
    let (x, _) = find(&term, "- files changed: src/routes.js");
    assert_eq!(x + 30, 79, "the reason ends the row, inside the border");
    assert_eq!(term.backend().buffer()[(x + 2, miss_y)].fg, Color::Yellow);
    assert!(!rows(&term).join("\n").contains("misses 5/8"));
    // The panel is the two rows it had: no step list at 80x24.
    assert!(!rows(&term).join("\n").contains("step 5 "));
}

#[test]
fn at_200x50_the_steps_that_ran_are_listed_with_their_trends() {
    let mut s = with_history();
    let term = draw(&mut s, 200, 50);
    insta::assert_snapshot!("cache_panel_200x50", masked(&term));
    let screen = rows(&term).join("\n");
    assert!(
        screen
            .contains("saved ~41.0s  first miss: step 4: COPY . . - files changed: src/routes.js"),
        "{screen}"
    );
    let (_, copy) = find(&term, "step 4   COPY . .");
    let (_, build) = find(&term, "step 5   RUN npm run build");
    let (_, prune) = find(&term, "step 6   RUN npm prune --omit=dev");
    assert_eq!(
        (build, prune),
        (copy + 1, copy + 2),
        "one row per step that ran"
    );
    // The rates line up in one column.
    let rate_x: Vec<u16> = ["misses 5/8", "misses 5/8", "misses 3/5"]
        .iter()
        .zip([copy, build, prune])
        .map(|(needle, y)| {
            let row = &rows(&term)[usize::from(y)];
            let byte = row.rfind(needle).expect("rate");
            u16::try_from(row[..byte].chars().count()).expect("x")
        })
        .collect();
    assert!(rate_x.windows(2).all(|w| w[0] == w[1]), "{rate_x:?}");
    let (x, y) = find(&term, "step 4   COPY . .");
    assert_eq!(
        term.backend().buffer()[(x + 9, y)].fg,
        Color::Yellow,
        "the first miss"
    );
    let (x, y) = find(&term, "RUN npm run build");
    assert_eq!(
        term.backend().buffer()[(x, y)].fg,
        Color::Reset,
        "the others plain"
    );
}

#[test]
fn steps_that_do_not_fit_are_counted_and_the_log_keeps_most_of_the_screen() {
    let (mut s, km) = fixtures::dashboard();
    fixtures::replay(
        &mut s,
        &km,
        fixtures::with_cache(fixtures::fully_cached(), 74_000),
    );
    // A second docker build of the same build that ran its 20 steps.
    let mut report = cbdash::model::CacheReport::new(1, cbdash::model::Builder::Buildkit);
    report.image = Some("worker:latest".into());
    report.finished = true;
    report.steps_total = 20;
    report.steps = (0..20)
        .map(|i| cbdash::model::CacheStep {
            index: i + 2,
            stage: None,
            platform: None,
            instruction: format!("RUN make part-{i}"),
            cached: false,
            state: cbdash::model::StepState::Built,
            duration_ms: Some(1_000),
            invalidated_by: None,
        })
        .collect();
    let fx = send(
        &mut s,
        &km,
        Msg::Build(BuildEvent::Cache {
            build_id: id(),
            report,
        }),
    );
    assert_eq!(
        fx,
        [Effect::LoadStepHistory {
            build: id(),
            docker_build: 1
        }]
    );
    let term = draw(&mut s, 200, 50);
    let screen = rows(&term).join("\n");
    // 49 rows right of the projects: 4 for the phases, 4 for two summaries in their border;
    // a third of the 41 left is 13 step rows: 12 steps and the count of the rest.
    find(&term, "step 13  RUN make part-11");
    assert!(!screen.contains("part-12"), "{screen}");
    let (_, more) = find(&term, "… 8 more ran (x: the cache report)");
    let (_, log) = find(&term, "┌ Log");
    assert_eq!(log, more + 2, "the panel ends under the count");
    assert!(50 - log >= 27, "the log keeps the rest: {log}");
    // At 80x24 the panel keeps its summary rows only.
    let term = draw(&mut s, 80, 24);
    assert!(!rows(&term).join("\n").contains("part-0"));
    find(&term, "worker:latest");
}
