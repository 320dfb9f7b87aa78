//! Local batches in the dashboard: `r` on a project whose buildspec is batch-only runs the
//! batch (each task a build under the batch's row), and `r` on a failed batch resumes it in
//! place (`cbdash resume BATCH_ID`'s rules). The batch runner emits its own events and every
//! child build's into one channel, forwarded through the pipeline like one build's.

use crate::app::batch::{batch_request, default_max_parallel, resume_request};
use crate::engine::local::batch::{resume_batch, run_batch};
use crate::engine::local::batch_record::BatchRecord;
use crate::engine::{BuildRequest, EventSink};
use crate::model::BatchId;
use crate::tui::state::ProjectKey;

use super::EVENT_CAPACITY;
use super::executor::{Forward, Task};

/// What to do with a local project's batch.
pub(super) enum BatchRun {
    /// A fresh batch of the project's buildspec.
    Fresh,
    /// Resume the recorded batch.
    Resume(BatchId),
}

/// The batch task: run or resume, its events forwarded under `project`. Problems found before
/// anything starts (an invalid batch section, no record) are said as an error flash.
pub(super) fn spawn(project: ProjectKey, req: BuildRequest, run: BatchRun, ctx: Forward) -> Task {
    Box::pin(async move {
        let (sink, rx) = EventSink::channel(EVENT_CAPACITY);
        let name = project.name.clone();
        let go = async {
            let result = match run {
                BatchRun::Fresh => {
                    let batch_id = BatchId::new_for(&req.project);
                    match batch_request(req, batch_id, default_max_parallel()) {
                        Ok(b) => run_batch(b, sink, ctx.cancel.clone())
                            .await
                            .map_err(anyhow::Error::from),
                        Err(e) => Err(e),
                    }
                }
                BatchRun::Resume(batch_id) => resume(req, &batch_id, sink, &ctx).await,
            };
            if let Err(e) = result {
                let e: Box<dyn std::error::Error + Send + Sync> = e.into();
                ctx.fail(&name, e.as_ref()).await;
            }
        };
        futures_util::future::join(go, ctx.forward(rx, project.clone())).await;
    })
}

async fn resume(
    req: BuildRequest,
    batch_id: &BatchId,
    sink: EventSink,
    ctx: &Forward,
) -> anyhow::Result<crate::engine::local::batch::BatchOutcome> {
    let dir = req
        .source_dir
        .clone()
        .unwrap_or_else(|| std::path::PathBuf::from("."));
    let record = BatchRecord::load(&dir, batch_id)?
        .ok_or_else(|| anyhow::anyhow!("batch {batch_id} has no record in {}", dir.display()))?;
    let b = resume_request(req, &record, default_max_parallel())?;
    Ok(resume_batch(b, record, sink, ctx.cancel.clone()).await?)
}
