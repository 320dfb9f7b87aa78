//! Benchmark (ignored; run explicitly, see BENCHMARKS.md): the diagnosis tap's cost on the live
//! stream, against the layer-cache tap alone, on the same ~100 MB log file in the same run.
//!
//! Both sides read the file line by line into `LogLine` batches of 256 (what the engine's
//! `LogBatcher` sends) and pass each `Logs` event through the cache tap; one side then passes
//! it through the diagnosis tap too. Rounds alternate (A, B, A, B, ...) so load on the shared
//! machine hits both alike. Time is the thread's CPU time (`/proc/thread-self/schedstat`), which
//! other processes on the shared machine disturb far less than wall time; the figures are the
//! median of the per-round ratios and the ratio of the fastest passes.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;
use std::time::Instant;

use cbdash::cache::CacheTap;
use cbdash::diagnose::DiagnosisTap;
use cbdash::model::{BuildEvent, BuildId, LogLine, LogStream, PhaseKind};

const BATCH: usize = 256;
const ROUNDS: usize = 15;

/// One build's worth of realistic output: agent lines, npm and compiler chatter with warnings,
/// a BuildKit docker build and a legacy one (step output, cache hits), test results.
fn block(n: u64, out: usize) -> String {
    let mut s = String::new();
    let ts = |ms: u64| format!("[Container] 2026/11/27 22:46:{:02}.{ms:06}", n % 60);
    let _ = writeln!(s, "{} Running command npm ci", ts(101));
    for i in 0..out / 4 {
        let _ = writeln!(
            s,
            "npm WARN deprecated inflight@1.0.{i}: This module is not supported, and leaks memory"
        );
    }
    let _ = writeln!(s, "added 812 packages, and audited 813 packages in 6s");
    let _ = writeln!(s, "{} Running command docker build -t app:{n} .", ts(200));
    s.push_str("#1 [internal] load build definition from Dockerfile\n#1 transferring dockerfile: 182B 0.0s done\n#1 DONE 0.1s\n\n");
    s.push_str("#4 [1/5] FROM docker.io/library/node:22@sha256:287d6dd442a8b1cc18dbd2621b54993e8267485bd11842083f5252fd917d84a7\n#4 DONE 0.0s\n\n");
    for v in 5..9 {
        let _ = writeln!(s, "#{v} [{}/5] RUN npm run step-{v}", v - 3);
        if v < 7 {
            let _ = writeln!(s, "#{v} CACHED\n");
            continue;
        }
        for i in 0..out {
            let _ = writeln!(
                s,
                "#{v} {}.{:03} webpack compiled module {i} of chunk {n}: src/components/Widget{i}.tsx 4.{i} KiB [built] [code generated]",
                i / 100,
                i % 1000
            );
        }
        let _ = writeln!(s, "#{v} DONE 12.3s\n");
    }
    let _ = writeln!(
        s,
        "#9 exporting to image\n#9 exporting layers 0.5s done\n#9 naming to docker.io/library/app:{n} done\n#9 DONE 0.5s"
    );
    let _ = writeln!(
        s,
        "{} Running command DOCKER_BUILDKIT=0 docker build -t legacy:{n} .",
        ts(300)
    );
    s.push_str("Sending build context to Docker daemon  4.096kB\r\nStep 1/3 : FROM node:22\n ---> a991d75eb657\nStep 2/3 : COPY . .\n ---> Using cache\n ---> 37c62a92b3e8\nStep 3/3 : RUN make -j4\n ---> Running in f800c9963208\n");
    for i in 0..out {
        let _ = writeln!(
            s,
            "gcc -O2 -g -Wall -c src/module_{i}.c -o build/module_{i}.o  # warning: unused variable 'tmp' [-Wunused-variable]"
        );
    }
    s.push_str(
        "\x1b[91mwarning: something\n\x1b[0m ---> e9df2e30e253\nSuccessfully built e9df2e30e253\n",
    );
    let _ = writeln!(s, "Successfully tagged legacy:{n}");
    let _ = writeln!(s, "{} Running command npm test", ts(400));
    for i in 0..out {
        let _ = writeln!(
            s,
            "  \x1b[32m✓\x1b[0m orders › computes the total of basket {i} with {} items ({}ms)",
            i % 7,
            i % 13
        );
    }
    let _ = writeln!(s, "Tests: 0 failed, {out} passed, {out} total");
    let _ = writeln!(s, "{} Phase complete: BUILD State: SUCCEEDED", ts(500));
    let _ = writeln!(s, "{} Phase context status code:  Message: ", ts(501));
    s
}

fn write_log(path: &Path, target: u64) -> std::io::Result<u64> {
    let mut w = BufWriter::new(std::fs::File::create(path)?);
    let (mut written, mut n) = (0u64, 0u64);
    while written < target {
        let b = block(n, 200);
        w.write_all(b.as_bytes())?;
        written += b.len() as u64;
        n += 1;
    }
    w.flush()?;
    Ok(n)
}

/// This thread's CPU time in seconds (wall time where schedstat is unavailable).
fn cpu_seconds(wall: Instant) -> f64 {
    let ns = std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok());
    #[allow(clippy::cast_precision_loss)] // nanoseconds of a benchmark fit f64
    ns.map_or_else(|| wall.elapsed().as_secs_f64(), |ns| ns as f64 / 1e9)
}

/// What a pass does besides the cache tap.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Extra {
    Nothing,
    /// Only the diagnoser's first step: join each batch's lines into one buffer.
    Join,
    /// Join, then the prefilter's scan of the buffer.
    JoinScan,
}

