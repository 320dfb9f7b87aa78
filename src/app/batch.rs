//! Local batches from the command line: `cbdash run DIR --batch` (or a buildspec whose
//! `batch:` section has no `phases` beside it) and `cbdash resume BATCH_ID`.
//!
//! The buildspec's batch section is checked here, before any container starts (an invalid
//! batch is a usage error, exit 2); the engine's batch runner (`engine::local::batch`) then
//! runs its tasks and every event goes through the same pipeline and printers as one build's.

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use tokio_util::sync::CancellationToken;

use crate::buildspec::{self, Buildspec};
use crate::engine::local::batch::{BatchRequest, resume_batch, run_batch};
use crate::engine::local::batch_record::{self, BatchRecord};
use crate::engine::{BuildRequest, EventSink};
use crate::model::BatchId;

use super::UsageError;
use super::headless::spawn_signal_handler;
use super::output::{Output, consume};
use super::pipeline::Pipeline;

/// How many builds of a batch run at once when `--max-parallel` is not given: the number of
/// CPUs.
#[must_use]
pub fn default_max_parallel() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

/// The buildspec `req` runs, read and parsed (errors rendered with `file:line:col` and the
/// source line); `batch`: with the checks of a batch run (`buildspec::check_batch`).
fn load(req: &BuildRequest, batch: bool) -> Result<(PathBuf, Buildspec)> {
    let path = spec_path(req);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read the buildspec {}", path.display()))?;
    let file = path.display().to_string();
    let parsed = if batch {
        buildspec::check_batch(&text)
    } else {
        buildspec::parse(&text)
    };
    let parsed = parsed.map_err(|diags| {
        let rendered: Vec<String> = diags.iter().map(|d| d.render(&file)).collect();
        UsageError(rendered.join("\n"))
    })?;
    Ok((path, parsed.spec))
}

fn spec_path(req: &BuildRequest) -> PathBuf {
    req.buildspec.clone().unwrap_or_else(|| {
        req.source_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("."))
            .join("buildspec.yml")
    })
}

/// Whether `req` runs as a batch: `--batch` (`flag`), the project's `batch = true`, or a
/// buildspec with a `batch:` section and no phases (a batch-only file). A file with both runs
/// its phases otherwise, as a plain StartBuild would.
#[must_use]
pub fn runs_as_batch(req: &BuildRequest, flag: bool) -> bool {
    let configured = || {
        req.source_dir
            .as_deref()
            .and_then(|dir| super::request::load_settings(dir).ok())
            .and_then(|settings| settings.batch)
            .unwrap_or(false)
    };
    flag || configured()
        || load(req, false).is_ok_and(|(_, spec)| spec.batch.is_some() && spec.phases.is_empty())
}

/// The batch of `req`'s buildspec, checked: its tasks, expanded.
pub fn batch_request(
    req: BuildRequest,
    batch_id: BatchId,
    max_parallel: usize,
) -> Result<BatchRequest> {
    let (path, spec) = load(&req, true)?;
    let file = path.display().to_string();
    let Some(batch) = spec.batch.as_ref() else {
        return Err(UsageError(format!(
            "{file} has no `batch:` section: add one (build-list, build-graph, build-matrix or \
             build-fanout), or run without --batch"
        ))
        .into());
    };
    let tasks = buildspec::batch_plan(&spec).map_err(|diags| {
        let rendered: Vec<String> = diags.iter().map(|d| d.render(&file)).collect();
        UsageError(rendered.join("\n"))
    })?;
    let Some(kind) = batch.kind else {
        return Err(UsageError(format!("{file}: `batch` names no build type")).into());
    };
    Ok(BatchRequest {
        base: BuildRequest {
            buildspec: Some(path),
            ..req
        },
        batch_id,
        kind,
        fast_fail: batch.fast_fail,
        max_parallel: max_parallel.max(1),
        tasks,
    })
}

/// Runs a batch, printing it; returns the exit code of its status.
pub async fn run(req: BatchRequest, mut pipeline: Pipeline, json: bool) -> Result<u8> {
    let (sink, mut rx) = EventSink::channel(256);
    let cancel = CancellationToken::new();
    spawn_signal_handler(cancel.clone());
    let batch = tokio::spawn(run_batch(req, sink, cancel));
    consume(&mut rx, &mut pipeline, &mut Output::new(json)).await;
    pipeline.finish();
    let outcome = batch.await.context("the batch task panicked")??;
    Ok(outcome.exit_code())
}

/// The recorded batch `id` (a batch id, or a unique prefix of its uuid) in `dirs`, if any.
pub fn find_record(id: &str, dirs: &[PathBuf]) -> Result<Option<BatchRecord>> {
    let mut found: Vec<(PathBuf, BatchId)> = Vec::new();
    for dir in dirs {
        for batch_id in batch_record::matching(dir, id) {
            if !found.iter().any(|(_, b)| *b == batch_id) {
                found.push((dir.clone(), batch_id));
            }
        }
    }
    match found.as_slice() {
        [] => Ok(None),
        [(dir, batch_id)] => Ok(BatchRecord::load(dir, batch_id)?),
        many => Err(UsageError(format!(
            "'{id}' matches several batches ({}): give more of the id",
            many.iter()
                .map(|(_, b)| b.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .into()),
    }
}

/// The request resuming `record`: the project's current settings (`base`) with the recorded
/// run's buildspec, image and Docker options, its tasks checked again.
pub fn resume_request(
    base: BuildRequest,
    record: &BatchRecord,
    max_parallel: usize,
) -> Result<BatchRequest> {
    let mut base = BuildRequest {
        buildspec: Some(record.buildspec.clone()),
        ..base
    };
    record.settings.apply(&mut base);
    batch_request(base, record.batch_id.clone(), max_parallel)
}

/// Resumes a recorded batch with the project's current settings (`base`), printing it.
pub async fn resume(
    base: BuildRequest,
    record: BatchRecord,
    max_parallel: usize,
    mut pipeline: Pipeline,
    json: bool,
) -> Result<u8> {
    let req = resume_request(base, &record, max_parallel)?;
    let (sink, mut rx) = EventSink::channel(256);
    let cancel = CancellationToken::new();
    spawn_signal_handler(cancel.clone());
    let batch = tokio::spawn(resume_batch(req, record, sink, cancel));
    consume(&mut rx, &mut pipeline, &mut Output::new(json)).await;
    pipeline.finish();
    let outcome = batch.await.context("the batch task panicked")??;
    Ok(outcome.exit_code())
}

/// The project directories a batch record may be in: the current directory, then the
/// directories of kept containers (a failed task's container is kept).
pub async fn record_dirs() -> Vec<PathBuf> {
    let mut dirs = vec![PathBuf::from(".")];
    if let Ok(kept) = crate::engine::local::locate::kept_source_dirs().await {
        dirs.extend(kept);
    }
    dirs
}
