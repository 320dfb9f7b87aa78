//! `cbdash run --watch` ("rerun", as `watch` names the file watcher): run the build, then run it again whenever the project changes —
//! from the failed phase, in place, when the last run failed (its container was kept), else
//! the whole build. A change to the buildspec is validated first: an invalid one is reported
//! and nothing runs until the next change. Ctrl-C (or SIGTERM) stops; the exit code is the
//! last build's, and a container kept for resuming is removed.

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use tokio_util::sync::CancellationToken;

use crate::cli::GlobalArgs;
use crate::engine::local::{self, KeptBuilds as _, LocalBackend, LocalError, ResumeRequest};
use crate::engine::{BuildRequest, EventSink};
use crate::model::{BuildId, BuildOutcome, NoticeLevel, Status};
use crate::watch::{DEBOUNCE, ProjectWatcher};

use super::headless::spawn_signal_handler;
use super::output::{Output, consume};
use super::pipeline::Pipeline;

/// What the next run is.
enum Next {
    Full,
    Resume(BuildId),
}

/// Runs watch mode until Ctrl-C; returns the exit code of the last build.
pub async fn run(global: &GlobalArgs, req: BuildRequest, json: bool) -> Result<u8> {
    let root = req.source_dir.clone().unwrap_or_else(|| PathBuf::from("."));
    let spec_path = req
        .buildspec
        .clone()
        .unwrap_or_else(|| root.join("buildspec.yml"));
    let skip: Vec<PathBuf> = req.local.artifacts_dir.iter().cloned().collect();
    let mut watcher = ProjectWatcher::start(&root, &spec_path, &skip, DEBOUNCE)?;
    let cancel = CancellationToken::new();
    spawn_signal_handler(cancel.clone());
    let buildspec = std::fs::read_to_string(&spec_path).ok();
    let mut pipeline = Pipeline::new(global.history.as_deref()).with_source(
        crate::app::explain::LocalSource::of(&req, buildspec.as_deref()),
    );
    let mut output = Output::new(json);
    let mut next = Next::Full;
    let last = loop {
        let last = Box::pin(run_once(&req, &next, &mut pipeline, &mut output, &cancel)).await?;
        if cancel.is_cancelled() {
            break last;
        }
        if req.local.mount_source {
            watcher.discard_pending();
        }
        let id = Some(last.build_id.clone());
        let waiting = format!("watching {} for changes (Ctrl-C stops)", root.display());
        output.notice(id.clone(), NoticeLevel::Info, &waiting);
        if !wait_for_valid_change(&mut watcher, &spec_path, &mut output, id, &cancel).await {
            break last;
        }
        next = if matches!(last.status, Status::Failed | Status::Fault) {
            Next::Resume(last.build_id)
        } else {
            Next::Full
        };
    };
    if let Err(e) = LocalBackend.discard(last.build_id.as_str()).await {
        tracing::warn!("could not remove the kept container: {e}");
    }
    pipeline.finish();
    Ok(last.status.exit_code())
}

/// Waits for a change; a change to the buildspec must leave it valid (errors are printed and
/// the wait goes on). `false` when watching ended (Ctrl-C).
async fn wait_for_valid_change(
    watcher: &mut ProjectWatcher,
    spec_path: &std::path::Path,
    output: &mut Output,
    id: Option<BuildId>,
    cancel: &CancellationToken,
) -> bool {
    loop {
        let change = tokio::select! {
            c = watcher.next() => c,
            () = cancel.cancelled() => None,
        };
        let Some(change) = change else { return false };
        if change.buildspec
            && let Err(e) = super::request::validate_spec(spec_path)
        {
            let msg = format!("{e:#}\nfix the buildspec; nothing runs until it is valid");
            output.notice(id.clone(), NoticeLevel::Error, &msg);
            continue;
        }
        let files: Vec<String> = change
            .files
            .iter()
            .map(|f| f.display().to_string())
            .collect();
        let msg = format!("changed: {}", files.join(", "));
        output.notice(id, NoticeLevel::Info, &msg);
        return true;
    }
}

/// Runs one build or resume and prints it; a resume whose container is gone becomes a
/// fresh build, with a notice.
async fn run_once(
    req: &BuildRequest,
    next: &Next,
    pipeline: &mut Pipeline,
    output: &mut Output,
    cancel: &CancellationToken,
) -> Result<BuildOutcome> {
    if let Next::Resume(id) = next {
        let resume = ResumeRequest {
            build_id: id.to_string(),
            phase: None,
            batch: None,
        };
        match Box::pin(drive(pipeline, output, |sink| {
            local::resume::resume_build(resume, sink, cancel.clone())
        }))
        .await
        {
            Err(e) if resumable_failure(&e) => {
                let msg = format!("{e:#}; running the whole build");
                output.notice(Some(id.clone()), NoticeLevel::Warning, &msg);
                let _ = LocalBackend.discard(id.as_str()).await;
            }
            other => return other,
        }
    }
    Box::pin(drive(pipeline, output, |sink| {
        local::run_build(req.clone(), sink, cancel.clone())
    }))
    .await
}

/// Whether a resume failed only because this build cannot be resumed (a full run helps).
fn resumable_failure(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<LocalError>()
            .is_some_and(LocalError::needs_fresh_build)
    })
}

/// Runs `start`'s build while printing its events.
async fn drive<F, Fut>(
    pipeline: &mut Pipeline,
    output: &mut Output,
    start: F,
) -> Result<BuildOutcome>
where
    F: FnOnce(EventSink) -> Fut,
    Fut: Future<Output = Result<BuildOutcome, LocalError>>,
{
    let (sink, mut rx) = EventSink::channel(64);
    let build = start(sink);
    let (outcome, ()) = tokio::join!(build, consume(&mut rx, pipeline, output));
    outcome.context("the build could not run")
}
