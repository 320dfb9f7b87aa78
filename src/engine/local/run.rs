//! One local build from start to end: connect, load the buildspec, then drive the
//! [`plan::Machine`](super::plan::Machine) — run each phase it asks for, under the build
//! timeout and the cancel token — and finally remove the container. The phases themselves are
//! in [`super::phases`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use bollard::Docker;
use chrono::Utc;
use tokio_util::sync::CancellationToken;

use crate::buildspec::Buildspec;
use crate::engine::EventSink;
use crate::engine::mask::Masker;
use crate::engine::{BuildRequest, Keep};
use crate::model::{
    BackendKind, BuildEvent, BuildId, BuildOutcome, NoticeLevel, PhaseKind, Status,
};

use super::driver::Session;
use super::emit::Emitter;
use super::kept::PhaseRecord;
use super::plan::Machine;
use super::{LocalError, docker, watchdog};

/// CodeBuild's standard Linux image, the default when neither `--image` nor the project
/// config names one.
pub const DEFAULT_IMAGE: &str = "public.ecr.aws/codebuild/amazonlinux-x86_64-standard:5.0";

/// How the buildspec file turned out, decided before any container starts; `DOWNLOAD_SOURCE`
/// reports a problem as CodeBuild does (`YAML_FILE_ERROR`).
#[derive(Debug, Clone)]
pub enum SpecSource {
    Loaded(Box<Buildspec>),
    Missing,
    Invalid(String),
}

/// Everything one build carries between phases.
#[derive(Debug)]
pub struct Build {
    pub req: BuildRequest,
    pub docker: Docker,
    pub emit: Emitter,
    pub spec: SpecSource,
    pub image: String,
    pub source_dir: PathBuf,
    pub src_dir: String,
    pub container: Option<String>,
    /// The container being created and started: a task of its own, so that a build
    /// cancelled mid-call still learns the container's id and removes it.
    pub starting: Option<tokio::task::JoinHandle<Result<String, LocalError>>>,
    pub container_name: String,
    pub session: Option<Session>,
    pub start_ms: i64,
    pub number: u64,
    pub artifacts_dir: PathBuf,
    /// Every phase's attempts and last status so far (across resumes of this build).
    pub phases: BTreeMap<PhaseKind, PhaseRecord>,
    /// Names of variables whose values are masked, kept for a resume (see `KeptBuild`).
    pub secret_names: Vec<String>,
    /// Host files changed after this time (ms) are not in the container yet.
    pub synced_ms: i64,
    /// The host files the container's source was last synced with (`None`: not known, or
    /// the source is bind-mounted); a resume deletes in the container what the host lost.
    pub synced_files: Option<Vec<String>>,
    /// The phase a resume restored the saved state of (it is not saved again at its start).
    pub resumed: Option<PhaseKind>,
    /// How long the build's runs took so far (ms): 0 for a fresh build, the earlier runs'
    /// total for a resume. A build's duration is the sum of its runs (see `KeptBuild::run_ms`).
    pub run_ms: u64,
    /// `--debug` paused this run once already (only the first failure pauses).
    pub debug_paused: bool,
}

impl Build {
    /// The loaded buildspec (only after `DOWNLOAD_SOURCE` succeeded does the machine reach a
    /// phase that needs it).
    #[must_use]
    pub fn spec(&self) -> Option<&Buildspec> {
        match &self.spec {
            SpecSource::Loaded(s) => Some(s),
            _ => None,
        }
    }
}

/// Reads and parses the buildspec.
#[must_use]
pub fn load_spec(path: &Path) -> SpecSource {
    let Ok(text) = std::fs::read_to_string(path) else {
        return SpecSource::Missing;
    };
    match crate::buildspec::parse(&text) {
        Ok(parsed) => SpecSource::Loaded(Box::new(parsed.spec)),
        Err(diags) => {
            SpecSource::Invalid(crate::buildspec::BuildspecError::Invalid(diags).to_string())
        }
    }
}

