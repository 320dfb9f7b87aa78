//! Cloud debug sessions (issue 18) against the scripted endpoint: `cloud start
//! --debug-session` sends `debugSessionEnabled`, and once the build shows a
//! `debugSession.sessionTarget`, `--watch` prints the exact `aws ssm start-session` command
//! (NDJSON `debug_session`, and a plain line).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};

use crate::cloud_cli::cbdash;
use crate::cloud_fake::{FakeAws, Reply};
use crate::cloud_scripted::{failing_build, log_page};

const TARGET: &str = "codebuild:11111111-2222-3333-4444-555555555555";

/// The scripted build, with a session target from its third poll on.
fn with_session(n: usize) -> Value {
    let mut b = failing_build(n);
    if n >= 2 {
        b["debugSession"] = json!({"sessionEnabled": true, "sessionTarget": TARGET});
    }
    b
}

async fn endpoint() -> FakeAws {
    let polls = Arc::new(AtomicUsize::new(0));
    FakeAws::start(move |r| match r.op.as_str() {
        "StartBuild" => Reply::ok(json!({"build": failing_build(0)})),
        "BatchGetBuilds" => Reply::ok(json!({
            "builds": [with_session(polls.fetch_add(1, Ordering::SeqCst))]
        })),
        "GetLogEvents" => log_page(&r.body),
        _ => Reply::error(400, "InvalidInputException", "unexpected"),
    })
    .await
}

const COMMAND: &str = "aws ssm start-session --target codebuild:11111111-2222-3333-4444-555555555555 --region us-east-1";

#[tokio::test]
async fn start_with_a_debug_session_sends_the_flag_and_watch_shows_the_command() {
    let fake = endpoint().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let history = dir.path().join("history.sqlite");
    let (code, stdout, stderr) = cbdash(
        &fake,
        &[
            "--history",
            &history.to_string_lossy(),
            "cloud",
            "start",
            "demo",
            "--debug-session",
            "--watch",
            "--json",
        ],
    )
    .await;
    assert_eq!(code, 1, "the scripted build fails: {stderr}\n{stdout}");
    let start = fake
        .calls()
        .into_iter()
        .find(|(op, _)| op == "StartBuild")
        .expect("StartBuild");
    assert_eq!(start.1["debugSessionEnabled"], true, "{}", start.1);
    let events: Vec<Value> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let sessions: Vec<&Value> = events
        .iter()
        .filter(|e| e["type"] == "debug_session")
        .collect();
    assert_eq!(sessions.len(), 1, "once, while the build runs: {stdout}");
    assert_eq!(sessions[0]["target"], TARGET);
    assert_eq!(sessions[0]["command"], COMMAND);
}

#[tokio::test]
async fn plain_watch_says_how_to_join_and_a_start_without_the_flag_does_not_send_it() {
    let fake = endpoint().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let history = dir.path().join("history.sqlite");
    let (_, stdout, stderr) = cbdash(
        &fake,
        &[
            "--history",
            &history.to_string_lossy(),
            "cloud",
            "start",
            "demo",
            "--watch",
        ],
    )
    .await;
    assert!(
        stdout.contains(&format!("cbdash: debug session ready: `{COMMAND}`")),
        "{stderr}\n{stdout}"
    );
    let start = fake
        .calls()
        .into_iter()
        .find(|(op, _)| op == "StartBuild")
        .expect("StartBuild");
    assert!(start.1.get("debugSessionEnabled").is_none(), "{}", start.1);
}
