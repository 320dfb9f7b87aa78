//! The batch graph widget, cell by cell (styles included).

use super::*;
use crate::model::{BackendKind, BatchId, BatchNode, Status};
use chrono::TimeZone;
use ratatui::style::Color;

fn now() -> DateTime<Utc> {
    Utc.timestamp_opt(1_000, 0).single().expect("time")
}

fn node(id: &str, deps: &[&str], level: usize, status: NodeStatus, attempt: u32) -> Node {
    let mut n = Node::new(BatchNode {
        identifier: id.into(),
        depends_on: deps.iter().map(|d| (*d).to_owned()).collect(),
        ignore_failure: false,
        label: None,
    });
    n.level = level;
    n.status = status;
    n.attempt = attempt;
    n
}

fn batch(kind: BatchKind, nodes: Vec<Node>) -> Batch {
    Batch {
        id: BatchId("api:0b5e3c1d-1111-2222-3333-444455556666".into()),
        project: "api".into(),
        key: None,
        backend: BackendKind::Local,
        kind,
        nodes,
        started: now(),
        ended: None,
        status: NodeStatus::Is(Status::InProgress),
        duration_ms: None,
    }
}

fn cells(buf: &Buffer, y: u16, xs: std::ops::Range<u16>) -> String {
    xs.map(|x| buf[(x, y)].symbol().to_owned()).collect()
}

fn draw(g: BatchGraph<'_>, w: u16, h: u16) -> Buffer {
    let mut buf = Buffer::empty(Rect::new(0, 0, w, h));
    g.render(buf.area, &mut buf);
    buf
}

#[test]
fn node_rows_show_status_attempt_duration_and_the_critical_path() {
    let b = batch(
        BatchKind::Graph,
        vec![
            node("build1", &[], 0, NodeStatus::Is(Status::Succeeded), 1),
            node("build2", &[], 0, NodeStatus::Is(Status::Failed), 2),
            node(
                "build3",
                &["build1"],
                1,
                NodeStatus::Is(Status::InProgress),
                1,
            ),
            node("build4", &["build2"], 1, NodeStatus::Pending, 0),
            node(
                "build5",
                &["build3", "build4"],
                2,
                NodeStatus::Other("CLIENT_ERROR".into()),
                1,
            ),
        ],
    );
    let theme = Theme::default();
    let durations = [Some(12_000), Some(3_000), Some(4_500), None, Some(800)];
    let g = BatchGraph {
        batch: &b,
        durations: &durations,
        critical: &[0, 2],
        selected: Some(1),
        focused: true,
        theme: &theme,
        now: now(),
    };
    let buf = draw(g, 80, 9);
    let text: Vec<String> = (0..9)
        .map(|y| cells(&buf, y, 0..80).trim_end().to_owned())
        .collect();
    assert_eq!(
        text,
        [
            " level 1 · 2 builds",
            " ├ ✔ build1 #1    12.0s  SUCCEEDED",
            " └ ✘ build2 #2     3.0s  FAILED",
            " level 2 · 2 builds",
            &format!(
                " ├ {} build3 #1     4.5s  IN_PROGRESS   ← build1",
                icon(Status::InProgress, now())
            ),
            " └ · build4              PENDING       ← build2",
            " level 3 · 1 build",
            " └ ? build5 #1    800ms  CLIENT_ERROR  ← build3, build4",
            "",
        ]
    );
    // Headings in the accent colour, bold.
    assert_eq!(buf[(1, 0)].fg, Color::Cyan);
    assert!(buf[(1, 0)].modifier.contains(Modifier::BOLD));
    // Row 1: the tree is dim, the symbol green; build1 is on the critical path: black on
    // yellow, bold; its attempt dim; its status word green.
    assert_eq!(buf[(1, 1)].fg, Color::DarkGray);
    assert_eq!(buf[(3, 1)].fg, Color::Green);
    for x in 5..11 {
        assert_eq!(buf[(x, 1)].fg, Color::Black, "critical id cell {x}");
        assert_eq!(buf[(x, 1)].bg, Color::Yellow, "critical id cell {x}");
        assert!(buf[(x, 1)].modifier.contains(Modifier::BOLD));
    }
    assert_eq!(buf[(12, 1)].fg, Color::DarkGray, "attempt");
    for x in 25..34 {
        assert_eq!(buf[(x, 1)].fg, Color::Green, "status cell {x}");
    }
    // Row 2: failed and selected in a focused pane: red, reversed, not highlighted.
    for x in 3..11 {
        assert_eq!(buf[(x, 2)].fg, Color::Red, "failed cell {x}");
        assert!(
            buf[(x, 2)].modifier.contains(Modifier::REVERSED),
            "selected cell {x}"
        );
        assert_ne!(buf[(x, 2)].bg, Color::Yellow);
    }
    // Row 4: running is yellow, on the critical path; its edge is dim.
    assert_eq!(buf[(3, 4)].fg, Color::Yellow);
    assert_eq!(buf[(5, 4)].bg, Color::Yellow);
    assert_eq!(buf[(39, 4)].fg, Color::DarkGray, "the edge");
    // Row 5: not started is dim and has no attempt or duration.
    assert_eq!(buf[(3, 5)].fg, Color::DarkGray);
    assert_eq!(buf[(5, 5)].fg, Color::DarkGray);
    assert_ne!(buf[(5, 5)].bg, Color::Yellow, "not on the critical path");
    // Row 7: an unknown status, its raw word in the accent colour.
    assert_eq!(buf[(3, 7)].fg, Color::Cyan);
    for x in 25..37 {
        assert_eq!(buf[(x, 7)].fg, Color::Cyan, "raw status cell {x}");
    }
}