/// Runs a build; see the module doc.
pub async fn run_build(
    req: BuildRequest,
    sink: EventSink,
    cancel: CancellationToken,
) -> Result<BuildOutcome, LocalError> {
    let docker = docker::connect().await?;
    match watchdog::bounded(
        watchdog::CLEANUP_TIMEOUT,
        super::locate::remove_stale(&docker),
    )
    .await
    {
        Ok(Ok(0)) => {}
        Ok(Ok(n)) => tracing::info!("removed {n} container(s) left by dead cbdash processes"),
        Ok(Err(e)) => tracing::warn!("could not clean up stale containers: {e}"),
        Err(e) => tracing::warn!("could not clean up stale containers: {e}"),
    }
    let source_dir = req.source_dir.clone().unwrap_or_else(|| PathBuf::from("."));
    let project = req.project.clone();
    let build_id = req
        .batch
        .as_ref()
        .and_then(|b| b.build_id.clone())
        .unwrap_or_else(|| BuildId::new_for(&project));
    // Before any container: a CodeBuild name runs as AWS's public image, or stops here.
    let requested = req.image.clone().unwrap_or_else(|| DEFAULT_IMAGE.into());
    let image = super::images::choose(&docker, &requested).await?;
    let spec_path = req
        .buildspec
        .clone()
        .unwrap_or_else(|| source_dir.join("buildspec.yml"));
    let mut masker = Masker::new(req.secrets.iter().map(|(_, v)| v.clone()));
    for var in ["AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"] {
        if let Ok(v) = std::env::var(var) {
            masker.add(v);
        }
    }
    let n: u32 = rand_digits();
    let start_ms = Utc::now().timestamp_millis();
    let artifacts_dir = req
        .local
        .artifacts_dir
        .clone()
        .unwrap_or_else(|| source_dir.join(".cbdash/artifacts").join(build_id.uuid()));
    let mut build = Build {
        spec: load_spec(&spec_path),
        emit: Emitter::new(sink, build_id.clone(), masker),
        container_name: format!("cbdash-{project}-{}", &build_id.uuid()[..8]).replace(
            |c: char| !(c.is_ascii_alphanumeric() || "-_.".contains(c)),
            "-",
        ),
        number: super::state::next_build_number(&source_dir, &project),
        docker,
        image,
        source_dir,
        src_dir: format!("/codebuild/output/src{n}/src"),
        container: None,
        starting: None,
        session: None,
        start_ms,
        synced_ms: start_ms,
        synced_files: None,
        artifacts_dir,
        phases: BTreeMap::new(),
        secret_names: req.secrets.iter().map(|(k, _)| k.clone()).collect(),
        resumed: None,
        run_ms: 0,
        debug_paused: false,
        req,
    };
    let status = drive(&mut build, &cancel).await;
    // The container goes whatever happened, even when the event receiver is gone.
    let flushed = build.emit.flush().await;
    cleanup(&mut build, status.as_ref().ok().copied()).await;
    flushed?;
    let status = status?;
    Ok(BuildOutcome { build_id, status })
}

async fn drive(b: &mut Build, cancel: &CancellationToken) -> Result<Status, LocalError> {
    let started = emit_started(b).await?;
    let mut machine = Machine::new(on_failure_map(b.spec()));
    let step = machine.start();
    super::steps::drive(b, &mut machine, step, cancel, started).await
}

/// Removes the build's container, bounded in time; a failure is a warning (the next run
/// removes containers of dead cbdash processes).
pub(super) async fn remove(b: &mut Build) {
    if let Some(task) = b.starting.take()
        && let Ok(Ok(Ok(id))) = watchdog::bounded(watchdog::CLEANUP_TIMEOUT, task).await
    {
        b.container = Some(id);
    }
    let Some(id) = b.container.take() else { return };
    let result = watchdog::bounded(
        watchdog::CLEANUP_TIMEOUT,
        docker::remove_container(&b.docker, &id),
    )
    .await
    .and_then(|r| r.map_err(|e| e.to_string()));
    if let Err(e) = result {
        let msg = format!(
            "could not remove container {} ({e}); the next cbdash run removes it",
            b.container_name
        );
        let _ = b.emit.notice(NoticeLevel::Warning, &msg).await;
    }
}

pub(super) fn on_failure_map(
    spec: Option<&Buildspec>,
) -> std::collections::BTreeMap<PhaseKind, crate::buildspec::OnFailure> {
    spec.map(|s| {
        s.phases
            .iter()
            .map(|(k, p)| (*k, p.on_failure.clone()))
            .collect()
    })
    .unwrap_or_default()
}

