//! Following batches to their end: the [`BatchPoller`] (at most two calls per poll) and one
//! log tailer per child build ([`super::logs::tail`]), started when the child's log exists.
//! Events go to the sink in order; a child's `Finished` is held back until its tailer has
//! drained its log, and a batch's `BatchFinished` until every child of it has finished, so a
//! viewer gets each log before its build's end and every build's end before the batch's.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::engine::{EngineError, EventSink};
use crate::model::{BatchId, BuildEvent, BuildId, NodeStatus, Status};

use super::batch_poller::BatchPoller;
use super::follow::FollowOptions;
use super::logs::{TailInfo, TailOptions, tail};
use super::snapshot::BuildSnapshot;
use super::{CloudClients, CloudError};

/// How a followed batch ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchOutcome {
    pub batch_id: BatchId,
    /// The batch's status; `STOPPED` when following was cancelled first, `FAULT` when the
    /// batch vanished.
    pub status: NodeStatus,
}

/// Follows one batch and all its children until it ends.
pub async fn follow_batch(
    clients: &CloudClients,
    id: BatchId,
    opts: &FollowOptions,
    sink: EventSink,
    cancel: CancellationToken,
) -> Result<BatchOutcome, EngineError> {
    let mut all = follow_batches(clients, vec![id.clone()], opts, sink, cancel).await?;
    Ok(all.pop().unwrap_or(BatchOutcome {
        batch_id: id,
        status: NodeStatus::Is(Status::Fault),
    }))
}

/// Follows every batch in `ids` and all their children until each has ended (or `cancel`).
pub async fn follow_batches(
    clients: &CloudClients,
    ids: Vec<BatchId>,
    opts: &FollowOptions,
    sink: EventSink,
    cancel: CancellationToken,
) -> Result<Vec<BatchOutcome>, EngineError> {
    let mut poller = BatchPoller::new(
        clients.codebuild.clone(),
        clients.group.clone(),
        opts.intervals,
    );
    for id in &ids {
        if opts.after_retry {
            poller.follow_retried(id.clone(), Instant::now());
        } else {
            poller.follow(id.clone(), Instant::now());
        }
    }
    let mut f = Follower {
        clients,
        tail_opts: TailOptions {
            live_tail: opts.live_tail,
            ..opts.tail
        },
        sink,
        cancel: cancel.clone(),
        tails: HashMap::new(),
        tailers: JoinSet::new(),
        held: HashMap::new(),
        waiting: Vec::new(),
        ended: BTreeMap::new(),
    };
    let result = f.run(&mut poller).await;
    f.end_tails();
    while let Some(done) = f.tailers.join_next().await {
        let (id, r) = done.map_err(tail_panicked)?;
        if result.is_ok() {
            r?;
        }
        f.release(&id).await?;
    }
    result?;
    f.release_batches().await?;
    Ok(ids
        .into_iter()
        .map(|id| {
            let status = f.ended.remove(&id).unwrap_or(if cancel.is_cancelled() {
                NodeStatus::Is(Status::Stopped)
            } else {
                NodeStatus::Is(Status::Fault)
            });
            BatchOutcome {
                batch_id: id,
                status,
            }
        })
        .collect())
}

struct Follower<'a> {
    clients: &'a CloudClients,
    tail_opts: TailOptions,
    sink: EventSink,
    cancel: CancellationToken,
    /// The state published to each child's tailer.
    tails: HashMap<BuildId, watch::Sender<TailInfo>>,
    tailers: JoinSet<(BuildId, Result<(), EngineError>)>,
    /// Children's `Finished`, held until their tailer is done.
    held: HashMap<BuildId, BuildEvent>,
    /// `BatchFinished` events held until their children's `Finished` went out.
    waiting: Vec<(BatchId, Vec<BuildId>, BuildEvent)>,
    /// Batches whose `BatchFinished` went out, with their status.
    ended: BTreeMap<BatchId, NodeStatus>,
}

