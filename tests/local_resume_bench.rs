//! Benchmark (issue 7): time from the resume call to the failed phase's first command running,
//! with 100 changed files to copy, against a full re-run of the same build measured in the
//! same run (to the same command, and to its end). In-process through the library, on the real
//! daemon; the first command prints bash's `$EPOCHREALTIME`, so no log batching is timed.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cbdash::engine::local::{KeptBuilds as _, LocalBackend, ResumeRequest};
use cbdash::engine::{Backend, BuildRequest, EventSink, Keep, LocalOptions, PullPolicy};
use cbdash::model::{BuildEvent, BuildOutcome, LogStream};
use tokio_util::sync::CancellationToken;

use crate::local_harness::{image, project};
use crate::local_resume::Kept;

/// The backend, with a `'static` address: its futures borrow it.
static LOCAL: LocalBackend = LocalBackend;

const SPEC: &str = r#"version: 0.2
env:
  shell: bash
phases:
  install:
    commands:
      - echo install
  pre_build:
    commands:
      - export STAGE=pre
  build:
    commands:
      - echo "FIRST $EPOCHREALTIME"
      - sh check.sh
  post_build:
    commands:
      - echo post
"#;

fn now_s() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// What one build or resume gave: when its BUILD's first command ran (epoch s), its outcome.
struct Timed {
    first_cmd: f64,
    outcome: BuildOutcome,
    ended: f64,
}

async fn timed<F, Fut>(start: F) -> Timed
where
    F: FnOnce(EventSink) -> Fut,
    Fut: Future<Output = Result<BuildOutcome, cbdash::engine::EngineError>>,
{
    let (sink, mut rx) = EventSink::channel(256);
    let collect = async {
        let mut first = None;
        while let Some(ev) = rx.recv().await {
            if let BuildEvent::Logs { lines, .. } = ev {
                for l in lines {
                    if l.stream == LogStream::Stdout
                        && let Some(t) = l.text.strip_prefix("FIRST ")
                    {
                        first = first.or_else(|| t.trim().replace(',', ".").parse::<f64>().ok());
                    }
                }
            }
        }
        first
    };
    let (outcome, first) = tokio::join!(start(sink), collect);
    Timed {
        first_cmd: first.expect("the first BUILD command ran"),
        outcome: outcome.expect("the build ran"),
        ended: now_s(),
    }
}

fn touch_all(dir: &Path, round: usize) {
    for i in 0..100 {
        let body = format!("round {round} file {i}\n").repeat(200);
        std::fs::write(dir.join(format!("src/f{i:03}.txt")), body).expect("write");
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[test]
#[ignore = "benchmark: run explicitly, figures go to BENCHMARKS.md"]
fn bench_resume_with_100_changed_files_vs_full_rerun() {
    let Some(img) = image() else { return };
    let dir = project(&[("buildspec.yml", SPEC), ("check.sh", "exit 1\n")]);
    std::fs::create_dir_all(dir.path().join("src")).expect("mkdir");
    touch_all(dir.path(), 0);
    let req = |keep| BuildRequest {
        project: "bench-resume".into(),
        source_dir: Some(dir.path().to_path_buf()),
        buildspec: Some(dir.path().join("buildspec.yml")),
        image: Some(img.clone()),
        local: LocalOptions {
            pull: PullPolicy::Never,
            keep,
            ..LocalOptions::default()
        },
        ..BuildRequest::default()
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let kept = timed(|s| LOCAL.run(req(Keep::Always), s, CancellationToken::new())).await;
        let id = kept.outcome.build_id.to_string();
        let _cleanup = Kept(id.clone());
        let (mut full_first, mut full_total, mut resume_first, mut resume_total) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for round in 1..=5 {
            let t0 = now_s();
            let full = timed(|s| LOCAL.run(req(Keep::Never), s, CancellationToken::new())).await;
            full_first.push(full.first_cmd - t0);
            full_total.push(full.ended - t0);
            touch_all(dir.path(), round);
            let t0 = now_s();
            let resumed = timed(|s| {
                let r = ResumeRequest {
                    build_id: id.clone(),
                    phase: None,
                    batch: None,
                };
                LOCAL.resume(r, s, CancellationToken::new())
            })
            .await;
            assert_eq!(resumed.outcome.build_id.as_str(), id);
            resume_first.push(resumed.first_cmd - t0);
            resume_total.push(resumed.ended - t0);
        }
        let (rf, ff, rt_, ft) = (
            median(resume_first.clone()),
            median(full_first.clone()),
            median(resume_total.clone()),
            median(full_total.clone()),
        );
        println!("resume call -> BUILD's first command (100 changed files): {resume_first:.3?} median {:.0} ms", rf * 1000.0);
        println!("full re-run  -> BUILD's first command: {full_first:.3?} median {:.0} ms", ff * 1000.0);
        println!("resume, whole: median {:.0} ms; full re-run, whole: median {:.0} ms", rt_ * 1000.0, ft * 1000.0);
        println!("ratio resume/full to the first command: {:.3}; whole: {:.3}", rf / ff, rt_ / ft);
        assert!(rf < ff, "a resume must reach the command sooner than a full run");
    });
    // Let the daemon settle before other tests.
    std::thread::sleep(Duration::from_millis(100));
}
