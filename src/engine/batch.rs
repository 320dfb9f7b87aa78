//! The batch scheduler: which task of a batch starts when, and what a task's end means for
//! the others. Pure (no IO, no clock): the local runner (`engine::local::batch`) feeds it
//! starts and ends and carries out what it answers.
//!
//! Rules (reference `batch-reports-debug.md` §1.7; where CodeBuild does not say, the choice is
//! here and in the README's fidelity table):
//! - A task is ready when every task it depends on has finished and none of them failed
//!   (a failed dependency with `ignore-failure` counts as finished: its dependents run).
//! - At most `max_parallel` tasks run at once; ready tasks start in batch order.
//! - A task that fails without `ignore-failure` fails the batch; its dependents, and theirs,
//!   end STOPPED without starting. With `fast-fail` every running task is stopped and every
//!   task not started ends STOPPED. An `ignore-failure` task never triggers `fast-fail`.
//! - A stop (Ctrl-C) stops the running tasks and ends the others STOPPED; the batch is STOPPED.
//! - The batch SUCCEEDED when no task failed the batch, else FAILED.

use crate::model::{NodeStatus, Status};

/// A task as the scheduler sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Task {
    pub identifier: String,
    /// Indices of the tasks this one waits for.
    pub depends_on: Vec<usize>,
    pub ignore_failure: bool,
}

/// Where a task stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TaskState {
    Waiting,
    Running,
    /// Ended, with its status (`STOPPED` without having run, for a skipped dependent).
    Done(Status),
}

/// What the runner must do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Start (or resume) task `i`.
    Start(usize),
    /// Stop running task `i` (fast-fail or a stop); it reports its end as usual.
    Cancel(usize),
    /// Task `i` ends with this status without starting.
    Skip(usize, Status),
}

/// The scheduler of one batch run.
#[derive(Clone, Debug)]
pub struct Scheduler {
    tasks: Vec<Task>,
    states: Vec<TaskState>,
    fast_fail: bool,
    max_parallel: usize,
    failed: bool,
    stopped: bool,
}

impl Scheduler {
    /// A scheduler with every task waiting.
    #[must_use]
    pub fn new(tasks: Vec<Task>, fast_fail: bool, max_parallel: usize) -> Self {
        let states = vec![TaskState::Waiting; tasks.len()];
        Self::with_states(tasks, states, fast_fail, max_parallel)
    }

    /// A scheduler resuming a batch: tasks that succeeded (or failed with `ignore-failure`)
    /// stay done, every other task waits again (a failed one to be resumed in place, a
    /// skipped dependent to run for the first time).
    #[must_use]
    pub fn resuming(
        tasks: Vec<Task>,
        previous: &[Status],
        fast_fail: bool,
        max_parallel: usize,
    ) -> Self {
        let states = tasks
            .iter()
            .zip(previous)
            .map(|(t, s)| match s {
                Status::Succeeded => TaskState::Done(*s),
                _ if t.ignore_failure && *s != Status::Stopped => TaskState::Done(*s),
                _ => TaskState::Waiting,
            })
            .collect();
        Self::with_states(tasks, states, fast_fail, max_parallel)
    }

    fn with_states(
        tasks: Vec<Task>,
        states: Vec<TaskState>,
        fast_fail: bool,
        max_parallel: usize,
    ) -> Self {
        Self {
            tasks,
            states,
            fast_fail,
            max_parallel: max_parallel.max(1),
            failed: false,
            stopped: false,
        }
    }

    /// The tasks.
    #[must_use]
    pub fn tasks(&self) -> &[Task] {
        &self.tasks
    }

    /// Task `i`'s state.
    #[must_use]
    pub fn state(&self, i: usize) -> &TaskState {
        &self.states[i]
    }

