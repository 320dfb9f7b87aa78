//! The dashboard's chrome on small and large screens (80x24 first): the build title, the
//! timeline's hidden-phases mark, the cache panel, the failure context, the help overlay, the
//! status line's flashes and the messages overlay, the run form, and the prompts that must
//! not outlive what they ask about. Whole screens are insta snapshots (durations masked).

use cbdash::model::{
    BackendKind, BuildEvent, BuildId, Builder, CacheReport, DockerAccess, FirstMiss, NoticeLevel,
    PhaseKind, Status,
};
use cbdash::tui::keymap::{Key, KeyCode};
use cbdash::tui::msg::{Effect, LocalOverrides, Msg};
use cbdash::tui::state::Mode;
use ratatui::style::Color;

use super::fixtures::{self, ID, keys, local, masked, replay, send, t};
use super::screen::{draw, find, rows};

fn id() -> BuildId {
    BuildId(ID.into())
}

/// The running build as the local engine reports it, reaching Docker through the host socket.
fn running_with_socket() -> Vec<(i64, BuildEvent)> {
    let mut ev = fixtures::running();
    if let BuildEvent::Started { docker, .. } = &mut ev[0].1 {
        *docker = DockerAccess::HostSocket;
    }
    ev
}

/// [`running_with_socket`] with the phases before `DOWNLOAD_SOURCE`, as the engine sends them:
/// more rows than an 80x24 timeline has.
fn running_from_submitted() -> Vec<(i64, BuildEvent)> {
    let mut ev = running_with_socket();
    let early = [
        PhaseKind::Submitted,
        PhaseKind::Queued,
        PhaseKind::Provisioning,
    ]
    .into_iter()
    .flat_map(|phase| {
        [
            (
                0,
                BuildEvent::PhaseStarted {
                    build_id: id(),
                    phase,
                    attempt: 1,
                    at: t(0),
                },
            ),
            (
                0,
                BuildEvent::PhaseFinished {
                    build_id: id(),
                    phase,
                    attempt: 1,
                    status: Status::Succeeded,
                    duration_ms: 10,
                    context: cbdash::model::PhaseContext::default(),
                    at: t(0),
                },
            ),
        ]
    });
    let rest = ev.split_off(1);
    ev.extend(early);
    ev.extend(rest);
    ev
}

fn cache_event() -> Msg {
    let mut report = CacheReport::new(0, Builder::Buildkit);
    report.image = Some("api:latest".into());
    report.steps_total = 6;
    report.steps_cached = 2;
    report.first_miss = Some(FirstMiss {
        step: 3,
        instruction: "RUN npm ci --omit=dev".into(),
        reason: None,
    });
    report.time_saved_ms = Some(41_000);
    Msg::Build(BuildEvent::Cache {
        build_id: id(),
        report,
    })
}

#[test]
fn a_running_build_at_80x24_keeps_status_duration_docker_image_and_its_cache_panel() {
    let (mut s, km) = fixtures::dashboard();
    replay(&mut s, &km, running_from_submitted());
    send(&mut s, &km, cache_event());
    send(&mut s, &km, Msg::Tick(t(26)));
    let term = draw(&mut s, 80, 24);
    insta::assert_snapshot!("running_80x24", masked(&term));
    // The title: status, duration, Docker, then the image cut with an ellipsis.
    let title = &rows(&term)[0];
    assert!(
        title.contains("IN_PROGRESS 26.0s · docker sock · aws/codebuil…"),
        "{title}"
    );
    assert!(
        title.contains('…'),
        "the image is cut with an ellipsis: {title}"
    );
    // The cache panel keeps what was saved and the first miss.
    find(&term, "saved ~41.0s");
    find(&term, "missed step 3: RUN npm ci");
    // The running phase keeps its bar and percentage at 80 columns.
    find(&term, "IN_PROGRESS   15.0s ██░  50%");
    // Earlier phases scrolled away are counted.
    let (x, y) = find(&term, "▲ 2 more (earlier phases)");
    assert_eq!(term.backend().buffer()[(x, y)].fg, Color::DarkGray);
}

