//! Follows any number of builds with ONE BatchGetBuilds per poll (up to 100 ids).
//!
//! The schedule is [`super::schedule`]'s; this module only does the call, diffs snapshots
//! ([`super::snapshot::diff`]) and turns throttling and 5xx into a `Backoff` state and a
//! `Notice`, never a failure. Credentials and access errors are returned: retrying them
//! cannot help.

use std::collections::BTreeMap;
use std::time::Instant;

use crate::model::{BuildEvent, BuildId, NoticeLevel};

use super::CloudError;
use super::client::classify;
use super::schedule::{
    BuildSchedule, Intervals, PollerState, Priority, backoff_delay, due_ids, interval, next_wake,
    random_jitter,
};
use super::snapshot::{BuildSnapshot, diff};

/// BatchGetBuilds accepts at most this many ids.
pub const MAX_BATCH: usize = 100;

#[derive(Debug)]
struct Followed {
    schedule: BuildSchedule,
    priority: Priority,
    last: Option<BuildSnapshot>,
}

/// What one poll produced.
#[derive(Debug, Default)]
pub struct PollOutcome {
    /// Events to emit, in order.
    pub events: Vec<BuildEvent>,
    /// The snapshots that came back (for the log tailer and the ECR lookup).
    pub snapshots: Vec<BuildSnapshot>,
    /// Whether a call was made.
    pub called: bool,
    /// The ids the call asked for (answered or not).
    pub asked: Vec<BuildId>,
}

/// The multi-build poller.
#[derive(Debug)]
pub struct Poller {
    client: aws_sdk_codebuild::Client,
    group: String,
    intervals: Intervals,
    builds: BTreeMap<BuildId, Followed>,
    state: PollerState,
}

impl Poller {
    /// A poller with no builds yet.
    #[must_use]
    pub fn new(client: aws_sdk_codebuild::Client, group: String, intervals: Intervals) -> Self {
        Self {
            client,
            group,
            intervals,
            builds: BTreeMap::new(),
            state: PollerState::Polling,
        }
    }

    /// Starts following `id` (due immediately).
    pub fn follow(&mut self, id: BuildId, priority: Priority, now: Instant) {
        self.builds.insert(
            id,
            Followed {
                schedule: BuildSchedule::Due { at: now, priority },
                priority,
                last: None,
            },
        );
        if self.state == PollerState::Done {
            self.state = PollerState::Polling;
        }
    }

    /// Makes `id` the focused build; every other one goes to the background.
    pub fn focus(&mut self, id: &BuildId, now: Instant) {
        for (bid, f) in &mut self.builds {
            let priority = if bid == id {
                Priority::Focused
            } else {
                Priority::Background
            };
            f.priority = priority;
            if let BuildSchedule::Due { at, .. } = f.schedule {
                let at = if bid == id { at.min(now) } else { at };
                f.schedule = BuildSchedule::Due { at, priority };
            }
        }
    }

    /// Whether `id` has ended or is gone (or was never followed): it is not polled again.
    #[must_use]
    pub fn is_done(&self, id: &BuildId) -> bool {
        self.builds
            .get(id)
            .is_none_or(|f| f.schedule == BuildSchedule::Done)
    }

    /// Makes a followed, unfinished `id` due at `now` (a last look before its batch ends).
    pub fn due_now(&mut self, id: &BuildId, now: Instant) {
        if let Some(f) = self.builds.get_mut(id)
            && let BuildSchedule::Due { at, priority } = f.schedule
        {
            f.schedule = BuildSchedule::Due {
                at: at.min(now),
                priority,
            };
        }
    }

    /// The lifecycle state.
    #[must_use]
    pub const fn state(&self) -> PollerState {
        self.state
    }

    /// The last snapshot of `id`.
    #[must_use]
    pub fn snapshot(&self, id: &BuildId) -> Option<&BuildSnapshot> {
        self.builds.get(id).and_then(|f| f.last.as_ref())
    }

