//! Synthetic batch event sequences, as the shared batch events describe a batch: a graph batch
//! of five builds (two roots, two dependents, a join) that runs, then fails in one root so
//! that its dependents end STOPPED; and a cloud matrix batch with labels and an unknown status.

use cbdash::model::{
    BackendKind, BatchId, BatchKind, BatchMember, BatchNode, BatchResult, BuildEvent, BuildId,
    LogLine, NodeStatus, PhaseContext, PhaseKind, Status, StatusCode,
};

use super::fixtures::t;

pub const BATCH: &str = "api:0b5e3c1d-7a2f-4e19-8c3b-5d6e7f8a9b0c";
pub const MATRIX: &str = "api-prod:4c2d1e0f-9a8b-4c7d-b6e5-f4a3b2c1d0e9";

pub fn batch_id() -> BatchId {
    BatchId(BATCH.into())
}

/// The build of graph node `n` (1..=5).
pub fn child(n: u32) -> BuildId {
    BuildId(format!("api:{n}1111111-2222-3333-4444-55555555555{n}"))
}

fn node(id: &str, deps: &[&str], label: Option<&str>) -> BatchNode {
    BatchNode {
        identifier: id.into(),
        depends_on: deps.iter().map(|d| (*d).to_owned()).collect(),
        ignore_failure: false,
        label: label.map(str::to_owned),
    }
}

fn node_status(
    batch: &BatchId,
    identifier: &str,
    build: Option<&BuildId>,
    status: NodeStatus,
    attempt: u32,
    at: i64,
) -> (i64, BuildEvent) {
    (
        at,
        BuildEvent::BatchBuild {
            batch_id: batch.clone(),
            identifier: identifier.into(),
            build_id: build.cloned(),
            status,
            attempt,
            at: t(at),
        },
    )
}

/// A child build starting: the batch says the node runs, the build's `Started` names the
/// batch, then its BUILD phase starts with a log line.
fn child_starts(
    batch: &BatchId,
    identifier: &str,
    id: &BuildId,
    project: &str,
    backend: BackendKind,
    at: i64,
) -> Vec<(i64, BuildEvent)> {
    let running = NodeStatus::Is(Status::InProgress);
    vec![
        node_status(batch, identifier, Some(id), running, 1, at),
        (
            at,
            BuildEvent::Started {
                build_id: id.clone(),
                project: project.into(),
                backend,
                image: "aws/codebuild/standard:7.0".into(),
                docker: cbdash::model::DockerAccess::default(),
                batch: Some(BatchMember {
                    batch_id: batch.clone(),
                    identifier: identifier.into(),
                }),
                at: t(at),
            },
        ),
        (
            at,
            BuildEvent::PhaseStarted {
                build_id: id.clone(),
                phase: PhaseKind::Build,
                attempt: 1,
                at: t(at),
            },
        ),
        (
            at,
            BuildEvent::Logs {
                build_id: id.clone(),
                lines: vec![LogLine::from_log(
                    Some(PhaseKind::Build),
                    &format!("[Container] 2026/03/01 12:00:00 Running command make {identifier}"),
                )],
            },
        ),
    ]
}

/// A child build ending at `at` after starting at `from`, and the batch saying so.
fn child_ends(
    batch: &BatchId,
    identifier: &str,
    id: &BuildId,
    status: Status,
    from: i64,
    at: i64,
) -> Vec<(i64, BuildEvent)> {
    let ms = u64::try_from((at - from) * 1000).unwrap_or(0);
    let context = if status == Status::Succeeded {
        PhaseContext::default()
    } else {
        PhaseContext::new(
            StatusCode::CommandExecutionError,
            format!("Error while executing command: make {identifier}. Reason: exit status 2"),
        )
    };
    vec![
        (
            at,
            BuildEvent::Logs {
                build_id: id.clone(),
                lines: vec![LogLine::from_log(
                    Some(PhaseKind::Build),
                    if status == Status::Succeeded {
                        "ok"
                    } else {
                        "error: test failed"
                    },
                )],
            },
        ),
        (
            at,
            BuildEvent::PhaseFinished {
                build_id: id.clone(),
                phase: PhaseKind::Build,
                attempt: 1,
                status,
                duration_ms: ms,
                context,
                at: t(at),
            },
        ),
        (
            at,
            BuildEvent::Finished {
                build_id: id.clone(),
                status,
                duration_ms: ms,
                at: t(at),
                exported_variables: std::collections::BTreeMap::new(),
            },
        ),
        node_status(batch, identifier, Some(id), NodeStatus::Is(status), 1, at),
    ]
}