#[test]
fn a_failed_build_at_80x24_shows_the_cause_of_its_failure_first() {
    let (mut s, km) = fixtures::dashboard();
    replay(&mut s, &km, fixtures::failed());
    let term = draw(&mut s, 80, 24);
    insta::assert_snapshot!("failed_80x24", masked(&term));
    let (x, y) = find(&term, "└ exit status 1: npm test · COMMAND_EXECUTION");
    assert_eq!(term.backend().buffer()[(x, y)].fg, Color::Red);
    find(&term, "FAILED 25.0s · docker: none");
}

#[test]
fn help_at_80x24_fits_and_no_key_list_runs_into_its_label() {
    let (mut s, km) = fixtures::dashboard();
    keys(&mut s, &km, "?");
    let term = draw(&mut s, 80, 24);
    insta::assert_snapshot!("help_80x24", masked(&term));
    let screen = rows(&term).join("\n");
    assert!(!screen.contains("leftprojects"), "{screen}");
    // The keys column is as wide as the longest key list, with a gap before its label.
    find(&term, "l/h/right/left  projects <-> log");
    find(&term, "errors in full");
    // Every action of the keymap is there (the last one too: nothing cut at the bottom).
    find(&term, "E ");
    find(&term, "layer cache report");
    assert!(screen.contains("run form (options)"));
    keys(&mut s, &km, "x");
    assert_eq!(s.mode, Mode::Normal, "any other key closes help");
}

#[test]
fn a_kept_container_notice_is_information_and_is_not_cut_at_140_columns() {
    let (mut s, km) = fixtures::dashboard();
    replay(&mut s, &km, fixtures::failed());
    let message = format!(
        "kept container cbdash-api-3f1c2a9e (0123456789ab): `cbdash resume {ID}` re-runs it \
         from the failed phase, `cbdash shell {ID}` opens a shell in it; removed after 30 min \
         unused"
    );
    send(
        &mut s,
        &km,
        Msg::Build(BuildEvent::Notice {
            build_id: Some(id()),
            level: NoticeLevel::Info,
            message,
        }),
    );
    let term = draw(&mut s, 140, 40);
    let (x, y) = find(&term, "ℹ kept container");
    assert_eq!(
        term.backend().buffer()[(x, y)].fg,
        Color::Cyan,
        "the info style, as `Info:` in --plain"
    );
    assert!(!rows(&term).join("\n").contains('⚠'), "not a warning");
    find(&term, "removed after 30 min");
    // At 80x24 it wraps too, its end cut with a mark rather than lost silently.
    let term = draw(&mut s, 80, 24);
    insta::assert_snapshot!("kept_notice_80x24", masked(&term));
    find(&term, "ℹ kept container");
}