    /// The tasks to start now (each is then running).
    pub fn ready_to_start(&mut self) -> Vec<Action> {
        if self.stopped {
            return Vec::new();
        }
        let mut room = self
            .max_parallel
            .saturating_sub(self.count(|s| *s == TaskState::Running));
        let mut out = Vec::new();
        for i in 0..self.tasks.len() {
            if room == 0 {
                break;
            }
            if self.states[i] == TaskState::Waiting && self.ready(i) {
                self.states[i] = TaskState::Running;
                out.push(Action::Start(i));
                room -= 1;
            }
        }
        out
    }

    /// Task `i` ended with `status`: what follows (skips, cancels), then what can start.
    pub fn finished(&mut self, i: usize, status: Status) -> Vec<Action> {
        self.states[i] = TaskState::Done(status);
        let mut out = Vec::new();
        if status != Status::Succeeded && !self.tasks[i].ignore_failure && !self.stopped {
            // A task stopped by fast-fail is a consequence, not another failure.
            let first = !self.failed;
            self.failed = true;
            out.extend(self.skip_dependents(i));
            if self.fast_fail && first {
                out.extend(self.stop_rest());
            }
        }
        out.extend(self.ready_to_start());
        out
    }

    /// The user stopped the batch.
    pub fn stop(&mut self) -> Vec<Action> {
        self.stopped = true;
        self.stop_rest()
    }

    /// Whether every task has ended.
    #[must_use]
    pub fn is_done(&self) -> bool {
        self.states.iter().all(|s| matches!(s, TaskState::Done(_)))
    }

    /// The batch's status: STOPPED after a stop, FAILED when a task failed it, SUCCEEDED
    /// when done otherwise, `IN_PROGRESS` before.
    #[must_use]
    pub fn status(&self) -> NodeStatus {
        if self.stopped {
            Status::Stopped.into()
        } else if self.failed {
            Status::Failed.into()
        } else if self.is_done() {
            Status::Succeeded.into()
        } else {
            Status::InProgress.into()
        }
    }

    fn ready(&self, i: usize) -> bool {
        self.tasks[i]
            .depends_on
            .iter()
            .all(|&d| match &self.states[d] {
                TaskState::Done(Status::Succeeded) => true,
                TaskState::Done(_) => self.tasks[d].ignore_failure,
                _ => false,
            })
    }

    fn count(&self, f: impl Fn(&TaskState) -> bool) -> usize {
        self.states.iter().filter(|s| f(s)).count()
    }

    /// Every waiting task that (transitively) depends on `i` ends STOPPED.
    fn skip_dependents(&mut self, i: usize) -> Vec<Action> {
        let mut out = Vec::new();
        let mut queue = vec![i];
        while let Some(done) = queue.pop() {
            for j in 0..self.tasks.len() {
                if self.states[j] == TaskState::Waiting && self.tasks[j].depends_on.contains(&done)
                {
                    self.states[j] = TaskState::Done(Status::Stopped);
                    out.push(Action::Skip(j, Status::Stopped));
                    queue.push(j);
                }
            }
        }
        out
    }

