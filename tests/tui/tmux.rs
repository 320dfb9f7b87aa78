//! End to end in a real terminal: `cbdash` runs in a detached tmux session (120x32), driven
//! with `send-keys` and read with `capture-pane`. Checks the first screen, the help overlay,
//! the palette, that a build request reaches the driver, and that quitting leaves the
//! alternate screen with the shell prompt back.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::common::cbdash_bin;

struct Tmux {
    socket: String,
}

impl Tmux {
    fn cmd(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("run tmux")
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.cmd(&["capture-pane", "-p", "-t", "t"]).stdout).into_owned()
    }

    fn alternate_on(&self) -> bool {
        let out = self.cmd(&["display-message", "-p", "-t", "t", "#{alternate_on}"]);
        String::from_utf8_lossy(&out.stdout).trim() == "1"
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "t"];
        args.extend_from_slice(keys);
        assert!(self.cmd(&args).status.success());
    }

    /// Waits until the screen satisfies `pred`; panics with the screen after 15 s.
    fn wait(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
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
fn dashboard_in_tmux_opens_navigates_and_restores_the_terminal() {
    if Command::new("tmux").arg("-V").output().is_err() {
        assert!(!crate::common::in_ci(), "tmux is required in CI");
        eprintln!("SKIPPED: tmux is not installed");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let project = dir.path().join("demo");
    std::fs::create_dir(&project).expect("mkdir");
    write(
        &project.join("buildspec.yml"),
        "version: 0.2\nphases:\n  build:\n    commands:\n      - echo hi\n",
    );
    write(&project.join(".cbdash.toml"), "name = \"demo\"\n");
    let config = dir.path().join("config.toml");
    write(
        &config,
        "[[cloud]]\nprofile = \"prod\"\nregion = \"eu-west-1\"\nprojects = [\"api-prod\", \"nightly\"]\n",
    );
    let tmux = Tmux {
        socket: format!("cbdash-test-{}", std::process::id()),
    };
    let shell = format!(
        "env -i PATH=/usr/bin:/bin TERM=xterm-256color HOME={home} CBDASH_CONFIG={config} PS1='READY$ ' bash --norc --noprofile",
        home = dir.path().display(),
        config = config.display(),
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
        &project.to_string_lossy(),
        &shell,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    tmux.wait("the prompt", |s| s.contains("READY$"));
    tmux.keys(&[&cbdash_bin().to_string_lossy(), "Enter"]);

    let s = tmux.wait("the dashboard", |s| s.contains("Projects"));
    assert!(
        tmux.alternate_on(),
        "the dashboard draws on the alternate screen"
    );
    assert!(s.contains("Local") && s.contains("demo"), "{s}");
    assert!(
        s.contains("Cloud prod/eu-west-1") && s.contains("api-prod"),
        "{s}"
    );
    assert!(s.contains("no build yet"), "{s}");

    tmux.keys(&["?"]);
    tmux.wait("help", |s| {
        s.contains("Keys") && s.contains("half page down")
    });
    tmux.keys(&["Escape"]);
    tmux.wait("help closed", |s| !s.contains("half page down"));

    tmux.keys(&[":", "night", "Enter"]);
    tmux.wait("nightly selected", |s| s.contains("nightly: no build yet"));
    tmux.keys(&["1", "r"]);
    // The request reached the driver, which answers on the status line.
    tmux.wait("the driver's answer", |s| {
        s.contains("backend") || s.contains("starting demo")
    });

    tmux.keys(&["q"]);
    let s = tmux.wait("the shell prompt again", |s| {
        s.contains("READY$") && !s.contains("Projects")
    });
    assert!(!tmux.alternate_on(), "alternate screen left:\n{s}");
}
