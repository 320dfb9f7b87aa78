//! [`BatchPrinter`] on synthetic batches: a graph whose failure stops a dependent, a matrix
//! with labels, and untrusted text from a child's log and from the API.

use chrono::Utc;

use super::*;
use crate::model::{
    BackendKind, BatchMember, DockerAccess, LogLine, LogStream, PhaseContext, PhaseKind,
};

fn batch_id() -> BatchId {
    BatchId("p:b0".into())
}

fn node(identifier: &str, depends_on: &[&str], label: Option<&str>) -> BatchNode {
    BatchNode {
        identifier: identifier.into(),
        depends_on: depends_on.iter().map(|d| (*d).to_owned()).collect(),
        ignore_failure: false,
        label: label.map(str::to_owned),
    }
}

fn batch_started(kind: BatchKind, nodes: &[BatchNode]) -> BuildEvent {
    BuildEvent::BatchStarted {
        batch_id: batch_id(),
        project: "p".into(),
        backend: BackendKind::Local,
        kind,
        builds: nodes.to_vec(),
        at: Utc::now(),
    }
}

fn started(build: &str, identifier: &str) -> BuildEvent {
    BuildEvent::Started {
        build_id: BuildId(build.into()),
        project: "p".into(),
        backend: BackendKind::Local,
        image: "busybox".into(),
        docker: DockerAccess::None,
        batch: Some(BatchMember {
            batch_id: batch_id(),
            identifier: identifier.into(),
        }),
        at: Utc::now(),
    }
}

fn log(build: &str, text: &str) -> BuildEvent {
    BuildEvent::Logs {
        build_id: BuildId(build.into()),
        lines: vec![LogLine {
            phase: Some(PhaseKind::Build),
            stream: LogStream::Stdout,
            text: text.into(),
        }],
    }
}

fn phase(build: &str, status: Status, context: Option<(&str, &str)>) -> BuildEvent {
    BuildEvent::PhaseFinished {
        build_id: BuildId(build.into()),
        phase: PhaseKind::Build,
        attempt: 1,
        status,
        duration_ms: 1200,
        context: context.map_or_else(PhaseContext::default, |(code, message)| PhaseContext {
            status_code: code.into(),
            message: message.into(),
        }),
        at: Utc::now(),
    }
}

fn finished(build: &str, status: Status, duration_ms: u64) -> BuildEvent {
    BuildEvent::Finished {
        build_id: BuildId(build.into()),
        status,
        duration_ms,
        at: Utc::now(),
        exported_variables: std::collections::BTreeMap::new(),
    }
}

fn node_build(
    identifier: &str,
    build: Option<&str>,
    status: NodeStatus,
    attempt: u32,
) -> BuildEvent {
    BuildEvent::BatchBuild {
        batch_id: batch_id(),
        identifier: identifier.into(),
        build_id: build.map(|b| BuildId(b.into())),
        status,
        attempt,
        at: Utc::now(),
    }
}

fn result(
    identifier: &str,
    build: Option<&str>,
    status: Status,
    attempt: u32,
    duration_ms: Option<u64>,
) -> BatchResult {
    BatchResult {
        identifier: identifier.into(),
        build_id: build.map(|b| BuildId(b.into())),
        status: status.into(),
        attempt,
        duration_ms,
    }
}

fn batch_finished(status: Status, duration_ms: u64, builds: Vec<BatchResult>) -> BuildEvent {
    BuildEvent::BatchFinished {
        batch_id: batch_id(),
        status: status.into(),
        duration_ms,
        builds,
        at: Utc::now(),
    }
}

/// Feeds every event, the text of all of them together.
fn print(events: &[BuildEvent]) -> String {
    let BuildEvent::BatchStarted {
        batch_id, builds, ..
    } = &events[0]
    else {
        panic!("a batch starts with BatchStarted");
    };
    let mut p = BatchPrinter::new(batch_id.clone(), builds.clone());
    let text: String = events.iter().map(|ev| p.feed(ev)).collect();
    assert!(p.is_finished());
    text
}

