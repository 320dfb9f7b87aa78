//! Stepping into a build (issue 18): a local build paused at a breakpoint says so under its
//! phases and `e` opens a shell there; a cloud build with a debug session shows the command
//! that joins it and `e` runs it.

use cbdash::model::{BuildEvent, BuildId, PhaseKind};
use cbdash::tui::msg::{Effect, Msg};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::fixtures::{self, CLOUD_ID, ID, keys, masked, replay, send, t};

fn screen(term: &Terminal<TestBackend>) -> String {
    format!("{}", term.backend())
}

fn paused(on_failure: bool) -> (i64, BuildEvent) {
    (
        27,
        BuildEvent::Breakpoint {
            build_id: BuildId(ID.into()),
            phase: PhaseKind::Build,
            command: "codebuild-breakpoint".into(),
            container: "cbdash-api-0a1b2c3d".into(),
            attach: format!("cbdash shell {ID}"),
            on_failure,
        },
    )
}

#[test]
fn a_paused_build_says_so_and_e_opens_a_shell_there() {
    let (mut s, km) = fixtures::dashboard();
    let mut events = fixtures::running();
    events.push(paused(false));
    replay(&mut s, &km, events);
    send(&mut s, &km, Msg::Tick(t(30)));
    let term = fixtures::render(&s, 120, 32);
    insta::assert_snapshot!("paused_at_breakpoint", masked(&term));
    assert!(
        screen(&term).contains(
            "⏸ paused at breakpoint: e shell there · codebuild-resume goes on · BUILD: codebuild"
        ),
        "{}",
        screen(&term)
    );
    assert_eq!(
        keys(&mut s, &km, "e"),
        [Effect::OpenShell(BuildId(ID.into()))]
    );
    // Resumed: the line goes.
    replay(
        &mut s,
        &km,
        vec![(
            31,
            BuildEvent::Resumed {
                build_id: BuildId(ID.into()),
            },
        )],
    );
    let term = fixtures::render(&s, 120, 32);
    assert!(!screen(&term).contains("paused at breakpoint"));
}

#[test]
fn a_pause_on_failure_names_the_failure_on_an_80_column_screen() {
    let (mut s, km) = fixtures::dashboard();
    let mut events = fixtures::running();
    events.push(paused(true));
    replay(&mut s, &km, events);
    send(&mut s, &km, Msg::Tick(t(30)));
    let term = fixtures::render(&s, 80, 24);
    insta::assert_snapshot!("paused_on_failure_80x24", masked(&term));
    assert!(screen(&term).contains("⏸ paused at breakpoint on failure: e shell there"));
}

#[test]
fn a_cloud_debug_session_shows_its_command_and_e_runs_it() {
    let (mut s, km) = fixtures::dashboard();
    keys(&mut s, &km, "2");
    let command = "aws ssm start-session --target codebuild:8d0e7b3c --region eu-west-1";
    let mut events = fixtures::cloud_throttled();
    events.push((
        32,
        BuildEvent::DebugSession {
            build_id: BuildId(CLOUD_ID.into()),
            target: "codebuild:8d0e7b3c".into(),
            command: command.into(),
        },
    ));
    replay(&mut s, &km, events);
    send(&mut s, &km, Msg::Tick(t(33)));
    let term = fixtures::render(&s, 120, 32);
    insta::assert_snapshot!("cloud_debug_session", masked(&term));
    let shown = screen(&term);
    assert!(shown.contains("⏸ debug session: e joins it"), "{shown}");
    // The command in full, whatever the width: it is what a user copies.
    assert!(shown.contains(command), "{shown}");
    // On 80 columns the command wraps rather than being cut.
    let narrow = screen(&fixtures::render(&s, 80, 24));
    for part in ["start-session", "codebuild:8d0e7b3c", "eu-west-1"] {
        assert!(narrow.contains(part), "{part}: {narrow}");
    }
    assert_eq!(
        keys(&mut s, &km, "e"),
        [Effect::JoinDebugSession(command.into())]
    );
}
