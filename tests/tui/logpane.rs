//! The log pane on whole screens (`TestBackend`) through the real reducer: following keeps the
//! last line on the bottom row at any size, wrapping and timestamps on; a filter leaves no
//! blank rows; a search counts its matches; timestamps are a plain time of day; `Ctrl-s`
//! saves outside the project.

use cbdash::model::{BuildEvent, BuildId, LogLine, LogStream, PhaseKind};
use cbdash::tui::keymap::{Key, KeyCode};
use cbdash::tui::layout;
use cbdash::tui::msg::{Effect, Msg};
use cbdash::tui::state::State;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::widgets::Block;

use super::fixtures::{self, ID, keys, replay, send, t};

fn draw(state: &State) -> Terminal<TestBackend> {
    fixtures::render(state, state.width, state.height)
}

/// The text rows inside the log pane's border (right-trimmed), and the pane's inner area.
fn log_rows(term: &Terminal<TestBackend>, state: &State) -> (Vec<String>, Rect) {
    let areas = layout::layout(state, Rect::new(0, 0, state.width, state.height));
    let inner = Block::bordered().inner(areas.log);
    let buf = term.backend().buffer();
    let rows = (inner.y..inner.bottom())
        .map(|y| {
            (inner.x..inner.right())
                .map(|x| buf[(x, y)].symbol().to_owned())
                .collect::<String>()
                .trim_end()
                .to_owned()
        })
        .collect();
    (rows, inner)
}

fn logs(texts: &[String]) -> Msg {
    Msg::Build(BuildEvent::Logs {
        build_id: BuildId(ID.into()),
        lines: texts
            .iter()
            .map(|t| LogLine {
                phase: Some(PhaseKind::Build),
                stream: LogStream::Stdout,
                text: t.clone(),
            })
            .collect(),
    })
}

/// 300 lines, every seventh longer than a wide screen, the last one long and ending `END`.
fn long_log() -> Vec<String> {
    let mut lines: Vec<String> = (0..299)
        .map(|i| {
            if i % 7 == 0 {
                format!("line {i} {}", "x".repeat(230))
            } else {
                format!("line {i}")
            }
        })
        .collect();
    lines.push(format!("last line {} END", "y".repeat(150)));
    lines
}

fn resize(s: &mut State, width: u16, height: u16) {
    let km = fixtures::keymap();
    send(s, &km, Msg::Resize { width, height });
}

fn assert_last_line_at_bottom(s: &State, what: &str) {
    let term = draw(s);
    let (rows, _) = log_rows(&term, s);
    let bottom = rows.last().expect("a log row");
    // Wrapped, the end of the last line is on the bottom row; cut, its start is.
    let shown = if s.log.wrap {
        bottom.ends_with("END")
    } else {
        bottom.contains("last line yyy")
    };
    assert!(
        shown,
        "{what}: the bottom row is {bottom:?}, not the end of the last line:\n{}",
        rows.join("\n")
    );
    assert!(
        rows.iter().all(|r| !r.is_empty()),
        "{what}: blank rows in the pane:\n{}",
        rows.join("\n")
    );
}

#[test]
fn following_shows_the_last_line_on_the_bottom_row_at_any_size() {
    let (mut s, km) = fixtures::dashboard();
    resize(&mut s, 80, 24);
    replay(&mut s, &km, fixtures::running());
    // In batches, as the driver forwards them, with the clock moving (the timeline's
    // spinner and pending phases change height as phases come).
    for (i, batch) in long_log().chunks(64).enumerate() {
        send(&mut s, &km, Msg::Tick(t(27 + i64::try_from(i).expect("i"))));
        send(&mut s, &km, logs(batch));
    }
    assert!(s.log.follow);
    assert_last_line_at_bottom(&s, "80x24");
    keys(&mut s, &km, "W");
    assert_last_line_at_bottom(&s, "80x24 wrapped");
    keys(&mut s, &km, "t");
    assert_last_line_at_bottom(&s, "80x24 wrapped, timestamps");
    resize(&mut s, 200, 50);
    assert_last_line_at_bottom(&s, "200x50 wrapped, timestamps");
    keys(&mut s, &km, "W");
    assert_last_line_at_bottom(&s, "200x50 timestamps");
    keys(&mut s, &km, "t");
    assert_last_line_at_bottom(&s, "200x50");
    resize(&mut s, 80, 24);
    assert_last_line_at_bottom(&s, "back to 80x24");
}

