//! Whole screens (insta snapshots, 120x32) and key flows through the reducer.

use cbdash::model::{BuildId, PhaseKind, Status};
use cbdash::tui::keymap::{Key, KeyCode};
use cbdash::tui::msg::{Effect, Msg, RunMode};
use cbdash::tui::state::{Focus, Mode, State};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Color;

use super::fixtures::{self, ID, keys, replay, send, t};
use super::screen::find;

fn terminal(state: &State) -> Terminal<TestBackend> {
    fixtures::render(state, 120, 32)
}

use fixtures::masked;

macro_rules! assert_screen {
    ($name:expr, $state:expr) => {{
        let term = terminal($state);
        insta::assert_snapshot!($name, masked(&term));
        term
    }};
}

#[test]
fn running_build_with_progress_and_cache_panel() {
    let (mut s, km) = fixtures::dashboard();
    replay(
        &mut s,
        &km,
        fixtures::with_cache(fixtures::running(), 41_000),
    );
    send(&mut s, &km, Msg::Tick(t(26)));
    let term = assert_screen!("running", &s);
    // The running phase is yellow and its bar compares with the median (15s of 30s).
    let (x, y) = find(&term, " BUILD ");
    assert_eq!(term.backend().buffer()[(x + 1, y)].fg, Color::Yellow);
    assert!(s.log.follow, "a new build is followed");
}

#[test]
fn failed_build_shows_the_failed_phase_in_red_with_its_context() {
    let (mut s, km) = fixtures::dashboard();
    replay(&mut s, &km, fixtures::failed());
    let term = assert_screen!("failed", &s);
    let (x, y) = find(&term, "✘ BUILD");
    assert_eq!(term.backend().buffer()[(x + 2, y)].fg, Color::Red);
    let (x, y) = find(&term, "└ exit status 1: npm test · COMMAND_EXECUTION_ERROR");
    assert_eq!(term.backend().buffer()[(x, y)].fg, Color::Red);
    // The log keeps the SGR red of the test runner and drops the OSC title.
    let (x, y) = find(&term, "✘ FAIL ");
    assert_eq!(term.backend().buffer()[(x + 2, y)].fg, Color::Red);
    let screen = format!("{}", term.backend());
    assert!(!screen.contains("]0;") && !screen.contains('\u{1b}'));
}

#[test]
fn fully_cached_build() {
    let (mut s, km) = fixtures::dashboard();
    replay(
        &mut s,
        &km,
        fixtures::with_cache(fixtures::fully_cached(), 74_000),
    );
    assert_screen!("fully_cached", &s);
}

#[test]
fn cloud_build_with_a_throttled_poll() {
    let (mut s, km) = fixtures::dashboard();
    keys(&mut s, &km, "2");
    replay(&mut s, &km, fixtures::cloud_throttled());
    send(&mut s, &km, Msg::Tick(t(32)));
    let term = assert_screen!("cloud_throttled", &s);
    find(&term, "⚠ BatchGetBuilds throttled");
}

#[test]
fn help_overlay_lists_the_keymap() {
    let (mut s, km) = fixtures::dashboard();
    keys(&mut s, &km, "?");
    let term = assert_screen!("help", &s);
    find(&term, "ctrl-u/pgup");
    keys(&mut s, &km, "x");
    assert_eq!(s.mode, Mode::Normal, "any key closes help");
}

#[test]
fn log_search_filter_and_follow() {
    let (mut s, km) = fixtures::dashboard();
    replay(&mut s, &km, fixtures::failed());
    keys(&mut s, &km, "l/fail");
    send(&mut s, &km, Msg::Key(Key::new(KeyCode::Enter)));
    assert_eq!(s.focus, Focus::Log);
    assert!(!s.log.follow, "searching pauses follow");
    let b = s.build().expect("build");
    assert!(
        b.log
            .line(s.log.line_at(s.log.cursor))
            .expect("line")
            .contains("FAIL")
    );
    keys(&mut s, &km, "&");
    let term = assert_screen!("filtered", &s);
    let (x, y) = find(&term, "✘ FAIL ");
    assert_eq!(
        term.backend().buffer()[(x + 2, y)].bg,
        Color::Yellow,
        "match highlighted"
    );
    assert_eq!(s.log.visible_len(&s.build().expect("build").log), 2);
    keys(&mut s, &km, "!");
    assert_eq!(s.log.visible_len(&s.build().expect("build").log), 10);
    send(&mut s, &km, Msg::Key(Key::new(KeyCode::Esc)));
    assert!(s.log.filter.is_none() && s.log.search.is_none());
    keys(&mut s, &km, "G");
    assert!(s.log.follow);
}

