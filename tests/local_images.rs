//! CodeBuild's image names given to `cbdash run` (`--image` or `.cbdash.toml`): one AWS
//! publishes runs as its public image; one it does not stops the run before any container,
//! with what to do. On the real daemon, offline (nothing is pulled).

use std::process::Command;

use crate::common::tmux::Tmux;
use crate::common::{cbdash_bin, containers_of_project};
use crate::local_harness::{image, parse, project};

const SPEC: &str = "version: 0.2\nphases:\n  build:\n    commands:\n      - echo hi\n";

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
}

fn present(image: &str) -> bool {
    Command::new("docker")
        .args(["image", "inspect", image])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn an_unpublished_codebuild_image_stops_the_run_before_any_container() {
    let Some(_) = image() else { return };
    let curated = "aws/codebuild/standard:7.0";
    assert!(
        !present(curated),
        "{curated} is on this machine: this test needs it absent"
    );
    // Named on the command line, then in the project's config.
    for via_config in [false, true] {
        let name = unique("img-std7");
        let image_line = if via_config {
            format!("image = \"{curated}\"\n")
        } else {
            String::new()
        };
        let config = format!("name = \"{name}\"\n{image_line}");
        let dir = project(&[("buildspec.yml", SPEC), (".cbdash.toml", &config)]);
        let mut cmd = Command::new(cbdash_bin());
        cmd.arg("run").arg(dir.path()).arg("--plain");
        if !via_config {
            cmd.args(["--image", curated]);
        }
        let out = cmd.output().expect("run cbdash");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(2),
            "stdout:\n{stdout}\nstderr:\n{stderr}"
        );
        for want in [
            "'aws/codebuild/standard:7.0' is a CodeBuild image that exists only inside CodeBuild",
            "--image NAME",
            "git clone https://github.com/aws/aws-codebuild-docker-images",
            "docker build -t aws/codebuild/standard:7.0 aws-codebuild-docker-images/ubuntu/standard/7.0",
        ] {
            assert!(stderr.contains(want), "{want} missing:\n{stderr}");
        }
        assert!(
            !stdout.contains("PROVISIONING"),
            "no build started: {stdout}"
        );
        assert_eq!(containers_of_project(&name), "", "no container was created");
    }
}

#[test]
fn a_published_codebuild_image_runs_as_the_public_image() {
    let Some(_) = image() else { return };
    let curated = "aws/codebuild/amazonlinux-x86_64-standard:4.0";
    let public = "public.ecr.aws/codebuild/amazonlinux-x86_64-standard:4.0";
    let name = unique("img-al4");
    let dir = project(&[
        ("buildspec.yml", SPEC),
        (".cbdash.toml", &format!("name = \"{name}\"\n")),
    ]);
    // Offline the public image cannot be pulled: with --pull never the run names it.
    let out = Command::new(cbdash_bin())
        .arg("run")
        .arg(dir.path())
        .args(["--json", "--image", curated, "--pull", "never"])
        .output()
        .expect("run cbdash");
    let r = parse(&out);
    assert_eq!(r.of("build_started")[0]["image"], public, "{}", r.dump());
    let agent = r.lines().join("\n");
    assert!(
        agent.contains(&format!("Image {curated} is CodeBuild's name for {public}")),
        "{agent}"
    );
    if present(public) {
        assert_eq!(r.status(), "SUCCEEDED", "{}", r.dump());
    } else {
        assert_eq!(r.status(), "FAULT", "{}", r.dump());
        let message = r.finished("PROVISIONING")["context"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert_eq!(
            message,
            format!("image {public} is not present locally and --pull never was given")
        );
    }
}

/// On a terminal the name is refused before the dashboard opens: the message is on the
/// shell's screen and the exit code is 2.
#[test]
fn on_a_terminal_an_unpublished_image_is_refused_before_the_dashboard() {
    let (Some(docker_host), true) = (crate::common::require("DOCKER_HOST"), Tmux::available())
    else {
        return;
    };
    let home = tempfile::tempdir().expect("home");
    let name = unique("img-tty");
    let dir = project(&[
        ("buildspec.yml", SPEC),
        (".cbdash.toml", &format!("name = \"{name}\"\n")),
    ]);
    let tmux = Tmux::shell(
        "images",
        dir.path(),
        &Tmux::isolated_vars(home.path(), docker_host),
    );
    let line = format!(
        "{} run --image aws/codebuild/standard:7.0; echo \"exit=$?\"",
        cbdash_bin().display()
    );
    tmux.keys(&[&line, "Enter"]);
    // (The typed line holds `exit=` too: wait for the printed one.)
    let screen = tmux.wait("the exit code", |s| {
        s.lines().any(|l| l.starts_with("exit="))
    });
    assert!(screen.lines().any(|l| l == "exit=2"), "{screen}");
    assert!(screen.contains("ubuntu/standard/7.0"), "{screen}");
    assert!(!tmux.alternate_on(), "the dashboard is not open");
    assert_eq!(containers_of_project(&name), "");
}
