//! Following one build to its end: the poller (focused) publishes each snapshot to the log
//! tailer through a `watch` channel; events go to the sink in order, and `Finished` is held
//! back until the tailer has drained the log, so the log comes before the end.

use std::time::Instant;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::engine::{EngineError, EventSink};
use crate::model::{BuildEvent, BuildId, BuildOutcome, Status};

use super::CloudClients;
use super::logs::{TailInfo, TailOptions, tail};
use super::poller::Poller;
use super::schedule::{Intervals, PollerState, Priority};
use super::snapshot::BuildSnapshot;

/// How to watch.
#[derive(Clone, Copy, Debug, Default)]
pub struct FollowOptions {
    pub intervals: Intervals,
    pub tail: TailOptions,
    pub live_tail: bool,
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
