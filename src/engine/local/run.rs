//! One local build from start to end: connect, load the buildspec, then drive the
//! [`plan::Machine`](super::plan::Machine) — run each phase it asks for, under the build
//! timeout and the cancel token — and finally remove the container. The phases themselves are
//! in [`super::phases`].

use std::path::{Path, PathBuf};

use bollard::Docker;
use chrono::Utc;
use tokio_util::sync::CancellationToken;

use crate::buildspec::Buildspec;
use crate::engine::BuildRequest;
use crate::engine::EventSink;
use crate::engine::mask::Masker;
use crate::model::{
    BackendKind, BuildEvent, BuildId, BuildOutcome, NoticeLevel, PhaseContext, PhaseKind, Status,
    StatusCode,
};

use super::driver::Session;
use super::emit::Emitter;
use super::plan::{Machine, PhaseResult, Step};
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
    match watchdog::bounded(watchdog::CLEANUP_TIMEOUT, docker::remove_stale(&docker)).await {
        Ok(Ok(0)) => {}
        Ok(Ok(n)) => tracing::info!("removed {n} container(s) left by dead cbdash processes"),
        Ok(Err(e)) => tracing::warn!("could not clean up stale containers: {e}"),
        Err(e) => tracing::warn!("could not clean up stale containers: {e}"),
    }
    let source_dir = req.source_dir.clone().unwrap_or_else(|| PathBuf::from("."));
    let project = req.project.clone();
    let build_id = BuildId::new_for(&project);
    let image = req.image.clone().unwrap_or_else(|| DEFAULT_IMAGE.into());
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
        start_ms: Utc::now().timestamp_millis(),
        artifacts_dir,
        req,
    };
    let status = drive(&mut build, &cancel).await;
    // The container goes whatever happened, even when the event receiver is gone.
    let flushed = build.emit.flush().await;
    cleanup(&mut build).await;
    flushed?;
    let status = status?;
    Ok(BuildOutcome { build_id, status })
}

async fn drive(b: &mut Build, cancel: &CancellationToken) -> Result<Status, LocalError> {
    let started = Utc::now();
    b.emit
        .event(BuildEvent::Started {
            build_id: b.emit.build_id().clone(),
            project: b.req.project.clone(),
            backend: BackendKind::Local,
            image: b.image.clone(),
            at: started,
        })
        .await?;
    let deadline = tokio::time::Instant::now() + b.req.local.timeout;
    let mut machine = Machine::new(on_failure_map(b.spec()));
    let mut step = machine.start();
    // Once stopped or timed out, the phases that still follow (FINALIZING) run to their end:
    // the token stays cancelled, and racing it again would interrupt them in turn.
    let mut interrupted = false;
    let status = loop {
        let (phase, attempt) = match step {
            Step::Finish(s) => break s,
            Step::Run { phase, attempt } => (phase, attempt),
        };
        let at = b.emit.phase_started(phase, attempt).await?;
        let succeeding = !machine.failing();
        let outcome = if interrupted {
            Ok(super::phases::run_phase(b, phase, succeeding).await?)
        } else {
            let docker = b.docker.clone();
            tokio::select! {
                r = super::phases::run_phase(b, phase, succeeding) => match r {
                    Ok(r) => Ok(r),
                    Err(LocalError::SinkClosed) => return Err(LocalError::SinkClosed),
                    Err(e) => Err(Interrupt::Fault(fault_message(&docker, &e).await)),
                },
                () = cancel.cancelled() => Err(Interrupt::Stopped),
                () = tokio::time::sleep_until(deadline) => Err(Interrupt::TimedOut),
                lost = watchdog::daemon_lost(&docker) => Err(Interrupt::Fault(lost)),
            }
        };
        match outcome {
            Ok((result, context)) => {
                let st = match &result {
                    PhaseResult::Succeeded => Status::Succeeded,
                    PhaseResult::Failed { .. } => Status::Failed,
                    PhaseResult::Fault => Status::Fault,
                };
                b.emit
                    .phase_finished(phase, attempt, at, st, context)
                    .await?;
                step = machine.next(&result);
            }
            Err(why) => {
                interrupted = true;
                // The shell is mid-command: drop it and the container with it (bounded: the
                // daemon may be the reason we are here).
                b.session = None;
                remove(b).await;
                let (st, ctx) = why.status_and_context(b.req.local.timeout);
                b.emit.phase_finished(phase, attempt, at, st, ctx).await?;
                step = machine.interrupt(st);
            }
        }
    };
    let at = Utc::now();
    // COMPLETED has a start and no status, as in `BatchGetBuilds`; CodeBuild logs no line.
    b.emit
        .event(BuildEvent::PhaseStarted {
            build_id: b.emit.build_id().clone(),
            phase: PhaseKind::Completed,
            attempt: 1,
            at,
        })
        .await?;
    b.emit
        .event(BuildEvent::Finished {
            build_id: b.emit.build_id().clone(),
            status,
            duration_ms: u64::try_from((at - started).num_milliseconds()).unwrap_or(0),
            at,
        })
        .await?;
    Ok(status)
}

/// Why a phase did not run to its end.
enum Interrupt {
    Stopped,
    TimedOut,
    /// The infrastructure failed (the daemon went away, stalled, or refused a call).
    Fault(String),
}

impl Interrupt {
    fn status_and_context(self, timeout: std::time::Duration) -> (Status, PhaseContext) {
        match self {
            Self::TimedOut => (
                Status::TimedOut,
                PhaseContext::new(
                    StatusCode::BuildTimedOut,
                    format!("Build has timed out. {} secs", timeout.as_secs()),
                ),
            ),
            Self::Stopped => (
                Status::Stopped,
                PhaseContext::new(StatusCode::BuildStopped, "Build was stopped"),
            ),
            Self::Fault(message) => (
                Status::Fault,
                PhaseContext::new(StatusCode::ClientError, message),
            ),
        }
    }
}

/// The context message of a phase that failed on an engine error: when the daemon no longer
/// answers, that is the reason to show, whatever the call that noticed it said.
async fn fault_message(docker: &bollard::Docker, e: &LocalError) -> String {
    match watchdog::check(docker).await {
        Err(reason) => watchdog::lost_message(&reason),
        Ok(()) => e.to_string(),
    }
}

/// Removes the build's container, bounded in time; a failure is a warning (the next run
/// removes containers of dead cbdash processes).
async fn remove(b: &mut Build) {
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

fn on_failure_map(
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

/// Removes the container unless `--keep`.
async fn cleanup(b: &mut Build) {
    b.session = None;
    if b.req.local.keep
        && let Some(id) = b.container.take()
    {
        let msg = format!("kept container {} ({id})", b.container_name);
        let _ = b.emit.notice(NoticeLevel::Info, &msg).await;
        return;
    }
    remove(b).await;
    let _ = b.emit.flush().await;
}

/// Nine random digits for `/codebuild/output/src<N>/src`.
fn rand_digits() -> u32 {
    let u = uuid::Uuid::new_v4();
    let b = u.as_bytes();
    u32::from_le_bytes([b[0], b[1], b[2], b[3]]) % 900_000_000 + 100_000_000
}
