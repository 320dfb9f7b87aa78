//! The cloud group's keys: starting, retrying, following and stopping CodeBuild builds all go
//! through a confirmation and come out as the effects the driver turns into API calls.

use cbdash::model::{BuildEvent, BuildId, PhaseContext, PhaseKind, Status, StatusCode};
use cbdash::tui::msg::{Effect, Msg, RunMode, StartOverrides};
use cbdash::tui::state::{Mode, PastBuild, Pending};

use cbdash::tui::keymap::{Key, KeyCode};

use super::fixtures::{CLOUD_ID, cloud, cloud_throttled, dashboard, keys, replay, send, t};

/// The throttled cloud build of the fixtures, ending FAILED in BUILD.
fn cloud_failed() -> Vec<(i64, BuildEvent)> {
    let id = BuildId(CLOUD_ID.into());
    let mut ev = cloud_throttled();
    ev.push((
        40,
        BuildEvent::PhaseStarted {
            build_id: id.clone(),
            phase: PhaseKind::Build,
            attempt: 1,
            at: t(40),
        },
    ));
    ev.push((
        50,
        BuildEvent::PhaseFinished {
            build_id: id.clone(),
            phase: PhaseKind::Build,
            attempt: 1,
            status: Status::Failed,
            duration_ms: 10_000,
            context: PhaseContext::new(
                StatusCode::CommandExecutionError,
                "Error while executing command: make. Reason: exit status 2",
            ),
            at: t(50),
        },
    ));
    ev.push((
        51,
        BuildEvent::Finished {
            build_id: id,
            status: Status::Failed,
            duration_ms: 51_000,
            at: t(51),
            exported_variables: std::collections::BTreeMap::new(),
        },
    ));
    ev
}

#[test]
fn starting_a_cloud_build_asks_first() {
    let (mut s, km) = dashboard();
    keys(&mut s, &km, "2");
    assert_eq!(s.project().expect("project").key, cloud("api-prod"));
    assert!(keys(&mut s, &km, "r").is_empty(), "nothing starts before y");
    assert_eq!(s.mode, Mode::Confirm(Pending::Start(cloud("api-prod"))));
    assert!(keys(&mut s, &km, "n").is_empty(), "n cancels");
    assert_eq!(s.mode, Mode::Normal);
    keys(&mut s, &km, "r");
    assert_eq!(
        keys(&mut s, &km, "y"),
        vec![Effect::StartBuild {
            project: cloud("api-prod"),
            mode: RunMode::Full,
        }]
    );
}

#[test]
fn shift_r_on_a_cloud_project_opens_the_start_form_with_overrides() {
    let (mut s, km) = dashboard();
    keys(&mut s, &km, "2");
    assert!(keys(&mut s, &km, "R").is_empty());
    assert!(matches!(s.mode, Mode::StartForm(_)));
    // Source version, Tab, a bad variable: Enter refuses it and keeps the form.
    keys(&mut s, &km, "release");
    send(&mut s, &km, Msg::Key(Key::new(KeyCode::Tab)));
    keys(&mut s, &km, "STAGE=qa oops");
    assert!(send(&mut s, &km, Msg::Key(Key::new(KeyCode::Enter))).is_empty());
    assert!(matches!(s.mode, Mode::StartForm(_)), "the form stays open");
    assert!(s.flash.as_ref().is_some_and(|f| f.text.contains("'oops'")));
    for _ in 0..5 {
        send(&mut s, &km, Msg::Key(Key::new(KeyCode::Backspace)));
    }
    send(&mut s, &km, Msg::Key(Key::new(KeyCode::Down)));
    send(&mut s, &km, Msg::Key(Key::new(KeyCode::Down)));
    keys(&mut s, &km, "img:2");
    assert_eq!(
        send(&mut s, &km, Msg::Key(Key::new(KeyCode::Enter))),
        vec![Effect::StartCloud {
            project: cloud("api-prod"),
            overrides: StartOverrides {
                source_version: Some("release".into()),
                env: vec![("STAGE".into(), "qa".into())],
                buildspec: None,
                image: Some("img:2".into()),
            },
        }]
    );
    assert_eq!(s.mode, Mode::Normal);
    // Esc cancels without a call.
    keys(&mut s, &km, "R");
    assert!(send(&mut s, &km, Msg::Key(Key::new(KeyCode::Esc))).is_empty());
    assert_eq!(s.mode, Mode::Normal);
}