/// Emits the build's `Started` event (a run's and each resume's); returns its time.
pub(super) async fn emit_started(b: &mut Build) -> Result<chrono::DateTime<Utc>, LocalError> {
    let started = Utc::now();
    b.emit
        .event(BuildEvent::Started {
            build_id: b.emit.build_id().clone(),
            project: b.req.project.clone(),
            backend: BackendKind::Local,
            image: b.image.clone(),
            docker: crate::model::DockerAccess::from_flags(
                b.req.local.docker_socket,
                b.req.privileged,
            ),
            batch: b.req.batch.as_ref().map(|c| c.member.clone()),
            at: started,
        })
        .await?;
    Ok(started)
}

/// Removes the container, or keeps it (with its record, for `cbdash resume` and `cbdash
/// shell`) as `LocalOptions::keep` says for a build that ended with `status`.
pub(super) async fn cleanup(b: &mut Build, status: Option<Status>) {
    b.session = None;
    let keep = match b.req.local.keep {
        Keep::Never => false,
        Keep::Failed => matches!(status, Some(Status::Failed | Status::Fault)),
        Keep::Always => true,
    };
    if keep
        && status.is_some()
        && b.spec().is_some()
        && let Some(id) = b.container.clone()
    {
        let rec = super::locate::record(b, &id);
        let saved = rec.save().and_then(|()| match &b.synced_files {
            Some(files) => rec.save_synced_files(files),
            None => Ok(()),
        });
        match saved {
            Ok(()) => {
                b.container = None;
                kept_notice(b, &id, rec.status).await;
                return;
            }
            Err(e) => {
                let _ = b.emit.notice(NoticeLevel::Warning, &e.to_string()).await;
            }
        }
    }
    let source_dir = b.source_dir.clone();
    super::kept::KeptBuild::forget(&source_dir, b.emit.build_id().as_str());
    remove(b).await;
    let _ = b.emit.flush().await;
}

/// Tells the user how to use a kept container.
async fn kept_notice(b: &mut Build, id: &str, status: Status) {
    let mut msg = kept_notice_text(
        &b.container_name,
        &id[..id.len().min(12)],
        b.emit.build_id().as_str(),
        status,
        b.req.local.keep_idle.as_secs() / 60,
    );
    if let Some(batch) = &b.req.batch {
        // In a batch the batch resumes: this task in place, then the tasks it stopped.
        msg = format!(
            "{msg}; `cbdash resume {}` resumes the whole batch",
            batch.member.batch_id
        );
    }
    let _ = b.emit.notice(NoticeLevel::Info, &msg).await;
    let _ = b.emit.flush().await;
}

/// The kept-container notice of a build that ended with `status`: a resume re-runs the failed
/// phase only when there is one; after a success it needs a phase named.
#[must_use]
pub fn kept_notice_text(
    container: &str,
    short_id: &str,
    build_id: &str,
    status: Status,
    idle_min: u64,
) -> String {
    let resume = if status == Status::Succeeded {
        format!(
            "the build succeeded; `cbdash resume {build_id} --phase BUILD` runs BUILD (or the \
             phase named) again"
        )
    } else {
        format!("`cbdash resume {build_id}` re-runs it from the failed phase")
    };
    format!(
        "kept container {container} ({short_id}): {resume}, `cbdash shell {build_id}` opens a \
         shell in it; removed after {idle_min} min unused"
    )
}

/// Nine random digits for `/codebuild/output/src<N>/src`.
fn rand_digits() -> u32 {
    let u = uuid::Uuid::new_v4();
    let b = u.as_bytes();
    u32::from_le_bytes([b[0], b[1], b[2], b[3]]) % 900_000_000 + 100_000_000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kept_notice_speaks_of_a_failed_phase_only_after_a_failure() {
        let failed = kept_notice_text("cbdash-p-1", "abc", "p:1", Status::Failed, 30);
        assert!(
            failed.contains("`cbdash resume p:1` re-runs it from the failed phase"),
            "{failed}"
        );
        let ok = kept_notice_text("cbdash-p-1", "abc", "p:1", Status::Succeeded, 30);
        assert!(!ok.contains("failed"), "{ok}");
        assert!(ok.contains("the build succeeded"), "{ok}");
        assert!(ok.contains("`cbdash resume p:1 --phase BUILD`"), "{ok}");
        assert!(ok.contains("`cbdash shell p:1`"), "{ok}");
    }
}