    /// Running tasks are cancelled; waiting ones end STOPPED.
    fn stop_rest(&mut self) -> Vec<Action> {
        let mut out = Vec::new();
        for (j, state) in self.states.iter_mut().enumerate() {
            match state {
                TaskState::Running => out.push(Action::Cancel(j)),
                TaskState::Waiting => {
                    *state = TaskState::Done(Status::Stopped);
                    out.push(Action::Skip(j, Status::Stopped));
                }
                TaskState::Done(_) => {}
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(id: &str, deps: &[usize], ignore: bool) -> Task {
        Task {
            identifier: id.into(),
            depends_on: deps.to_vec(),
            ignore_failure: ignore,
        }
    }

    /// compile, lint (ignore-failure), unit <- compile, image <- compile, e2e <- unit, image.
    fn graph() -> Vec<Task> {
        vec![
            task("compile", &[], false),
            task("lint", &[], true),
            task("unit", &[0], false),
            task("image", &[0], false),
            task("e2e", &[2, 3], false),
        ]
    }

    #[test]
    fn a_graph_runs_by_levels_within_max_parallel() {
        let mut s = Scheduler::new(graph(), false, 2);
        assert_eq!(s.ready_to_start(), [Action::Start(0), Action::Start(1)]);
        assert_eq!(s.finished(1, Status::Succeeded), []);
        assert_eq!(
            s.finished(0, Status::Succeeded),
            [Action::Start(2), Action::Start(3)]
        );
        assert_eq!(s.finished(2, Status::Succeeded), []);
        assert_eq!(s.finished(3, Status::Succeeded), [Action::Start(4)]);
        assert_eq!(s.status(), Status::InProgress.into());
        assert_eq!(s.finished(4, Status::Succeeded), []);
        assert!(s.is_done());
        assert_eq!(s.status(), Status::Succeeded.into());
    }

    #[test]
    fn a_failed_task_stops_its_dependents_transitively_and_fails_the_batch() {
        let mut s = Scheduler::new(graph(), false, 8);
        assert_eq!(s.ready_to_start(), [Action::Start(0), Action::Start(1)]);
        let after = s.finished(0, Status::Failed);
        assert_eq!(
            after,
            [
                Action::Skip(2, Status::Stopped),
                Action::Skip(3, Status::Stopped),
                Action::Skip(4, Status::Stopped),
            ]
        );
        // lint keeps running: fast-fail is off.
        assert_eq!(s.state(1), &TaskState::Running);
        assert_eq!(s.finished(1, Status::Succeeded), []);
        assert_eq!(s.status(), Status::Failed.into());
    }

    #[test]
    fn an_ignored_failure_neither_fails_the_batch_nor_stops_dependents() {
        let tasks = vec![task("lint", &[], true), task("after", &[0], false)];
        let mut s = Scheduler::new(tasks, true, 4);
        assert_eq!(s.ready_to_start(), [Action::Start(0)]);
        assert_eq!(s.finished(0, Status::Failed), [Action::Start(1)]);
        assert_eq!(s.finished(1, Status::Succeeded), []);
        assert_eq!(s.status(), Status::Succeeded.into());
    }

    #[test]
    fn fast_fail_cancels_running_tasks_and_skips_waiting_ones() {
        let tasks = vec![
            task("a", &[], false),
            task("b", &[], false),
            task("c", &[], false),
        ];
        let mut s = Scheduler::new(tasks, true, 2);
        assert_eq!(s.ready_to_start(), [Action::Start(0), Action::Start(1)]);
        assert_eq!(
            s.finished(0, Status::Failed),
            [Action::Cancel(1), Action::Skip(2, Status::Stopped)]
        );
        // The cancelled task's STOPPED end is not a second failure.
        assert_eq!(s.finished(1, Status::Stopped), []);
        assert!(s.is_done());
        assert_eq!(s.status(), Status::Failed.into());
    }

    #[test]
    fn a_stop_cancels_and_skips_everything_and_the_batch_is_stopped() {
        let mut s = Scheduler::new(graph(), false, 1);
        assert_eq!(s.ready_to_start(), [Action::Start(0)]);
        let stop = s.stop();
        assert_eq!(stop[0], Action::Cancel(0));
        assert_eq!(stop.len(), 5);
        assert_eq!(s.finished(0, Status::Stopped), []);
        assert!(s.is_done());
        assert_eq!(s.status(), Status::Stopped.into());
    }

    #[test]
    fn a_resume_reruns_failed_and_skipped_tasks_only() {
        let previous = [
            Status::Failed,
            Status::Failed, // lint: ignore-failure, stays done
            Status::Stopped,
            Status::Stopped,
            Status::Stopped,
        ];
        let mut s = Scheduler::resuming(graph(), &previous, false, 4);
        assert_eq!(s.ready_to_start(), [Action::Start(0)]);
        assert_eq!(
            s.finished(0, Status::Succeeded),
            [Action::Start(2), Action::Start(3)]
        );
        s.finished(2, Status::Succeeded);
        assert_eq!(s.finished(3, Status::Succeeded), [Action::Start(4)]);
        s.finished(4, Status::Succeeded);
        assert_eq!(s.status(), Status::Succeeded.into());
    }
}
