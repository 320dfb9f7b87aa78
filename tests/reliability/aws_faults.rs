//! AWS faults beyond the throttling storms, 500s and expired credentials that
//! `cloud_scripted` covers: malformed JSON, a truncated body and an HTML page where JSON was
//! expected, and a log stream deleted while it is tailed. In each case the watch keeps
//! going, says what happened in a notice, backs off, and the build still finishes.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use cbdash::engine::EventSink;
use cbdash::engine::cloud::follow::follow_build;
use cbdash::model::{BuildEvent, BuildId, Status};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::cloud_fake::{FakeAws, Reply};
use crate::cloud_scripted::{clients_for, failing_build, fast, log_page};

const ID: &str = "demo:11111111-2222-3333-4444-555555555555";

async fn collect(mut rx: tokio::sync::mpsc::Receiver<BuildEvent>) -> Vec<BuildEvent> {
    let mut v = Vec::new();
    while let Some(e) = rx.recv().await {
        v.push(e);
    }
    v
}

fn notices(events: &[BuildEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            BuildEvent::Notice { message, .. } => Some(message.clone()),
            _ => None,
        })
        .collect()
}

fn log_lines(events: &[BuildEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            BuildEvent::Logs { lines, .. } => Some(lines.iter().map(|l| l.text.clone())),
            _ => None,
        })
        .flatten()
        .collect()
}

async fn watch(fake: &FakeAws) -> (Result<Status, String>, Vec<BuildEvent>) {
    let clients = clients_for(fake, "us-east-1").await;
    let (sink, rx) = EventSink::channel(64);
    let printer = tokio::spawn(collect(rx));
    // The tail backs off on the same fast scale as the poller.
    let mut opts = fast();
    opts.tail.backoff = opts.intervals;
    let outcome = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        follow_build(
            &clients,
            BuildId(ID.into()),
            &opts,
            sink,
            CancellationToken::new(),
        ),
    )
    .await
    .expect("the watch never hangs");
    let events = printer.await.expect("join");
    (outcome.map(|o| o.status).map_err(|e| e.to_string()), events)
}

#[tokio::test]
async fn malformed_truncated_and_html_answers_back_off_and_the_build_finishes() {
    let n = Arc::new(AtomicUsize::new(0));
    let n2 = n.clone();
    let fake = FakeAws::start(move |r| match r.op.as_str() {
        "BatchGetBuilds" => match n2.fetch_add(1, Ordering::SeqCst) {
            0 => Reply::ok(json!({"builds": [failing_build(0)], "buildsNotFound": []})),
            1 => Reply::raw(200, r#"{"builds": [{"id": "demo:1", "buildStatus": "#),
            2 => Reply::truncated(
                json!({"builds": [failing_build(1)], "buildsNotFound": []}),
                40,
            ),
            3 => Reply::raw(200, "<html><body>Gateway says hello</body></html>"),
            4 => Reply::raw(503, "<html>Service Unavailable</html>"),
            k => Reply::ok(json!({"builds": [failing_build(k - 4)], "buildsNotFound": []})),
        },
        "GetLogEvents" => log_page(&r.body),
        _ => Reply::error(400, "InvalidInputException", "unexpected"),
    })
    .await;
    let (status, events) = watch(&fake).await;
    assert_eq!(status, Ok(Status::Failed), "{:#?}", notices(&events));
    let notes = notices(&events);
    let unreadable = notes
        .iter()
        .filter(|m| m.contains("could not be read"))
        .count();
    assert_eq!(
        unreadable, 3,
        "malformed, truncated and HTML answers: {notes:#?}"
    );
    assert!(
        notes.iter().all(|m| m.contains("backing off")),
        "each one backs off: {notes:#?}"
    );
    assert!(notes.iter().any(|m| m.contains("503")), "{notes:#?}");
    assert!(
        matches!(
            events.last(),
            Some(BuildEvent::Finished {
                status: Status::Failed,
                ..
            })
        ),
        "{:?}",
        events.last()
    );
    assert_eq!(log_lines(&events).len(), 4, "the log is whole");
    eprintln!(
        "RELIABILITY aws garbled: {} faulty answers survived, {} BatchGetBuilds calls",
        4,
        fake.count("BatchGetBuilds")
    );
}

#[tokio::test]
async fn a_log_stream_deleted_mid_tail_is_a_notice_with_backoff() {
    let polls = Arc::new(AtomicUsize::new(0));
    let logs = Arc::new(AtomicUsize::new(0));
    let (p2, l2) = (polls.clone(), logs.clone());
    let fake = FakeAws::start(move |r| match r.op.as_str() {
        // The build stays in BUILD for a while (about 40 polls), then fails.
        "BatchGetBuilds" => {
            let k = p2.fetch_add(1, Ordering::SeqCst);
            let stage = match k {
                0 | 1 => k,
                2..=40 => 2,
                _ => 9,
            };
            Reply::ok(json!({"builds": [failing_build(stage)], "buildsNotFound": []}))
        }
        // Two pages, then the stream is gone.
        "GetLogEvents" => {
            if l2.fetch_add(1, Ordering::SeqCst) < 2 {
                log_page(&r.body)
            } else {
                Reply::error(
                    400,
                    "ResourceNotFoundException",
                    "The specified log stream does not exist.",
                )
            }
        }
        _ => Reply::error(400, "InvalidInputException", "unexpected"),
    })
    .await;
    let started = std::time::Instant::now();
    let (status, events) = watch(&fake).await;
    let took = started.elapsed();
    assert_eq!(status, Ok(Status::Failed), "{:#?}", notices(&events));
    let notes = notices(&events);
    let gone: Vec<_> = notes.iter().filter(|m| m.contains("log stream")).collect();
    assert_eq!(gone.len(), 1, "one notice, not one per retry: {notes:#?}");
    assert!(gone[0].contains("backing off"), "{}", gone[0]);
    assert!(
        matches!(
            events.last(),
            Some(BuildEvent::Finished {
                status: Status::Failed,
                ..
            })
        ),
        "the build still finishes"
    );
    assert!(!log_lines(&events).is_empty(), "what was read is kept");
    // Without backoff the tail would ask every 30 ms while the build runs.
    let naive = usize::try_from(took.as_millis() / 30).unwrap_or(usize::MAX);
    let asked = fake.count("GetLogEvents");
    assert!(
        asked * 2 < naive,
        "backed off: {asked} GetLogEvents calls in {took:?} (polling would make ~{naive})"
    );
    eprintln!(
        "RELIABILITY aws log stream deleted: {asked} GetLogEvents calls in {} ms (no backoff: ~{naive})",
        took.as_millis()
    );
}
