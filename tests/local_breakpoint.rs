//! Breakpoints on the real daemon (issue 18): `codebuild-breakpoint` pauses a build (the
//! `breakpoint` NDJSON event), `cbdash shell` attaches in the build's state there,
//! `codebuild-resume` lets it go on; the timeout still applies while paused; Ctrl-C while
//! paused stops the build and removes its container; `--debug` pauses on the first failure,
//! and `POST_BUILD` runs after the resume.

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{self, containers_of};
use crate::local_harness::{build_only, command, image, project};

/// What a driven run printed and how it ended.
struct Driven {
    code: Option<i32>,
    events: Vec<Value>,
}

impl Driven {
    fn of(&self, ty: &str) -> Vec<&Value> {
        self.events.iter().filter(|e| e["type"] == ty).collect()
    }

    fn status(&self) -> &str {
        self.of("build_finished")
            .first()
            .and_then(|e| e["status"].as_str())
            .unwrap_or("<none>")
    }

    fn phase_status(&self, phase: &str) -> Option<&str> {
        self.of("phase_finished")
            .into_iter()
            .rev()
            .find(|e| e["phase"] == phase)
            .and_then(|e| e["status"].as_str())
    }

    fn stdout(&self) -> Vec<&str> {
        self.of("log")
            .into_iter()
            .filter(|e| e["stream"] == "stdout")
            .filter_map(|e| e["line"].as_str())
            .collect()
    }

    fn dump(&self) -> String {
        let lines: Vec<String> = self.events.iter().map(Value::to_string).collect();
        format!("exit {:?}\n{}", self.code, lines.join("\n"))
    }
}

/// Runs `cbdash run --json ARGS` and calls `on_event` with each event as it arrives (and the
/// process id, for signals); the events seen before are passed too.
fn drive(
    dir: &std::path::Path,
    img: &str,
    args: &[&str],
    mut on_event: impl FnMut(&Value, &[Value], u32) + Send + 'static,
) -> Driven {
    let mut child = command(dir, img, args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn cbdash");
    let stdout = child.stdout.take().expect("stdout");
    let pid = child.id();
    let reader = std::thread::spawn(move || {
        use std::io::BufRead as _;
        let mut events: Vec<Value> = Vec::new();
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let ev: Value = serde_json::from_str(&line).expect("json");
            on_event(&ev, &events, pid);
            events.push(ev);
        }
        events
    });
    let events = reader.join().expect("reader");
    let code = child.wait().expect("wait").code();
    Driven { code, events }
}

