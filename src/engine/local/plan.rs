//! The phase state machine, pure: given how each phase ended, which phase runs next and what
//! the build's final status is. No Docker, no clock: the runner feeds results in and does
//! what the returned [`Step`] says, so every transition of CodeBuild's diagram is unit-tested
//! here (semantics §2.2–2.5).

use std::collections::BTreeMap;

use regex::Regex;

use crate::buildspec::OnFailure;
use crate::model::{PhaseKind, Status};

/// How one attempt of a phase ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PhaseResult {
    Succeeded,
    /// A command failed; `message` is the context message (`Error while executing command:
    /// ...`), which `RETRY-<regex>` is matched against.
    Failed {
        message: String,
    },
    /// The infrastructure failed (a pull, the daemon): the build is a FAULT.
    Fault,
}

/// What the runner does next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Run this phase (attempt counts from 1).
    Run { phase: PhaseKind, attempt: u32 },
    /// The build is over with this status (COMPLETED is entered, with no status).
    Finish(Status),
}

/// The state machine of one build.
#[derive(Debug)]
pub struct Machine {
    on_failure: BTreeMap<PhaseKind, OnFailure>,
    current: PhaseKind,
    attempt: u32,
    failing: bool,
    fault: bool,
    interrupted: Option<Status>,
}

impl Machine {
    /// A machine for a buildspec whose command phases have these `on-failure` settings
    /// (missing phases use the default transitions).
    #[must_use]
    pub fn new(on_failure: BTreeMap<PhaseKind, OnFailure>) -> Self {
        Self {
            on_failure,
            current: PhaseKind::Provisioning,
            attempt: 1,
            failing: false,
            fault: false,
            interrupted: None,
        }
    }

    /// The first step: PROVISIONING, attempt 1.
    #[must_use]
    pub const fn start(&self) -> Step {
        Step::Run {
            phase: PhaseKind::Provisioning,
            attempt: 1,
        }
    }

    /// A machine that resumes a build at `phase` (a re-run of a phase that ended before):
    /// the phases before it keep their results, so `failing` says whether one of them failed
    /// (then `CODEBUILD_BUILD_SUCCEEDING=0` and the build cannot end SUCCEEDED). From there on
    /// the transitions are the same as in a fresh build.
    #[must_use]
    pub fn resume_at(
        on_failure: BTreeMap<PhaseKind, OnFailure>,
        phase: PhaseKind,
        failing: bool,
    ) -> (Self, Step) {
        let machine = Self {
            current: phase,
            failing,
            ..Self::new(on_failure)
        };
        (machine, Step::Run { phase, attempt: 1 })
    }

    /// Whether the build is failing so far (`CODEBUILD_BUILD_SUCCEEDING=0`).
    #[must_use]
    pub const fn failing(&self) -> bool {
        self.failing || self.fault
    }

    /// The build was stopped or timed out while `current` ran: skip to FINALIZING and end
    /// with `status`.
    pub fn interrupt(&mut self, status: Status) -> Step {
        self.interrupted = Some(status);
        self.goto(PhaseKind::Finalizing)
    }

    /// Feeds the result of the current phase; returns the next step.
    pub fn next(&mut self, result: &PhaseResult) -> Step {
        let phase = self.current;
        match result {
            PhaseResult::Succeeded => self.goto(successor(phase)),
            PhaseResult::Fault => {
                self.fault = true;
                self.after_failure(phase)
            }
            PhaseResult::Failed { message } => {
                if self.should_retry(phase, message) {
                    self.attempt += 1;
                    return Step::Run {
                        phase,
                        attempt: self.attempt,
                    };
                }
                self.failing = true;
                self.after_failure(phase)
            }
        }
    }

    fn should_retry(&self, phase: PhaseKind, message: &str) -> bool {
        let Some(OnFailure::Retry { count, pattern }) = self.on_failure.get(&phase) else {
            return false;
        };
        if self.attempt > *count {
            return false;
        }
        pattern.as_deref().is_none_or(|p| {
            // An invalid pattern never matches; the validator reports it before a run.
            Regex::new(p).is_ok_and(|re| re.is_match(message))
        })
    }

