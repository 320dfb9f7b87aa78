//! `cbdash cloud …` as a user runs it: the real binary with `AWS_ENDPOINT_URL` pointing at
//! the scripted fake endpoint.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};

use crate::cloud_fake::{FakeAws, Reply};
use crate::cloud_scripted::{failing_build, log_page};
use crate::common::cbdash_bin;

pub async fn cbdash(fake: &FakeAws, args: &[&str]) -> (i32, String, String) {
    cbdash_in(fake, None, args).await
}

/// [`cbdash`] run in the directory `cwd` (the current one when `None`).
pub async fn cbdash_in(
    fake: &FakeAws,
    cwd: Option<&std::path::Path>,
    args: &[&str],
) -> (i32, String, String) {
    let mut cmd = tokio::process::Command::new(cbdash_bin());
    if let Some(dir) = cwd {
        cmd.current_dir(dir);
    }
    let out = cmd
        .args(args)
        .env("AWS_ENDPOINT_URL", fake.url())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_MAX_ATTEMPTS", "1")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .env("CBDASH_CONFIG", "/nonexistent")
        .env_remove("AWS_PROFILE")
        .output()
        .await
        .expect("run cbdash");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A fake endpoint serving the scripted build that moves through its phases and fails in
/// BUILD, with its log; and that build's id.
async fn failing_build_endpoint() -> (FakeAws, String) {
    let polls = Arc::new(AtomicUsize::new(0));
    let fake = FakeAws::start(move |r| match r.op.as_str() {
        "BatchGetBuilds" => {
            Reply::ok(json!({"builds": [failing_build(polls.fetch_add(1, Ordering::SeqCst))]}))
        }
        "GetLogEvents" => log_page(&r.body),
        _ => Reply::error(400, "InvalidInputException", "unexpected"),
    })
    .await;
    let id = failing_build(0)["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    (fake, id)
}

#[tokio::test]
async fn cloud_watch_follows_a_build_to_its_end_as_ndjson() {
    let (fake, id) = failing_build_endpoint().await;
    let (code, stdout, stderr) = cbdash(&fake, &["cloud", "watch", &id, "--json"]).await;
    assert_eq!(code, 1, "a FAILED build exits 1; stderr: {stderr}");
    let events: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    let types: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(types.first(), Some(&"build_started"));
    assert_eq!(types.last(), Some(&"build_finished"));
    assert_eq!(types.iter().filter(|t| **t == "log").count(), 4);
    let failed = events
        .iter()
        .find(|e| e["type"] == "phase_finished" && e["phase"] == "BUILD")
        .expect("BUILD finished");
    assert_eq!(failed["status"], "FAILED");
    assert_eq!(failed["context"]["status_code"], "COMMAND_EXECUTION_ERROR");
    assert_eq!(
        events.last().map(|e| e["status"].clone()),
        Some(json!("FAILED"))
    );
}

#[tokio::test]
async fn cloud_projects_shows_an_access_error_in_place_of_the_group() {
    let fake = FakeAws::start(|_| {
        Reply::error(
            400,
            "AccessDeniedException",
            "not authorized to perform codebuild:ListProjects",
        )
    })
    .await;
    let (code, stdout, _) = cbdash(
        &fake,
        &["cloud", "--region", "us-east-1", "projects", "--json"],
    )
    .await;
    assert_eq!(code, 3);
    let v: Value = serde_json::from_str(stdout.trim()).expect("json");
    assert_eq!(v["group"], "default/us-east-1");
    assert!(
        v["error"]
            .as_str()
            .is_some_and(|e| e.contains("access denied")),
        "{v}"
    );
}

#[tokio::test]
async fn cloud_stop_and_retry_print_the_build() {
    let fake = FakeAws::start(|r| match r.op.as_str() {
        "StopBuild" => {
            Reply::ok(json!({"build": crate::cloud_fake::build("demo:1", "STOPPED", vec![], None)}))
        }
        "RetryBuild" => Reply::ok(
            json!({"build": crate::cloud_fake::build("demo:2", "IN_PROGRESS", vec![], None)}),
        ),
        _ => Reply::error(400, "InvalidInputException", "unexpected"),
    })
    .await;
    let (code, stdout, stderr) = cbdash(&fake, &["cloud", "stop", "demo:1"]).await;
    assert_eq!(
        (code, stdout.trim()),
        (0, "stopping demo:1 (status STOPPED)"),
        "{stderr}"
    );
    let (code, stdout, _) = cbdash(&fake, &["cloud", "retry", "demo:1"]).await;
    assert_eq!((code, stdout.trim()), (0, "retried as demo:2"));
    let (code, _, stderr) = cbdash(&fake, &["cloud", "start", "demo", "--env", "NOEQUALS"]).await;
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("NAME=VALUE"), "{stderr}");
}

#[tokio::test]
async fn cloud_watch_plain_shows_phases_log_and_the_failure() {
    let (fake, id) = failing_build_endpoint().await;
    let (code, stdout, stderr) = cbdash(&fake, &["cloud", "watch", &id]).await;
    assert_eq!(code, 1, "{stderr}");
    // The same plain output as a local run: the log as CodeBuild writes it, then the table.
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].starts_with("cbdash: build demo:"), "{stdout}");
    assert!(lines.contains(&"make: *** [test] Error 2"), "{stdout}");
    let build_row = lines
        .iter()
        .find(|l| l.starts_with("BUILD "))
        .expect("a BUILD row in the summary");
    assert!(
        build_row.contains("FAILED") && build_row.contains("4.0s"),
        "{build_row}"
    );
    assert!(build_row.contains("COMMAND_EXECUTION_ERROR"), "{build_row}");
    assert_eq!(lines.last(), Some(&"Build FAILED"), "{stdout}");
}

