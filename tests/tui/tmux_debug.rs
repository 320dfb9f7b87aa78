//! Issue 18 in a real terminal: a local build paused at `codebuild-breakpoint` shows
//! `⏸ paused at breakpoint` in the dashboard; `e` suspends the dashboard for a shell in the
//! build's state at the breakpoint, `codebuild-resume` there lets the build go on, `exit`
//! comes back, and the build finishes; quitting leaves no container.

use std::time::Duration;

use crate::common::cbdash_bin;
use crate::common::tmux::Tmux;

#[test]
fn dashboard_in_tmux_shows_a_pause_and_e_resumes_it_from_a_shell() {
    if !Tmux::available() {
        return;
    }
    let Some(image) = crate::common::require("CBDASH_TEST_IMAGE") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let project = dir.path().join("pausing");
    std::fs::create_dir(&project).expect("mkdir");
    let name = format!("tui-debug-{}", std::process::id());
    for (file, text) in [
        (
            "buildspec.yml",
            "version: 0.2\nphases:\n  build:\n    commands:\n      - cd /tmp; export AT_PAUSE=paused-value\n      - codebuild-breakpoint\n      - echo went on\n",
        ),
        (
            ".cbdash.toml",
            &format!("name = \"{name}\"\nimage = \"{image}\"\n"),
        ),
    ] {
        std::fs::write(project.join(file), text).expect("write");
    }
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "").expect("write");
    let tmux = Tmux::shell(
        "debug",
        &project,
        &[
            ("HOME", dir.path().display().to_string()),
            (
                "DOCKER_HOST",
                std::env::var("DOCKER_HOST").unwrap_or_default(),
            ),
            ("CBDASH_CONFIG", config.display().to_string()),
        ],
    );
    tmux.keys(&[&cbdash_bin().to_string_lossy(), "Enter"]);
    tmux.wait("the dashboard", |s| s.contains("Projects"));
    tmux.keys(&["r"]);
    tmux.wait("the pause", |s| s.contains("⏸ paused at breakpoint"));

    tmux.keys(&["e"]);
    let s = tmux.wait("the shell", |s| s.contains("breakpoint]"));
    assert!(!tmux.alternate_on(), "the dashboard left the screen:\n{s}");
    assert!(s.contains("at its breakpoint"), "{s}");
    tmux.keys(&["echo \"IN=$AT_PAUSE $(pwd)\"", "Enter"]);
    tmux.wait("the breakpoint's state", |s| {
        s.contains("IN=paused-value /tmp")
    });
    tmux.keys(&["codebuild-resume", "Enter"]);
    tmux.wait("the resume", |s| s.contains("the build goes on"));
    tmux.keys(&["exit", "Enter"]);
    let s = tmux.wait("the finished build", |s| {
        s.contains("✔ SUCCEEDED") && s.contains("went on")
    });
    assert!(
        !s.contains("paused at breakpoint"),
        "the pause line stays:\n{s}"
    );

    tmux.keys(&["q"]);
    tmux.wait("the shell prompt again", |s| {
        s.contains("READY$") && !s.contains("Projects")
    });
    tmux.wait_command("bash", Duration::from_secs(30));
    let left = crate::common::containers_of_project(&name);
    assert!(left.is_empty(), "containers left: {left}");
}
