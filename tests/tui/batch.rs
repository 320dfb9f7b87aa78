//! Batches in the dashboard, driven only by the batch events: the reducer (one row per batch,
//! nodes following their builds, keys over the graph, `r` on a failed batch) and whole screens
//! at 80x24 and 200x50 (insta snapshots, durations masked).

use cbdash::model::{BuildEvent, NodeStatus, Status};
use cbdash::tui::batch::{self, Batch};
use cbdash::tui::batch_actions::{Entry, entries};
use cbdash::tui::keymap::{Key, KeyCode};
use cbdash::tui::msg::{Effect, Msg};
use cbdash::tui::state::{Focus, Mode, Pending, State};
use ratatui::style::Color;

use super::batch_events::{self as ev, batch_id, child};
use super::fixtures::{self, keys, masked, replay, send, t};
use super::screen::{draw, find};

fn the_batch(s: &State) -> &Batch {
    s.batches.get(&batch_id()).expect("the batch is known")
}

fn statuses(s: &State) -> Vec<(String, String)> {
    the_batch(s)
        .nodes
        .iter()
        .map(|n| (n.identifier.clone(), n.status.to_string()))
        .collect()
}

fn key(s: &mut State, code: KeyCode) -> Vec<Effect> {
    send(s, &fixtures::keymap(), Msg::Key(Key::new(code)))
}

#[test]
fn a_graph_batch_is_one_row_whose_nodes_follow_the_batch_events() {
    let (mut s, km) = fixtures::dashboard();
    replay(&mut s, &km, ev::graph_running());
    send(&mut s, &km, Msg::Tick(t(25)));
    // One row under its project: its child builds are not rows of their own.
    let api = &s.projects[s.selected];
    assert_eq!(api.key.name, "api");
    assert!(
        api.builds.is_empty(),
        "children are not the project's builds"
    );
    let list = entries(&s);
    assert_eq!(list[0], Entry::Batch(batch_id()));
    assert!(
        !list
            .iter()
            .any(|e| matches!(e, Entry::Build(id, ..) if *id == child(1))),
        "{list:?}"
    );
    // The batch took the main pane; its nodes know their builds.
    assert!(batch::graph_shown(&s));
    assert_eq!(s.open_build, None);
    let b = the_batch(&s);
    assert_eq!(b.nodes[0].build_id, Some(child(1)));
    assert_eq!(
        statuses(&s),
        [
            ("build1".into(), "SUCCEEDED".into()),
            ("build2".into(), "IN_PROGRESS".into()),
            ("build3".into(), "IN_PROGRESS".into()),
            ("build4".into(), "PENDING".into()),
            ("build5".into(), "PENDING".into()),
        ]
    );
    // Durations: build1 10s, build2 23s and build3 15s so far (running ones by elapsed
    // time): the longest chain is build1 → build3 (25s), then build5 still to come.
    let ms: Vec<Option<u64>> = b.nodes.iter().map(|n| batch::node_ms(&s, n)).collect();
    assert_eq!(ms, [Some(10_000), Some(23_000), Some(15_000), None, None]);
    let path: Vec<&str> = batch::live_critical_path(&s, b)
        .into_iter()
        .map(|i| b.nodes[i].identifier.as_str())
        .collect();
    assert_eq!(path, ["build1", "build3", "build5"]);
    // The builds list shows it as one row, and opens its graph.
    keys(&mut s, &km, "b");
    let term = draw(&mut s, 80, 24);
    let (_, y) = find(&term, ev::BATCH);
    assert_eq!(find(&term, "(graph, 5)").1, y);
    key(&mut s, KeyCode::Enter);
    assert!(batch::graph_shown(&s) && s.focus == Focus::Log);
}

