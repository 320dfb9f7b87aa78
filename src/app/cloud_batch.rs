//! `cbdash cloud … ` for batches: `start --batch`, `watch` of a batch, `retry` and `stop` of
//! a batch, `batches PROJECT`. A batch's events (`batch_started`, `batch_build`, each child's
//! own events, `batch_finished`) go through the same pipeline and printer as a build's
//! ([`Output`]), NDJSON with `backend: "cloud"`. Exit code: the batch's status as for builds
//! (0 SUCCEEDED, 1 FAILED, `TIMED_OUT` or STOPPED, 3 FAULT or an unknown word), 2 bad input, 3 AWS
//! errors; Ctrl-C and SIGTERM stop following with STOPPED's 1, and stop the batch too
//! (StopBuildBatch) when this command started it.

use std::io::Write as _;
use std::path::Path;

use anyhow::Result;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::UsageError;
use super::headless::spawn_signal_handler;
use super::output::Output;
use super::pipeline::Pipeline;
use crate::engine::cloud::CloudClients;
use crate::engine::cloud::batch::{BatchSnapshot, batch_id_of, exit_code};
use crate::engine::cloud::batch_actions;
use crate::engine::cloud::batch_follow::follow_batch;
use crate::engine::cloud::follow::FollowOptions;
use crate::engine::{BuildRequest, EventSink};
use crate::model::{BatchId, BuildEvent, NoticeLevel, Status};

/// Which batch `text` names, if any. `forced` (`--batch`): it is a batch id or ARN, no call.
/// Otherwise a batch ARN is a batch, a build ARN is not, and a bare `<project>:<uuid>` (batches
/// and builds share the form) is looked up with one BatchGetBuildBatches
/// ([`batch_actions::is_batch`]).
pub async fn target(clients: &CloudClients, text: &str, forced: bool) -> Result<Option<BatchId>> {
    if forced {
        return batch_id_of(text).map(Some).ok_or_else(|| {
            UsageError(format!("'{text}' is a build ARN, not a batch id or ARN")).into()
        });
    }
    Ok(batch_actions::is_batch(&clients.codebuild, text).await?)
}

/// How to follow a batch.
#[derive(Debug)]
pub struct BatchFollow<'a> {
    pub json: bool,
    pub live_tail: bool,
    /// The run history (`--history`): each child build is recorded like a single one.
    pub history: Option<&'a Path>,
    /// A signal stops the batch too (StopBuildBatch): this command started it.
    pub stop_on_signal: bool,
}

/// `cloud start PROJECT --batch`: StartBuildBatch, then (with `watch`) follows it.
pub async fn start(
    clients: &CloudClients,
    req: &BuildRequest,
    buildspec: Option<String>,
    watch: Option<BatchFollow<'_>>,
    json: bool,
) -> Result<u8> {
    let b = batch_actions::start_batch(&clients.codebuild, req, buildspec).await?;
    announce(&b.id, "started", json)?;
    match watch {
        Some(how) => follow(clients, b.id, &how).await,
        None => Ok(0),
    }
}

/// `cloud retry BATCH_ID [--failed-only]`: RetryBuildBatch (the same batch id), then (with
/// `watch`) follows it.
pub async fn retry(
    clients: &CloudClients,
    id: &BatchId,
    failed_only: bool,
    watch: Option<BatchFollow<'_>>,
    json: bool,
) -> Result<u8> {
    let b = batch_actions::retry_batch(&clients.codebuild, id, failed_only).await?;
    let what = if failed_only {
        "retried (failed builds)"
    } else {
        "retried (all builds)"
    };
    announce(&b.id, what, json)?;
    match watch {
        Some(how) => follow_as(clients, b.id, &how, true).await,
        None => Ok(0),
    }
}

/// `cloud stop BATCH_ID`: StopBuildBatch.
pub async fn stop(clients: &CloudClients, id: &BatchId) -> Result<u8> {
    let b = batch_actions::stop_batch(&clients.codebuild, id).await?;
    out(&format!("stopping batch {} (status {})", b.id, b.status))?;
    Ok(0)
}