/// The graph batch up to t=25: build1 took 10s; build2 (queued until t=2) and build3 (from
/// t=10) run; build4 and build5 wait. The critical path is build1 → build3 → build5.
pub fn graph_running() -> Vec<(i64, BuildEvent)> {
    let b = batch_id();
    let mut ev = vec![(
        0,
        BuildEvent::BatchStarted {
            batch_id: b.clone(),
            project: "api".into(),
            backend: BackendKind::Local,
            kind: BatchKind::Graph,
            builds: vec![
                node("build1", &[], None),
                node("build2", &[], None),
                node("build3", &["build1"], None),
                node("build4", &["build2"], None),
                node("build5", &["build3", "build4"], None),
            ],
            at: t(0),
        },
    )];
    ev.extend(child_starts(
        &b,
        "build1",
        &child(1),
        "api",
        BackendKind::Local,
        0,
    ));
    ev.extend(child_starts(
        &b,
        "build2",
        &child(2),
        "api",
        BackendKind::Local,
        2,
    ));
    ev.extend(child_ends(
        &b,
        "build1",
        &child(1),
        Status::Succeeded,
        0,
        10,
    ));
    ev.extend(child_starts(
        &b,
        "build3",
        &child(3),
        "api",
        BackendKind::Local,
        10,
    ));
    ev
}

/// [`graph_running`] to its end: build2 fails at t=30, so build4 and then build5 end
/// STOPPED without starting; build3 succeeds at t=40; the batch FAILED.
pub fn graph_failed() -> Vec<(i64, BuildEvent)> {
    let b = batch_id();
    let stopped = NodeStatus::Is(Status::Stopped);
    let mut ev = graph_running();
    ev.extend(child_ends(&b, "build2", &child(2), Status::Failed, 2, 30));
    ev.push(node_status(&b, "build4", None, stopped.clone(), 0, 30));
    ev.extend(child_ends(
        &b,
        "build3",
        &child(3),
        Status::Succeeded,
        10,
        40,
    ));
    ev.push(node_status(&b, "build5", None, stopped.clone(), 0, 40));
    let result = |n: u32, status: NodeStatus, ms: Option<u64>| BatchResult {
        identifier: format!("build{n}"),
        build_id: ms.map(|_| child(n)),
        status,
        attempt: u32::from(ms.is_some()),
        duration_ms: ms,
    };
    ev.push((
        40,
        BuildEvent::BatchFinished {
            batch_id: b,
            status: NodeStatus::Is(Status::Failed),
            duration_ms: 40_000,
            builds: vec![
                result(1, NodeStatus::Is(Status::Succeeded), Some(10_000)),
                result(2, NodeStatus::Is(Status::Failed), Some(28_000)),
                result(3, NodeStatus::Is(Status::Succeeded), Some(30_000)),
                result(4, stopped.clone(), None),
                result(5, stopped, None),
            ],
            at: t(40),
        },
    ));
    ev
}

/// A cloud matrix batch of four builds (two images by two Node versions), followed by
/// polling: two done, one running, one in a status the SDK does not know.
pub fn matrix_running() -> Vec<(i64, BuildEvent)> {
    let b = BatchId(MATRIX.into());
    let labels = [
        "image=aws/codebuild/standard:7.0 NODE=18",
        "image=aws/codebuild/standard:7.0 NODE=20",
        "image=aws/codebuild/amazonlinux2-x86_64-standard:5.0 NODE=18",
        "image=aws/codebuild/amazonlinux2-x86_64-standard:5.0 NODE=20",
    ];
    let names: Vec<String> = (1..=4).map(|i| format!("matrix_{i}")).collect();
    let mut ev = vec![(
        0,
        BuildEvent::BatchStarted {
            batch_id: b.clone(),
            project: "api-prod".into(),
            backend: BackendKind::Cloud,
            kind: BatchKind::Matrix,
            builds: names
                .iter()
                .zip(labels)
                .map(|(n, l)| node(n, &[], Some(l)))
                .collect(),
            at: t(0),
        },
    )];
    let id = |i: usize| BuildId(format!("api-prod:{i}aaaaaaa-bbbb-cccc-dddd-eeeeeeeeeee{i}"));
    for i in 1..=3 {
        ev.extend(child_starts(
            &b,
            &names[i - 1],
            &id(i),
            "api-prod",
            BackendKind::Cloud,
            5,
        ));
    }
    ev.push(node_status(
        &b,
        &names[3],
        None,
        NodeStatus::Other("CLIENT_ERROR".into()),
        1,
        6,
    ));
    ev.extend(child_ends(&b, &names[0], &id(1), Status::Succeeded, 5, 41));
    ev.extend(child_ends(&b, &names[1], &id(2), Status::Succeeded, 5, 47));
    ev
}
