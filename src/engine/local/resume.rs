//! Resuming a kept build in place: re-run one phase of a build whose container was kept, then
//! the phases that follow it by CodeBuild's transitions, up to COMPLETED.
//!
//! Before any event: find the container ([`locate`](super::locate)) and its record
//! ([`KeptBuild`]), reload and validate the buildspec from disk, open a new build shell,
//! restore the shell state saved at the start of the phase (working directory and every
//! variable), read back the values to mask, and copy in the host files changed since the last
//! sync. A failure there leaves the kept build as it was. Then the same events as a build, with
//! the same build id: `Started`, a notice, the phases (attempt N+1) and `Finished`.

use chrono::Utc;
use tokio_util::sync::CancellationToken;

use crate::buildspec::Buildspec;
use crate::engine::mask::Masker;
use crate::engine::{BuildRequest, EventSink, LocalOptions};
use crate::model::{BuildId, BuildOutcome, NoticeLevel, PhaseKind, Status};

use super::emit::Emitter;
use super::kept::{KeptBuild, RESUMABLE};
use super::plan::Machine;
use super::run::{Build, SpecSource, cleanup, on_failure_map};
use super::{LocalError, docker, locate, script, source, steps, watchdog};

/// What to resume.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResumeRequest {
    /// `project:uuid`, or a unique prefix (4 characters or more) of the uuid.
    pub build_id: String,
    /// The phase to run again; by default the first one that failed.
    pub phase: Option<PhaseKind>,
    /// The batch the build is a task of (a batch resume): its `Started` says so.
    pub batch: Option<crate::engine::BatchContext>,
}

/// Resumes a kept build; see the module doc.
pub async fn resume_build(
    req: ResumeRequest,
    sink: EventSink,
    cancel: CancellationToken,
) -> Result<BuildOutcome, LocalError> {
    let docker = docker::connect().await?;
    let stale = watchdog::bounded(watchdog::CLEANUP_TIMEOUT, locate::remove_stale(&docker)).await;
    if let Err(e) = stale.and_then(|r| r.map_err(|e| e.to_string())) {
        tracing::warn!("could not clean up stale containers: {e}");
    }
    let (found, mut rec) = locate::kept_build(&docker, &req.build_id).await?;
    let phase = match req.phase {
        Some(p) => p,
        None => rec.failed_phase().ok_or_else(|| {
            LocalError::NotResumable(format!(
                "build '{}' has no failed phase: name the phase to run again (--phase BUILD)",
                rec.build_id
            ))
        })?,
    };
    if !RESUMABLE.contains(&phase) {
        return Err(LocalError::NotResumable(format!(
            "a build resumes at INSTALL, PRE_BUILD, BUILD, POST_BUILD, UPLOAD_ARTIFACTS or \
             FINALIZING, not {phase}; run a fresh build instead"
        )));
    }
    if let Some(pid) = rec
        .busy_pid
        .filter(|p| *p != std::process::id() && locate::pid_alive(*p))
    {
        return Err(LocalError::NotResumable(format!(
            "build '{}' is being resumed by another cbdash (pid {pid})",
            rec.build_id
        )));
    }
    let spec = load_valid(&rec.buildspec)?;
    if !found.running {
        docker::restart(&docker, &found.container_id).await?;
    }
    rec.busy_pid = Some(std::process::id());
    rec.last_used_ms = Utc::now().timestamp_millis();
    rec.save()?;
    let mut b = build_from(&rec, spec, docker, sink);
    b.req.batch = req.batch;
    let synced = match prepare(&mut b, phase).await {
        Ok(n) => n,
        Err(e) => {
            // Nothing ran: the kept build stays as it was.
            rec.busy_pid = None;
            let _ = rec.save();
            return Err(e);
        }
    };
    let status = drive(&mut b, &rec, phase, &cancel, synced).await;
    b.emit.flush().await?;
    cleanup(&mut b, status.as_ref().ok().copied()).await;
    Ok(BuildOutcome {
        build_id: b.emit.build_id().clone(),
        status: status?,
    })
}

/// Reads and validates the buildspec; errors are rendered with `file:line:col`.
fn load_valid(path: &std::path::Path) -> Result<Buildspec, LocalError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| LocalError::NotResumable(format!("cannot read the buildspec {file}: {e}")))?;
    crate::buildspec::parse(&text)
        .map(|parsed| parsed.spec)
        .map_err(|diags| {
            let rendered: Vec<String> = diags.iter().map(|d| d.render(&file)).collect();
            LocalError::InvalidBuildspec(rendered.join("\n"))
        })
}

/// The build as the record describes it, with the reloaded buildspec.
fn build_from(rec: &KeptBuild, spec: Buildspec, docker: bollard::Docker, sink: EventSink) -> Build {
    let mut masker = Masker::new(std::iter::empty::<String>());
    for var in ["AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"] {
        if let Ok(v) = std::env::var(var) {
            masker.add(v);
        }
    }
    let build_id = BuildId(rec.build_id.clone());
    Build {
        req: BuildRequest {
            project: rec.project.clone(),
            source_dir: Some(rec.source_dir.clone()),
            buildspec: Some(rec.buildspec.clone()),
            image: Some(rec.image.clone()),
            local: LocalOptions {
                mount_source: rec.mount_source,
                keep: rec.keep,
                keep_idle: std::time::Duration::from_secs(rec.idle_secs),
                artifacts_dir: Some(rec.artifacts_dir.clone()),
                timeout: std::time::Duration::from_secs(rec.timeout_secs),
                ..LocalOptions::default()
            },
            ..BuildRequest::default()
        },
        docker,
        emit: Emitter::new(sink, build_id, masker),
        spec: SpecSource::Loaded(Box::new(spec)),
        image: rec.image.clone(),
        source_dir: rec.source_dir.clone(),
        src_dir: rec.src_dir.clone(),
        container: Some(rec.container_id.clone()),
        starting: None,
        container_name: rec.container_name.clone(),
        session: None,
        start_ms: rec.start_ms,
        number: 0,
        artifacts_dir: rec.artifacts_dir.clone(),
        phases: rec.phases.clone(),
        secret_names: rec.secret_names.clone(),
        synced_ms: rec.synced_ms,
        synced_files: rec.synced_files(),
        resumed: None,
        run_ms: rec.run_ms,
        debug_paused: false,
    }
}

