//! Benchmarks of the cloud backend (ignored by default; figures go to BENCHMARKS.md):
//!   `cargo test --test integration cloud_bench -- --ignored --nocapture --test-threads 1`
//! - API calls per minute following 1, 10 and 100 builds, counted on the fake endpoint over a
//!   60 s window of injected time, against the naive one-call-per-build poller.
//! - Log latency: `PutLogEvents` on moto → line out of the tailer, against a raw `GetLogEvents`.

use std::time::{Duration, Instant};

use cbdash::engine::EventSink;
use cbdash::engine::cloud::logs::{TailInfo, TailOptions, get_page, tail};
use cbdash::engine::cloud::poller::Poller;
use cbdash::engine::cloud::schedule::{Intervals, Priority};
use cbdash::engine::cloud::{CloudClients, CloudTarget, ConnectOptions, LogLocation};
use cbdash::model::{BuildEvent, BuildId};
use tokio_util::sync::CancellationToken;

use crate::cloud_fake::FakeAws;

async fn calls_in_a_minute(
    fake: &FakeAws,
    clients: &CloudClients,
    builds: usize,
    naive: bool,
) -> usize {
    fake.reset_calls();
    let t0 = Instant::now();
    let mut pollers = Vec::new();
    if naive {
        // One poller per build, each polling its build every 2 s: what a per-build watcher does.
        for i in 0..builds {
            let mut p = Poller::new(
                clients.codebuild.clone(),
                clients.group.clone(),
                Intervals::default(),
            );
            p.follow(BuildId(format!("p:{i}")), Priority::Focused, t0);
            pollers.push(p);
        }
    } else {
        let mut p = Poller::new(
            clients.codebuild.clone(),
            clients.group.clone(),
            Intervals::default(),
        );
        for i in 0..builds {
            p.follow(BuildId(format!("p:{i}")), Priority::Background, t0);
        }
        p.focus(&BuildId("p:0".into()), t0);
        pollers.push(p);
    }
    let mut step = 0;
    while step < 600 {
        let now = t0 + Duration::from_millis(step * 100);
        for p in &mut pollers {
            p.poll_once(now).await.expect("poll");
        }
        step += 1;
    }
    fake.count("BatchGetBuilds")
}

#[tokio::test]
#[ignore = "benchmark: run explicitly, figures go to BENCHMARKS.md"]
async fn cloud_bench_api_calls_per_minute() {
    let fake = FakeAws::start(crate::cloud_scripted::running_builds).await;
    let clients = crate::cloud_scripted::clients_for(&fake, "us-east-1").await;
    for n in [1, 10, 100] {
        let ours = calls_in_a_minute(&fake, &clients, n, false).await;
        let naive = calls_in_a_minute(&fake, &clients, n, true).await;
        #[allow(clippy::cast_precision_loss)]
        let ratio = naive as f64 / ours as f64;
        println!(
            "BENCH builds={n} batched_calls_per_min={ours} naive_calls_per_min={naive} naive/batched={ratio:.1}x"
        );
    }
}

#[tokio::test]
#[ignore = "benchmark: run explicitly, figures go to BENCHMARKS.md"]
async fn cloud_bench_log_latency() {
    let Some(url) = crate::common::require("CBDASH_TEST_AWS_ENDPOINT") else {
        return;
    };
    let opts = ConnectOptions {
        sdk_retries: false,
        endpoint_url: Some(url),
        static_credentials: Some(("t".into(), "t".into())),
    };
    let c = CloudClients::connect(
        &CloudTarget {
            profile: None,
            region: Some("us-east-1".into()),
        },
        &opts,
    )
    .await;
    let group = format!("/aws/codebuild/bench-{}", uuid::Uuid::new_v4().simple());
    c.logs
        .create_log_group()
        .log_group_name(&group)
        .send()
        .await
        .expect("group");
    c.logs
        .create_log_stream()
        .log_group_name(&group)
        .log_stream_name("s")
        .send()
        .await
        .expect("stream");
    let loc = LogLocation {
        group: group.clone(),
        stream: "s".into(),
        group_arn: None,
    };
    // Baseline: one raw GetLogEvents round trip.
    let mut raw = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        get_page(&c.logs, "", &loc, None).await.expect("page");
        raw.push(t.elapsed());
    }
    let (_info_tx, info_rx) = tokio::sync::watch::channel(TailInfo {
        location: Some(loc.clone()),
        ended: false,
    });
    let (sink, mut rx) = EventSink::channel(64);
    let cancel = CancellationToken::new();
    let c2 = c.clone();
    let cancel2 = cancel.clone();
    let tailer = tokio::spawn(async move {
        tail(
            &c2,
            BuildId("b:1".into()),
            info_rx,
            TailOptions::default(),
            sink,
            cancel2,
        )
        .await
    });
    let mut lat = Vec::new();
    for i in 0..10 {
        tokio::time::sleep(Duration::from_millis(137 * (i % 7))).await; // spread over the poll cycle
        let t = Instant::now();
        let ev = aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
            .timestamp(chrono::Utc::now().timestamp_millis())
            .message(format!("line {i}"))
            .build()
            .expect("event");
        c.logs
            .put_log_events()
            .log_group_name(&group)
            .log_stream_name("s")
            .log_events(ev)
            .send()
            .await
            .expect("put");
        loop {
            if let Some(BuildEvent::Logs { lines, .. }) = rx.recv().await
                && lines.iter().any(|l| l.text == format!("line {i}"))
            {
                break;
            }
        }
        lat.push(t.elapsed());
    }
    cancel.cancel();
    let _ = tailer.await;
    let med = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let (r, l) = (med(&mut raw), med(&mut lat));
    println!(
        "BENCH log_latency_median={l:?} max={:?} raw_get_log_events_median={r:?} ratio={:.1}x",
        lat.iter().max(),
        l.as_secs_f64() / r.as_secs_f64()
    );
}
