//! A past local batch opened from the run history: the batch's own events (its nodes, each
//! node's last build and status, its end) around a replay of each node's last build, so the
//! dashboard shows it as it looked live (the graph, and every node's phases and log one key
//! away). Nodes that never started get their status only.

use chrono::{DateTime, Utc};

use crate::history::{BatchDetail, NodeRow, Store};
use crate::model::{
    BackendKind, BatchId, BatchKind, BatchNode, BatchResult, BuildEvent, BuildId, NodeStatus,
};

/// The events of the stored batch `batch_id`, with `replay` giving a stored build's events.
pub(super) fn replay_batch(
    store: &Store,
    batch_id: &str,
    replay: impl Fn(&BuildId) -> Result<Vec<BuildEvent>, String>,
) -> Result<Vec<BuildEvent>, String> {
    let detail = store
        .batch(batch_id)
        .map_err(|e| format!("run history: {e}"))?
        .ok_or_else(|| format!("batch '{batch_id}' is not in the run history"))?;
    let id = BatchId(detail.batch.batch_id.clone());
    let started = time(Some(&detail.batch.started_at)).unwrap_or_default();
    let mut out = vec![started_event(&detail, &id, started)];
    for node in &detail.builds {
        let Some(build) = node.build_id.as_deref().map(|b| BuildId(b.to_owned())) else {
            out.push(node_event(&id, node, None, started));
            continue;
        };
        out.push(BuildEvent::BatchBuild {
            batch_id: id.clone(),
            identifier: node.identifier.clone(),
            build_id: Some(build.clone()),
            status: NodeStatus::Is(crate::model::Status::InProgress),
            attempt: node.attempt,
            at: started,
        });
        // A build whose run was pruned from the history still shows its node's status.
        if let Ok(events) = replay(&build) {
            out.extend(events);
        }
        out.push(node_event(&id, node, Some(build), started));
    }
    out.push(BuildEvent::BatchFinished {
        batch_id: id,
        status: NodeStatus::from_api(&detail.batch.status),
        duration_ms: detail.batch.duration_ms.unwrap_or(0),
        builds: detail.builds.iter().map(result).collect(),
        at: time(detail.batch.ended_at.as_deref()).unwrap_or(started),
    });
    Ok(out)
}

fn started_event(detail: &BatchDetail, id: &BatchId, at: DateTime<Utc>) -> BuildEvent {
    BuildEvent::BatchStarted {
        batch_id: id.clone(),
        project: detail.batch.project.clone(),
        backend: if detail.batch.backend == "cloud" {
            BackendKind::Cloud
        } else {
            BackendKind::Local
        },
        kind: match detail.batch.kind.as_str() {
            "list" => BatchKind::List,
            "matrix" => BatchKind::Matrix,
            "fanout" => BatchKind::Fanout,
            _ => BatchKind::Graph,
        },
        builds: detail
            .builds
            .iter()
            .map(|n| BatchNode {
                identifier: n.identifier.clone(),
                depends_on: n.depends_on.clone(),
                ignore_failure: n.ignore_failure,
                label: n.label.clone(),
            })
            .collect(),
        at,
    }
}

fn node_event(
    id: &BatchId,
    node: &NodeRow,
    build: Option<BuildId>,
    at: DateTime<Utc>,
) -> BuildEvent {
    BuildEvent::BatchBuild {
        batch_id: id.clone(),
        identifier: node.identifier.clone(),
        build_id: build,
        status: NodeStatus::from_api(&node.status),
        attempt: node.attempt,
        at,
    }
}

fn result(node: &NodeRow) -> BatchResult {
    BatchResult {
        identifier: node.identifier.clone(),
        build_id: node.build_id.clone().map(BuildId),
        status: NodeStatus::from_api(&node.status),
        attempt: node.attempt,
        duration_ms: node.duration_ms,
    }
}

fn time(text: Option<&str>) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text?)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}