#[test]
fn a_failure_stops_its_dependents_and_the_batch_ends_failed() {
    let (mut s, km) = fixtures::dashboard();
    let mut notified = Vec::new();
    for (at, e) in ev::graph_failed() {
        send(&mut s, &km, Msg::Tick(t(at)));
        notified.extend(
            send(&mut s, &km, Msg::Build(e))
                .into_iter()
                .filter(|e| matches!(e, Effect::Notify(_))),
        );
    }
    assert_eq!(
        statuses(&s),
        [
            ("build1".into(), "SUCCEEDED".into()),
            ("build2".into(), "FAILED".into()),
            ("build3".into(), "SUCCEEDED".into()),
            ("build4".into(), "STOPPED".into()),
            ("build5".into(), "STOPPED".into()),
        ]
    );
    let b = the_batch(&s);
    assert!(b.failed() && !b.running());
    assert_eq!(b.status, NodeStatus::Is(Status::Failed));
    assert_eq!(b.duration_ms, Some(40_000));
    assert_eq!(
        b.nodes[3].build_id, None,
        "a stopped dependent never started"
    );
    assert_eq!(b.nodes[3].attempt, 0);
    assert_eq!(batch::node_ms(&s, &b.nodes[1]), Some(28_000));
    assert!(
        batch::live_critical_path(&s, b).is_empty(),
        "only while it runs"
    );
    // One notification for the batch, none per child build.
    assert_eq!(notified.len(), 1, "{notified:?}");
    let flash = s.flash.as_ref().expect("a flash");
    assert!(
        flash.text.contains("FAILED") && flash.text.contains("1 failed"),
        "{}",
        flash.text
    );
}

#[test]
fn keys_move_over_the_nodes_open_a_build_and_go_back_to_the_graph() {
    let (mut s, km) = fixtures::dashboard();
    replay(&mut s, &km, ev::graph_failed());
    key(&mut s, KeyCode::Enter);
    assert_eq!(s.focus, Focus::Log, "enter moves to the graph");
    keys(&mut s, &km, "jj");
    assert_eq!(s.batch.as_ref().map(|v| v.selected), Some(2));
    key(&mut s, KeyCode::Enter);
    assert_eq!(s.open_build, Some(child(3)), "build3's build is open");
    assert!(s.batch.as_ref().is_some_and(|v| v.node_open));
    assert!(!batch::graph_shown(&s));
    // Its usual panes: phases and log.
    let term = draw(&mut s, 120, 32);
    find(&term, "BUILD");
    find(&term, "make build3");
    key(&mut s, KeyCode::Esc);
    assert!(batch::graph_shown(&s), "esc goes back to the graph");
    assert_eq!(s.open_build, None);
    assert_eq!(
        s.batch.as_ref().map(|v| v.selected),
        Some(2),
        "on the same node"
    );
    // A node that never started has no build to open.
    keys(&mut s, &km, "j");
    key(&mut s, KeyCode::Enter);
    assert!(batch::graph_shown(&s));
    assert!(
        s.flash
            .as_ref()
            .is_some_and(|f| f.text.contains("build4 has not started"))
    );
    // `f` finds the failed node.
    keys(&mut s, &km, "f");
    assert_eq!(s.batch.as_ref().map(|v| v.selected), Some(1));
}

#[test]
fn r_on_a_failed_local_batch_resumes_it() {
    let (mut s, km) = fixtures::dashboard();
    replay(&mut s, &km, ev::graph_running());
    let fx = keys(&mut s, &km, "r");
    assert!(fx.is_empty(), "a running batch is not resumed: {fx:?}");
    replay(
        &mut s,
        &km,
        ev::graph_failed().split_off(ev::graph_running().len()),
    );
    let fx = keys(&mut s, &km, "r");
    assert_eq!(
        fx,
        [Effect::ResumeBatch {
            project: fixtures::local("api"),
            batch_id: batch_id(),
        }]
    );
    assert!(fx.iter().all(Effect::for_executor));
}

#[test]
fn r_on_a_failed_cloud_batch_asks_then_retries_its_failed_builds() {
    let (mut s, km) = fixtures::dashboard();
    keys(&mut s, &km, "2");
    let mut events = ev::matrix_running();
    let id = cbdash::model::BatchId(ev::MATRIX.into());
    events.push((
        60,
        cbdash::model::BuildEvent::BatchFinished {
            batch_id: id.clone(),
            status: NodeStatus::Is(Status::Failed),
            duration_ms: 60_000,
            builds: Vec::new(),
            at: t(60),
        },
    ));
    replay(&mut s, &km, events);
    let fx = keys(&mut s, &km, "r");
    assert!(fx.is_empty(), "nothing is sent before the confirmation");
    let pending = Pending::RetryBatch {
        project: fixtures::cloud("api-prod"),
        batch_id: id.clone(),
    };
    assert_eq!(s.mode, Mode::Confirm(pending));
    let term = draw(&mut s, 80, 24);
    find(&term, "(y/n)");
    let fx = keys(&mut s, &km, "y");
    assert_eq!(
        fx,
        [Effect::RetryBatch {
            project: fixtures::cloud("api-prod"),
            batch_id: id,
            failed_only: true,
        }]
    );
}