#[test]
fn a_graph_prefixes_each_build_says_why_a_dependent_never_started_and_ends_with_one_table() {
    let nodes = [
        node("compile", &[], None),
        node("lint", &[], None),
        node("e2e", &["compile", "lint"], None),
    ];
    let text = print(&[
        batch_started(BatchKind::Graph, &nodes),
        node_build("compile", Some("p:c1"), Status::InProgress.into(), 1),
        started("p:c1", "compile"),
        node_build("lint", Some("p:l1"), Status::InProgress.into(), 1),
        started("p:l1", "lint"),
        log("p:c1", "cc main.c"),
        log("p:l1", "lint: ok"),
        log(
            "p:c1",
            "\u{1b}[31merror\u{1b}[0m: boom\u{7}\u{1b}]0;pwned\u{7}",
        ),
        phase(
            "p:c1",
            Status::Failed,
            Some((
                "COMMAND_EXECUTION_ERROR",
                "Error while executing command: cc",
            )),
        ),
        finished("p:c1", Status::Failed, 3200),
        node_build("compile", Some("p:c1"), Status::Failed.into(), 1),
        phase("p:l1", Status::Succeeded, None),
        finished("p:l1", Status::Succeeded, 1500),
        node_build("lint", Some("p:l1"), Status::Succeeded.into(), 1),
        node_build("e2e", None, Status::Stopped.into(), 0),
        // A repeated status (a cloud poll) prints nothing more.
        node_build("e2e", None, Status::Stopped.into(), 0),
        batch_finished(
            Status::Failed,
            5000,
            vec![
                result("compile", Some("p:c1"), Status::Failed, 1, Some(3200)),
                result("lint", Some("p:l1"), Status::Succeeded, 1, Some(1500)),
                result("e2e", None, Status::Stopped, 0, None),
            ],
        ),
    ]);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[..9],
        [
            "cbdash: batch p:b0 (graph, 3 builds)",
            "[compile] cbdash: build p:c1 on image busybox",
            "[lint]    cbdash: build p:l1 on image busybox",
            "[compile] cc main.c",
            "[lint]    lint: ok",
            "[compile] error: boom?",
            "[compile] cbdash: build FAILED in 3.2s: BUILD COMMAND_EXECUTION_ERROR: Error while executing command: cc",
            "[lint]    cbdash: build SUCCEEDED in 1.5s",
            "[e2e]     STOPPED (not started: compile failed)",
        ],
        "{text}"
    );
    assert_eq!(
        lines[9..],
        [
            "",
            "NODE     STATUS     ATTEMPT  DURATION  BUILD",
            "compile  FAILED           1      3.2s  c1",
            "lint     SUCCEEDED        1      1.5s  l1",
            "e2e      STOPPED          -         -  -",
            "",
            "Batch FAILED in 5.0s (p:b0)",
            "`cbdash resume p:b0` resumes its failed tasks in place, then the tasks they stopped",
        ],
        "{text}"
    );
    assert!(!text.contains("PHASE"), "no per-build phase table: {text}");
    assert!(
        text.chars().all(|c| c == '\n' || !c.is_control()),
        "{text:?}"
    );
}

