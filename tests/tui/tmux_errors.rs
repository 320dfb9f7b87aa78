//! Errors in full on the real binary (tmux, 80x24): a bad `.cbdash.toml` and an invalid
//! buildspec flash their first line with "E details", and `E` shows the whole error (the file's
//! key with "did you mean", the buildspec's `file:line:col`). Needs no Docker: both are refused
//! before a build starts.

use crate::common::cbdash_bin;
use crate::common::tmux::Tmux;

#[test]
fn a_bad_project_file_and_an_invalid_buildspec_are_shown_in_full() {
    if !Tmux::available() {
        return;
    }
    let home = tempfile::tempdir().expect("tempdir");
    let project = home.path().join("web");
    std::fs::create_dir(&project).expect("mkdir");
    std::fs::write(
        project.join("buildspec.yml"),
        "version: 0.2\nphases:\n  build:\n    commands:\n      - echo hi\n",
    )
    .expect("buildspec");
    std::fs::write(
        project.join(".cbdash.toml"),
        "image = \"img\"\ndocker_sockett = true\n",
    )
    .expect("project file");
    let tmux = Tmux::shell(
        "errors",
        home.path(),
        &Tmux::isolated_vars(home.path(), "unix:///nonexistent.sock".to_owned()),
    );
    tmux.cmd(&["resize-window", "-t", "t", "-x", "80", "-y", "24"]);
    tmux.keys(&[&cbdash_bin().to_string_lossy(), "Enter"]);
    tmux.wait("the dashboard", |s| s.contains("Projects"));
    tmux.keys(&["r"]);
    let s = tmux.wait("the error's flash", |s| s.contains("E details"));
    let status = s.lines().last().unwrap_or_default().to_owned();
    assert!(status.contains("E details"), "{status}");
    tmux.keys(&["E"]);
    let s = tmux.wait("the messages overlay", |s| {
        s.contains("Messages, newest first")
    });
    assert!(s.contains("docker_sockett"), "{s}");
    assert!(s.contains("did you mean"), "the hint is not cut: {s}");
    tmux.keys(&["Escape"]);
    tmux.wait("the overlay closed", |s| {
        !s.contains("Messages, newest first")
    });

    // An invalid buildspec: its file:line:col and snippet are in the overlay.
    std::fs::write(project.join(".cbdash.toml"), "image = \"img\"\n").expect("project file");
    std::fs::write(
        project.join("buildspec.yml"),
        "version: 0.2\nphases:\n  build:\n    commands:\n      - echo: hi\n",
    )
    .expect("buildspec");
    tmux.keys(&["r"]);
    tmux.wait("the buildspec's flash", |s| {
        s.lines()
            .last()
            .is_some_and(|l| l.contains("buildspec") && l.contains("E details"))
    });
    tmux.keys(&["E"]);
    let s = tmux.wait("the buildspec error in full", |s| {
        s.contains("Messages, newest first") && s.contains("buildspec.yml:5:")
    });
    assert!(s.contains("echo: hi"), "the snippet: {s}");
    tmux.keys(&["Escape"]);
    tmux.wait("the overlay closed", |s| {
        !s.contains("Messages, newest first")
    });
    tmux.keys(&["q"]);
    tmux.wait("the shell back", |s| s.contains("READY$"));
}