/// The COMPLETED row and the open phases of a finished build stop at the build's end, even
/// when a phase event arrives after `Finished`, and the screen says the same a minute later.
#[test]
fn a_finished_build_stops_its_clock_at_its_end_time() {
    let (mut s, km) = fixtures::dashboard();
    replay(&mut s, &km, fixtures::running());
    let end = t(30);
    for ev in [
        BuildEvent::PhaseStarted {
            build_id: id(),
            phase: PhaseKind::Completed,
            attempt: 1,
            at: end - chrono::TimeDelta::milliseconds(300),
        },
        BuildEvent::Finished {
            build_id: id(),
            status: Status::Succeeded,
            duration_ms: 30_000,
            at: end,
            exported_variables: std::collections::BTreeMap::new(),
        },
        // Out of order: a phase reported after its build ended ran no further.
        BuildEvent::PhaseStarted {
            build_id: id(),
            phase: PhaseKind::Finalizing,
            attempt: 1,
            at: end,
        },
    ] {
        send(&mut s, &km, Msg::Build(ev));
    }
    let screens: Vec<String> = [31, 45, 120]
        .into_iter()
        .map(|sec| {
            send(&mut s, &km, Msg::Tick(t(sec)));
            let term = draw(&mut s, 120, 32);
            rows(&term)
                .into_iter()
                .filter(|r| r.contains("COMPLETED") || r.contains("FINALIZING"))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .collect();
    assert!(screens[0].contains("300ms"), "{}", screens[0]);
    assert_eq!(screens[0], screens[1], "10 s later");
    assert_eq!(screens[0], screens[2], "90 s later");
    assert!(!s.any_running(), "nothing keeps the screen redrawing");
}

/// The race of the last round: keys are read before the driver's batch (input goes first),
/// so `q` asked "a build is running" while the build's `Finished` was already queued; the
/// next frame showed the prompt under a SUCCEEDED title, and `y` was the only way out. The
/// prompt now goes when the build it is about ends.
#[test]
fn the_quit_prompt_goes_when_the_last_build_ends_before_the_answer() {
    let (mut s, km) = fixtures::dashboard();
    replay(&mut s, &km, fixtures::running());
    assert!(keys(&mut s, &km, "q").is_empty());
    assert!(matches!(s.mode, Mode::Confirm(_)), "asks while it runs");
    // The Finished that was already queued when `q` was read.
    send(
        &mut s,
        &km,
        Msg::Build(BuildEvent::Finished {
            build_id: id(),
            status: Status::Succeeded,
            duration_ms: 30_000,
            at: t(30),
            exported_variables: std::collections::BTreeMap::new(),
        }),
    );
    assert_eq!(s.mode, Mode::Normal, "nothing to ask about any more");
    let term = draw(&mut s, 120, 32);
    let screen = rows(&term).join("\n");
    assert!(screen.contains("✔ SUCCEEDED"), "{screen}");
    assert!(!screen.contains("quit anyway"), "{screen}");
    find(&term, "SUCCEEDED in 30.0s · nothing runs now: quit again");
    assert_eq!(keys(&mut s, &km, "q"), vec![Effect::Quit]);

    // Same for a stop asked about a build that ends first.
    let (mut s, km) = fixtures::dashboard();
    replay(&mut s, &km, fixtures::running());
    keys(&mut s, &km, "s");
    assert!(matches!(s.mode, Mode::Confirm(_)));
    replay(&mut s, &km, vec![(30, finished(Status::Failed))]);
    assert_eq!(s.mode, Mode::Normal);
    assert!(
        s.flash
            .as_ref()
            .is_some_and(|f| f.text.ends_with("it ended before it was stopped")),
        "{:?}",
        s.flash
    );
    assert!(keys(&mut s, &km, "y").is_empty(), "no stale StopBuild");
}

fn finished(status: Status) -> BuildEvent {
    BuildEvent::Finished {
        build_id: id(),
        status,
        duration_ms: 30_000,
        at: t(30),
        exported_variables: std::collections::BTreeMap::new(),
    }
}

const INVALID: &str = "cannot build 'api': invalid buildspec
buildspec.yml:7:9: phases.build.commands[1]: expected a string, found a mapping
  6 |     commands:
  7 |       - echo: hi
    |         ^ quote the command: - \"echo: hi\"
hint: a command with `: ` must be quoted in YAML";

#[test]
fn an_error_flashes_its_first_line_and_the_messages_overlay_has_it_whole() {
    let (mut s, km) = fixtures::dashboard();
    send(&mut s, &km, Msg::Flash(NoticeLevel::Error, INVALID.into()));
    let term = draw(&mut s, 80, 24);
    let status = rows(&term).pop().expect("status line");
    assert!(
        status.contains("cannot build 'api': invalid buildspec · E details"),
        "{status}"
    );
    keys(&mut s, &km, "E");
    assert_eq!(s.mode, Mode::Messages { scroll: 0 });
    let term = draw(&mut s, 80, 24);
    insta::assert_snapshot!("messages_80x24", masked(&term));
    find(&term, "buildspec.yml:7:9: phases.build.commands[1]");
    // The snippet keeps its columns: the caret stays under `echo`.
    let (x7, _) = find(&term, "- echo: hi");
    let (xc, _) = find(&term, "^ quote the command");
    assert_eq!(xc, x7 + 2, "the caret is under the command");
    find(&term, "hint: a command with `: ` must be quoted");
    keys(&mut s, &km, "j");
    assert_eq!(s.mode, Mode::Messages { scroll: 1 }, "j scrolls");
    keys(&mut s, &km, "x");
    assert_eq!(s.mode, Mode::Normal);

    // A long one-line flash (a TOML error naming its key at the end) is not cut at the
    // key hints: it takes the line, cut with a mark, and the overlay has all of it.
    let toml = "cannot build 'api': .cbdash.toml: TOML parse error at line 3, column 1: \
                unknown field `docker_sockett`, expected one of `image`, `docker_socket`";
    send(&mut s, &km, Msg::Flash(NoticeLevel::Error, toml.into()));
    let term = draw(&mut s, 80, 24);
    let status = rows(&term).pop().expect("status line");
    assert!(
        status.contains("cannot build 'api': .cbdash.toml: TOML parse"),
        "{status}"
    );
    assert!(status.contains("… · E details"), "{status}");
    keys(&mut s, &km, "E");
    let term = draw(&mut s, 80, 24);
    find(&term, "unknown field `docker_sockett`");
    // With nothing kept, E says so.
    let (mut s, km) = fixtures::dashboard();
    keys(&mut s, &km, "E");
    assert_eq!(s.mode, Mode::Normal);
    assert!(
        s.flash
            .as_ref()
            .is_some_and(|f| f.text.contains("no errors"))
    );
}

#[test]
fn small_edges_prompt_shell_palette() {
    // The quit prompt does not keep an old flash beside it.
    let (mut s, km) = fixtures::dashboard();
    replay(&mut s, &km, fixtures::running());
    keys(&mut s, &km, "s");
    keys(&mut s, &km, "n");
    assert!(s.flash.as_ref().is_some_and(|f| f.text == "cancelled"));
    keys(&mut s, &km, "q");
    assert!(s.flash.is_none(), "{:?}", s.flash);
    let term = draw(&mut s, 80, 24);
    let status = rows(&term).pop().expect("status line");
    assert!(!status.contains("cancelled"), "{status}");
    assert!(status.contains("quit anyway? (y/n)"), "{status}");

    // `e` with no build open says why nothing happened.
    let (mut s, km) = fixtures::dashboard();
    keys(&mut s, &km, "j");
    assert!(s.build().is_none());
    assert!(keys(&mut s, &km, "e").is_empty());
    assert!(
        s.flash
            .as_ref()
            .is_some_and(|f| f.text.starts_with("no build open")),
        "{:?}",
        s.flash
    );

    // `:` lists the matching project names on the prompt; tab completes the highlighted one.
    let (mut s, km) = fixtures::dashboard();
    keys(&mut s, &km, ":ap");
    let term = draw(&mut s, 120, 32);
    let status = rows(&term).pop().expect("status line");
    assert!(
        status.contains(":ap▏ api · api-prod  tab complete"),
        "{status}"
    );
    send(&mut s, &km, Msg::Key(Key::new(KeyCode::Down)));
    send(&mut s, &km, Msg::Key(Key::new(KeyCode::Tab)));
    assert!(
        matches!(&s.mode, Mode::Palette { query, .. } if query == "api-prod"),
        "{:?}",
        s.mode
    );
}

#[test]
fn r_on_a_local_project_opens_the_run_form_prefilled_and_emits_start_local() {
    let (mut s, km) = fixtures::dashboard();
    replay(&mut s, &km, running_with_socket());
    replay(&mut s, &km, vec![(30, finished(Status::Failed))]);
    assert!(keys(&mut s, &km, "R").is_empty(), "R opens the form");
    let Mode::RunForm(form) = &s.mode else {
        panic!("{:?}", s.mode)
    };
    assert_eq!(
        form.image, "aws/codebuild/standard:7.0",
        "the last build's image"
    );
    assert_eq!(form.docker, DockerAccess::HostSocket, "and its Docker mode");
    let term = draw(&mut s, 80, 24);
    insta::assert_snapshot!("run_form_80x24", masked(&term));

    // Unchanged and submitted: a plain fresh build (nothing overridden).
    let fx = send(&mut s, &km, Msg::Key(Key::new(KeyCode::Enter)));
    assert_eq!(
        fx,
        vec![Effect::StartLocal {
            project: local("api"),
            overrides: LocalOverrides::default(),
        }]
    );

    // Another Docker mode, two variables (comma or space), saved.
    replay(&mut s, &km, vec![(40, started_again())]);
    replay(&mut s, &km, vec![(50, finished(Status::Failed))]);
    keys(&mut s, &km, "R");
    let tab = || Msg::Key(Key::new(KeyCode::Tab));
    send(&mut s, &km, tab());
    keys(&mut s, &km, " ");
    send(&mut s, &km, tab());
    keys(&mut s, &km, "A=1, B=x=y C=3");
    send(&mut s, &km, tab());
    keys(&mut s, &km, " ");
    send(&mut s, &km, tab());
    keys(&mut s, &km, " ");
    let fx = send(&mut s, &km, Msg::Key(Key::new(KeyCode::Enter)));
    assert_eq!(
        fx,
        vec![Effect::StartLocal {
            project: local("api"),
            overrides: LocalOverrides {
                image: Some("aws/codebuild/standard:7.0".into()),
                docker: Some(DockerAccess::Privileged),
                env: vec![
                    ("A".into(), "1".into()),
                    ("B".into(), "x=y".into()),
                    ("C".into(), "3".into()),
                ],
                debug: true,
                save: true,
            },
        }]
    );

    // A bad variable keeps the form open and says why.
    keys(&mut s, &km, "R");
    send(&mut s, &km, tab());
    send(&mut s, &km, tab());
    keys(&mut s, &km, "oops");
    assert!(send(&mut s, &km, Msg::Key(Key::new(KeyCode::Enter))).is_empty());
    assert!(matches!(s.mode, Mode::RunForm(_)));
    assert!(
        s.flash
            .as_ref()
            .is_some_and(|f| f.text.contains("'oops' is not NAME=VALUE"))
    );
}

fn started_again() -> BuildEvent {
    BuildEvent::Started {
        build_id: id(),
        project: "api".into(),
        backend: BackendKind::Local,
        image: "aws/codebuild/standard:7.0".into(),
        docker: DockerAccess::HostSocket,
        batch: None,
        at: t(40),
    }
}

#[test]
fn before_any_build_the_run_form_starts_from_the_projects_settings() {
    let (mut s, km) = fixtures::dashboard();
    send(
        &mut s,
        &km,
        Msg::Settings {
            project: local("api"),
            image: "cbdash-test/base:2".into(),
            docker: DockerAccess::HostSocket,
        },
    );
    keys(&mut s, &km, "R");
    let Mode::RunForm(form) = &s.mode else {
        panic!("{:?}", s.mode)
    };
    assert_eq!(
        (form.image.as_str(), form.docker),
        ("cbdash-test/base:2", DockerAccess::HostSocket)
    );
    // Unchanged and submitted: nothing overridden, the file's settings apply.
    let fx = send(&mut s, &km, Msg::Key(Key::new(KeyCode::Enter)));
    assert_eq!(
        fx,
        vec![Effect::StartLocal {
            project: local("api"),
            overrides: LocalOverrides::default(),
        }]
    );
}