/// `docker exec CONTAINER sh -c SCRIPT`: its stdout.
fn exec(container: &str, script: &str) -> String {
    let out = Command::new("docker")
        .args(["exec", container, "sh", "-c", script])
        .output()
        .expect("docker exec");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const PAUSING: &str = "version: 0.2
phases:
  build:
    commands:
      - mkdir -p /tmp/work && cd /tmp/work
      - export STAGE=paused; LOCAL=not-exported
      - codebuild-breakpoint
      - echo after=$STAGE $(pwd)
  post_build:
    commands:
      - echo post ran
";

#[test]
fn a_breakpoint_pauses_attach_sees_its_state_and_resume_goes_on() {
    let Some(img) = image() else { return };
    let dir = project(&[("buildspec.yml", PAUSING)]);
    let history = dir.path().join("h.sqlite");
    let attached = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let seen = attached.clone();
    let paused_at = std::sync::Arc::new(std::sync::Mutex::new(None::<Instant>));
    let paused = paused_at.clone();
    let r = drive(dir.path(), &img, &[], move |ev, before, _| {
        if ev["type"] != "breakpoint" {
            return;
        }
        *paused.lock().expect("lock") = Some(Instant::now());
        // Paused: the next command has not run.
        assert!(
            !before
                .iter()
                .any(|e| e["line"].as_str().is_some_and(|l| l.starts_with("after="))),
            "the build went on past the breakpoint"
        );
        let attach = ev["attach"].as_str().expect("attach");
        let id = attach
            .strip_prefix("cbdash shell ")
            .expect("cbdash shell <id>");
        // Attach as a user would, typing into `cbdash shell`: the build's cwd and
        // variables, exported or not, then resume from there.
        let mut shell = Command::new(common::cbdash_bin())
            .args(["--history"])
            .arg(&history)
            .args(["shell", id])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("cbdash shell");
        let mut input = shell.stdin.take().expect("stdin");
        input
            .write_all(b"echo \"at=$(pwd) stage=$STAGE local=$LOCAL\"\ncodebuild-resume\nexit\n")
            .expect("type");
        drop(input);
        let out = shell.wait_with_output().expect("shell");
        *seen.lock().expect("lock") = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
    });
    let attached = attached.lock().expect("lock").clone();
    assert_eq!(r.code, Some(0), "{}\nshell: {attached}", r.dump());
    let bp = r.of("breakpoint");
    assert_eq!(bp.len(), 1, "{}", r.dump());
    assert_eq!(bp[0]["phase"], "BUILD");
    assert_eq!(bp[0]["command"], "codebuild-breakpoint");
    assert_eq!(bp[0]["on_failure"], false);
    assert!(
        bp[0]["container"]
            .as_str()
            .is_some_and(|c| c.starts_with("cbdash-")),
        "{}",
        bp[0]
    );
    assert!(
        attached.contains("at=/tmp/work stage=paused local=not-exported"),
        "the shell is not in the build's state: {attached}"
    );
    assert!(attached.contains("the build goes on"), "{attached}");
    assert_eq!(r.of("resumed").len(), 1, "{}", r.dump());
    assert!(
        r.stdout().contains(&"after=paused /tmp/work"),
        "{}",
        r.dump()
    );
    assert!(r.stdout().contains(&"post ran"), "{}", r.dump());
    assert_eq!(r.status(), "SUCCEEDED");
    assert_eq!(r.phase_status("BUILD"), Some("SUCCEEDED"));
    assert_eq!(r.phase_status("POST_BUILD"), Some("SUCCEEDED"));
    // The helper's own lines are events, never log lines.
    assert!(
        !r.stdout().iter().any(|l| l.contains("cbdash-breakpoint")),
        "{}",
        r.dump()
    );
    assert!(paused_at.lock().expect("lock").is_some());
}

#[test]
fn the_timeout_keeps_running_while_paused() {
    let Some(img) = image() else { return };
    let dir = project(&[(
        "buildspec.yml",
        &build_only(&["codebuild-breakpoint", "echo never"]),
    )]);
    let t = Instant::now();
    let r = drive(dir.path(), &img, &["--timeout", "4s"], |_, _, _| {});
    assert!(t.elapsed() < Duration::from_secs(30), "{:?}", t.elapsed());
    assert_eq!(r.of("breakpoint").len(), 1, "{}", r.dump());
    assert_eq!(r.status(), "TIMED_OUT", "{}", r.dump());
    assert_eq!(r.phase_status("BUILD"), Some("TIMED_OUT"));
    assert!(!r.stdout().contains(&"never"));
    let id = r.events[0]["build_id"].as_str().expect("id");
    assert_eq!(containers_of(id), "", "container left behind");
}

#[test]
fn ctrl_c_while_paused_stops_the_build_and_removes_the_container() {
    let Some(img) = image() else { return };
    let dir = project(&[(
        "buildspec.yml",
        &build_only(&["codebuild-breakpoint", "echo never"]),
    )]);
    let r = drive(dir.path(), &img, &[], |ev, _, pid| {
        if ev["type"] == "breakpoint" {
            let sent = Command::new("kill")
                .args(["-INT", &pid.to_string()])
                .status()
                .expect("kill");
            assert!(sent.success());
        }
    });
    assert_eq!(r.code, Some(1), "{}", r.dump());
    assert_eq!(r.of("breakpoint").len(), 1, "{}", r.dump());
    assert_eq!(r.status(), "STOPPED", "{}", r.dump());
    let id = r.events[0]["build_id"].as_str().expect("id");
    assert_eq!(containers_of(id), "", "container left behind");
}

#[test]
fn debug_pauses_on_the_first_failure_and_post_build_runs_after_resume() {
    let Some(img) = image() else { return };
    let spec = "version: 0.2
phases:
  build:
    commands:
      - FAILED_HERE=yes
      - cd /tmp && false
      - echo never
    finally:
      - echo finally ran
  post_build:
    commands:
      - echo post ran succeeding=$CODEBUILD_BUILD_SUCCEEDING
      - false
";
    let dir = project(&[("buildspec.yml", spec)]);
    let looked = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let seen = looked.clone();
    let r = drive(dir.path(), &img, &["--debug"], move |ev, before, _| {
        if ev["type"] != "breakpoint" {
            return;
        }
        // Paused before BUILD ends: neither `finally` nor POST_BUILD ran.
        assert!(
            !before
                .iter()
                .any(|e| e["type"] == "phase_finished" && e["phase"] == "BUILD"),
            "BUILD ended before the pause"
        );
        assert!(
            !before
                .iter()
                .any(|e| e["line"].as_str() == Some("finally ran")),
            "finally ran before the pause"
        );
        let container = ev["container"].as_str().expect("container");
        *seen.lock().expect("lock") = exec(
            container,
            ". /codebuild/output/tmp/breakpoint/state.sh; cd \"$PWD\"; \
             echo \"$(pwd) $FAILED_HERE\"; codebuild-resume",
        );
    });
    let looked = looked.lock().expect("lock").clone();
    assert_eq!(r.code, Some(1), "{}", r.dump());
    let bp = r.of("breakpoint");
    assert_eq!(bp.len(), 1, "only the first failure pauses: {}", r.dump());
    assert_eq!(bp[0]["on_failure"], true);
    assert_eq!(bp[0]["phase"], "BUILD");
    assert_eq!(bp[0]["command"], "cd /tmp && false");
    assert!(looked.contains("/tmp yes"), "{looked}");
    assert!(looked.contains("the build goes on"), "{looked}");
    assert_eq!(r.of("resumed").len(), 1);
    // CodeBuild's failure transition after the resume: finally, BUILD failed, POST_BUILD.
    assert!(!r.stdout().contains(&"never"));
    assert!(r.stdout().contains(&"finally ran"), "{}", r.dump());
    assert_eq!(r.phase_status("BUILD"), Some("FAILED"));
    assert!(
        r.stdout().contains(&"post ran succeeding=0"),
        "{}",
        r.dump()
    );
    assert_eq!(r.phase_status("POST_BUILD"), Some("FAILED"));
    assert_eq!(r.status(), "FAILED");
}

#[test]
fn without_a_pause_codebuild_resume_does_nothing() {
    let Some(img) = image() else { return };
    let dir = project(&[(
        "buildspec.yml",
        &build_only(&["codebuild-resume", "echo ok"]),
    )]);
    let r = drive(dir.path(), &img, &[], |_, _, _| {});
    assert_eq!(r.code, Some(0), "{}", r.dump());
    assert!(r.of("breakpoint").is_empty());
    assert!(r.stdout().contains(&"ok"));
}

#[test]
fn a_run_as_user_pauses_and_root_resumes_it_twice() {
    let Some(img) = image() else { return };
    let spec = "version: 0.2
run-as: nobody
phases:
  build:
    commands:
      - codebuild-breakpoint
      - echo between
      - codebuild-breakpoint
      - echo done as $(id -un)
";
    let dir = project(&[("buildspec.yml", spec)]);
    let resumed_in = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let took = resumed_in.clone();
    let r = drive(dir.path(), &img, &[], move |ev, _, _| {
        if ev["type"] == "breakpoint" {
            let container = ev["container"].as_str().expect("container").to_owned();
            let t = Instant::now();
            let out = exec(&container, "codebuild-resume");
            took.lock().expect("lock").push((t, out));
        }
        if ev["type"] == "resumed"
            && let Some(last) = took.lock().expect("lock").last_mut()
        {
            last.1 = format!("{} in {:?}", last.1.trim(), last.0.elapsed());
        }
    });
    let resumes = resumed_in.lock().expect("lock").clone();
    assert_eq!(r.code, Some(0), "{}\n{resumes:?}", r.dump());
    assert_eq!(r.of("breakpoint").len(), 2, "{}", r.dump());
    assert_eq!(r.of("resumed").len(), 2, "{}", r.dump());
    assert!(r.stdout().contains(&"between"));
    assert!(r.stdout().contains(&"done as nobody"), "{}", r.dump());
    // The helper polls five times a second: a resume is seen within about that.
    for (_, said) in &resumes {
        eprintln!("resume: {said}");
        assert!(said.contains("the build goes on"), "{said}");
    }
}
