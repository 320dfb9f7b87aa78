//! A real terminal for end-to-end tests: a private tmux server (its own `-L` socket) with one
//! detached session `t`, driven with `send-keys` and read with `capture-pane`. The server is
//! killed when the handle drops.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// A private tmux server.
pub struct Tmux {
    pub socket: String,
}

impl Tmux {
    /// Whether tmux is installed; outside CI a missing tmux skips the test loudly.
    pub fn available() -> bool {
        if Command::new("tmux").arg("-V").output().is_ok() {
            return true;
        }
        assert!(!super::in_ci(), "tmux is required in CI");
        eprintln!("SKIPPED: tmux is not installed");
        false
    }

    /// The shell the tests drive: bash without rc files under `env -i`, so only `PATH`, `TERM`
    /// and `vars` are set, and the prompt is `READY$ ` (what a test waits for).
    pub fn clean_shell(vars: &[(&str, String)]) -> String {
        let vars: Vec<String> = vars
            .iter()
            .map(|(k, v)| format!("{k}='{}'", v.replace('\'', r"'\''")))
            .collect();
        format!(
            "env -i PATH=/usr/local/bin:/usr/bin:/bin TERM=xterm-256color {} PS1='READY$ ' \
             bash --norc --noprofile",
            vars.join(" ")
        )
    }

    /// The variables of a dashboard test whose home and history live in `home` (a temporary
    /// directory), talking to the Docker daemon at `docker_host`.
    pub fn isolated_vars(home: &Path, docker_host: String) -> [(&'static str, String); 3] {
        [
            ("HOME", home.display().to_string()),
            ("DOCKER_HOST", docker_host),
            (
                "CBDASH_HISTORY",
                home.join("history.sqlite").display().to_string(),
            ),
        ]
    }

    /// [`Tmux::start`] with [`Tmux::clean_shell`], once its prompt shows.
    pub fn shell(name: &str, dir: &Path, vars: &[(&str, String)]) -> Self {
        let tmux = Self::start(name, dir, &Self::clean_shell(vars));
        tmux.wait("the prompt", |s| s.contains("READY$"));
        tmux
    }

    /// A new server named after `name` and this process, with a 120x32 session `t` running
    /// `shell` in `dir`.
    pub fn start(name: &str, dir: &Path, shell: &str) -> Self {
        let tmux = Self {
            socket: format!("cbdash-{name}-{}", std::process::id()),
        };
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
            &dir.to_string_lossy(),
            shell,
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        tmux
    }

    pub fn cmd(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("run tmux")
    }

    /// The visible screen.
    pub fn screen(&self) -> String {
        String::from_utf8_lossy(&self.cmd(&["capture-pane", "-p", "-t", "t"]).stdout).into_owned()
    }

    /// A `#{...}` format of the pane (`pane_title`, `alternate_on`, ...).
    pub fn format(&self, format: &str) -> String {
        let out = self.cmd(&["display-message", "-p", "-t", "t", format]);
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    pub fn alternate_on(&self) -> bool {
        self.format("#{alternate_on}") == "1"
    }

    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "t"];
        args.extend_from_slice(keys);
        assert!(self.cmd(&args).status.success());
    }

    /// Waits until the screen satisfies `pred`; panics with the screen after 15 s.
    pub fn wait(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        self.wait_for(what, Duration::from_secs(15), pred)
    }

    /// Waits up to `limit` until the screen satisfies `pred`; panics with the screen after.
    pub fn wait_for(&self, what: &str, limit: Duration, pred: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if pred(&s) {
                return s;
            }
            assert!(
                start.elapsed() < limit,
                "timed out waiting for {what}; screen:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until the pane's foreground command is `name` again (the program exited).
    pub fn wait_command(&self, name: &str, limit: Duration) {
        let start = Instant::now();
        while self.format("#{pane_current_command}") != name {
            assert!(
                start.elapsed() < limit,
                "the pane still runs {}",
                self.format("#{pane_current_command}")
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
