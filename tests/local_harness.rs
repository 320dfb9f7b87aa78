//! Helpers for the local-engine suites: a throwaway project directory, running the `cbdash`
//! binary with `--json` against the test image, and reading its NDJSON back.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

use crate::common;

/// The test image, or `None` (skipped loudly) when the environment is not set up.
pub fn image() -> Option<String> {
    common::require("DOCKER_HOST")?;
    common::require("CBDASH_TEST_IMAGE")
}

/// A temporary project with these files.
pub fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("cbdash-local-")
        .tempdir()
        .expect("tempdir");
    for (name, text) in files {
        let p = dir.path().join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(p, text).expect("write");
    }
    dir
}

/// What one `cbdash run --json` printed.
pub struct Run {
    pub code: i32,
    pub events: Vec<Value>,
    pub stderr: String,
}

impl Run {
    /// Events of one type.
    pub fn of(&self, ty: &str) -> Vec<&Value> {
        self.events.iter().filter(|e| e["type"] == ty).collect()
    }

    /// The log lines (all streams), in order.
    pub fn lines(&self) -> Vec<String> {
        self.of("log")
            .iter()
            .map(|e| e["line"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// The stdout lines of command output.
    pub fn stdout(&self) -> Vec<String> {
        self.of("log")
            .iter()
            .filter(|e| e["stream"] == "stdout")
            .map(|e| e["line"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// `(phase, status, attempt)` of each finished phase.
    pub fn phases(&self) -> Vec<(String, String, u64)> {
        self.of("phase_finished")
            .iter()
            .map(|e| {
                (
                    e["phase"].as_str().unwrap_or_default().to_owned(),
                    e["status"].as_str().unwrap_or_default().to_owned(),
                    e["attempt"].as_u64().unwrap_or(0),
                )
            })
            .collect()
    }

    /// The status of a phase's last attempt.
    /// The first `phase_finished` event of `phase`; panics with the whole run when there is
    /// none.
    pub fn finished(&self, phase: &str) -> &Value {
        self.of("phase_finished")
            .into_iter()
            .find(|e| e["phase"] == phase)
            .unwrap_or_else(|| panic!("no phase_finished for {phase}:\n{}", self.dump()))
    }

    pub fn phase_status(&self, phase: &str) -> Option<String> {
        self.phases()
            .into_iter()
            .rev()
            .find(|(p, _, _)| p == phase)
            .map(|(_, s, _)| s)
    }

    /// The build's final status.
    pub fn status(&self) -> String {
        self.of("build_finished")
            .first()
            .and_then(|e| e["status"].as_str())
            .unwrap_or("<none>")
            .to_owned()
    }

    /// A readable dump for assertion messages.
    pub fn dump(&self) -> String {
        format!(
            "exit {}\nstderr: {}\nlog:\n{}",
            self.code,
            self.stderr,
            self.lines().join("\n")
        )
    }
}

/// Runs `cbdash run DIR --json --image IMAGE --pull never ARGS...`.
pub fn run(dir: &Path, image: &str, args: &[&str]) -> Run {
    let out = command(dir, image, args).output().expect("run cbdash");
    parse(&out)
}

/// The command, for tests that need to drive the process (signals).
pub fn command(dir: &Path, image: &str, args: &[&str]) -> Command {
    let mut c = Command::new(common::cbdash_bin());
    c.arg("run")
        .arg(dir)
        .args(["--json", "--image", image, "--pull", "never"])
        .args(args)
        .env("CBDASH_LOG_FILE", dir.join("cbdash-debug.log"));
    c
}

/// Parses an NDJSON stdout; every line must be a JSON object with a `type`.
pub fn parse(out: &Output) -> Run {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let events = stdout
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {l:?}"));
            assert!(v["type"].is_string(), "no type: {l}");
            v
        })
        .collect();
    Run {
        code: out.status.code().unwrap_or(-1),
        events,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A buildspec with just these build commands.
pub fn build_only(cmds: &[&str]) -> String {
    let mut s = String::from("version: 0.2\nphases:\n  build:\n    commands:\n");
    for c in cmds {
        s += "      - ";
        s += &serde_json::to_string(c).expect("json");
        s.push('\n');
    }
    s
}