#[test]
fn rerun_stop_and_quit_flows() {
    let (mut s, km) = fixtures::dashboard();
    replay(&mut s, &km, fixtures::failed());
    let fx = keys(&mut s, &km, "r");
    assert!(
        matches!(&fx[..], [Effect::StartBuild { project, mode: RunMode::FromFailedPhase { build, phase: PhaseKind::Build } }] if project.name == "api" && build.project() == "api")
    );
    // R opens the run form; enter starts a fresh build with nothing overridden.
    assert!(keys(&mut s, &km, "R").is_empty());
    let fx = send(&mut s, &km, Msg::Key(Key::new(KeyCode::Enter)));
    assert!(
        matches!(&fx[..], [Effect::StartLocal { overrides, .. }] if *overrides == cbdash::tui::msg::LocalOverrides::default())
    );
    // Nothing runs: q quits at once.
    assert_eq!(keys(&mut s, &km, "q"), vec![Effect::Quit]);

    let (mut s, km) = fixtures::dashboard();
    replay(&mut s, &km, fixtures::running());
    assert!(keys(&mut s, &km, "s").is_empty(), "stop asks first");
    assert!(matches!(s.mode, Mode::Confirm(_)));
    assert_eq!(
        keys(&mut s, &km, "y"),
        vec![Effect::StopBuild(BuildId(ID.into()))]
    );
    assert!(
        keys(&mut s, &km, "q").is_empty(),
        "quit asks while a build runs"
    );
    assert!(keys(&mut s, &km, "n").is_empty(), "n cancels");
    assert!(!s.quitting);
    assert!(matches!(keys(&mut s, &km, "e")[..], [Effect::OpenShell(_)]));
    assert!(
        keys(&mut s, &km, "r").is_empty(),
        "no second build while one runs"
    );
    let fx = send(&mut s, &km, Msg::Key(Key::ctrl('d')));
    assert!(
        !fx.iter()
            .any(|e| matches!(e, Effect::StopBuild(_) | Effect::Quit)),
        "ctrl-d is never destructive"
    );
    assert!(matches!(s.mode, Mode::Normal));
}

#[test]
fn palette_jumps_to_a_project_and_builds_list_opens() {
    let (mut s, km) = fixtures::dashboard();
    keys(&mut s, &km, ":night");
    let term = assert_screen!("palette", &s);
    find(&term, "nightly");
    let fx = send(&mut s, &km, Msg::Key(Key::new(KeyCode::Enter)));
    assert_eq!(s.project().expect("project").key.name, "nightly");
    assert!(matches!(&fx[..], [Effect::LoadHistory(p)] if p.name == "nightly"));
    keys(&mut s, &km, "1b");
    let term = assert_screen!("builds_list", &s);
    find(&term, "(history)");
    assert!(s.build().is_none());
}

#[test]
fn finishing_notifies_and_flashes() {
    let (mut s, km) = fixtures::dashboard();
    let mut fx = Vec::new();
    for (at, ev) in fixtures::failed() {
        send(&mut s, &km, Msg::Tick(t(at)));
        fx.extend(send(&mut s, &km, Msg::Build(ev)));
    }
    assert_eq!(fx, vec![Effect::Notify("api: FAILED in 25.0s".into())]);
    assert_eq!(s.build().expect("build").status, Status::Failed);
    send(&mut s, &km, Msg::Tick(t(40)));
    assert!(s.flash.is_none(), "flash expires");
}

#[test]
fn a_diagnosed_failure_is_marked_on_its_phase_and_explained_by_its_key() {
    let (mut s, km) = fixtures::dashboard();
    let events = fixtures::failed_diagnosed();
    assert!(
        events
            .iter()
            .any(|(_, e)| matches!(e, cbdash::model::BuildEvent::Diagnosis { .. })),
        "the real tap recognised the missing daemon"
    );
    replay(&mut s, &km, events);
    let term = assert_screen!("failed_diagnosed", &s);
    let (x, y) = find(&term, "⚑ docker-daemon · d why");
    assert_eq!(term.backend().buffer()[(x, y)].fg, Color::Red);
    let (_, row) = find(&term, "✘ BUILD");
    assert_eq!(y, row, "the marker is on the BUILD row");

    keys(&mut s, &km, "d");
    assert_eq!(s.mode, Mode::Diagnosis { selected: 0 });
    let term = assert_screen!("diagnosis_overlay", &s);
    find(&term, "Diagnosis 1/1 · BUILD · docker-daemon");
    find(
        &term,
        "Cannot connect to the Docker daemon at unix:///var/run/docker.sock.",
    );
    find(&term, "environment.privilegedMode: true");
    keys(&mut s, &km, "j");
    assert_eq!(s.mode, Mode::Diagnosis { selected: 0 }, "only one finding");
    keys(&mut s, &km, "x");
    assert_eq!(s.mode, Mode::Normal, "any other key closes it");

    // A build without findings says so instead of opening an empty overlay.
    let (mut s, km) = fixtures::dashboard();
    replay(&mut s, &km, fixtures::failed());
    keys(&mut s, &km, "d");
    assert_eq!(s.mode, Mode::Normal);
    assert!(
        s.flash
            .as_ref()
            .is_some_and(|f| f.text.contains("no known failure")),
        "{:?}",
        s.flash
    );
}
