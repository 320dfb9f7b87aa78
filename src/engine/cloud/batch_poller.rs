//! Follows any number of batches and all their children with at most TWO calls per poll: ONE
//! BatchGetBuildBatches for every batch not yet complete (up to 100 ids) and ONE BatchGetBuilds
//! for their running children (up to 100 ids, the most overdue first, so more than 100 take
//! turns). Polls happen on one tick (the focused interval, 2 s), never in between: children
//! left out of a full call wait for the next tick rather than cost a call of their own.
//!
//! A child is followed from the poll its group leaves `PENDING` (BatchGetBuilds has nothing to
//! say before) and, like any build in [`Poller`], never polled again once it has ended. When
//! a batch is `complete`, its children still running are polled one last time, then its
//! `BatchFinished` is emitted ([`BatchTracker::finish`]). Throttling and 5xx back off (with a
//! notice), as in [`Poller`]; each of the two calls has its own backoff.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use chrono::Utc;

use crate::model::{BatchId, BuildEvent, BuildId, NodeStatus, NoticeLevel, Status};

use super::CloudError;
use super::batch::{BatchSnapshot, BatchTracker, ChildEnd};
use super::client::classify;
use super::poller::{MAX_BATCH, PollOutcome, Poller};
use super::schedule::{Intervals, PollerState, Priority, backoff_delay, random_jitter};
use super::snapshot::BuildSnapshot;

#[derive(Debug)]
struct Followed {
    tracker: BatchTracker,
    last: Option<BatchSnapshot>,
    /// Children of the batch that were followed.
    children: BTreeSet<BuildId>,
    /// Set once the batch is `complete`: children still to poll one last time.
    last_call: Option<BTreeSet<BuildId>>,
    /// Set when the batch was just retried: its answers are checked for the old run's end.
    retried: Option<RetryGate>,
}

/// RetryBuildBatch keeps the batch's id, and for a moment BatchGetBuildBatches may still
/// answer with the previous run's end (`complete: true`, its old status). Such an answer is
/// stale and skipped, so a follow after a retry never ends on it: a `complete` answer counts
/// once the batch has been seen running again, or once it differs (end time, builds) from the
/// first `complete` answer seen, which is then the previous run's. An answer identical to
/// that one is skipped whenever it comes back.
#[derive(Debug, Default)]
struct RetryGate {
    seen_running: bool,
    /// The previous run's end as first answered: (end time, each node's current build).
    stale: Option<RunEnd>,
}

/// A `complete` answer's identity: its end time and each node's current build.
type RunEnd = (Option<chrono::DateTime<Utc>>, Vec<Option<BuildId>>);

impl RetryGate {
    /// Whether `snap` is the retried run (false: the previous run's end, skip it).
    fn fresh(&mut self, snap: &BatchSnapshot) -> bool {
        if !snap.complete {
            self.seen_running = true;
            return true;
        }
        let key = (
            snap.end,
            snap.nodes().map(|g| g.build_id().cloned()).collect(),
        );
        match &self.stale {
            Some(stale) => *stale != key,
            None if self.seen_running => true,
            None => {
                self.stale = Some(key);
                false
            }
        }
    }
}

/// What one poll produced.
#[derive(Debug, Default)]
pub struct BatchPollOutcome {
    /// Events to emit, in order: batch events, then the children's own.
    pub events: Vec<BuildEvent>,
    /// The children's snapshots that came back (for the log tailers).
    pub children: Vec<BuildSnapshot>,
    /// Batches whose `BatchFinished` is in `events`, with the children they followed.
    pub finished: Vec<(BatchId, Vec<BuildId>)>,
    /// How many API calls this poll made (0, 1 or 2).
    pub calls: usize,
}

/// The multi-batch poller.
#[derive(Debug)]
pub struct BatchPoller {
    client: aws_sdk_codebuild::Client,
    group: String,
    intervals: Intervals,
    batches: BTreeMap<BatchId, Followed>,
    children: Poller,
    /// Backoff of the batch call.
    state: PollerState,
    /// When the next poll may happen.
    next_tick: Instant,
}

