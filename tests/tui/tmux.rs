//! End to end in a real terminal: `cbdash` runs in a detached tmux session (120x32), driven
//! with `send-keys` and read with `capture-pane`. Checks the first screen, the help overlay,
//! the palette, that a build request reaches the driver, and that quitting leaves the
//! alternate screen with the shell prompt back.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::common::cbdash_bin;

pub(super) struct Tmux {
    socket: String,
}

impl Tmux {
    /// A detached 120x32 session running a bare bash (prompt `READY$ `) in `cwd`, with only
    /// `env` (plus PATH and TERM) in its environment; returns once the prompt is up.
    pub(super) fn open(cwd: &Path, env: &[(&str, String)]) -> Self {
        let tmux = Self {
            socket: format!(
                "cbdash-test-{}-{}",
                std::process::id(),
                cwd.file_name()
                    .map(|n| n.to_string_lossy())
                    .unwrap_or_default()
            ),
        };
        let vars: Vec<String> = env.iter().map(|(k, v)| format!("{k}='{v}'")).collect();
        let shell = format!(
            "env -i PATH=/usr/local/bin:/usr/bin:/bin TERM=xterm-256color {} PS1='READY$ ' bash --norc --noprofile",
            vars.join(" ")
        );
        let out = tmux.cmd(&[
            "new-session",
            "-d",
            "-s",
            "t",
            "-x",
            "120",
            "-y",
            "32",
            "-c",
            &cwd.to_string_lossy(),
            &shell,
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        tmux.wait("the prompt", |s| s.contains("READY$"));
        tmux
    }

    /// Waits until the program in the pane has exited and bash is in front again.
    pub(super) fn wait_for_shell(&self) {
        let start = Instant::now();
        loop {
            let out = self.cmd(&[
                "display-message",
                "-p",
                "-t",
                "t",
                "#{pane_current_command}",
            ]);
            if String::from_utf8_lossy(&out.stdout).trim() == "bash" {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "cbdash did not exit"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn cmd(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("run tmux")
    }

    pub(super) fn screen(&self) -> String {
        String::from_utf8_lossy(&self.cmd(&["capture-pane", "-p", "-t", "t"]).stdout).into_owned()
    }

    pub(super) fn alternate_on(&self) -> bool {
        let out = self.cmd(&["display-message", "-p", "-t", "t", "#{alternate_on}"]);
        String::from_utf8_lossy(&out.stdout).trim() == "1"
    }

    pub(super) fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "t"];
        args.extend_from_slice(keys);
        assert!(self.cmd(&args).status.success());
    }

    /// Waits until the screen satisfies `pred`; panics with the screen after 15 s.
    pub(super) fn wait(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if pred(&s) {
                return s;
            }
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "timed out waiting for {what}; screen:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd(&["kill-server"]);
    }
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).expect("write fixture");
}

#[test]
#[allow(clippy::too_many_lines)] // one end-to-end scenario, step by step, reads best in one place
fn dashboard_in_tmux_runs_a_build_searches_and_restores_the_terminal() {
    if Command::new("tmux").arg("-V").output().is_err() {
        assert!(!crate::common::in_ci(), "tmux is required in CI");
        eprintln!("SKIPPED: tmux is not installed");
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
    let tmux = Tmux::open(
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
    tmux.wait_for_shell();
    // No container is left behind.
    let ps = Command::new("docker")
        .args([
            "ps",
            "-aq",
            "--filter",
            &format!("label=cbdash.project={name}"),
        ])
        .output()
        .expect("docker ps");
    assert!(
        String::from_utf8_lossy(&ps.stdout).trim().is_empty(),
        "containers left: {}",
        String::from_utf8_lossy(&ps.stdout)
    );
}