    fn after_failure(&mut self, phase: PhaseKind) -> Step {
        let policy = self.on_failure.get(&phase).cloned().unwrap_or_default();
        let next = match (policy, phase) {
            (OnFailure::Abort, _) => PhaseKind::Finalizing,
            (OnFailure::Continue, p) if PhaseKind::BUILDSPEC.contains(&p) => successor(p),
            (_, PhaseKind::Build) => PhaseKind::PostBuild,
            (_, PhaseKind::PostBuild) => PhaseKind::UploadArtifacts,
            (_, PhaseKind::Finalizing) => PhaseKind::Completed,
            _ => PhaseKind::Finalizing,
        };
        self.goto(next)
    }

    fn goto(&mut self, phase: PhaseKind) -> Step {
        self.current = phase;
        self.attempt = 1;
        if phase == PhaseKind::Completed {
            return Step::Finish(self.final_status());
        }
        Step::Run { phase, attempt: 1 }
    }

    fn final_status(&self) -> Status {
        if let Some(s) = self.interrupted {
            s
        } else if self.fault {
            Status::Fault
        } else if self.failing {
            Status::Failed
        } else {
            Status::Succeeded
        }
    }
}

/// The phase after `p` when everything goes well.
fn successor(p: PhaseKind) -> PhaseKind {
    match p {
        PhaseKind::Submitted => PhaseKind::Queued,
        PhaseKind::Queued => PhaseKind::Provisioning,
        PhaseKind::Provisioning => PhaseKind::DownloadSource,
        PhaseKind::DownloadSource => PhaseKind::Install,
        PhaseKind::Install => PhaseKind::PreBuild,
        PhaseKind::PreBuild => PhaseKind::Build,
        PhaseKind::Build => PhaseKind::PostBuild,
        PhaseKind::PostBuild => PhaseKind::UploadArtifacts,
        PhaseKind::UploadArtifacts => PhaseKind::Finalizing,
        PhaseKind::Finalizing | PhaseKind::Completed => PhaseKind::Completed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use PhaseKind::{
        Build, DownloadSource, Finalizing, Install, PostBuild, PreBuild, Provisioning,
        UploadArtifacts,
    };

    fn fail(msg: &str) -> PhaseResult {
        PhaseResult::Failed {
            message: msg.into(),
        }
    }

    /// Runs the machine, answering each phase from `results` (default success), and returns
    /// the sequence of (phase, attempt) and the final status.
    fn drive(
        policies: &[(PhaseKind, OnFailure)],
        results: &[(PhaseKind, u32, PhaseResult)],
    ) -> (Vec<(PhaseKind, u32)>, Status) {
        let mut m = Machine::new(policies.iter().cloned().collect());
        let mut step = m.start();
        let mut seen = Vec::new();
        for _ in 0..100 {
            match step {
                Step::Finish(s) => return (seen, s),
                Step::Run { phase, attempt } => {
                    seen.push((phase, attempt));
                    let r = results
                        .iter()
                        .find(|(p, a, _)| *p == phase && (*a == attempt || *a == 0))
                        .map_or(PhaseResult::Succeeded, |(_, _, r)| r.clone());
                    step = m.next(&r);
                }
            }
        }
        panic!("machine did not finish: {seen:?}");
    }

    fn phases(seen: &[(PhaseKind, u32)]) -> Vec<PhaseKind> {
        seen.iter().map(|(p, _)| *p).collect()
    }

    const ALL_RUN: [PhaseKind; 8] = [
        Provisioning,
        DownloadSource,
        Install,
        PreBuild,
        Build,
        PostBuild,
        UploadArtifacts,
        Finalizing,
    ];

    #[test]
    fn success_runs_every_phase_once() {
        let (seen, status) = drive(&[], &[]);
        assert_eq!(phases(&seen), ALL_RUN);
        assert!(seen.iter().all(|(_, a)| *a == 1));
        assert_eq!(status, Status::Succeeded);
    }

    #[test]
    fn failing_install_or_pre_build_skips_to_finalizing() {
        for failing in [Install, PreBuild] {
            let (seen, status) = drive(&[], &[(failing, 1, fail("x"))]);
            let idx = ALL_RUN.iter().position(|p| *p == failing).expect("phase");
            let mut want = ALL_RUN[..=idx].to_vec();
            want.push(Finalizing);
            assert_eq!(phases(&seen), want, "{failing}");
            assert_eq!(status, Status::Failed);
        }
    }

    #[test]
    fn failing_build_runs_post_build_and_upload() {
        let mut m = Machine::new(BTreeMap::new());
        let mut step = m.start();
        while step
            != (Step::Run {
                phase: Build,
                attempt: 1,
            })
        {
            step = m.next(&PhaseResult::Succeeded);
        }
        assert!(!m.failing());
        step = m.next(&fail("boom"));
        assert_eq!(
            step,
            Step::Run {
                phase: PostBuild,
                attempt: 1
            }
        );
        assert!(m.failing(), "post_build sees CODEBUILD_BUILD_SUCCEEDING=0");
        let (seen, status) = drive(&[], &[(Build, 1, fail("x"))]);
        assert_eq!(phases(&seen), ALL_RUN);
        assert_eq!(status, Status::Failed);
    }

    #[test]
    fn failing_post_build_still_uploads() {
        let (seen, status) = drive(&[], &[(PostBuild, 1, fail("x"))]);
        assert_eq!(phases(&seen), ALL_RUN);
        assert_eq!(status, Status::Failed);
    }

    #[test]
    fn failing_upload_or_download_source_ends_failed() {
        let (seen, status) = drive(&[], &[(UploadArtifacts, 1, fail("no match"))]);
        assert_eq!(phases(&seen), ALL_RUN);
        assert_eq!(status, Status::Failed);
        let (seen, status) = drive(&[], &[(DownloadSource, 1, fail("YAML"))]);
        assert_eq!(phases(&seen), [Provisioning, DownloadSource, Finalizing]);
        assert_eq!(status, Status::Failed);
    }

    #[test]
    fn provisioning_fault_is_a_fault() {
        let (seen, status) = drive(&[], &[(Provisioning, 1, PhaseResult::Fault)]);
        assert_eq!(phases(&seen), [Provisioning, Finalizing]);
        assert_eq!(status, Status::Fault);
    }

    #[test]
    fn abort_on_build_skips_post_build_and_upload() {
        let (seen, status) = drive(&[(Build, OnFailure::Abort)], &[(Build, 1, fail("x"))]);
        assert_eq!(
            phases(&seen),
            [
                Provisioning,
                DownloadSource,
                Install,
                PreBuild,
                Build,
                Finalizing
            ]
        );
        assert_eq!(status, Status::Failed);
    }

    #[test]
    fn continue_on_pre_build_runs_build_but_fails_the_build() {
        let (seen, status) = drive(
            &[(PreBuild, OnFailure::Continue)],
            &[(PreBuild, 1, fail("x"))],
        );
        assert_eq!(phases(&seen), ALL_RUN);
        assert_eq!(status, Status::Failed);
    }

    #[test]
    fn continue_or_abort_on_a_succeeding_phase_changes_nothing() {
        for p in [OnFailure::Continue, OnFailure::Abort] {
            let (seen, status) = drive(&[(Build, p)], &[]);
            assert_eq!(phases(&seen), ALL_RUN);
            assert_eq!(status, Status::Succeeded);
        }
    }

    #[test]
    fn retry_count_reruns_up_to_count_times() {
        let retry2 = OnFailure::Retry {
            count: 2,
            pattern: None,
        };
        let (seen, status) = drive(&[(Build, retry2.clone())], &[(Build, 0, fail("x"))]);
        let builds: Vec<_> = seen.iter().filter(|(p, _)| *p == Build).collect();
        assert_eq!(builds, [&(Build, 1), &(Build, 2), &(Build, 3)]);
        assert_eq!(status, Status::Failed);
        // After retries are exhausted the default transition applies: POST_BUILD runs.
        assert!(phases(&seen).contains(&PostBuild));
        // A retry that succeeds makes the build succeed.
        let (seen, status) = drive(&[(Build, retry2)], &[(Build, 1, fail("x"))]);
        assert_eq!(seen.iter().filter(|(p, _)| *p == Build).count(), 2);
        assert_eq!(status, Status::Succeeded);
    }

    #[test]
    fn retry_regex_retries_only_matching_messages() {
        let policy = OnFailure::Retry {
            count: 3,
            pattern: Some("exit status 42".into()),
        };
        let (seen, _) = drive(
            &[(PreBuild, policy.clone())],
            &[(PreBuild, 0, fail("Reason: exit status 1"))],
        );
        assert_eq!(seen.iter().filter(|(p, _)| *p == PreBuild).count(), 1);
        assert!(!phases(&seen).contains(&Build));
        let (seen, status) = drive(
            &[(PreBuild, policy)],
            &[(PreBuild, 0, fail("Reason: exit status 42"))],
        );
        assert_eq!(seen.iter().filter(|(p, _)| *p == PreBuild).count(), 4);
        assert_eq!(status, Status::Failed);
    }

    #[test]
    fn invalid_retry_regex_never_matches() {
        let policy = OnFailure::Retry {
            count: 3,
            pattern: Some("(".into()),
        };
        let (seen, _) = drive(&[(Build, policy)], &[(Build, 0, fail("x"))]);
        assert_eq!(seen.iter().filter(|(p, _)| *p == Build).count(), 1);
    }

    #[test]
    fn interrupt_goes_to_finalizing_with_the_interrupt_status() {
        for s in [Status::Stopped, Status::TimedOut] {
            let mut m = Machine::new(BTreeMap::new());
            let _ = m.start();
            let _ = m.next(&PhaseResult::Succeeded);
            assert_eq!(
                m.interrupt(s),
                Step::Run {
                    phase: Finalizing,
                    attempt: 1
                }
            );
            assert_eq!(m.next(&PhaseResult::Succeeded), Step::Finish(s));
        }
    }

    /// Runs a resumed machine to the end, every phase succeeding.
    fn drive_resumed(phase: PhaseKind, failing: bool) -> (Vec<PhaseKind>, Status) {
        let (mut m, mut step) = Machine::resume_at(BTreeMap::new(), phase, failing);
        let mut seen = Vec::new();
        while let Step::Run { phase, .. } = step {
            seen.push(phase);
            step = m.next(&PhaseResult::Succeeded);
        }
        let Step::Finish(status) = step else {
            unreachable!("the loop ends on Finish")
        };
        (seen, status)
    }

    #[test]
    fn resume_runs_the_phase_and_what_follows_only() {
        let (seen, status) = drive_resumed(Build, false);
        assert_eq!(seen, [Build, PostBuild, UploadArtifacts, Finalizing]);
        assert_eq!(status, Status::Succeeded);
        let (seen, _) = drive_resumed(Install, false);
        assert_eq!(seen, ALL_RUN[2..]);
    }

    #[test]
    fn resume_after_an_earlier_failure_stays_failed() {
        // BUILD failed; resuming from POST_BUILD does not make BUILD's failure go away.
        let (seen, status) = drive_resumed(PostBuild, true);
        assert_eq!(seen, [PostBuild, UploadArtifacts, Finalizing]);
        assert_eq!(status, Status::Failed);
        let (m, _) = Machine::resume_at(BTreeMap::new(), PostBuild, true);
        assert!(m.failing());
    }

    #[test]
    fn resume_keeps_codebuild_transitions_on_failure() {
        let (mut m, step) = Machine::resume_at(BTreeMap::new(), PreBuild, false);
        assert_eq!(
            step,
            Step::Run {
                phase: PreBuild,
                attempt: 1
            }
        );
        assert_eq!(
            m.next(&fail("x")),
            Step::Run {
                phase: Finalizing,
                attempt: 1
            }
        );
        assert_eq!(
            m.next(&PhaseResult::Succeeded),
            Step::Finish(Status::Failed)
        );
    }

    #[test]
    fn failing_finalizing_still_completes() {
        let (seen, status) = drive(&[], &[(Finalizing, 1, fail("x"))]);
        assert_eq!(phases(&seen), ALL_RUN);
        assert_eq!(status, Status::Failed);
    }
}
