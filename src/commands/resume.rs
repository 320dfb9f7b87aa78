//! `cbdash resume ID [--phase PHASE]`: re-run a kept local build in place from its failed
//! phase (or PHASE), printed as `cbdash run` prints a build, with the same exit codes. When ID
//! is a batch recorded in the current directory (or a kept task's project), the batch resumes:
//! its failed tasks in place, then the tasks they stopped.

use anyhow::Result;

use crate::app::request::{RunOverrides, build_request};
use crate::app::{batch, exit, headless, pipeline::Pipeline};
use crate::cli::{GlobalArgs, ResumeArgs};
use crate::engine::local::ResumeRequest;

/// Runs the command; returns the exit code.
pub fn run(global: &GlobalArgs, args: &ResumeArgs) -> Result<u8> {
    let runtime = headless::runtime()?;
    let dirs = runtime.block_on(batch::record_dirs());
    if let Some(record) = batch::find_record(&args.build_id, &dirs)? {
        let base = build_request(&record.source_dir, &RunOverrides::default())?;
        let max = args
            .max_parallel
            .map_or_else(batch::default_max_parallel, usize::from);
        let pipeline = Pipeline::new(global.history.as_deref());
        return runtime.block_on(batch::resume(base, record, max, pipeline, args.json));
    }
    let req = ResumeRequest {
        build_id: args.build_id.clone(),
        phase: args.phase,
        batch: None,
    };
    let pipeline = Pipeline::new(global.history.as_deref());
    runtime
        .block_on(headless::resume(req, pipeline, args.json))
        .map_err(|e| exit::explain_missing_build(global.history.as_deref(), e))
}