#[test]
fn l_reproduces_the_open_cloud_build_as_a_local_project() {
    let (mut s, km) = dashboard();
    keys(&mut s, &km, "2");
    replay(&mut s, &km, cloud_failed());
    let fx = keys(&mut s, &km, "L");
    let local = cbdash::tui::state::ProjectKey {
        name: "api-prod".into(),
        group: cbdash::tui::state::Group::Local,
        dir: None,
    };
    assert!(
        fx.contains(&Effect::Reproduce {
            cloud: cloud("api-prod"),
            build: Some(BuildId(CLOUD_ID.into())),
            local: local.clone(),
        }),
        "{fx:?}"
    );
    assert_eq!(
        s.project().expect("selected").key,
        local,
        "the local twin is selected"
    );
    // On a local project, L says what it is for.
    assert!(keys(&mut s, &km, "L").is_empty());
    assert!(
        s.flash
            .as_ref()
            .is_some_and(|f| f.text.contains("cloud project"))
    );
}

#[test]
fn r_on_a_failed_cloud_build_retries_it_after_confirmation() {
    let (mut s, km) = dashboard();
    keys(&mut s, &km, "2");
    replay(&mut s, &km, cloud_failed());
    assert_eq!(
        s.build().map(|b| b.id.0.as_str()),
        Some(CLOUD_ID),
        "the new build of the selected project is opened"
    );
    assert!(keys(&mut s, &km, "r").is_empty());
    assert_eq!(
        keys(&mut s, &km, "y"),
        vec![Effect::RetryBuild {
            project: cloud("api-prod"),
            build: BuildId(CLOUD_ID.into()),
        }]
    );
}

#[test]
fn a_running_cloud_build_is_stopped_after_confirmation_and_does_not_block_quit() {
    let (mut s, km) = dashboard();
    keys(&mut s, &km, "2");
    replay(&mut s, &km, cloud_throttled());
    assert!(keys(&mut s, &km, "s").is_empty(), "stop asks first");
    assert_eq!(
        keys(&mut s, &km, "y"),
        vec![Effect::StopBuild(BuildId(CLOUD_ID.into()))]
    );
    assert!(
        keys(&mut s, &km, "r").is_empty(),
        "no second build while one runs"
    );
    assert_eq!(s.mode, Mode::Normal);
    // The build goes on in CodeBuild without us: quitting does not ask.
    assert_eq!(keys(&mut s, &km, "q"), vec![Effect::Quit]);
}

#[test]
fn an_earlier_cloud_build_in_the_builds_list_is_followed() {
    let (mut s, km) = dashboard();
    keys(&mut s, &km, "2");
    let old = BuildId("api-prod:0b0e7b3c-2f41-4a9e-b6c2-51f0a7d9e3b4".into());
    let fx = cbdash::tui::update::update(
        &mut s,
        &km,
        Msg::History {
            project: cloud("api-prod"),
            builds: vec![PastBuild {
                build_id: old.clone(),
                status: Status::InProgress,
                started: t(-60),
                duration_ms: 0,
            }],
            phase_medians: Vec::new(),
        },
    );
    // The selected project's newest build is opened (followed) once listed.
    assert_eq!(
        fx,
        vec![Effect::FollowBuild {
            project: cloud("api-prod"),
            build: old.clone(),
        }]
    );
    keys(&mut s, &km, "b");
    assert_eq!(
        send(&mut s, &km, Msg::Key(Key::new(KeyCode::Enter))),
        vec![Effect::FollowBuild {
            project: cloud("api-prod"),
            build: old,
        }]
    );
}