/// `cloud batches PROJECT`: the newest `limit` batches, as a table or one JSON line each.
pub async fn list(clients: &CloudClients, project: &str, limit: usize, json: bool) -> Result<u8> {
    let batches = batch_actions::recent_batches(&clients.codebuild, project, limit).await?;
    for b in &batches {
        if json {
            out(&batch_json(b).to_string())?;
        } else {
            out(&batch_row(b))?;
        }
    }
    Ok(0)
}

/// One row of `cloud batches`: status, number, id, how many builds ended how, phase.
#[must_use]
pub fn batch_row(b: &BatchSnapshot) -> String {
    let nodes: Vec<_> = b.nodes().collect();
    let succeeded = nodes.iter().filter(|g| g.status().succeeded()).count();
    format!(
        "{:<12} #{:<5} {}  {succeeded}/{} builds succeeded  {}",
        b.status.as_str(),
        b.number.unwrap_or(0),
        b.id,
        nodes.len(),
        b.current_phase.as_deref().unwrap_or("-"),
    )
}

/// One line of `cloud batches --json`.
#[must_use]
pub fn batch_json(b: &BatchSnapshot) -> serde_json::Value {
    let builds: Vec<_> = b
        .nodes()
        .map(|g| {
            json!({"identifier": g.identifier, "depends_on": g.depends_on,
                "build_id": g.build_id(), "status": g.status(), "attempt": g.attempt()})
        })
        .collect();
    json!({"type": "cloud_batch", "id": b.id, "number": b.number, "status": b.status,
        "current_phase": b.current_phase, "complete": b.complete,
        "source_version": b.source_version, "start": b.start, "end": b.end,
        "backend": "cloud", "builds": builds})
}

fn announce(id: &BatchId, what: &str, json: bool) -> Result<()> {
    if json {
        out(&json!({"type": "cloud_batch", "action": what, "batch_id": id}).to_string())
    } else {
        out(&format!("{what} batch {id}"))
    }
}

/// Follows a batch and its children, printing as events come; the exit code is the batch's.
pub async fn follow(clients: &CloudClients, id: BatchId, how: &BatchFollow<'_>) -> Result<u8> {
    follow_as(clients, id, how, false).await
}

/// [`follow`]; `after_retry`: the batch was just retried, so an answer that still shows its
/// previous run's end is not its end ([`FollowOptions::after_retry`]).
async fn follow_as(
    clients: &CloudClients,
    id: BatchId,
    how: &BatchFollow<'_>,
    after_retry: bool,
) -> Result<u8> {
    let mut pipeline = Pipeline::new(how.history);
    let (sink, mut rx) = EventSink::channel(256);
    let cancel = CancellationToken::new();
    spawn_signal_handler(cancel.clone());
    let opts = FollowOptions {
        live_tail: how.live_tail,
        after_retry,
        ..FollowOptions::default()
    };
    let watcher = follow_batch(clients, id.clone(), &opts, sink, cancel.clone());
    let mut output = Output::new(how.json);
    let printer = async {
        let mut finished = false;
        while let Some(ev) = rx.recv().await {
            finished |= matches!(ev, BuildEvent::BatchFinished { .. });
            output.event(&mut pipeline, ev);
        }
        finished
    };
    let (outcome, finished) = tokio::join!(Box::pin(watcher), printer);
    let outcome = outcome?;
    if cancel.is_cancelled() && !finished {
        let message = stop_on_signal(clients, &id, how.stop_on_signal).await;
        output.notice(None, NoticeLevel::Warning, &message);
    }
    output.end_build();
    pipeline.finish();
    if cancel.is_cancelled() && !finished {
        return Ok(Status::Stopped.exit_code());
    }
    Ok(exit_code(&outcome.status))
}

/// After a signal: StopBuildBatch when this command started the batch, and what to say.
async fn stop_on_signal(clients: &CloudClients, id: &BatchId, stop: bool) -> String {
    if !stop {
        return format!(
            "stopped following batch {id}; it goes on in CodeBuild (`cbdash cloud stop {id}` stops it)"
        );
    }
    match batch_actions::stop_batch(&clients.codebuild, id).await {
        Ok(_) => format!("stopped batch {id} (StopBuildBatch sent)"),
        Err(e) => format!("stopped following batch {id}; StopBuildBatch failed: {e}"),
    }
}

fn out(line: &str) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{line}")?;
    stdout.flush()?;
    Ok(())
}
