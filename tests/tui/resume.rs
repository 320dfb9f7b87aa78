//! Resuming in place, the shell and watch mode through the reducer: `r` names the build and
//! its failed phase, a resumed build keeps its earlier attempts and shows the new ones, `e`
//! asks for a shell, `w` watches a project and a change re-runs it.

use cbdash::model::{BackendKind, BuildEvent, BuildId, PhaseContext, PhaseKind, Status};
use cbdash::tui::msg::{Effect, Msg, RunMode};

use super::fixtures::{self, ID, keys, local, replay, send, t};

/// The events of a resume of the failed fixture build: BUILD attempt 2 onwards, succeeding.
fn resumed() -> Vec<(i64, BuildEvent)> {
    let id = BuildId(ID.into());
    let mut ev = vec![(
        100,
        BuildEvent::Started {
            build_id: id.clone(),
            project: "api".into(),
            backend: BackendKind::Local,
            image: "aws/codebuild/standard:7.0".into(),
            docker: cbdash::model::DockerAccess::default(),
            batch: None,
            at: t(100),
        },
    )];
    for (i, phase) in [PhaseKind::Build, PhaseKind::PostBuild]
        .into_iter()
        .enumerate()
    {
        let at = 100 + i64::try_from(i).unwrap_or(0);
        ev.push((
            at,
            BuildEvent::PhaseStarted {
                build_id: id.clone(),
                phase,
                attempt: 2,
                at: t(at),
            },
        ));
        ev.push((
            at + 1,
            BuildEvent::PhaseFinished {
                build_id: id.clone(),
                phase,
                attempt: 2,
                status: Status::Succeeded,
                duration_ms: 1000,
                context: PhaseContext::default(),
                at: t(at + 1),
            },
        ));
    }
    ev.push((
        103,
        BuildEvent::Finished {
            build_id: id,
            status: Status::Succeeded,
            duration_ms: 3000,
            at: t(103),
            exported_variables: std::collections::BTreeMap::new(),
        },
    ));
    ev
}

#[test]
fn r_resumes_the_open_build_from_its_failed_phase() {
    let (mut s, km) = fixtures::dashboard();
    replay(&mut s, &km, fixtures::failed());
    let fx = keys(&mut s, &km, "r");
    assert_eq!(
        fx,
        [Effect::StartBuild {
            project: local("api"),
            mode: RunMode::FromFailedPhase {
                build: BuildId(ID.into()),
                phase: PhaseKind::Build
            }
        }]
    );
}

#[test]
fn a_resumed_build_keeps_its_attempts_and_is_no_longer_failed() {
    let (mut s, km) = fixtures::dashboard();
    replay(&mut s, &km, fixtures::failed());
    let api = s
        .projects
        .iter()
        .position(|p| p.key == local("api"))
        .expect("api");
    let builds_before = s.projects[api].builds.len();
    // The resume starts: the same build is running again, its earlier attempts kept.
    let mut ev = resumed().into_iter();
    replay(&mut s, &km, ev.by_ref().take(2).collect());
    let b = s.builds.get(&BuildId(ID.into())).expect("build");
    assert_eq!(b.status, Status::InProgress);
    assert_eq!(
        s.projects[api].builds.len(),
        builds_before,
        "not a new build"
    );
    assert!(b.phases.iter().any(|p| p.kind == PhaseKind::Install));
    let attempts: Vec<(u32, Status)> = b
        .phases
        .iter()
        .filter(|p| p.kind == PhaseKind::Build)
        .map(|p| (p.attempt, p.status))
        .collect();
    assert_eq!(attempts, [(1, Status::Failed), (2, Status::InProgress)]);
    replay(&mut s, &km, ev.collect());
    let b = s.builds.get(&BuildId(ID.into())).expect("build");
    assert_eq!(b.status, Status::Succeeded);
    assert!(b.failed_phase().is_none(), "BUILD passed on attempt 2");
    // So `r` now runs the whole build.
    let fx = keys(&mut s, &km, "r");
    assert!(
        matches!(
            &fx[..],
            [Effect::StartBuild {
                mode: RunMode::Full,
                ..
            }]
        ),
        "{fx:?}"
    );
}

#[test]
fn e_asks_for_a_shell_in_the_open_build() {
    let (mut s, km) = fixtures::dashboard();
    replay(&mut s, &km, fixtures::failed());
    assert_eq!(
        keys(&mut s, &km, "e"),
        [Effect::OpenShell(BuildId(ID.into()))]
    );
}

#[test]
fn w_watches_and_a_change_reruns_from_the_failed_phase() {
    let (mut s, km) = fixtures::dashboard();
    replay(&mut s, &km, fixtures::failed());
    assert_eq!(
        keys(&mut s, &km, "w"),
        [Effect::Watch {
            project: local("api"),
            on: true
        }]
    );
    let changed = Msg::FilesChanged {
        project: local("api"),
        files: 2,
    };
    let fx = send(&mut s, &km, changed.clone());
    assert!(
        matches!(
            &fx[..],
            [Effect::StartBuild {
                mode: RunMode::FromFailedPhase {
                    phase: PhaseKind::Build,
                    ..
                },
                ..
            }]
        ),
        "{fx:?}"
    );
    // While it builds, a change waits for the build to end, then re-runs once.
    let mut ev = resumed().into_iter();
    replay(&mut s, &km, ev.by_ref().take(2).collect());
    assert!(send(&mut s, &km, changed.clone()).is_empty());
    assert!(send(&mut s, &km, changed.clone()).is_empty());
    let mut after = Vec::new();
    for (at, e) in ev {
        send(&mut s, &km, Msg::Tick(t(at)));
        after.extend(send(&mut s, &km, Msg::Build(e)));
    }
    let starts: Vec<&Effect> = after
        .iter()
        .filter(|e| matches!(e, Effect::StartBuild { .. }))
        .collect();
    assert_eq!(starts.len(), 1, "{after:?}");
    assert!(matches!(
        starts[0],
        Effect::StartBuild {
            mode: RunMode::Full,
            ..
        }
    ));
    // Not watching: changes do nothing.
    assert_eq!(
        keys(&mut s, &km, "w"),
        [Effect::Watch {
            project: local("api"),
            on: false
        }]
    );
    assert!(send(&mut s, &km, changed).is_empty());
}
