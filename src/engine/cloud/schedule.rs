//! When to poll what: pure functions over injected time, so the policy is unit-tested without
//! sleeping.
//!
//! Policy: the focused build every ~2 s, other running builds every ~15 s, finished builds
//! never; every due build goes into ONE BatchGetBuilds of at most 100 ids. Throttling and 5xx
//! put the whole poller into exponential backoff with jitter.

use std::time::{Duration, Instant};

use crate::model::BuildId;

/// How often to poll.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Intervals {
    pub focused: Duration,
    pub background: Duration,
    /// First backoff delay; doubles per attempt up to `backoff_max`.
    pub backoff_base: Duration,
    pub backoff_max: Duration,
}

impl Default for Intervals {
    fn default() -> Self {
        Self {
            focused: Duration::from_secs(2),
            background: Duration::from_secs(15),
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_mins(1),
        }
    }
}

/// How closely a build is watched.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Priority {
    Focused,
    Background,
}

/// One followed build's schedule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BuildSchedule {
    /// Poll at or after this instant.
    Due { at: Instant, priority: Priority },
    /// Finished or gone: never polled again.
    Done,
}

/// The poller's lifecycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PollerState {
    /// Polling normally.
    Polling,
    /// The last call was throttled or failed with a 5xx: no call before `until`.
    Backoff { until: Instant, attempt: u32 },
    /// Every followed build has finished.
    Done,
}

/// The interval for a priority.
#[must_use]
pub const fn interval(iv: &Intervals, priority: Priority) -> Duration {
    match priority {
        Priority::Focused => iv.focused,
        Priority::Background => iv.background,
    }
}

/// The ids to poll now: due ones, focused first then the most overdue, at most `max`.
#[must_use]
pub fn due_ids<'a>(
    builds: impl IntoIterator<Item = (&'a BuildId, &'a BuildSchedule)>,
    now: Instant,
    max: usize,
) -> Vec<BuildId> {
    let mut due: Vec<(Priority, Instant, &BuildId)> = builds
        .into_iter()
        .filter_map(|(id, s)| match *s {
            BuildSchedule::Due { at, priority } if at <= now => Some((priority, at, id)),
            _ => None,
        })
        .collect();
    due.sort();
    due.into_iter()
        .take(max)
        .map(|(_, _, id)| id.clone())
        .collect()
}

/// The earliest instant something is due, or `None` when nothing is left to poll.
#[must_use]
pub fn next_wake<'a>(
    builds: impl IntoIterator<Item = &'a BuildSchedule>,
    state: PollerState,
) -> Option<Instant> {
    let earliest = builds
        .into_iter()
        .filter_map(|s| match *s {
            BuildSchedule::Due { at, .. } => Some(at),
            BuildSchedule::Done => None,
        })
        .min()?;
    Some(match state {
        PollerState::Backoff { until, .. } => earliest.max(until),
        PollerState::Polling | PollerState::Done => earliest,
    })
}

/// The delay before retry `attempt` (1-based): `base * 2^(attempt-1)` capped at `max`, of
/// which the upper half is scaled by `jitter` in [0, 1] ("equal jitter"), so a fleet of
/// dashboards throttled together does not retry together.
#[must_use]
pub fn backoff_delay(iv: &Intervals, attempt: u32, jitter: f64) -> Duration {
    let exp = iv
        .backoff_base
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
    let full = exp.min(iv.backoff_max);
    let half = full / 2;
    half + half.mul_f64(jitter.clamp(0.0, 1.0))
}

/// A jitter value in [0, 1) from the OS's randomness (through a v4 uuid; no extra crate).
#[must_use]
pub fn random_jitter() -> f64 {
    let bits = uuid::Uuid::new_v4().as_u128() >> 75; // 53 random bits
    #[allow(clippy::cast_precision_loss)] // 53 bits fit an f64 mantissa exactly
    let v = bits as f64 / (1u64 << 53) as f64;
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> BuildId {
        BuildId(s.into())
    }

    #[test]
    fn focused_builds_come_first_and_batches_are_capped() {
        let now = Instant::now();
        let mut builds = vec![
            (
                id("p:bg"),
                BuildSchedule::Due {
                    at: now,
                    priority: Priority::Background,
                },
            ),
            (
                id("p:fo"),
                BuildSchedule::Due {
                    at: now,
                    priority: Priority::Focused,
                },
            ),
            (
                id("p:later"),
                BuildSchedule::Due {
                    at: now + Duration::from_secs(5),
                    priority: Priority::Focused,
                },
            ),
            (id("p:done"), BuildSchedule::Done),
        ];
        let due = due_ids(builds.iter().map(|(a, b)| (a, b)), now, 100);
        assert_eq!(due, [id("p:fo"), id("p:bg")]);
        for i in 0..150 {
            builds.push((
                id(&format!("q:{i}")),
                BuildSchedule::Due {
                    at: now,
                    priority: Priority::Background,
                },
            ));
        }
        assert_eq!(
            due_ids(builds.iter().map(|(a, b)| (a, b)), now, 100).len(),
            100
        );
    }

    #[test]
    fn wake_respects_backoff_and_ends_when_all_done() {
        let now = Instant::now();
        let s = [
            BuildSchedule::Due {
                at: now,
                priority: Priority::Focused,
            },
            BuildSchedule::Done,
        ];
        let until = now + Duration::from_secs(8);
        assert_eq!(next_wake(&s, PollerState::Polling), Some(now));
        assert_eq!(
            next_wake(&s, PollerState::Backoff { until, attempt: 2 }),
            Some(until)
        );
        assert_eq!(
            next_wake(&[BuildSchedule::Done], PollerState::Polling),
            None
        );
    }

    #[test]
    fn backoff_grows_with_jitter_and_is_capped() {
        let iv = Intervals::default();
        assert_eq!(backoff_delay(&iv, 1, 0.0), Duration::from_millis(500));
        assert_eq!(backoff_delay(&iv, 1, 1.0), Duration::from_secs(1));
        assert_eq!(backoff_delay(&iv, 3, 1.0), Duration::from_secs(4));
        assert_eq!(backoff_delay(&iv, 30, 1.0), Duration::from_mins(1));
        assert!(backoff_delay(&iv, 4, 0.5) > backoff_delay(&iv, 3, 0.5));
        let j = random_jitter();
        assert!((0.0..1.0).contains(&j));
    }
}