#[test]
fn leaving_follow_keeps_the_window_and_moves_the_cursor_up_one_line() {
    let (mut s, km) = fixtures::dashboard();
    resize(&mut s, 80, 24);
    replay(&mut s, &km, fixtures::running());
    send(&mut s, &km, logs(&long_log()));
    keys(&mut s, &km, "W");
    keys(&mut s, &km, "l");
    keys(&mut s, &km, "k");
    assert!(!s.log.follow);
    let term = draw(&s);
    let (rows, inner) = log_rows(&term, &s);
    // The cursor moved onto the line above the last one, which is on screen and marked.
    let buf = term.backend().buffer();
    let marked: Vec<&String> = (inner.y..inner.bottom())
        .zip(&rows)
        .filter(|(y, _)| buf[(inner.x, *y)].modifier.contains(Modifier::REVERSED))
        .map(|(_, r)| r)
        .collect();
    assert_eq!(marked, [&"line 298".to_owned()], "{}", rows.join("\n"));
}

#[test]
fn a_filter_leaves_no_blank_rows() {
    let (mut s, km) = fixtures::dashboard();
    resize(&mut s, 80, 24);
    replay(&mut s, &km, fixtures::running());
    let lines: Vec<String> = (0..500)
        .map(|i| {
            if i % 5 == 0 {
                format!("ERROR {i}")
            } else {
                format!("ok {i}")
            }
        })
        .collect();
    send(&mut s, &km, logs(&lines));
    // Scroll far up, search, and keep only the matches: the cursor's line is near the end
    // of the 100 matches, where the pane used to show one line above blank rows.
    keys(&mut s, &km, "l");
    for _ in 0..8 {
        keys(&mut s, &km, "k");
    }
    keys(&mut s, &km, "/ERROR");
    send(&mut s, &km, Msg::Key(Key::new(KeyCode::Enter)));
    keys(&mut s, &km, "&");
    assert!(s.log.filter.is_some());
    let (rows, _) = log_rows(&draw(&s), &s);
    assert!(
        rows.iter().all(|r| r.starts_with("ERROR ")),
        "{}",
        rows.join("\n")
    );
    assert_eq!(rows.last().map(String::as_str), Some("ERROR 495"));
    // Unfiltered again: still no blank rows.
    keys(&mut s, &km, "&");
    let (rows, _) = log_rows(&draw(&s), &s);
    assert!(rows.iter().all(|r| !r.is_empty()), "{}", rows.join("\n"));
}

#[test]
fn a_search_counts_its_matches() {
    let (mut s, km) = fixtures::dashboard();
    replay(&mut s, &km, fixtures::running());
    let lines: Vec<String> = (0..40)
        .map(|i| {
            if i % 10 == 3 {
                format!("ERROR {i}")
            } else {
                format!("ok {i}")
            }
        })
        .collect();
    send(&mut s, &km, logs(&lines));
    keys(&mut s, &km, "l");
    keys(&mut s, &km, "gjj/ERROR");
    send(&mut s, &km, Msg::Key(Key::new(KeyCode::Enter)));
    let screen = format!("{}", draw(&s).backend());
    assert!(screen.contains("/ERROR 1/4 matches"), "{screen}");
    keys(&mut s, &km, "nn");
    let screen = format!("{}", draw(&s).backend());
    assert!(screen.contains("/ERROR 3/4 matches"), "{screen}");
}

