//! The Reports panel: a build's test and coverage reports under its phases (insta snapshots
//! at 80x24 and 200x50), the keys that move through the failed cases, and `enter` on one:
//! its message (sanitized) and the log at the case's first mention. Local and cloud builds
//! alike: both send `BuildEvent::Report`.

use cbdash::model::{
    BackendKind, BuildEvent, BuildId, CaseStatus, CoverageSummary, ReportBody, ReportStatus,
    TestCase, TestReport, TestSummary,
};
use cbdash::tui::keymap::{Key, KeyCode};
use cbdash::tui::msg::Msg;
use cbdash::tui::state::{Focus, Mode, State};
use ratatui::style::{Color, Modifier};

use super::fixtures::{self, ID, keys, masked, replay, send, t};

fn case(name: &str, prefix: &str, status: CaseStatus, message: &str) -> TestCase {
    TestCase {
        name: name.into(),
        prefix: prefix.into(),
        status,
        message: Some(message.into()),
        duration_ms: Some(12),
    }
}

/// The reports of the failed fixture build: a unit group with two failed cases (one of them
/// named in the log) and an error, and a coverage group.
pub fn reports(backend: BackendKind) -> Vec<(i64, BuildEvent)> {
    let id = BuildId(ID.into());
    let unit = TestReport {
        group: "unit".into(),
        format: "JUNITXML".into(),
        status: ReportStatus::Failed,
        files: vec!["reports/junit.xml".into()],
        body: ReportBody::Test(TestSummary {
            tests: 45,
            passed: 40,
            failed: 2,
            skipped: 2,
            errors: 1,
            duration_ms: 8_300,
            failed_cases: vec![
                case(
                    "rejects an empty basket",
                    "orders",
                    CaseStatus::Failed,
                    "expected 400, received 500\n\u{1b}]0;owned\u{7}  at orders.test.ts:41:7",
                ),
                case(
                    "applies a coupon",
                    "orders",
                    CaseStatus::Failed,
                    "expected 90, received 100",
                ),
                case(
                    "loads fixtures",
                    "db",
                    CaseStatus::Error,
                    "ECONNREFUSED 127.0.0.1:5432",
                ),
            ],
            failed_more: 0,
        }),
        warnings: vec![],
    };
    let coverage = TestReport {
        group: "coverage".into(),
        format: "COBERTURAXML".into(),
        status: ReportStatus::Succeeded,
        files: vec!["coverage/cobertura.xml".into()],
        body: ReportBody::Coverage(CoverageSummary {
            line_pct: 81.5,
            branch_pct: Some(64.0),
            lines_covered: 815,
            lines_missed: 185,
            branches_covered: 64,
            branches_missed: 36,
            files: 42,
        }),
        warnings: vec![],
    };
    [unit, coverage]
        .into_iter()
        .map(|report| {
            (
                24,
                BuildEvent::Report {
                    build_id: id.clone(),
                    backend,
                    report,
                },
            )
        })
        .collect()
}

/// The failed fixture build with its reports arriving before its end.
fn with_reports(backend: BackendKind) -> Vec<(i64, BuildEvent)> {
    let mut ev = fixtures::failed();
    let end = ev.pop().expect("Finished");
    ev.extend(reports(backend));
    ev.push(end);
    ev
}

fn dashboard_with_reports() -> (State, cbdash::tui::keymap::Keymap) {
    let (mut s, km) = fixtures::dashboard();
    replay(&mut s, &km, with_reports(BackendKind::Local));
    send(&mut s, &km, Msg::Tick(t(30)));
    (s, km)
}

fn enter() -> Msg {
    Msg::Key(Key::new(KeyCode::Enter))
}

#[test]
fn the_panel_sits_under_the_phases_at_80x24_and_200x50() {
    let (s, _) = dashboard_with_reports();
    let small = fixtures::render(&s, 80, 24);
    insta::assert_snapshot!("reports_80x24", masked(&small));
    let large = fixtures::render(&s, 200, 50);
    insta::assert_snapshot!("reports_200x50", masked(&large));
    let screen = format!("{}", large.backend());
    let reports_row = screen
        .lines()
        .position(|l| l.contains("Reports"))
        .expect("panel");
    let build_row = screen
        .lines()
        .position(|l| l.contains("✘ BUILD"))
        .expect("phases");
    let log_row = screen
        .lines()
        .position(|l| l.contains(" Log "))
        .expect("log");
    assert!(build_row < reports_row && reports_row < log_row, "{screen}");
}

