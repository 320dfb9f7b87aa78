//! A `cbdash run --json` process followed line by line while it runs, so a test can act at
//! a precise moment (a command started) and then time how long the build takes to end.

use std::io::{BufRead, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

/// A running cbdash.
pub struct Live {
    pub child: Child,
    lines: mpsc::Receiver<String>,
    pub seen: Vec<Value>,
}

impl Live {
    /// Spawns `cmd` with stdout and stderr piped.
    pub fn spawn(mut cmd: Command) -> Self {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn cbdash");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        Self {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits for an NDJSON event satisfying `pred`; panics after `limit`.
    pub fn wait_event(&mut self, what: &str, limit: Duration, pred: impl Fn(&Value) -> bool) {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let v: Value = serde_json::from_str(&line)
                        .unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
                    let hit = pred(&v);
                    self.seen.push(v);
                    if hit {
                        return;
                    }
                }
                Err(e) => panic!("no {what} within {limit:?} ({e}); events: {:#?}", self.seen),
            }
        }
    }

    /// Waits for the agent line `Running command <cmd>`.
    pub fn wait_command(&mut self, cmd: &str, limit: Duration) {
        let needle = format!("Running command {cmd}");
        self.wait_event(&needle.clone(), limit, |v| {
            v["type"] == "log" && v["line"].as_str().is_some_and(|l| l.ends_with(&needle))
        });
    }

    /// Waits for the process to end (killing it after `limit`, which fails the test); returns
    /// the exit code, every event and stderr.
    pub fn finish(mut self, limit: Duration) -> (Option<i32>, Vec<Value>, String) {
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(s) = self.child.try_wait().expect("poll") {
                break s;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("cbdash still ran after {limit:?}; events: {:#?}", self.seen);
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(2)) {
            if let Ok(v) = serde_json::from_str(&line) {
                self.seen.push(v);
            }
        }
        let mut stderr = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = e.read_to_string(&mut stderr);
        }
        (status.code(), self.seen, stderr)
    }
}

/// The `phase_finished` event of `phase`, if any.
pub fn finished<'a>(events: &'a [Value], phase: &str) -> Option<&'a Value> {
    events
        .iter()
        .find(|e| e["type"] == "phase_finished" && e["phase"] == phase)
}

/// The build's final status.
pub fn status(events: &[Value]) -> String {
    events
        .iter()
        .find(|e| e["type"] == "build_finished")
        .and_then(|e| e["status"].as_str())
        .unwrap_or("<none>")
        .to_owned()
}

pub use crate::common::{containers_of, containers_of_project};
