//! `cbdash run --watch` against the real Docker daemon: a failed build is resumed in place when
//! a file changes, a burst of saves is one re-run, a passing build runs whole again.

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::local_harness::{command, image, project};
use crate::local_resume::{Kept, SPEC};

/// Events of the watch process as they arrive.
struct Events {
    rx: mpsc::Receiver<Value>,
    seen: Vec<Value>,
}

/// `cbdash run --watch --json` in `dir`, and its events as they arrive (stderr discarded).
fn spawn_watch(dir: &std::path::Path, img: &str) -> (std::process::Child, Events) {
    let mut child = command(dir, img, &["--watch"])
        .env("CBDASH_HISTORY", dir.join(".cbdash/history.sqlite"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("cbdash run --watch");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let v: Value = serde_json::from_str(&line).expect("NDJSON line");
            if tx.send(v).is_err() {
                return;
            }
        }
    });
    let ev = Events {
        rx,
        seen: Vec::new(),
    };
    (child, ev)
}

impl Events {
    /// Waits until `n` builds have finished; panics with what was seen after `secs`.
    fn until_finished(&mut self, n: usize, secs: u64) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while self.count("build_finished") < n {
            let left = deadline.saturating_duration_since(Instant::now());
            let v = self.rx.recv_timeout(left).unwrap_or_else(|e| {
                panic!(
                    "{n} builds did not finish in {secs} s ({e}): {:#?}",
                    self.types()
                )
            });
            self.seen.push(v);
        }
    }

    /// Collects whatever arrives for `d`.
    fn for_a_while(&mut self, d: Duration) {
        let deadline = Instant::now() + d;
        while let Ok(v) = self
            .rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            self.seen.push(v);
        }
    }

    fn count(&self, ty: &str) -> usize {
        self.seen.iter().filter(|e| e["type"] == ty).count()
    }

    fn types(&self) -> Vec<String> {
        self.seen
            .iter()
            .map(|e| format!("{} {} {}", e["type"], e["phase"], e["message"]))
            .collect()
    }

    /// The phases started by the `n`th build (from 0).
    fn phases_of_build(&self, n: usize) -> Vec<(String, u64)> {
        let mut build = None;
        let mut out = Vec::new();
        for e in &self.seen {
            if e["type"] == "build_started" {
                build = Some(build.map_or(0, |b| b + 1));
            } else if e["type"] == "phase_started" && build == Some(n) {
                out.push((
                    e["phase"].as_str().unwrap_or_default().to_owned(),
                    e["attempt"].as_u64().unwrap_or(0),
                ));
            }
        }
        out
    }
}

#[test]
fn watch_resumes_a_failed_build_once_per_burst_of_saves() {
    let Some(img) = image() else { return };
    let dir = project(&[
        ("buildspec.yml", SPEC),
        ("check.sh", "echo broken >&2; exit 1\n"),
        (".gitignore", "cbdash-debug.log\n"),
    ]);
    let (mut child, mut ev) = spawn_watch(dir.path(), &img);
    ev.until_finished(1, 120);
    let id = ev
        .seen
        .iter()
        .find(|e| e["type"] == "build_started")
        .expect("started")["build_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let _cleanup = Kept(id.clone());
    assert_eq!(
        ev.seen
            .iter()
            .find(|e| e["type"] == "build_finished")
            .expect("finished")["status"],
        "FAILED"
    );

    // A burst of saves within one debounce window: one resume from BUILD.
    for i in 0..4 {
        std::fs::write(dir.path().join("check.sh"), format!("echo fixed {i}\n")).expect("write");
        std::thread::sleep(Duration::from_millis(60));
    }
    ev.until_finished(2, 120);
    ev.for_a_while(Duration::from_secs(2));
    assert_eq!(
        ev.count("build_started"),
        2,
        "exactly one re-run: {:#?}",
        ev.types()
    );
    let resumed = ev.phases_of_build(1);
    assert_eq!(
        resumed.first(),
        Some(&("BUILD".to_owned(), 2)),
        "{:#?}",
        ev.types()
    );
    assert!(
        !resumed
            .iter()
            .any(|(p, _)| p == "INSTALL" || p == "PRE_BUILD")
    );
    let finished: Vec<&Value> = ev
        .seen
        .iter()
        .filter(|e| e["type"] == "build_finished")
        .collect();
    assert_eq!(finished[1]["status"], "SUCCEEDED", "{:#?}", ev.types());
    assert_eq!(finished[1]["build_id"], id.as_str(), "resumed in place");

    // Changes the build does not see are ignored: .cbdash, ignored files.
    std::fs::write(dir.path().join("cbdash-debug.log"), "x").expect("write");
    std::fs::create_dir_all(dir.path().join(".cbdash/tmp")).expect("mkdir");
    std::fs::write(dir.path().join(".cbdash/tmp/x"), "x").expect("write");
    ev.for_a_while(Duration::from_millis(1_500));
    assert_eq!(ev.count("build_started"), 2, "{:#?}", ev.types());

    // After a success, one save runs the whole build again.
    std::fs::write(dir.path().join("new-file.txt"), "x").expect("write");
    ev.until_finished(3, 120);
    ev.for_a_while(Duration::from_millis(1_500));
    assert_eq!(ev.count("build_started"), 3, "{:#?}", ev.types());
    assert_eq!(
        ev.phases_of_build(2).first(),
        Some(&("PROVISIONING".to_owned(), 1))
    );

    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(0), "the last build succeeded");
}

#[test]
fn watch_reports_an_invalid_buildspec_and_runs_nothing() {
    let Some(img) = image() else { return };
    let dir = project(&[
        (
            "buildspec.yml",
            "version: 0.2\nphases:\n  build:\n    commands:\n      - echo ok\n",
        ),
        (".gitignore", "cbdash-debug.log\n"),
    ]);
    let (mut child, mut ev) = spawn_watch(dir.path(), &img);
    ev.until_finished(1, 120);
    std::fs::write(
        dir.path().join("buildspec.yml"),
        "version: 0.2\nphases:\n  build:\n    commands:\n      - echo a: b\n",
    )
    .expect("write");
    ev.for_a_while(Duration::from_secs(2));
    assert_eq!(ev.count("build_started"), 1, "{:#?}", ev.types());
    let error = ev
        .seen
        .iter()
        .find(|e| e["type"] == "notice" && e["level"] == "error")
        .unwrap_or_else(|| panic!("no error notice: {:#?}", ev.types()));
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("buildspec.yml:5:")),
        "{error}"
    );
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    assert_eq!(child.wait().expect("wait").code(), Some(0));
}
