//! The layer-cache report overlay (`x`): asked of the executor as an effect, shown when its
//! message arrives, the same lines `cbdash cache` prints (insta, 80x24 and 120x32).

use cbdash::cache::{
    AdviceInput, AdviceRules, CacheOverview, DockerfileHistory, PastDockerBuild, PastStep,
};
use cbdash::model::{BuildId, MissKind, MissReason};
use cbdash::tui::msg::{Effect, Msg};
use cbdash::tui::state::Mode;

use super::fixtures::{self, ID, keys, masked, replay, send};

/// Five builds of a Node app whose `COPY . .` misses four times, re-running `npm ci`.
fn overview() -> CacheOverview {
    let steps = [
        "WORKDIR /app",
        "COPY . .",
        "RUN npm ci",
        "RUN npm run build",
    ];
    let builds = (0u8..5)
        .map(|n| {
            let first_miss = if n == 3 { 4 } else { usize::from(n > 0) };
            PastDockerBuild {
                build_id: format!("api:0000000{n}-aaaa-bbbb-cccc-dddddddddddd"),
                started_at: format!("2026-03-01T1{n}:00:00Z"),
                status: "SUCCEEDED".into(),
                steps_total: 4,
                steps_cached: u32::try_from(first_miss).expect("small"),
                steps: steps
                    .iter()
                    .enumerate()
                    .map(|(i, text)| PastStep {
                        position: u32::try_from(i).expect("small"),
                        stage: None,
                        platform: None,
                        instruction: (*text).to_owned(),
                        cached: i < first_miss,
                        duration_ms: Some(if i < first_miss {
                            0
                        } else {
                            [100, 300, 41_000 + 1000 * u64::from(n), 9_000][i]
                        }),
                    })
                    .collect(),
                first_miss: steps.get(first_miss).map(|s| (*s).to_owned()),
                reason: (n > 0 && n != 3).then(|| MissReason {
                    files: vec!["src/routes.js".into()],
                    ..MissReason::bare(MissKind::FilesChanged)
                }),
            }
        })
        .collect();
    let history = DockerfileHistory {
        project: "api".into(),
        image: Some("api:latest".into()),
        docker_build: None,
        builds,
    };
    CacheOverview::build(
        &history,
        &AdviceRules::builtin().expect("rules"),
        &AdviceInput::default(),
    )
}

#[test]
fn x_asks_for_the_report_and_shows_it_at_80x24_and_120x32() {
    let (mut s, km) = fixtures::dashboard();
    replay(
        &mut s,
        &km,
        fixtures::with_cache(fixtures::fully_cached(), 74_000),
    );
    let effects = keys(&mut s, &km, "x");
    assert_eq!(
        effects,
        vec![Effect::LoadCacheReport {
            build: BuildId(ID.into()),
            dir: None,
        }]
    );
    assert_eq!(s.mode, Mode::CacheReport { scroll: 0 });
    let term = fixtures::render(&s, 80, 24);
    insta::assert_snapshot!("cache_report_loading", masked(&term));

    let o = overview();
    assert_eq!(o.advice.len(), 2, "{:#?}", o.advice);
    send(
        &mut s,
        &km,
        Msg::CacheReport {
            build: BuildId(ID.into()),
            report: Ok(vec![o]),
        },
    );
    insta::assert_snapshot!("cache_report_80x24", masked(&fixtures::render(&s, 80, 24)));
    insta::assert_snapshot!(
        "cache_report_120x32",
        masked(&fixtures::render(&s, 120, 32))
    );
    // j scrolls to the advice; any other key closes.
    keys(&mut s, &km, "jjjjjjjjjjjj");
    assert_eq!(s.mode, Mode::CacheReport { scroll: 12 });
    insta::assert_snapshot!(
        "cache_report_80x24_scrolled",
        masked(&fixtures::render(&s, 80, 24))
    );
    keys(&mut s, &km, "q");
    assert_eq!(s.mode, Mode::Normal);
}

#[test]
fn a_report_for_another_build_or_an_error_is_handled() {
    let (mut s, km) = fixtures::dashboard();
    // No build open: nothing to ask for.
    assert!(keys(&mut s, &km, "x").is_empty());
    assert_eq!(s.mode, Mode::Normal);
    replay(
        &mut s,
        &km,
        fixtures::with_cache(fixtures::fully_cached(), 74_000),
    );
    keys(&mut s, &km, "x");
    // A late answer about another build is dropped; an error is said in the overlay.
    send(
        &mut s,
        &km,
        Msg::CacheReport {
            build: BuildId("api:other".into()),
            report: Ok(vec![overview()]),
        },
    );
    let screen = format!("{}", fixtures::render(&s, 80, 24).backend());
    assert!(screen.contains("loading"), "{screen}");
    send(
        &mut s,
        &km,
        Msg::CacheReport {
            build: BuildId(ID.into()),
            report: Err("run history unavailable: locked".into()),
        },
    );
    let screen = format!("{}", fixtures::render(&s, 80, 24).backend());
    assert!(
        screen.contains("run history unavailable: locked"),
        "{screen}"
    );
}

/// On the real binary (tmux, 80x24): a project whose history holds four docker builds opens
/// its newest (replayed), and `x` shows the report with its advice. Needs no Docker.
#[test]
fn x_in_the_dashboard_shows_the_report_from_the_history() {
    use crate::common::cbdash_bin;
    use crate::common::tmux::Tmux;
    if !Tmux::available() {
        return;
    }
    let home = tempfile::tempdir().expect("tempdir");
    let project = home.path().join("web");
    std::fs::create_dir(&project).expect("mkdir");
    std::fs::write(
        project.join("buildspec.yml"),
        "version: 0.2\nphases:\n  build:\n    commands:\n      - docker build -t web:1 .\n",
    )
    .expect("buildspec");
    let steps = [
        "WORKDIR /app",
        "COPY . .",
        "RUN npm ci",
        "RUN npm run build",
    ];
    let history = home.path().join("history.sqlite");
    crate::cache::record_build(&history, 0, &steps, 0, 30_000);
    for n in 1..=3 {
        crate::cache::record_build(&history, n, &steps, 1, 20_000);
    }
    let tmux = Tmux::shell(
        "cachereport",
        &project,
        &Tmux::isolated_vars(home.path(), "unix:///nonexistent.sock".to_owned()),
    );
    tmux.cmd(&["resize-window", "-t", "t", "-x", "80", "-y", "24"]);
    tmux.keys(&[&cbdash_bin().to_string_lossy(), "Enter"]);
    tmux.wait("the newest build replayed", |s| s.contains("✔ SUCCEEDED"));
    tmux.keys(&["x"]);
    let s = tmux.wait("the cache report", |s| s.contains("[npm-after-copy-all]"));
    assert!(s.contains("Layer cache report"), "{s}");
    assert!(
        s.contains("web:1 · project web · last 4 docker builds"),
        "{s}"
    );
    assert!(s.contains("RUN npm ci"), "{s}");
    tmux.keys(&["q"]);
    let s = tmux.wait("the overlay closed", |s| !s.contains("Layer cache report"));
    assert!(s.contains("Projects"), "{s}");
    tmux.keys(&["q"]);
}
