//! The main use case of the guide, from the bare dashboard: a project whose `.cbdash.toml`
//! says `docker_socket = true` runs its `docker build` with `r`, and the layer-cache panel
//! shows the image's steps. Then `R` opens the run form, whose "save" writes the chosen Docker
//! access back into the file. In a real terminal (tmux, 80x24 as a new user's).

use crate::common::cbdash_bin;
use crate::common::tmux::Tmux;

#[test]
fn docker_socket_from_the_project_file_runs_docker_build_and_fills_the_cache_panel() {
    if !Tmux::available() {
        return;
    }
    let Some(image) = crate::common::require("CBDASH_TEST_IMAGE") else {
        return;
    };
    let docker_host = std::env::var("DOCKER_HOST").unwrap_or_default();
    let home = tempfile::tempdir().expect("tempdir");
    let project = home.path().join("web");
    std::fs::create_dir(&project).expect("mkdir");
    let tag = format!("cbdash-tmux-docker-{}:latest", std::process::id());
    let files = [
        (
            "Dockerfile",
            format!("FROM {image}\nRUN echo one > /one\nCOPY buildspec.yml /b.yml\n"),
        ),
        (
            "buildspec.yml",
            format!(
                "version: 0.2\nphases:\n  build:\n    commands:\n      - docker build -t {tag} .\n"
            ),
        ),
        (
            ".cbdash.toml",
            format!("image = \"{image}\"\ndocker_socket = true\n"),
        ),
    ];
    for (name, text) in &files {
        std::fs::write(project.join(name), text).expect("write fixture");
    }
    let tmux = Tmux::shell(
        "docker",
        home.path(),
        &Tmux::isolated_vars(home.path(), docker_host),
    );
    tmux.cmd(&["resize-window", "-t", "t", "-x", "80", "-y", "24"]);
    tmux.keys(&[&cbdash_bin().to_string_lossy(), "Enter"]);
    tmux.wait("the dashboard", |s| s.contains("web"));
    tmux.keys(&["r"]);
    let s = tmux.wait_for(
        "the docker build to succeed",
        std::time::Duration::from_secs(90),
        |s| s.contains("✔ SUCCEEDED") && s.contains("Layer cache"),
    );
    assert!(s.contains("cbdash-tmux-docker"), "the image's report: {s}");
    assert!(s.contains("cached"), "{s}");
    // The title says how the build reached Docker (compact when the image name is long).
    assert!(
        s.contains("· docker: host socket ·") || s.contains("· docker sock ·"),
        "the title: {s}"
    );
    // R opens the run form, prefilled with what that build used.
    tmux.keys(&["R"]);
    let s = tmux.wait("the run form", |s| s.contains("Run web"));
    assert!(s.contains(&format!("image: {image}")), "{s}");
    assert!(s.contains("host socket"), "{s}");
    tmux.keys(&["Escape"]);
    tmux.wait("the form closed", |s| !s.contains("Run web"));
    tmux.keys(&["q"]);
    tmux.wait("the shell back", |s| s.contains("READY$"));
    let _ = std::process::Command::new("docker")
        .args(["rmi", "-f", &tag])
        .output();
}
