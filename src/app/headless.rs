//! Headless runs: a build (or a resume) printed as plain text or NDJSON, stopped by Ctrl-C or
//! SIGTERM, its status the exit code.

use anyhow::{Context as _, Result};
use tokio_util::sync::CancellationToken;

use crate::engine::local::ResumeRequest;
use crate::engine::{BuildRequest, EventSink};

use super::output::{Output, consume};
use super::pipeline::Pipeline;

/// The runtime of the commands: two workers, as the machine a build runs on is busy enough.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Runs `req` locally, printing it; returns the exit code of its status.
pub async fn run(req: BuildRequest, mut pipeline: Pipeline, json: bool) -> Result<u8> {
    let (sink, mut rx) = EventSink::channel(64);
    let cancel = CancellationToken::new();
    spawn_signal_handler(cancel.clone());
    let build = tokio::spawn(crate::engine::local::run_build(req, sink, cancel));
    consume(&mut rx, &mut pipeline, &mut Output::new(json)).await;
    pipeline.finish();
    let outcome = build.await.context("the build task panicked")??;
    Ok(outcome.status.exit_code())
}

/// Resumes a kept build in place, printing it as [`run`] does.
pub async fn resume(req: ResumeRequest, mut pipeline: Pipeline, json: bool) -> Result<u8> {
    let (sink, mut rx) = EventSink::channel(64);
    let cancel = CancellationToken::new();
    spawn_signal_handler(cancel.clone());
    let build = tokio::spawn(crate::engine::local::resume::resume_build(
        req, sink, cancel,
    ));
    consume(&mut rx, &mut pipeline, &mut Output::new(json)).await;
    pipeline.finish();
    let outcome = build.await.context("the resume task panicked")??;
    Ok(outcome.status.exit_code())
}

/// Ctrl-C and SIGTERM stop the build (STOPPED); the engine then removes its container.
pub fn spawn_signal_handler(cancel: CancellationToken) {
    tokio::spawn(async move {
        let term = async {
            #[cfg(unix)]
            if let Ok(mut s) =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            {
                s.recv().await;
                return;
            }
            std::future::pending::<()>().await;
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            () = term => {}
        }
        cancel.cancel();
    });
}
