//! Acting on batches: StartBuildBatch with the overrides `start` takes, RetryBuildBatch,
//! StopBuildBatch, and reading them (BatchGetBuildBatches, ListBuildBatchesForProject).

use aws_sdk_codebuild::types::{RetryBuildBatchType, SortOrderType};

use super::CloudError;
use super::actions::env_overrides;
use super::batch::{BatchSnapshot, batch_id_of};
use super::client::classify;
use super::poller::MAX_BATCH;
use crate::engine::BuildRequest;
use crate::model::BatchId;

/// StartBuildBatch with the overrides in `req` (source version, image, variables, privileged
/// mode); `buildspec` is the override's text.
pub async fn start_batch(
    cb: &aws_sdk_codebuild::Client,
    req: &BuildRequest,
    buildspec: Option<String>,
) -> Result<BatchSnapshot, CloudError> {
    let env = env_overrides(req)?;
    let mut call = cb
        .start_build_batch()
        .project_name(&req.project)
        .set_source_version(req.source_version.clone())
        .set_buildspec_override(buildspec)
        .set_image_override(req.image.clone());
    if !env.is_empty() {
        call = call.set_environment_variables_override(Some(env));
    }
    if req.privileged {
        call = call.privileged_mode_override(true);
    }
    let out = call
        .send()
        .await
        .map_err(|e| classify("StartBuildBatch", "", &e))?;
    batch_of(out.build_batch(), "StartBuildBatch")
}

/// RetryBuildBatch: the same batch runs again, its failed builds only (`failed_only`) or all.
pub async fn retry_batch(
    cb: &aws_sdk_codebuild::Client,
    id: &BatchId,
    failed_only: bool,
) -> Result<BatchSnapshot, CloudError> {
    let kind = if failed_only {
        RetryBuildBatchType::RetryFailedBuilds
    } else {
        RetryBuildBatchType::RetryAllBuilds
    };
    let out = cb
        .retry_build_batch()
        .id(id.as_str())
        .retry_type(kind)
        .idempotency_token(uuid::Uuid::new_v4().to_string())
        .send()
        .await
        .map_err(|e| classify("RetryBuildBatch", "", &e))?;
    batch_of(out.build_batch(), "RetryBuildBatch")
}

/// StopBuildBatch: the batch says STOPPED at once, its children converge later.
pub async fn stop_batch(
    cb: &aws_sdk_codebuild::Client,
    id: &BatchId,
) -> Result<BatchSnapshot, CloudError> {
    let out = cb
        .stop_build_batch()
        .id(id.as_str())
        .send()
        .await
        .map_err(|e| classify("StopBuildBatch", "", &e))?;
    batch_of(out.build_batch(), "StopBuildBatch")
}

/// BatchGetBuildBatches of `ids`, 100 per call, in the answer's order; missing ones are left
/// out.
pub async fn get_batches(
    cb: &aws_sdk_codebuild::Client,
    ids: &[BatchId],
) -> Result<Vec<BatchSnapshot>, CloudError> {
    let mut all = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(MAX_BATCH) {
        let out = cb
            .batch_get_build_batches()
            .set_ids(Some(chunk.iter().map(|i| i.0.clone()).collect()))
            .send()
            .await
            .map_err(|e| classify("BatchGetBuildBatches", "", &e))?;
        all.extend(out.build_batches().iter().map(BatchSnapshot::from_sdk));
    }
    Ok(all)
}

/// Whether `text` (an id or an ARN) names a batch: a batch ARN does, a build ARN does not, and
/// a bare `<project>:<uuid>` (which both share) is looked up with one BatchGetBuildBatches.
/// Access denied to that call is "not a batch": a role that may not read batches follows
/// builds as before.
pub async fn is_batch(
    cb: &aws_sdk_codebuild::Client,
    text: &str,
) -> Result<Option<BatchId>, CloudError> {
    if text.contains(":build-batch/") {
        return Ok(batch_id_of(text));
    }
    let Some(id) = batch_id_of(text) else {
        return Ok(None);
    };
    match get_batches(cb, std::slice::from_ref(&id)).await {
        Ok(found) => Ok((!found.is_empty()).then_some(id)),
        Err(
            CloudError::AccessDenied { .. }
            | CloudError::NotFound { .. }
            | CloudError::InvalidInput(_),
        ) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The project's most recent `max` batches, newest first (by `buildBatchNumber`: the list's
/// own order is "by identifier", reference §2.3).
pub async fn recent_batches(
    cb: &aws_sdk_codebuild::Client,
    project: &str,
    max: usize,
) -> Result<Vec<BatchSnapshot>, CloudError> {
    let mut ids = Vec::new();
    let mut token = None;
    while ids.len() < max {
        let out = cb
            .list_build_batches_for_project()
            .project_name(project)
            .sort_order(SortOrderType::Descending)
            .max_results(i32::try_from(max.min(100)).unwrap_or(100))
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| classify("ListBuildBatchesForProject", "", &e))?;
        ids.extend(out.ids().iter().map(|i| BatchId(i.clone())));
        token = out
            .next_token()
            .filter(|t| !t.is_empty())
            .map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    ids.truncate(max);
    let mut batches = get_batches(cb, &ids).await?;
    sort_newest_first(&mut batches);
    Ok(batches)
}

/// Newest first by `buildBatchNumber`, then by start time (a batch without a number last).
pub fn sort_newest_first(batches: &mut [BatchSnapshot]) {
    batches.sort_by_key(|b| std::cmp::Reverse((b.number, b.start)));
}

fn batch_of(
    b: Option<&aws_sdk_codebuild::types::BuildBatch>,
    op: &str,
) -> Result<BatchSnapshot, CloudError> {
    b.map(BatchSnapshot::from_sdk)
        .ok_or_else(|| CloudError::Api {
            operation: op.into(),
            message: "the response holds no batch".into(),
        })
}
