//! Drives the [`plan::Machine`](super::plan::Machine) for a build or a resume: runs each phase
//! it asks for under the build timeout, the cancel token and the daemon watchdog, saves the
//! shell state at the start of each phase (what a resume restores), numbers attempts across
//! resumes, and ends with COMPLETED and the `Finished` event.

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use crate::model::{BuildEvent, PhaseContext, PhaseKind, Status, StatusCode};

use super::driver::Job;
use super::emit::Capture;
use super::kept::{PhaseRecord, RESUMABLE};
use super::plan::{Machine, PhaseResult, Step};
use super::run::Build;
use super::{LocalError, script, watchdog};

/// Runs the machine from `step` to the end; returns the build's status. `started` is when
/// this run (the build, or the resume) began, for the duration of `Finished`.
pub async fn drive(
    b: &mut Build,
    machine: &mut Machine,
    mut step: Step,
    cancel: &CancellationToken,
    started: DateTime<Utc>,
) -> Result<Status, LocalError> {
    let deadline = tokio::time::Instant::now() + b.req.local.timeout;
    // Once stopped or timed out, the phases that still follow (FINALIZING) run to their end:
    // the token stays cancelled, and racing it again would interrupt them in turn.
    let mut interrupted = false;
    let status = loop {
        let (phase, attempt) = match step {
            Step::Finish(s) => break s,
            Step::Run { phase, attempt } => (phase, attempt),
        };
        let shown = next_attempt(b, phase);
        let at = b.emit.phase_started(phase, shown).await?;
        let succeeding = !machine.failing();
        let outcome = if interrupted {
            Ok(enter_and_run(b, phase, attempt, succeeding).await?)
        } else {
            let docker = b.docker.clone();
            tokio::select! {
                r = enter_and_run(b, phase, attempt, succeeding) => match r {
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
                finished(b, phase, shown, at, st, context).await?;
                step = machine.next(&result);
            }
            Err(why) => {
                interrupted = true;
                // The shell is mid-command: drop it and the container with it (bounded: the
                // daemon may be the reason we are here).
                b.session = None;
                super::run::remove(b).await;
                let (st, ctx) = why.status_and_context(b.req.local.timeout);
                finished(b, phase, shown, at, st, ctx).await?;
                step = machine.interrupt(st);
            }
        }
    };
    let at = Utc::now();
    // COMPLETED has a start and no status, as in `BatchGetBuilds`; CodeBuild logs no line.
    let attempt = next_attempt(b, PhaseKind::Completed);
    b.phases.insert(
        PhaseKind::Completed,
        PhaseRecord {
            attempts: attempt,
            status,
        },
    );
    b.emit
        .event(BuildEvent::PhaseStarted {
            build_id: b.emit.build_id().clone(),
            phase: PhaseKind::Completed,
            attempt,
            at,
        })
        .await?;
    let exported_variables = super::exported::values(b).await;
    // A resume's duration adds to the earlier runs' (see `KeptBuild::run_ms`).
    b.run_ms += u64::try_from((at - started).num_milliseconds()).unwrap_or(0);
    b.emit
        .event(BuildEvent::Finished {
            build_id: b.emit.build_id().clone(),
            status,
            duration_ms: b.run_ms,
            at,
            exported_variables,
        })
        .await?;
    Ok(status)
}

/// The attempt number the next run of `phase` shows: one more than all its runs so far,
/// in this build and the runs it resumes.
fn next_attempt(b: &Build, phase: PhaseKind) -> u32 {
    b.phases.get(&phase).map_or(0, |r| r.attempts) + 1
}

async fn finished(
    b: &mut Build,
    phase: PhaseKind,
    attempt: u32,
    at: DateTime<Utc>,
    status: Status,
    context: PhaseContext,
) -> Result<(), LocalError> {
    b.phases.insert(
        phase,
        PhaseRecord {
            attempts: attempt,
            status,
        },
    );
    b.emit
        .phase_finished(phase, attempt, at, status, context)
        .await
}

/// Saves the shell state at the start of a phase's first attempt; a RETRY attempt starts
/// again from that saved state, not from what the failed attempt left. Then runs the phase.
async fn enter_and_run(
    b: &mut Build,
    phase: PhaseKind,
    attempt: u32,
    succeeding: bool,
) -> Result<(PhaseResult, PhaseContext), LocalError> {
    let restored = b.resumed.take() == Some(phase);
    if !restored && RESUMABLE.contains(&phase) && b.session.is_some() {
        if attempt == 1 {
            helper(b, &script::snapshot(phase)).await?;
        } else {
            // Exits 3 only when the phase never started here, which a retry rules out.
            let (rc, _) = helper(b, &script::restore(phase)).await?;
            if rc != 0 {
                tracing::warn!("no saved state for {phase}: the retry keeps the current one");
            }
        }
    }
    super::phases::run_phase(b, phase, succeeding).await
}

/// Runs a helper script as root in the build shell (its output, if any, is dropped from the
/// log but for stderr); returns its exit status and stdout.
pub async fn helper(b: &mut Build, text: &str) -> Result<(i32, Vec<String>), LocalError> {
    let session = b.session.as_mut().ok_or(LocalError::NoContainer)?;
    let mut capture = Capture {
        emit: &mut b.emit,
        stdout: Vec::new(),
    };
    let job = Job {
        script: text,
        shell: "/bin/sh",
        user: None,
    };
    let rc = session.run(job, &mut capture).await?;
    Ok((rc, capture.stdout))
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