macro_rules! screen {
    ($name:expr, $state:expr, $w:expr, $h:expr) => {{
        let term = draw($state, $w, $h);
        insta::assert_snapshot!($name, masked(&term));
        term
    }};
}

#[test]
fn screens_of_a_running_graph_batch() {
    for (w, h) in [(80, 24), (200, 50)] {
        let (mut s, km) = fixtures::dashboard();
        replay(&mut s, &km, ev::graph_running());
        send(&mut s, &km, Msg::Tick(t(25)));
        key(&mut s, KeyCode::Enter);
        let term = screen!(format!("graph_running_{w}x{h}"), &mut s, w, h);
        // build1 is on the critical path: highlighted.
        let (x, y) = find(&term, "build1");
        assert_eq!(term.backend().buffer()[(x, y)].bg, Color::Yellow);
        find(&term, "critical path");
    }
}

#[test]
fn screens_of_a_failed_graph_batch() {
    for (w, h) in [(80, 24), (200, 50)] {
        let (mut s, km) = fixtures::dashboard();
        replay(&mut s, &km, ev::graph_failed());
        // The failed node, its phases under the graph.
        keys(&mut s, &km, "f");
        let term = screen!(format!("graph_failed_{w}x{h}"), &mut s, w, h);
        find(&term, "build2 · phases");
        find(&term, "exit status 2: make build2");
        let (x, y) = find(&term, "build2");
        assert_eq!(term.backend().buffer()[(x - 2, y)].fg, Color::Red);
        find(&term, "r resume failed nodes");
    }
}

#[test]
fn screens_of_a_matrix_batch_with_labels() {
    for (w, h) in [(80, 24), (200, 50)] {
        let (mut s, km) = fixtures::dashboard();
        keys(&mut s, &km, "2");
        replay(&mut s, &km, ev::matrix_running());
        send(&mut s, &km, Msg::Tick(t(50)));
        let term = screen!(format!("matrix_running_{w}x{h}"), &mut s, w, h);
        find(&term, "CLIENT_ERROR");
        // The labels tell the builds apart, cut from the start of the image on a narrow row.
        find(&term, ":7.0 NODE=18");
        find(&term, ":7.0 NODE=20");
        find(&term, ":5.0 NODE=18");
        if w == 200 {
            find(
                &term,
                "image=aws/codebuild/amazonlinux2-x86_64-standard:5.0 NODE=18",
            );
        }
    }
}

#[test]
fn screen_of_a_node_opened_from_the_graph() {
    let (mut s, km) = fixtures::dashboard();
    replay(&mut s, &km, ev::graph_failed());
    key(&mut s, KeyCode::Enter);
    keys(&mut s, &km, "j");
    key(&mut s, KeyCode::Enter);
    let term = screen!("graph_node_open_80x24", &mut s, 80, 24);
    find(&term, "error: test failed");
}

/// [`ev::graph_failed`] with build2's failure ignored by the batch (`ignore-failure: true`).
fn graph_failed_ignored() -> Vec<(i64, BuildEvent)> {
    let mut events = ev::graph_failed();
    for (_, e) in &mut events {
        if let BuildEvent::BatchStarted { builds, .. } = e {
            builds[1].ignore_failure = true;
        }
    }
    events
}

#[test]
fn an_ignored_failure_is_counted_apart_in_the_footer() {
    for (w, h, label) in [
        (80, 24, "✘ 1 (ignored) "),
        (200, 50, "✘ 1 failed (ignored) "),
    ] {
        let (mut s, km) = fixtures::dashboard();
        replay(&mut s, &km, graph_failed_ignored());
        keys(&mut s, &km, "f");
        let term = screen!(format!("graph_failed_ignored_{w}x{h}"), &mut s, w, h);
        let buf = term.backend().buffer();
        let (x, y) = find(&term, label);
        // Every cell of the count is dimmed, its ✘ too: not one more red failure.
        for dx in 0..u16::try_from(label.chars().count()).expect("short") {
            let cell = &buf[(x + dx, y)];
            assert_eq!(
                cell.fg,
                Color::DarkGray,
                "{:?} at {}",
                cell.symbol(),
                x + dx
            );
        }
        let footer: String = (0..w).map(|x| buf[(x, y)].symbol().to_owned()).collect();
        assert_eq!(footer.matches('✘').count(), 1, "no red ✘ count: {footer}");
        find(&term, "r resume failed nodes");
    }
}
