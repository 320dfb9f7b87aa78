//! End to end in a real terminal: `cbdash` runs in a detached tmux session (120x32), driven
//! with `send-keys` and read with `capture-pane`. Checks the first screen, the help overlay,
//! the palette, that a build request reaches the driver, and that quitting leaves the
//! alternate screen with the shell prompt back.

use std::path::Path;
use std::time::Duration;

use crate::common::cbdash_bin;
use crate::common::tmux::Tmux;

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).expect("write fixture");
}

#[test]
#[allow(clippy::too_many_lines)] // one end-to-end scenario, step by step, reads best in one place
fn dashboard_in_tmux_runs_a_build_searches_and_restores_the_terminal() {
    if !Tmux::available() {
        return;
    }
    let Some(image) = crate::common::require("CBDASH_TEST_IMAGE") else {
        return;
    };
    let docker_host = std::env::var("DOCKER_HOST").unwrap_or_default();
    let dir = tempfile::tempdir().expect("tempdir");
    let project = dir.path().join("demo");
    std::fs::create_dir(&project).expect("mkdir");
    write(
        &project.join("buildspec.yml"),
        "version: 0.2\nphases:\n  build:\n    commands:\n      - echo about to fail\n      - exit 3\n  post_build:\n    commands:\n      - echo post build ran\n",
    );
    let name = format!("tui-tmux-{}", std::process::id());
    write(
        &project.join(".cbdash.toml"),
        &format!("name = \"{name}\"\nimage = \"{image}\"\n"),
    );
    let config = dir.path().join("config.toml");
    write(
        &config,
        "[[cloud]]\nprofile = \"prod\"\nregion = \"eu-west-1\"\nprojects = [\"api-prod\", \"nightly\"]\n",
    );
    let tmux = Tmux::shell(
        "test",
        &project,
        &[
            ("HOME", dir.path().display().to_string()),
            ("DOCKER_HOST", docker_host),
            ("CBDASH_CONFIG", config.display().to_string()),
        ],
    );
    tmux.keys(&[&cbdash_bin().to_string_lossy(), "Enter"]);

    let s = tmux.wait("the dashboard", |s| s.contains("Projects"));
    assert!(
        tmux.alternate_on(),
        "the dashboard draws on the alternate screen"
    );
    assert!(s.contains("Local") && s.contains(&name), "{s}");
    assert!(
        s.contains("Cloud prod/eu-west-1") && s.contains("api-prod"),
        "{s}"
    );

    tmux.keys(&["?"]);
    tmux.wait("help", |s| {
        s.contains("Keys") && s.contains("half page down")
    });
    tmux.keys(&["Escape"]);
    tmux.wait("help closed", |s| !s.contains("half page down"));

    // A real build on the Docker daemon: BUILD fails, POST_BUILD still runs.
    tmux.keys(&["r"]);
    let s = tmux.wait("the failed build", |s| {
        s.contains("✘ FAILED") && s.contains("post build ran")
    });
    assert!(
        s.contains("BUILD") && s.contains("COMMAND_EXECUTION_ERROR"),
        "{s}"
    );

    // Search the log.
    tmux.keys(&["l", "/about", "Enter"]);
    tmux.wait("the search", |s| {
        s.contains("/about") && s.contains("about to fail")
    });
    tmux.keys(&["&"]);
    tmux.wait("the filter", |s| s.contains("only 'about'"));

    tmux.keys(&["q"]);
    let s = tmux.wait("the shell prompt again", |s| {
        s.contains("READY$") && !s.contains("Projects")
    });
    assert!(!tmux.alternate_on(), "alternate screen left:\n{s}");

    // cbdash exits once its build has cleaned up: wait for the shell to be in front again.
    tmux.wait_command("bash", Duration::from_secs(30));
    // No container is left behind.
    let left = crate::common::containers_of_project(&name);
    assert!(left.is_empty(), "containers left: {left}");
}