impl BatchPoller {
    #[must_use]
    pub fn new(client: aws_sdk_codebuild::Client, group: String, intervals: Intervals) -> Self {
        Self {
            children: Poller::new(client.clone(), group.clone(), intervals),
            client,
            group,
            intervals,
            batches: BTreeMap::new(),
            state: PollerState::Polling,
            next_tick: Instant::now(),
        }
    }

    /// Starts following `id` (due immediately).
    pub fn follow(&mut self, id: BatchId, now: Instant) {
        self.follow_as(id, None, now);
    }

    /// Starts following `id` just after RetryBuildBatch: answers that still show the previous
    /// run's end are skipped ([`RetryGate`]).
    pub fn follow_retried(&mut self, id: BatchId, now: Instant) {
        self.follow_as(id, Some(RetryGate::default()), now);
    }

    fn follow_as(&mut self, id: BatchId, retried: Option<RetryGate>, now: Instant) {
        self.batches.insert(
            id.clone(),
            Followed {
                tracker: BatchTracker::new(id),
                last: None,
                children: BTreeSet::new(),
                last_call: None,
                retried,
            },
        );
        if self.state == PollerState::Done {
            self.state = PollerState::Polling;
        }
        self.next_tick = self.next_tick.min(now);
    }

    /// The batch call's lifecycle state (its backoff).
    #[must_use]
    pub const fn state(&self) -> PollerState {
        self.state
    }

    /// The last snapshot of batch `id`.
    #[must_use]
    pub fn snapshot(&self, id: &BatchId) -> Option<&BatchSnapshot> {
        self.batches.get(id).and_then(|f| f.last.as_ref())
    }

    /// Whether every followed batch has finished.
    #[must_use]
    pub fn is_done(&self) -> bool {
        self.batches.values().all(|f| f.tracker.is_finished())
    }

    /// When the next poll is due (`None`: nothing left to follow).
    #[must_use]
    pub fn next_wake(&self) -> Option<Instant> {
        (!self.is_done()).then_some(self.next_tick)
    }

    /// One poll, if the tick has come: the batch call, then the children call (if a child is
    /// due).
    pub async fn poll_once(&mut self, now: Instant) -> Result<BatchPollOutcome, CloudError> {
        let mut out = BatchPollOutcome::default();
        if self.is_done() || now < self.next_tick {
            return Ok(out);
        }
        self.next_tick = now + self.intervals.focused;
        if !self.batch_call(now, &mut out).await? {
            return Ok(out); // backing off: the children wait too
        }
        let polled = self.children.poll_once(now).await?;
        self.absorb_children(polled, &mut out);
        self.finish_complete(&mut out);
        Ok(out)
    }

    /// BatchGetBuildBatches of every due batch; false when it backed off.
    async fn batch_call(
        &mut self,
        now: Instant,
        out: &mut BatchPollOutcome,
    ) -> Result<bool, CloudError> {
        let ids: Vec<String> = self
            .batches
            .iter()
            .filter(|(_, f)| f.last_call.is_none())
            .map(|(id, _)| id.0.clone())
            .take(MAX_BATCH)
            .collect();
        if ids.is_empty() {
            return Ok(true);
        }
        out.calls += 1;
        let answer = self
            .client
            .batch_get_build_batches()
            .set_ids(Some(ids.clone()))
            .send()
            .await;
        match answer {
            Ok(answer) => {
                self.state = PollerState::Polling;
                self.absorb(&answer, now, out);
                Ok(true)
            }
            Err(e) => {
                let err = classify("BatchGetBuildBatches", &self.group, &e);
                if !err.is_retryable() {
                    return Err(err);
                }
                out.events.push(self.back_off(&err, now, random_jitter()));
                Ok(false)
            }
        }
    }

    fn back_off(&mut self, err: &CloudError, now: Instant, jitter: f64) -> BuildEvent {
        let attempt = match self.state {
            PollerState::Backoff { attempt, .. } => attempt + 1,
            _ => 1,
        };
        let delay = backoff_delay(&self.intervals, attempt, jitter);
        self.state = PollerState::Backoff {
            until: now + delay,
            attempt,
        };
        self.next_tick = now + delay;
        BuildEvent::Notice {
            build_id: None,
            level: NoticeLevel::Warning,
            message: format!(
                "{err}: backing off {:.1}s (attempt {attempt})",
                delay.as_secs_f64()
            ),
        }
    }