#[test]
fn the_keys_move_through_the_failed_cases_and_enter_shows_one() {
    let (mut s, km) = dashboard_with_reports();
    keys(&mut s, &km, "T");
    assert_eq!(s.focus, Focus::Reports);
    keys(&mut s, &km, "jjj");
    assert_eq!(s.report_cursor, 2, "the cursor stops at the last case");
    keys(&mut s, &km, "gk");
    assert_eq!(s.report_cursor, 0);
    let fx = send(&mut s, &km, enter());
    assert!(fx.is_empty(), "a short log is searched at once: {fx:?}");
    assert_eq!(s.mode, Mode::Case { index: 0 });
    // The log is at the case's first mention.
    let b = s.build().expect("build");
    let line = b.log.line(s.log.line_at(s.log.cursor)).expect("line");
    assert!(
        line.contains("● orders › rejects an empty basket"),
        "{line}"
    );
    assert!(!s.log.follow);
    let term = fixtures::render(&s, 120, 32);
    insta::assert_snapshot!("reports_case", masked(&term));
    let screen = format!("{}", term.backend());
    assert!(screen.contains("expected 400, received 500"), "{screen}");
    assert!(
        !screen.contains("]0;") && !screen.contains('\u{1b}'),
        "the message is sanitized"
    );
    // j in the overlay: the next case, which the log does not mention.
    keys(&mut s, &km, "j");
    assert_eq!(s.mode, Mode::Case { index: 1 });
    assert!(
        s.flash
            .as_ref()
            .is_some_and(|f| f.text.contains("no match for 'applies a coupon'")),
        "{:?}",
        s.flash
    );
    keys(&mut s, &km, "x");
    assert_eq!(s.mode, Mode::Normal, "any other key closes it");
    assert_eq!(s.focus, Focus::Reports);
    send(&mut s, &km, Msg::Key(Key::new(KeyCode::Esc)));
    assert_eq!(s.focus, Focus::Log, "back gives the keys to the log");
}

#[test]
fn a_new_build_without_reports_gives_the_keys_back_to_the_log() {
    let (mut s, km) = dashboard_with_reports();
    keys(&mut s, &km, "T");
    assert_eq!(s.focus, Focus::Reports);
    // The project runs again: the new build opens, with no reports yet.
    let mut again = fixtures::failed();
    for (_, ev) in &mut again {
        if let BuildEvent::Started { build_id, .. }
        | BuildEvent::PhaseStarted { build_id, .. }
        | BuildEvent::PhaseFinished { build_id, .. }
        | BuildEvent::Logs { build_id, .. }
        | BuildEvent::Finished { build_id, .. } = ev
        {
            *build_id = BuildId("api:99999999-6b7d-4c1e-9a55-0d2b8e4f7a10".into());
        }
    }
    replay(&mut s, &km, again);
    assert!(s.build().is_some_and(|b| b.reports.is_empty()));
    keys(&mut s, &km, "k");
    assert_eq!(s.focus, Focus::Log);
    assert!(!s.log.follow, "k moved the log");
}

#[test]
fn the_selected_case_is_reversed_only_while_the_panel_has_the_keys() {
    let (mut s, km) = dashboard_with_reports();
    let find = |s: &State| {
        let term = fixtures::render(s, 120, 32);
        let buf = term.backend().buffer().clone();
        let screen = format!("{}", term.backend());
        let y = screen
            .lines()
            .position(|l| l.contains("✘ unit orders › rejects"))
            .expect("row");
        let x = screen
            .lines()
            .nth(y)
            .and_then(|l| l.find('✘'))
            .map(|b| screen.lines().nth(y).expect("row")[..b].chars().count())
            .expect("mark");
        (
            buf,
            u16::try_from(x).expect("x"),
            u16::try_from(y).expect("y"),
        )
    };
    let (buf, x, y) = find(&s);
    assert_eq!(buf[(x, y)].fg, Color::Red);
    assert!(!buf[(x, y)].modifier.contains(Modifier::REVERSED));
    keys(&mut s, &km, "T");
    let (buf, x, y) = find(&s);
    assert!(buf[(x, y)].modifier.contains(Modifier::REVERSED));
}

#[test]
fn a_cloud_build_fills_the_panel_and_a_group_reported_again_replaces_its_report() {
    let (mut s, km) = fixtures::dashboard();
    replay(&mut s, &km, with_reports(BackendKind::Cloud));
    replay(&mut s, &km, reports(BackendKind::Cloud));
    let b = s.build().expect("build");
    assert_eq!(b.reports.len(), 2, "one per group");
    assert_eq!(cbdash::tui::reports::cases(b).len(), 3);
}

#[test]
fn a_build_without_reports_has_no_panel_and_says_so() {
    let (mut s, km) = fixtures::dashboard();
    replay(&mut s, &km, fixtures::failed());
    let screen = format!("{}", fixtures::render(&s, 120, 32).backend());
    assert!(!screen.contains("Reports"), "{screen}");
    keys(&mut s, &km, "T");
    assert_eq!(s.focus, Focus::Projects);
    assert!(
        s.flash
            .as_ref()
            .is_some_and(|f| f.text.starts_with("no test reports")),
        "{:?}",
        s.flash
    );
}
