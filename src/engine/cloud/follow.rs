//! Following one build to its end: the poller (focused) publishes each snapshot to the log
//! tailer through a `watch` channel; events go to the sink in order, and `Finished` is held
//! back until the tailer has drained the log, so the log comes before the end. A build with
//! `reportArns` has its reports read once it has ended ([`super::reports::read_reports`]),
//! emitted between its log and its `Finished`; reports that cannot be read are a warning, not
//! a failure of the follow.

use std::time::Instant;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::engine::{EngineError, EventSink};
use crate::model::{BackendKind, BuildEvent, BuildId, BuildOutcome, NoticeLevel, Status};

use super::CloudClients;
use super::logs::{TailInfo, TailOptions, tail};
use super::poller::Poller;
use super::reports::{ReportOptions, read_reports};
use super::schedule::{Intervals, PollerState, Priority};
use super::snapshot::BuildSnapshot;

/// How to watch.
#[derive(Clone, Copy, Debug, Default)]
pub struct FollowOptions {
    pub intervals: Intervals,
    pub tail: TailOptions,
    pub live_tail: bool,
    /// How the build's reports are read when it has ended.
    pub reports: ReportOptions,
    /// The followed batch was just retried (RetryBuildBatch keeps its id): answers still
    /// showing the previous run's end are skipped (batches only; a retried build has a new id).
    pub after_retry: bool,
}

/// Follows `id` until it ends, emitting its phases and log into `sink`.
pub async fn follow_build(
    clients: &CloudClients,
    id: BuildId,
    opts: &FollowOptions,
    sink: EventSink,
    cancel: CancellationToken,
) -> Result<BuildOutcome, EngineError> {
    let (info_tx, info_rx) = watch::channel(TailInfo::default());
    let tail_opts = TailOptions {
        live_tail: opts.live_tail,
        ..opts.tail
    };
    let tailer = tail(
        clients,
        id.clone(),
        info_rx,
        tail_opts,
        sink.clone(),
        cancel.clone(),
    );
    let poll = follow(clients, &id, opts.intervals, &sink, &info_tx, &cancel);
    let (polled, tail_result) = tokio::join!(poll, tailer);
    let (held, last) = match polled {
        Ok(v) => v,
        Err(e) => {
            cancel.cancel();
            return Err(e);
        }
    };
    tail_result?;
    if let Some(snap) = last.as_ref().filter(|s| s.is_finished()) {
        emit_reports(clients, snap, &opts.reports, &sink).await?;
    }
    for ev in held {
        sink.send(ev).await?;
    }
    let status = last.map_or(Status::Fault, |s| {
        if s.is_finished() {
            s.status
        } else {
            Status::Stopped
        }
    });
    Ok(BuildOutcome {
        build_id: id,
        status,
    })
}

/// The reports of a finished build as `Report` events, or one warning saying why they could
/// not be read.
async fn emit_reports(
    clients: &CloudClients,
    snap: &BuildSnapshot,
    opts: &ReportOptions,
    sink: &EventSink,
) -> Result<(), EngineError> {
    if snap.report_arns.is_empty() {
        return Ok(());
    }
    match read_reports(&clients.codebuild, &clients.group, &snap.report_arns, opts).await {
        Ok(reports) => {
            for report in reports {
                sink.send(BuildEvent::Report {
                    build_id: snap.id.clone(),
                    backend: BackendKind::Cloud,
                    report,
                })
                .await?;
            }
        }
        Err(e) => {
            sink.send(BuildEvent::Notice {
                build_id: Some(snap.id.clone()),
                level: NoticeLevel::Warning,
                message: format!("the build's test reports could not be read: {e}"),
            })
            .await?;
        }
    }
    Ok(())
}

/// The poll loop; returns the held-back `Finished` event(s) and the last snapshot.
async fn follow(
    clients: &CloudClients,
    id: &BuildId,
    intervals: Intervals,
    sink: &EventSink,
    info: &watch::Sender<TailInfo>,
    cancel: &CancellationToken,
) -> Result<(Vec<BuildEvent>, Option<BuildSnapshot>), EngineError> {
    let mut poller = Poller::new(clients.codebuild.clone(), clients.group.clone(), intervals);
    poller.follow(id.clone(), Priority::Focused, Instant::now());
    let mut held = Vec::new();
    loop {
        let out = match poller.poll_once(Instant::now()).await {
            Ok(o) => o,
            Err(e) => {
                info.send_replace(TailInfo {
                    location: None,
                    ended: true,
                });
                return Err(e.into());
            }
        };
        for ev in out.events {
            if matches!(ev, BuildEvent::Finished { .. }) {
                held.push(ev);
            } else {
                sink.send(ev).await?;
            }
        }
        let snap = poller.snapshot(id).cloned();
        let done = poller.state() == PollerState::Done;
        info.send_if_modified(|t| {
            let next = TailInfo {
                location: snap
                    .as_ref()
                    .and_then(|s| s.log.clone())
                    .or_else(|| t.location.clone()),
                ended: done,
            };
            let changed = *t != next;
            *t = next;
            changed
        });
        if done {
            return Ok((held, snap));
        }
        let wake = poller.next_wake().unwrap_or_else(Instant::now);
        tokio::select! {
            () = cancel.cancelled() => {
                info.send_replace(TailInfo { location: None, ended: true });
                return Ok((held, snap));
            }
            () = tokio::time::sleep_until(wake.into()) => {}
        }
    }
}