#[test]
fn a_matrix_shows_each_builds_label_and_a_label_column() {
    let nodes = [
        node("matrix_1", &[], Some("image=a NODE=18")),
        node("matrix_2", &[], Some("image=b NODE=20")),
    ];
    let text = print(&[
        batch_started(BatchKind::Matrix, &nodes),
        started("p:m1", "matrix_1"),
        started("p:m2", "matrix_2"),
        log("p:m2", ""),
        finished("p:m2", Status::Succeeded, 900),
        finished("p:m1", Status::TimedOut, 60_000),
        batch_finished(
            Status::TimedOut,
            60_100,
            vec![
                result("matrix_1", Some("p:m1"), Status::TimedOut, 1, Some(60_000)),
                result("matrix_2", Some("p:m2"), Status::Succeeded, 1, Some(900)),
            ],
        ),
    ]);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[1..8],
        [
            "[matrix_1] cbdash: build p:m1 on image busybox",
            "[matrix_1] cbdash: label: image=a NODE=18",
            "[matrix_2] cbdash: build p:m2 on image busybox",
            "[matrix_2] cbdash: label: image=b NODE=20",
            "[matrix_2]",
            "[matrix_2] cbdash: build SUCCEEDED in 0.9s",
            "[matrix_1] cbdash: build TIMED_OUT in 60.0s",
        ],
        "{text}"
    );
    let table: Vec<&str> = text
        .split("\n\n")
        .nth(1)
        .expect("a table")
        .lines()
        .collect();
    assert_eq!(
        table,
        [
            "NODE      LABEL            STATUS     ATTEMPT  DURATION  BUILD",
            "matrix_1  image=a NODE=18  TIMED_OUT        1     60.0s  m1",
            "matrix_2  image=b NODE=20  SUCCEEDED        1      0.9s  m2",
        ],
        "{text}"
    );
    assert!(
        text.ends_with(
            "\nBatch TIMED_OUT in 60.1s (p:b0)\n`cbdash resume p:b0` resumes its failed tasks in \
             place, then the tasks they stopped\n"
        ),
        "{text}"
    );
}

#[test]
fn text_from_the_api_is_neutralised_and_unknown_statuses_kept() {
    let evil = "x\u{1b}]0;t\u{7}y";
    let nodes = [
        node(evil, &[], Some("a\u{1b}[2Jb")),
        node("n", &[evil], None),
    ];
    let text = print(&[
        batch_started(BatchKind::Graph, &nodes),
        node_build(evil, None, NodeStatus::from_api("CLIENT_ERROR"), 0),
        node_build(evil, None, Status::Fault.into(), 0),
        node_build("n", None, Status::Stopped.into(), 0),
        BuildEvent::BatchFinished {
            batch_id: batch_id(),
            status: NodeStatus::from_api("CLIENT_ERROR"),
            duration_ms: 10,
            builds: vec![BatchResult {
                identifier: evil.into(),
                build_id: None,
                status: NodeStatus::from_api("CLIENT_ERROR"),
                attempt: 0,
                duration_ms: None,
            }],
            at: Utc::now(),
        },
    ]);
    assert!(
        text.chars().all(|c| c == '\n' || !c.is_control()),
        "{text:?}"
    );
    assert!(text.contains("[xy] FAULT (not started)\n"), "{text}");
    assert!(
        text.contains("[n]  STOPPED (not started: xy fault)\n"),
        "{text}"
    );
    assert!(text.contains("\nxy    ab     CLIENT_ERROR"), "{text}");
    assert!(
        text.contains("\nn            STOPPED             -         -  -\n"),
        "a node BatchFinished leaves out: its last BatchBuild: {text}"
    );
    assert!(
        text.contains("\nBatch CLIENT_ERROR in 0.0s (p:b0)\n"),
        "{text}"
    );
}

#[test]
fn a_build_outside_the_batch_and_batch_wide_notices_print_without_a_prefix() {
    let mut p = BatchPrinter::new(batch_id(), vec![node("a", &[], None)]);
    let notice = BuildEvent::Notice {
        build_id: None,
        level: crate::model::NoticeLevel::Warning,
        message: "max-parallel 1".into(),
    };
    assert_eq!(p.feed(&notice), "cbdash: Warning: max-parallel 1\n");
    assert_eq!(p.feed(&log("p:other", "hello")), "hello\n");
    assert!(!p.is_finished());
    // Without BatchFinished, the table shows what the events said so far.
    p.feed(&node_build("a", Some("p:a1"), Status::InProgress.into(), 1));
    let s = p.summary();
    assert!(
        s.contains("\na     IN_PROGRESS        1         -  a1\n"),
        "{s}"
    );
    assert!(!s.contains("Batch "), "{s}");
}