    /// When the next poll is due (`None`: nothing left to follow).
    #[must_use]
    pub fn next_wake(&self) -> Option<Instant> {
        next_wake(self.builds.values().map(|f| &f.schedule), self.state)
    }

    /// Polls every due build with one call, if any is due and no backoff is running.
    pub async fn poll_once(&mut self, now: Instant) -> Result<PollOutcome, CloudError> {
        if let PollerState::Backoff { until, .. } = self.state
            && now < until
        {
            return Ok(PollOutcome::default());
        }
        let ids = due_ids(
            self.builds.iter().map(|(k, f)| (k, &f.schedule)),
            now,
            MAX_BATCH,
        );
        if ids.is_empty() {
            return Ok(PollOutcome::default());
        }
        let result = self
            .client
            .batch_get_builds()
            .set_ids(Some(ids.iter().map(|i| i.0.clone()).collect()))
            .send()
            .await;
        match result {
            Ok(out) => {
                let mut outcome = self.absorb(&ids, &out, now);
                outcome.asked = ids;
                Ok(outcome)
            }
            Err(e) => {
                let err = classify("BatchGetBuilds", &self.group, &e);
                if !err.is_retryable() {
                    return Err(err);
                }
                Ok(self.back_off(&err, now, random_jitter()))
            }
        }
    }

    fn back_off(&mut self, err: &CloudError, now: Instant, jitter: f64) -> PollOutcome {
        let attempt = match self.state {
            PollerState::Backoff { attempt, .. } => attempt + 1,
            _ => 1,
        };
        let delay = backoff_delay(&self.intervals, attempt, jitter);
        self.state = PollerState::Backoff {
            until: now + delay,
            attempt,
        };
        let message = format!(
            "{err}: backing off {:.1}s (attempt {attempt})",
            delay.as_secs_f64()
        );
        PollOutcome {
            events: vec![BuildEvent::Notice {
                build_id: None,
                level: NoticeLevel::Warning,
                message,
            }],
            called: true,
            ..PollOutcome::default()
        }
    }

    fn absorb(
        &mut self,
        ids: &[BuildId],
        out: &aws_sdk_codebuild::operation::batch_get_builds::BatchGetBuildsOutput,
        now: Instant,
    ) -> PollOutcome {
        self.state = PollerState::Polling;
        let mut outcome = PollOutcome {
            called: true,
            ..PollOutcome::default()
        };
        for b in out.builds() {
            let snap = BuildSnapshot::from_sdk(b);
            let Some(f) = self.builds.get_mut(&snap.id) else {
                continue;
            };
            outcome.events.extend(diff(f.last.as_ref(), &snap));
            f.schedule = if snap.is_finished() {
                BuildSchedule::Done
            } else {
                BuildSchedule::Due {
                    at: now + interval(&self.intervals, f.priority),
                    priority: f.priority,
                }
            };
            f.last = Some(snap.clone());
            outcome.snapshots.push(snap);
        }
        for gone in out.builds_not_found() {
            let id = BuildId(gone.clone());
            if let Some(f) = self.builds.get_mut(&id) {
                f.schedule = BuildSchedule::Done;
                outcome.events.push(BuildEvent::Notice {
                    build_id: Some(id.clone()),
                    level: NoticeLevel::Error,
                    message: format!("build {id} no longer exists (BatchGetBuilds: not found)"),
                });
            }
        }
        // An id neither returned nor reported missing is polled again next time.
        for id in ids {
            if let Some(f) = self.builds.get_mut(id)
                && matches!(f.schedule, BuildSchedule::Due { at, .. } if at <= now)
            {
                f.schedule = BuildSchedule::Due {
                    at: now + interval(&self.intervals, f.priority),
                    priority: f.priority,
                };
            }
        }
        if self
            .builds
            .values()
            .all(|f| f.schedule == BuildSchedule::Done)
        {
            self.state = PollerState::Done;
        }
        outcome
    }
}