    fn absorb(
        &mut self,
        answer: &aws_sdk_codebuild::operation::batch_get_build_batches::BatchGetBuildBatchesOutput,
        now: Instant,
        out: &mut BatchPollOutcome,
    ) {
        // A batch neither returned nor reported missing is simply asked again next tick.
        for b in answer.build_batches() {
            let snap = BatchSnapshot::from_sdk(b);
            let Some(f) = self.batches.get_mut(&snap.id) else {
                continue;
            };
            if f.retried.as_mut().is_some_and(|g| !g.fresh(&snap)) {
                continue; // the previous run's end: asked again next tick
            }
            let before: Vec<_> = snap
                .nodes()
                .map(|g| f.tracker.status_of(&g.identifier))
                .collect();
            out.events.extend(f.tracker.absorb(&snap, Utc::now()));
            for (g, before) in snap.nodes().zip(before) {
                let Some(child) = g.build_id().filter(|_| g.has_started()) else {
                    continue;
                };
                // PENDING, then STOPPED: a dependent of a failed task, which never ran.
                if before == Some(NodeStatus::Pending)
                    && g.status() == NodeStatus::Is(Status::Stopped)
                {
                    continue;
                }
                if f.children.insert(child.clone()) {
                    self.children.follow(child.clone(), Priority::Focused, now);
                }
            }
            if snap.complete && f.last_call.is_none() {
                let running: BTreeSet<BuildId> = f
                    .children
                    .iter()
                    .filter(|c| !self.children.is_done(c))
                    .cloned()
                    .collect();
                for c in &running {
                    self.children.due_now(c, now);
                }
                f.last_call = Some(running);
            }
            f.last = Some(snap);
        }
        for gone in answer.build_batches_not_found() {
            let id = BatchId(gone.clone());
            if let Some(f) = self.batches.remove(&id) {
                out.events.push(BuildEvent::Notice {
                    build_id: None,
                    level: NoticeLevel::Error,
                    message: format!(
                        "batch {id} no longer exists (BatchGetBuildBatches: not found)"
                    ),
                });
                drop(f);
            }
        }
        if self.is_done() {
            self.state = PollerState::Done;
        }
    }

    /// The children's events (each `Started` naming its batch node) and snapshots.
    fn absorb_children(&mut self, polled: PollOutcome, out: &mut BatchPollOutcome) {
        out.calls += usize::from(polled.called);
        for mut ev in polled.events {
            if let BuildEvent::Started {
                build_id, batch, ..
            } = &mut ev
            {
                *batch = self
                    .batches
                    .values()
                    .find_map(|f| f.tracker.member(build_id));
            }
            out.events.push(ev);
        }
        for f in self.batches.values_mut() {
            if let Some(left) = &mut f.last_call {
                // Asked once since the batch completed: whatever the answer, that was the last look.
                for id in &polled.asked {
                    left.remove(id);
                }
                left.retain(|c| !self.children.is_done(c));
            }
        }
        out.children = polled.snapshots;
    }

    /// `BatchFinished` for every complete batch whose children had their last poll.
    fn finish_complete(&mut self, out: &mut BatchPollOutcome) {
        let children = &self.children;
        let end = |id: &BuildId| {
            children
                .snapshot(id)
                .filter(|s| s.is_finished())
                .map(|s| ChildEnd {
                    status: s.status,
                    duration_ms: s.duration_ms(),
                })
        };
        for (id, f) in &mut self.batches {
            let ready = f.last_call.as_ref().is_some_and(BTreeSet::is_empty);
            if !ready || f.tracker.is_finished() {
                continue;
            }
            if let Some(snap) = &f.last {
                out.events.extend(f.tracker.finish(snap, end, Utc::now()));
                out.finished
                    .push((id.clone(), f.children.iter().cloned().collect()));
            }
        }
        if self.is_done() {
            self.state = PollerState::Done;
        }
    }
}