/// A cloud build whose log shows a missing Docker daemon: `cbdash cloud watch --json` reports
/// the same `diagnosis` a local build would, with the phase the log's agent lines name.
#[tokio::test]
async fn cloud_watch_diagnoses_the_log_it_follows() {
    let polls = Arc::new(AtomicUsize::new(0));
    let fake = FakeAws::start(move |r| match r.op.as_str() {
        "BatchGetBuilds" => {
            Reply::ok(json!({"builds": [failing_build(polls.fetch_add(1, Ordering::SeqCst))]}))
        }
        "GetLogEvents" => {
            // One CloudWatch event may hold several lines; the second call is the end.
            let first = r.body["nextToken"].as_str().is_none();
            let events = if first {
                vec![json!({"timestamp": 1_700_000_000_000_i64, "ingestionTime": 1, "message":
                    "[Container] 2026/11/27 10:00:00.1 Entering phase BUILD\n[Container] 2026/11/27 10:00:00.2 Running command docker build -t app .\nCannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n[Container] 2026/11/27 10:00:00.3 Command did not exit successfully docker build -t app . exit status 1\n"})]
            } else {
                Vec::new()
            };
            Reply::ok(json!({"events": events, "nextForwardToken": "f/1", "nextBackwardToken": "b/0"}))
        }
        _ => Reply::error(400, "InvalidInputException", "unexpected"),
    })
    .await;
    let id = failing_build(0)["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let (code, stdout, stderr) = cbdash(&fake, &["cloud", "watch", &id, "--json"]).await;
    assert_eq!(code, 1, "stderr: {stderr}");
    let diagnoses: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("each line is JSON"))
        .filter(|e| e["type"] == "diagnosis")
        .collect();
    assert_eq!(diagnoses.len(), 1, "{stdout}");
    assert_eq!(diagnoses[0]["rule"], "docker-daemon");
    assert_eq!(diagnoses[0]["phase"], "BUILD");
    assert_eq!(diagnoses[0]["build_id"], id.as_str());
    assert_eq!(
        diagnoses[0]["line"],
        "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?"
    );
    // Plain output: the finding in the log as it arrives, as for a local run.
    let (_, plain, _) = cbdash(&fake, &["cloud", "watch", &id]).await;
    assert!(
        plain.contains("cbdash: diagnosis: BUILD docker-daemon"),
        "{plain}"
    );
}