/// What a resume changed in the container's source before running.
#[derive(Clone, Copy, Debug, Default)]
struct Synced {
    copied: usize,
    deleted: usize,
}

/// Opens the shell, restores the phase's state and masks its secrets, while the changed
/// files are copied in (the two are independent, and each costs a round trip or two to the
/// daemon); then deletes in the container the files the host no longer has. Afterwards
/// `b.synced_ms` is when the copy began and `b.synced_files` what the host had then.
async fn prepare(b: &mut Build, phase: PhaseKind) -> Result<Synced, LocalError> {
    let id = b.container.clone().ok_or(LocalError::NoContainer)?;
    let sync_start = Utc::now().timestamp_millis();
    let copy = copy_changed(
        b.docker.clone(),
        id.clone(),
        (!b.req.local.mount_source).then(|| b.source_dir.clone()),
        b.src_dir.trim_start_matches('/').to_owned(),
        b.synced_ms,
    );
    let (copied, restored) = tokio::join!(copy, restore(b, &id, phase));
    restored?;
    let Some(sync) = copied? else {
        return Ok(Synced::default());
    };
    let gone = b
        .synced_files
        .as_deref()
        .map(|before| source::deleted(before, &sync.files))
        .unwrap_or_default();
    if !gone.is_empty() {
        let (rc, _) = steps::helper(b, &script::remove_files(&b.src_dir, &gone)).await?;
        if rc != 0 {
            return Err(LocalError::source_msg(format!(
                "could not delete in the container the {} file(s) deleted on the host",
                gone.len()
            )));
        }
    }
    b.synced_ms = sync_start;
    b.synced_files = Some(sync.files);
    Ok(Synced {
        copied: sync.copied,
        deleted: gone.len(),
    })
}

/// A new build shell with the state saved at the start of `phase`, and its secrets masked.
async fn restore(b: &mut Build, id: &str, phase: PhaseKind) -> Result<(), LocalError> {
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    b.session = Some(docker::open_session(&b.docker, id, &nonce).await?);
    let (rc, _) = steps::helper(b, &script::restore(phase)).await?;
    if rc != 0 {
        return Err(LocalError::NotResumable(format!(
            "{phase} never started in this build, so there is no shell state to resume it \
             from; resume from the phase that failed"
        )));
    }
    // The phase's saved state is now the current one: saving it again at its start is moot.
    b.resumed = Some(phase);
    if b.secret_names.is_empty() {
        return Ok(());
    }
    // In the build's own shell: a bash build's state is in bash's own form.
    let text = script::print_values(&script::phase_state(phase), &b.secret_names);
    let (_, lines) = super::phases::capture(b, &text).await?;
    for line in lines {
        let value = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, line)
            .ok()
            .and_then(|v| String::from_utf8(v).ok());
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            b.emit.add_secret(&v);
        }
    }
    Ok(())
}

/// Copies the files of `dir` changed since `since_ms` into the container; `None` when the
/// source is bind-mounted (`dir` is `None`: the container sees the host's files).
async fn copy_changed(
    docker: bollard::Docker,
    id: String,
    dir: Option<std::path::PathBuf>,
    prefix: String,
    since_ms: i64,
) -> Result<Option<source::Sync>, LocalError> {
    let Some(dir) = dir else { return Ok(None) };
    let mut sync =
        tokio::task::spawn_blocking(move || source::changed_tar(&dir, &prefix, since_ms))
            .await
            .map_err(|e| LocalError::source_io("", e))??;
    if sync.copied > 0 {
        docker::upload(&docker, &id, std::mem::take(&mut sync.tar)).await?;
    }
    Ok(Some(sync))
}

/// Emits `Started` and a notice, then runs the machine from `phase`.
async fn drive(
    b: &mut Build,
    rec: &KeptBuild,
    phase: PhaseKind,
    cancel: &CancellationToken,
    synced: Synced,
) -> Result<Status, LocalError> {
    let started = super::run::emit_started(b).await?;
    let attempt = b.phases.get(&phase).map_or(0, |r| r.attempts) + 1;
    b.emit
        .notice(
            NoticeLevel::Info,
            &format!(
                "resuming {phase} (attempt {attempt}) in the kept container {}: {} changed \
                 file{} copied in, {} deleted",
                b.container_name,
                synced.copied,
                if synced.copied == 1 { "" } else { "s" },
                synced.deleted,
            ),
        )
        .await?;
    let (mut machine, step) =
        Machine::resume_at(on_failure_map(b.spec()), phase, rec.failing_before(phase));
    steps::drive(b, &mut machine, step, cancel, started).await
}
