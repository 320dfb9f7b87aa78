//! Drives the [`plan::Machine`](super::plan::Machine) for a build or a resume: runs each phase
//! it asks for under the build timeout and the cancel token, saves the shell state at the
//! start of each phase (what a resume restores), numbers attempts across resumes, and ends
//! with COMPLETED and the `Finished` event.

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use crate::model::{BuildEvent, PhaseContext, PhaseKind, Status, StatusCode};

use super::driver::Job;
use super::emit::Capture;
use super::kept::{PhaseRecord, RESUMABLE};
use super::plan::{Machine, PhaseResult, Step};
use super::run::Build;
use super::{LocalError, docker, script};

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
            tokio::select! {
                r = enter_and_run(b, phase, attempt, succeeding) => Ok(r?),
                () = cancel.cancelled() => Err(Status::Stopped),
                () = tokio::time::sleep_until(deadline) => Err(Status::TimedOut),
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
            Err(st) => {
                interrupted = true;
                // The shell is mid-command: drop it; the container goes at cleanup.
                b.session = None;
                if let Some(id) = b.container.take() {
                    docker::remove_container(&b.docker, &id).await?;
                }
                let ctx = interrupt_context(st, b.req.local.timeout);
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

/// Saves the shell state at the start of a phase's first attempt (a RETRY keeps the state
/// of the phase's start), then runs the phase.
async fn enter_and_run(
    b: &mut Build,
    phase: PhaseKind,
    attempt: u32,
    succeeding: bool,
) -> Result<(PhaseResult, PhaseContext), LocalError> {
    let restored = b.resumed.take() == Some(phase);
    if attempt == 1 && !restored && RESUMABLE.contains(&phase) && b.session.is_some() {
        helper(b, &script::snapshot(phase)).await?;
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

fn interrupt_context(st: Status, timeout: std::time::Duration) -> PhaseContext {
    if st == Status::TimedOut {
        PhaseContext::new(
            StatusCode::BuildTimedOut,
            format!("Build has timed out. {} secs", timeout.as_secs()),
        )
    } else {
        PhaseContext::new(StatusCode::BuildStopped, "Build was stopped")
    }
}