/// Runs `cbdash ARGS` against `fake`, sends it SIGTERM once its stdout shows `ready`, and
/// returns its exit code, stdout and stderr (bounded: a cbdash that ignores the signal fails).
/// ARGS start with `--history PATH`, so the run is recorded where the test can read it.
async fn sigterm_when(fake: &FakeAws, args: &[&str], ready: &str) -> (i32, String, String) {
    signal_when(fake, args, ready, "-TERM").await
}

/// [`sigterm_when`] with another signal (`-INT`: Ctrl-C).
async fn signal_when(
    fake: &FakeAws,
    args: &[&str],
    ready: &str,
    signal: &str,
) -> (i32, String, String) {
    use tokio::io::AsyncReadExt;
    let mut child = tokio::process::Command::new(cbdash_bin())
        .args(args)
        .env("AWS_ENDPOINT_URL", fake.url())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_MAX_ATTEMPTS", "1")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .env("CBDASH_CONFIG", "/nonexistent")
        .env_remove("AWS_PROFILE")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn cbdash");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let err = tokio::spawn(async move {
        let mut s = String::new();
        stderr.read_to_string(&mut s).await.ok();
        s
    });
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let seen = tokio::time::timeout(std::time::Duration::from_mins(1), async {
        while !String::from_utf8_lossy(&out).contains(ready) {
            let n = stdout.read(&mut buf).await.expect("read stdout");
            assert!(
                n > 0,
                "cbdash ended before '{ready}': {}",
                String::from_utf8_lossy(&out)
            );
            out.extend_from_slice(&buf[..n]);
        }
    })
    .await;
    assert!(
        seen.is_ok(),
        "no '{ready}' in: {}",
        String::from_utf8_lossy(&out)
    );
    let pid = child.id().expect("pid").to_string();
    let killed = std::process::Command::new("kill")
        .args([signal, &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    let signalled = std::time::Instant::now();
    let status = tokio::time::timeout(std::time::Duration::from_secs(20), child.wait())
        .await
        .expect("cbdash ends promptly after SIGTERM")
        .expect("wait");
    // It stops at once: no poll interval or log page is waited for.
    let took = signalled.elapsed();
    eprintln!("{}: exited {took:?} after {signal}", args.join(" "));
    assert!(
        took < std::time::Duration::from_secs(3),
        "took {took:?} to stop"
    );
    stdout.read_to_end(&mut out).await.ok();
    (
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out).into_owned(),
        err.await.unwrap_or_default(),
    )
}

