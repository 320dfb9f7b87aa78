//! `cbdash resume BUILD_ID [--phase PHASE]`: re-run a kept local build in place from its failed
//! phase (or PHASE), printed as `cbdash run` prints a build, with the same exit codes.

use anyhow::{Context as _, Result};
use tokio_util::sync::CancellationToken;

use crate::cli::{GlobalArgs, ResumeArgs};
use crate::engine::EventSink;
use crate::engine::local::ResumeRequest;

use super::output::{Output, consume};
use super::pipeline::Pipeline;
use super::run::{runtime, spawn_signal_handler};

/// Runs the command; returns the exit code.
pub fn run(global: &GlobalArgs, args: &ResumeArgs) -> Result<u8> {
    let req = ResumeRequest {
        build_id: args.build_id.clone(),
        phase: args.phase,
    };
    let pipeline = Pipeline::new(global.history.as_deref());
    runtime()?.block_on(drive(req, pipeline, args.json))
}

async fn drive(req: ResumeRequest, mut pipeline: Pipeline, json: bool) -> Result<u8> {
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
