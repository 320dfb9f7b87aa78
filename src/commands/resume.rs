//! `cbdash resume BUILD_ID [--phase PHASE]`: re-run a kept local build in place from its failed
//! phase (or PHASE), printed as `cbdash run` prints a build, with the same exit codes.

use anyhow::Result;

use crate::app::{exit, headless, pipeline::Pipeline};
use crate::cli::{GlobalArgs, ResumeArgs};
use crate::engine::local::ResumeRequest;

/// Runs the command; returns the exit code.
pub fn run(global: &GlobalArgs, args: &ResumeArgs) -> Result<u8> {
    let req = ResumeRequest {
        build_id: args.build_id.clone(),
        phase: args.phase,
    };
    let pipeline = Pipeline::new(global.history.as_deref());
    headless::runtime()?
        .block_on(headless::resume(req, pipeline, args.json))
        .map_err(|e| exit::explain_missing_build(global.history.as_deref(), e))
}