impl Follower<'_> {
    async fn run(&mut self, poller: &mut BatchPoller) -> Result<(), EngineError> {
        loop {
            let out = poller.poll_once(Instant::now()).await?;
            for (batch, children) in out.finished {
                let ev = out
                    .events
                    .iter()
                    .find(|e| matches!(e, BuildEvent::BatchFinished { batch_id, .. } if *batch_id == batch))
                    .cloned();
                if let Some(ev) = ev {
                    self.waiting.push((batch, children, ev));
                }
            }
            for ev in out.events {
                match ev {
                    BuildEvent::Finished { ref build_id, .. } => {
                        self.held.insert(build_id.clone(), ev);
                    }
                    BuildEvent::BatchFinished { .. } => {}
                    ev => self.sink.send(ev).await?,
                }
            }
            for snap in &out.children {
                self.publish(snap);
            }
            self.release_batches().await?;
            if poller.is_done() && self.waiting.is_empty() {
                return Ok(());
            }
            if poller.is_done() {
                self.end_tails(); // the batches are over: no child changes any more
            }
            let wake = poller.next_wake();
            tokio::select! {
                () = self.cancel.cancelled() => return Ok(()),
                Some(done) = self.tailers.join_next(), if !self.tailers.is_empty() => {
                    let (id, r) = done.map_err(tail_panicked)?;
                    r?;
                    self.release(&id).await?;
                    self.release_batches().await?;
                }
                () = sleep_until(wake) => {}
            }
        }
    }

    /// Tells a child's tailer where its log is and whether it ended; starts the tailer the
    /// first time.
    fn publish(&mut self, snap: &BuildSnapshot) {
        let info = TailInfo {
            location: snap.log.clone(),
            ended: snap.is_finished(),
        };
        if let Some(tx) = self.tails.get(&snap.id) {
            tx.send_if_modified(|t| {
                let next = TailInfo {
                    location: info.location.clone().or_else(|| t.location.clone()),
                    ended: info.ended,
                };
                let changed = *t != next;
                *t = next;
                changed
            });
            return;
        }
        let (tx, rx) = watch::channel(info);
        self.tails.insert(snap.id.clone(), tx);
        let clients = self.clients.clone();
        let (id, opts, sink, cancel) = (
            snap.id.clone(),
            self.tail_opts,
            self.sink.clone(),
            self.cancel.clone(),
        );
        self.tailers.spawn(async move {
            let r = tail(&clients, id.clone(), rx, opts, sink, cancel).await;
            (id, r)
        });
    }

    /// Every tailer ends once it has caught up.
    fn end_tails(&self) {
        for tx in self.tails.values() {
            tx.send_modify(|t| t.ended = true);
        }
    }

    /// A child's tailer is done: its `Finished` goes out.
    async fn release(&mut self, id: &BuildId) -> Result<(), EngineError> {
        self.tails.remove(id);
        if let Some(ev) = self.held.remove(id) {
            self.sink.send(ev).await?;
        }
        Ok(())
    }

    /// `BatchFinished` of every batch none of whose children is still tailing.
    async fn release_batches(&mut self) -> Result<(), EngineError> {
        let mut i = 0;
        while i < self.waiting.len() {
            let (_, children, _) = &self.waiting[i];
            if children.iter().any(|c| self.tails.contains_key(c)) {
                i += 1;
                continue;
            }
            let (batch, children, ev) = self.waiting.remove(i);
            // A child that never got a tailer (no log) has its `Finished` still held.
            for c in &children {
                if let Some(fin) = self.held.remove(c) {
                    self.sink.send(fin).await?;
                }
            }
            if let BuildEvent::BatchFinished { status, .. } = &ev {
                self.ended.insert(batch, status.clone());
            }
            self.sink.send(ev).await?;
        }
        Ok(())
    }
}

/// A log tailer that panicked: an error rather than a batch that never ends.
#[allow(clippy::needless_pass_by_value)] // the shape `map_err` hands over
fn tail_panicked(e: tokio::task::JoinError) -> EngineError {
    EngineError::Cloud(CloudError::Api {
        operation: "log tail".into(),
        message: e.to_string(),
    })
}

async fn sleep_until(wake: Option<Instant>) {
    match wake {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}