/// One pass over the file: every batch through the cache tap, and through the diagnosis tap
/// when `diagnose` is given (or only part of its work, `extra`). Returns (CPU seconds, lines,
/// diagnosis events or prefilter hits).
fn pass(path: &Path, mut diagnose: Option<&mut DiagnosisTap>, extra: Extra) -> (f64, u64, usize) {
    let rules = cbdash::diagnose::builtin().expect("rules");
    let mut joined = String::new();
    let id = BuildId("bench:1".into());
    let mut cache = CacheTap::new();
    let start = Instant::now();
    let cpu_start = cpu_seconds(start);
    let mut reader =
        BufReader::with_capacity(1 << 16, std::fs::File::open(path).expect("open the log"));
    let (mut lines, mut found) = (0u64, 0usize);
    let mut batch = Vec::with_capacity(BATCH);
    let mut text = String::new();
    loop {
        text.clear();
        let eof = reader.read_line(&mut text).expect("read") == 0;
        if !eof {
            lines += 1;
            batch.push(LogLine {
                phase: Some(PhaseKind::Build),
                stream: if text.starts_with("[Container]") {
                    LogStream::Agent
                } else {
                    LogStream::Stdout
                },
                text: text.trim_end_matches(['\n', '\r']).to_owned(),
            });
        }
        if batch.len() == BATCH || (eof && !batch.is_empty()) {
            let ev = BuildEvent::Logs {
                build_id: id.clone(),
                lines: std::mem::replace(&mut batch, Vec::with_capacity(BATCH)),
            };
            let now_ms = u64::try_from(start.elapsed().as_millis()).unwrap_or(0);
            for ev in cache.observe(ev, now_ms) {
                if let (BuildEvent::Logs { lines: ls, .. }, Extra::Join | Extra::JoinScan) =
                    (&ev, extra)
                {
                    joined.clear();
                    for l in ls {
                        joined.push_str(&l.text);
                        joined.push('\n');
                    }
                    if extra == Extra::JoinScan {
                        found += rules.needle_starts(&joined).count();
                    }
                }
                if let Some(d) = diagnose.as_deref_mut() {
                    found += d
                        .observe(ev)
                        .iter()
                        .filter(|e| matches!(e, BuildEvent::Diagnosis { .. }))
                        .count();
                }
            }
        }
        if eof {
            break;
        }
    }
    (cpu_seconds(start) - cpu_start, lines, found)
}

#[test]
#[ignore = "benchmark: run explicitly (BENCHMARKS.md)"]
#[allow(clippy::cast_precision_loss)] // byte counts of the benchmark file fit f64
fn bench_diagnosis_against_the_cache_analyzer() {
    let size_mb: u64 = std::env::var("CBDASH_BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let path = crate::common::repo_root().join("target/bench-diagnose.log");
    let builds = write_log(&path, size_mb * 1024 * 1024).expect("write the log");
    let bytes = std::fs::metadata(&path).expect("stat").len();
    let mb = bytes as f64 / 1e6;
    // Warm the page cache and the rule table (compiled once per process).
    let _ = std::fs::read(&path).expect("read");
    let mut tap = DiagnosisTap::builtin().expect("rules");
    let rules = cbdash::diagnose::builtin().expect("rules");
    let log = std::fs::read_to_string(&path).expect("read");
    let picked = log
        .lines()
        .filter(|l| rules.needles().iter().any(|n| l.contains(n.as_str())))
        .count();
    println!(
        "{} needles {:?}; lines holding one: {picked}",
        rules.needles().len(),
        rules.needles()
    );
    drop(log);

    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average before: {}", load.trim());
    let mut ratios = Vec::new();
    let (mut best_alone, mut best_both) = (f64::MAX, f64::MAX);
    let mut total_lines = 0u64;
    for round in 1..=ROUNDS {
        let (alone, lines, _) = pass(&path, None, Extra::Nothing);
        let (both, lines2, found) = pass(&path, Some(&mut tap), Extra::Nothing);
        assert_eq!(lines, lines2, "both sides read the same lines");
        assert_eq!(found, 0, "a healthy log gets no diagnosis");
        let ratio = both / alone;
        total_lines = lines;
        best_alone = best_alone.min(alone);
        best_both = best_both.min(both);
        println!(
            "round {round}: {mb:.1} MB, {lines} lines, {builds} blocks: cache tap {alone:.3} s CPU ({:.0} MB/s), cache + diagnosis {both:.3} s ({:.0} MB/s), ratio {ratio:.3}",
            mb / alone,
            mb / both
        );
        ratios.push(ratio);
    }
    ratios.sort_by(f64::total_cmp);
    let median = ratios[ROUNDS / 2];
    println!("median ratio (cache + diagnosis) / cache alone: {median:.3}");
    println!(
        "fastest passes: cache tap {best_alone:.3} s, cache + diagnosis {best_both:.3} s, ratio {:.3}; diagnosis alone ~{:.0} ns per line",
        best_both / best_alone,
        (best_both - best_alone) / (total_lines.max(1) as f64) * 1e9
    );
    // Where the time goes: the diagnoser's join and its prefilter scan, alone.
    for (name, extra) in [("join", Extra::Join), ("join + scan", Extra::JoinScan)] {
        let (mut a, mut b) = (f64::MAX, f64::MAX);
        for _ in 0..7 {
            a = a.min(pass(&path, None, Extra::Nothing).0);
            b = b.min(pass(&path, None, extra).0);
        }
        println!(
            "cache tap + {name} only: ratio {:.3} (fastest passes)",
            b / a
        );
    }
    let _ = std::fs::remove_file(&path);
}
