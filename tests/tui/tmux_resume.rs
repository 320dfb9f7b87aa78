//! Issue 7 in a real terminal: a local build fails in the dashboard; `e` suspends the
//! dashboard and opens a shell in the kept container, in the failed phase's state, and `exit`
//! comes back; the source is fixed on the host and `r` resumes the build in place (BUILD
//! attempt 2) to success; quitting leaves no container.

use std::time::Duration;

use crate::common::cbdash_bin;
use crate::common::tmux::Tmux;

#[test]
fn dashboard_in_tmux_resumes_a_fixed_build_and_opens_a_shell() {
    if !Tmux::available() {
        return;
    }
    let Some(image) = crate::common::require("CBDASH_TEST_IMAGE") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let project = dir.path().join("fixme");
    std::fs::create_dir(&project).expect("mkdir");
    let name = format!("tui-resume-{}", std::process::id());
    for (file, text) in [
        (
            "buildspec.yml",
            "version: 0.2\nphases:\n  pre_build:\n    commands:\n      - export FROM_PRE=pre-value\n  build:\n    commands:\n      - echo checking\n      - sh check.sh\n",
        ),
        ("check.sh", "echo still broken; exit 1\n"),
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
        "resume",
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
    tmux.wait("the failed build", |s| {
        s.contains("✘ FAILED") && s.contains("still broken")
    });

    // `e`: the dashboard steps aside for a shell in the kept container.
    tmux.keys(&["e"]);
    let s = tmux.wait("the shell", |s| s.contains("[cbdash BUILD]"));
    assert!(!tmux.alternate_on(), "the dashboard left the screen:\n{s}");
    tmux.keys(&["echo \"IN=$FROM_PRE\"", "Enter"]);
    tmux.wait("the phase's variables", |s| s.contains("IN=pre-value"));
    tmux.keys(&["exit", "Enter"]);
    let s = tmux.wait("the dashboard again", |s| s.contains("Projects"));
    assert!(tmux.alternate_on(), "back on the alternate screen:\n{s}");

    // The fix, on the host; `r` resumes BUILD in place.
    std::fs::write(project.join("check.sh"), "echo fixed now\n").expect("write");
    tmux.keys(&["r"]);
    let s = tmux.wait("the resumed build", |s| {
        s.contains("✔ SUCCEEDED") && s.contains("fixed now")
    });
    assert!(
        s.lines().any(|l| l.contains("BUILD") && l.contains("#2")),
        "BUILD shows attempt 2:\n{s}"
    );
    assert!(
        s.lines()
            .any(|l| l.contains("BUILD") && l.contains("#1") && l.contains("FAILED")),
        "the failed attempt stays:\n{s}"
    );

    tmux.keys(&["q"]);
    tmux.wait("the shell prompt again", |s| {
        s.contains("READY$") && !s.contains("Projects")
    });
    tmux.wait_command("bash", Duration::from_secs(30));
    let left = crate::common::containers_of_project(&name);
    assert!(left.is_empty(), "containers left: {left}");
}
