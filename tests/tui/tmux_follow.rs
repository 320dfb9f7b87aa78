//! Following a build's log in the real binary (tmux): the last line stays on the bottom row
//! of the log pane at 80x24, after a resize to 200x50, with wrapping and timestamps; the
//! legacy docker builder's `\r\r` context line is shown, not a blank row.

use std::path::Path;
use std::time::Duration;

use crate::common::cbdash_bin;
use crate::common::tmux::Tmux;

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).expect("write fixture");
}

/// The log pane's bottom row: the screen's third line from the end (then the pane's border,
/// then the status line).
fn bottom_log_row(screen: &str) -> String {
    let lines: Vec<&str> = screen.lines().collect();
    let row = lines.len().checked_sub(3).map_or("", |i| lines[i]);
    row.trim_end().trim_end_matches('│').trim_end().to_owned()
}

#[test]
fn following_keeps_the_last_line_on_the_bottom_row_through_resizes() {
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
    // 150 lines, every seventh longer than a wide screen, docker's context line, and a long
    // last line that ends with END (the build then waits, so the agent adds no line after it).
    write(
        &project.join("buildspec.yml"),
        r#"version: 0.2
phases:
  build:
    commands:
      - i=1; while [ $i -le 150 ]; do if [ $((i % 7)) -eq 0 ]; then printf 'line %d %0230d\n' $i 0; else echo "line $i"; fi; i=$((i+1)); done
      - printf 'Sending build context to Docker daemon  5.12kB\r\r\n'
      - printf 'last line %0120d END\n' 0; sleep 300
"#,
    );
    let name = format!("tui-follow-{}", std::process::id());
    write(
        &project.join(".cbdash.toml"),
        &format!("name = \"{name}\"\nimage = \"{image}\"\n"),
    );
    let vars = Tmux::isolated_vars(dir.path(), docker_host);
    let tmux = Tmux::shell("follow", &project, &vars);
    assert!(
        tmux.cmd(&["resize-window", "-t", "t", "-x", "80", "-y", "24"])
            .status
            .success()
    );
    tmux.keys(&[&cbdash_bin().to_string_lossy(), "Enter"]);
    tmux.wait("the dashboard", |s| s.contains("Projects"));
    tmux.keys(&["r"]);
    let limit = Duration::from_mins(2);
    let s = tmux.wait_for("the build's last line at 80x24", limit, |s| {
        bottom_log_row(s).contains("last line 000")
    });
    assert!(s.contains("follow"), "{s}");

    tmux.keys(&["W"]);
    tmux.wait("wrapped: the end of the last line at the bottom", |s| {
        bottom_log_row(s).ends_with("END")
    });
    tmux.keys(&["t"]);
    let stamped = regex::Regex::new(r"│\d\d:\d\d:\d\d last line 0").expect("regex");
    let s = tmux.wait("timestamps: still at the bottom", |s| {
        bottom_log_row(s).ends_with("END") && stamped.is_match(s)
    });
    assert!(!s.contains("+00:"), "{s}");

    assert!(
        tmux.cmd(&["resize-window", "-t", "t", "-x", "200", "-y", "50"])
            .status
            .success()
    );
    let s = tmux.wait("200x50: the last line at the bottom", |s| {
        s.lines().count() == 50 && bottom_log_row(s).ends_with("END")
    });
    assert!(
        s.contains("Sending build context to Docker daemon  5.12kB"),
        "{s}"
    );
    tmux.keys(&["W"]);
    tmux.wait("200x50 unwrapped: the last line at the bottom", |s| {
        bottom_log_row(s).contains("last line 000")
    });

    tmux.keys(&["q"]);
    tmux.wait("the quit prompt", |s| s.contains("quit anyway?"));
    tmux.keys(&["y"]);
    tmux.wait("the shell prompt again", |s| {
        s.contains("READY$") && !s.contains("Projects")
    });
    tmux.wait_command("bash", Duration::from_mins(1));
}