/// A build that moves through QUEUED and PROVISIONING into BUILD, writes its log and stays
/// there; StopBuild is counted (and answered).
async fn build_that_keeps_running() -> (FakeAws, String) {
    let polls = Arc::new(AtomicUsize::new(0));
    let fake = FakeAws::start(move |r| match r.op.as_str() {
        "BatchGetBuilds" => {
            let n = polls.fetch_add(1, Ordering::SeqCst).min(2);
            Reply::ok(json!({"builds": [failing_build(n)]}))
        }
        "GetLogEvents" => log_page(&r.body),
        "StopBuild" => Reply::ok(json!({"build": failing_build(2)})),
        _ => Reply::error(400, "InvalidInputException", "unexpected"),
    })
    .await;
    let id = failing_build(0)["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    (fake, id)
}

/// `cloud watch --plain` prints through the same printer as `cbdash run --plain` and handles
/// SIGTERM the same way: the phases so far in the summary table, exit 1 (STOPPED). It stops
/// following only: a build watched here may be someone else's, so no StopBuild is sent and a
/// notice says how to stop it.
#[tokio::test]
async fn sigterm_stops_cloud_watch_plain_but_not_the_build() {
    let (fake, id) = build_that_keeps_running().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let history = dir.path().join("history.sqlite");
    let (code, stdout, stderr) = sigterm_when(
        &fake,
        &[
            "--history",
            &history.to_string_lossy(),
            "cloud",
            "watch",
            &id,
            "--plain",
        ],
        "make: *** [test] Error 2",
    )
    .await;
    assert_eq!(code, 1, "STOPPED's exit code; stderr: {stderr}\n{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].starts_with("cbdash: build demo:"), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "cbdash: Warning: stopped following {id}; the build goes on in CodeBuild"
        )),
        "{stdout}"
    );
    // The summary table of the phases that ended, as a local run prints it.
    let row = |phase: &str| lines.iter().find(|l| l.starts_with(phase)).copied();
    assert!(
        row("QUEUED ").is_some_and(|r| r.contains("SUCCEEDED")),
        "{stdout}"
    );
    assert!(
        row("PROVISIONING ").is_some_and(|r| r.contains("SUCCEEDED") && r.contains("3.0s")),
        "{stdout}"
    );
    assert_eq!(fake.count("StopBuild"), 0, "the build goes on in CodeBuild");
    // The history has the followed run as interrupted (a later watch takes it up again).
    let store = cbdash::history::Store::open(&history).expect("history");
    let run = store.run(&id).expect("query").expect("the run is recorded");
    assert!(run.run.interrupted, "{:?}", run.run);
    assert!(
        run.phases.iter().any(|p| p.phase == "PROVISIONING"),
        "{:?}",
        run.phases
    );
}

/// The same with `--json` and Ctrl-C (SIGINT): the notice is an NDJSON `notice`, and nothing
/// claims the build finished (it did not).
#[tokio::test]
async fn ctrl_c_stops_cloud_watch_json_without_a_false_finish() {
    let (fake, id) = build_that_keeps_running().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let history = dir.path().join("history.sqlite");
    let (code, stdout, stderr) = signal_when(
        &fake,
        &[
            "--history",
            &history.to_string_lossy(),
            "cloud",
            "watch",
            &id,
            "--json",
        ],
        "make: *** [test] Error 2",
        "-INT",
    )
    .await;
    assert_eq!(code, 1, "{stderr}");
    let events: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("NDJSON"))
        .collect();
    assert!(
        events.iter().any(|e| e["type"] == "notice"
            && e["message"]
                .as_str()
                .is_some_and(|m| m.contains("stopped following"))),
        "{stdout}"
    );
    assert!(
        !events.iter().any(|e| e["type"] == "build_finished"),
        "{stdout}"
    );
    assert_eq!(fake.count("StopBuild"), 0);
}

/// A build this command started (`start --watch`) is stopped on SIGTERM, as `cbdash run`
/// stops its container.
#[tokio::test]
async fn sigterm_stops_a_build_that_start_watch_started() {
    let polls = Arc::new(AtomicUsize::new(0));
    let fake = FakeAws::start(move |r| match r.op.as_str() {
        "StartBuild" => Reply::ok(json!({"build": failing_build(0)})),
        "BatchGetBuilds" => {
            let n = polls.fetch_add(1, Ordering::SeqCst).min(2);
            Reply::ok(json!({"builds": [failing_build(n)]}))
        }
        "GetLogEvents" => log_page(&r.body),
        "StopBuild" => Reply::ok(json!({"build": failing_build(2)})),
        _ => Reply::error(400, "InvalidInputException", "unexpected"),
    })
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let history = dir.path().join("history.sqlite");
    let (code, stdout, stderr) = sigterm_when(
        &fake,
        &[
            "--history",
            &history.to_string_lossy(),
            "cloud",
            "start",
            "demo",
            "--watch",
        ],
        "make: *** [test] Error 2",
    )
    .await;
    assert_eq!(code, 1, "{stderr}\n{stdout}");
    assert_eq!(fake.count("StopBuild"), 1, "{stdout}");
    assert!(stdout.contains("(StopBuild sent)"), "{stdout}");
}