#[test]
fn a_long_search_counts_in_slices_between_keys() {
    let (mut s, km) = fixtures::dashboard();
    replay(&mut s, &km, fixtures::running());
    let lines: Vec<String> = (0..12_000).map(|i| format!("row {i}")).collect();
    for batch in lines.chunks(256) {
        send(&mut s, &km, logs(batch));
    }
    keys(&mut s, &km, "l");
    keys(&mut s, &km, "/row 1");
    let fx = send(&mut s, &km, Msg::Key(Key::new(KeyCode::Enter)));
    assert_eq!(fx, [Effect::ContinueSearch], "the count goes on in slices");
    let screen = format!("{}", draw(&s).backend());
    assert!(screen.contains("matches"), "{screen}");
    let mut slices = 0;
    while send(&mut s, &km, Msg::ContinueSearch) == [Effect::ContinueSearch] {
        slices += 1;
        assert!(slices < 10, "the count never ends");
    }
    // "row 1", "row 10".."row 19", "row 100".., "row 1000".., "row 10000"..: 1+10+100+1000+2000.
    let count = s.log.match_count(&s.builds[&BuildId(ID.into())].log);
    assert_eq!(count.map(|c| (c.total, c.complete)), Some((3111, true)));
    // Lines that arrive later are counted as they come.
    send(&mut s, &km, logs(&["row 1 again".to_owned()]));
    let count = s.log.match_count(&s.builds[&BuildId(ID.into())].log);
    assert_eq!(count.map(|c| c.total), Some(3112));
}

#[test]
fn timestamps_are_a_plain_time_of_day() {
    let (mut s, km) = fixtures::dashboard();
    replay(&mut s, &km, fixtures::running());
    send(&mut s, &km, Msg::Tick(t(30)));
    send(&mut s, &km, logs(&["stamped".to_owned()]));
    keys(&mut s, &km, "t");
    let (rows, _) = log_rows(&draw(&s), &s);
    // The fixtures' clock starts at 12:00:00 UTC.
    let row = rows.iter().find(|r| r.contains("stamped"));
    assert_eq!(row.map(String::as_str), Some("12:00:30 stamped"));
    assert!(
        rows.iter().all(|r| !r.contains("+00")),
        "{}",
        rows.join("\n")
    );
}

#[test]
fn docker_legacy_context_line_is_shown() {
    let (mut s, km) = fixtures::dashboard();
    replay(&mut s, &km, fixtures::running());
    let log = include_str!("../fixtures/docker-build/legacy-first.log");
    let lines: Vec<String> = log.split('\n').take(3).map(str::to_owned).collect();
    send(&mut s, &km, logs(&lines));
    let (rows, _) = log_rows(&draw(&s), &s);
    assert!(
        rows.iter()
            .any(|r| r == "Sending build context to Docker daemon  4.096kB"),
        "{}",
        rows.join("\n")
    );
}

#[test]
fn ctrl_s_saves_into_the_data_directory_not_the_project() {
    let (mut s, km) = fixtures::dashboard();
    replay(&mut s, &km, fixtures::running());
    keys(&mut s, &km, "l");
    let ctrl_s = Key {
        ctrl: true,
        ..Key::char('s')
    };
    let fx = send(&mut s, &km, Msg::Key(ctrl_s));
    let [Effect::SaveFile { path, contents }] = fx.as_slice() else {
        panic!("{fx:?}");
    };
    let uuid = BuildId(ID.into()).uuid().to_owned();
    assert_eq!(
        path,
        &std::path::Path::new("saved-logs").join(format!("api-{uuid}.log"))
    );
    assert!(contents.contains("no lint errors"), "{contents}");
    let dir = tempfile::tempdir().expect("tempdir");
    let full = cbdash::tui::files::save_under(dir.path(), path, contents).expect("save");
    assert!(full.starts_with(dir.path()) && full.is_file());
}