#[test]
fn narrow_rows_keep_raw_statuses_and_scrolling_keeps_the_selection() {
    let mut nodes: Vec<Node> = (1..=8)
        .map(|i| {
            node(
                &format!("matrix_{i}"),
                &[],
                0,
                NodeStatus::Is(Status::Succeeded),
                1,
            )
        })
        .collect();
    nodes[2].label = Some("image=aws/codebuild/standard:7.0 NODE=18".into());
    nodes[6].status = NodeStatus::Other("RETRY".into());
    let b = batch(BatchKind::Matrix, nodes);
    let theme = Theme::default();
    let durations = [Some(1_000); 8];
    let g = |selected| BatchGraph {
        batch: &b,
        durations: &durations,
        critical: &[],
        selected: Some(selected),
        focused: false,
        theme: &theme,
        now: now(),
    };
    // 40 columns: no SUCCEEDED word, the label fitted, RETRY kept.
    let buf = draw(g(0), 40, 5);
    let text: Vec<String> = (0..5)
        .map(|y| cells(&buf, y, 0..40).trim_end().to_owned())
        .collect();
    assert_eq!(text[0], " matrix · 8 builds");
    assert_eq!(text[1], " ├ ✔ matrix_1 #1     1.0s");
    assert!(
        buf[(5, 1)].modifier.contains(Modifier::BOLD),
        "selected, unfocused: bold"
    );
    assert!(!buf[(5, 1)].modifier.contains(Modifier::REVERSED));
    // 13 columns are left for the label: too few for every part, so its last ones.
    assert_eq!(text[3], " ├ ✔ matrix_3 #1     1.0s  … NODE=18");
    assert_eq!(text[4], " ▼ 5 more");
    assert_eq!(buf[(1, 4)].fg, Color::DarkGray);
    // Selecting the seventh node scrolls it on screen; the last one shows under it, so no
    // mark is needed.
    let buf = draw(g(6), 40, 5);
    let text: Vec<String> = (0..5)
        .map(|y| cells(&buf, y, 0..40).trim_end().to_owned())
        .collect();
    assert_eq!(text[3], " ├ ? matrix_7 #1     1.0s  RETRY");
    assert_eq!(text[4], " └ ✔ matrix_8 #1     1.0s");
    assert_eq!(buf[(3, 3)].fg, Color::Cyan);
    // The fifth: scrolled by one, with the mark below it.
    let buf = draw(g(4), 40, 5);
    let text: Vec<String> = (0..5)
        .map(|y| cells(&buf, y, 0..40).trim_end().to_owned())
        .collect();
    assert_eq!(text[0], " ├ ✔ matrix_2 #1     1.0s");
    assert_eq!(text[3], " ├ ✔ matrix_5 #1     1.0s");
    assert_eq!(text[4], " ▼ 3 more");
}
