//! Benchmark (ignored; run explicitly, see BENCHMARKS.md): the diagnosis tap's cost on the live
//! stream, against the layer-cache tap alone, on the same ~100 MB log file in the same run.
//!
//! Both sides read the file line by line into `LogLine` batches of 256 (what the engine's
//! `LogBatcher` sends) and pass each `Logs` event through the cache tap; one side then passes
//! it through the diagnosis tap too. Rounds alternate (A, B, A, B, ...) so load on the shared
//! machine hits both alike. Time is the thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`), which
//! other processes on the shared machine disturb far less than wall time; the figures are the
//! median of the per-round ratios and the ratio of the fastest passes.
//!
//! Two logs: a healthy build (every command exits 0, so diagnosis reads the held output only
//! for its `after_success` literals), and the same output with every command failing (every
//! rule reads every byte: the prefilter's full scan). No rule may fire on either.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;
use std::time::Instant;

use cbdash::cache::CacheTap;
use cbdash::diagnose::DiagnosisTap;
use cbdash::model::{BuildEvent, BuildId, LogLine, PhaseKind};

const BATCH: usize = 256;
const ROUNDS: usize = 15;

/// One build's worth of realistic output: agent lines, npm and compiler chatter with warnings,
/// a BuildKit docker build and a legacy one (step output, cache hits), test results.
/// With `fail`, every command ends with the agent's `Command did not exit successfully`.
fn block(n: u64, out: usize, fail: bool) -> String {
    let mut s = String::new();
    let ts = |ms: u64| format!("[Container] 2026/11/27 22:46:{:02}.{ms:06}", n % 60);
    let end = |s: &mut String, ms: u64, cmd: &str| {
        if fail {
            let _ = writeln!(
                s,
                "{} Command did not exit successfully {cmd} exit status 1",
                ts(ms)
            );
        }
    };
    let _ = writeln!(s, "{} Running command npm ci", ts(101));
    for i in 0..out / 4 {
        let _ = writeln!(
            s,
            "npm WARN deprecated inflight@1.0.{i}: This module is not supported, and leaks memory"
        );
    }
    let _ = writeln!(s, "added 812 packages, and audited 813 packages in 6s");
    end(&mut s, 199, "npm ci");
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
    end(&mut s, 299, "docker build -t app .");
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
    end(&mut s, 399, "DOCKER_BUILDKIT=0 docker build -t legacy .");
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
    end(&mut s, 499, "npm test");
    let _ = writeln!(s, "{} Phase complete: BUILD State: SUCCEEDED", ts(500));
    let _ = writeln!(s, "{} Phase context status code:  Message: ", ts(501));
    s
}

fn write_log(path: &Path, target: u64, fail: bool) -> std::io::Result<u64> {
    let mut w = BufWriter::new(std::fs::File::create(path)?);
    let (mut written, mut n) = (0u64, 0u64);
    while written < target {
        let b = block(n, 200, fail);
        w.write_all(b.as_bytes())?;
        written += b.len() as u64;
        n += 1;
    }
    w.flush()?;
    Ok(n)
}

/// This thread's CPU time in seconds: `CLOCK_THREAD_CPUTIME_ID`, exact to the nanosecond
/// (`/proc/thread-self/schedstat` advanced in 4 ms ticks on this VM, 5% of a pass).
fn cpu_seconds() -> f64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    #[allow(clippy::cast_precision_loss)] // seconds and nanoseconds of a benchmark fit f64
    let s = t.tv_sec as f64 + t.tv_nsec as f64 / 1e9;
    s
}

/// One pass over the file: every batch through the cache tap, and through the diagnosis tap
/// when `diagnose` is given. Returns (CPU seconds, lines, diagnosis events).
fn pass(path: &Path, mut diagnose: Option<&mut DiagnosisTap>) -> (f64, u64, usize) {
    let id = BuildId("bench:1".into());
    let mut cache = CacheTap::new();
    let start = Instant::now();
    let cpu_start = cpu_seconds();
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
            batch.push(LogLine::from_log(
                Some(PhaseKind::Build),
                text.trim_end_matches(['\n', '\r']),
            ));
        }
        if batch.len() == BATCH || (eof && !batch.is_empty()) {
            let ev = BuildEvent::Logs {
                build_id: id.clone(),
                lines: std::mem::replace(&mut batch, Vec::with_capacity(BATCH)),
            };
            let now_ms = u64::try_from(start.elapsed().as_millis()).unwrap_or(0);
            for ev in cache.observe(ev, now_ms) {
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
    (cpu_seconds() - cpu_start, lines, found)
}

/// Fastest passes and per-round ratios of the cache tap alone against both taps, on one log.
struct Figures {
    best_alone: f64,
    best_both: f64,
    /// Median of the per-round ratios.
    median: f64,
    /// Median pass of each side.
    median_alone: f64,
    median_both: f64,
    lines: u64,
}

#[allow(clippy::cast_precision_loss)] // byte counts of the benchmark file fit f64
fn measure(name: &str, path: &Path, builds: u64) -> Figures {
    let mb = std::fs::metadata(path).expect("stat").len() as f64 / 1e6;
    // Warm the page cache.
    let _ = std::fs::read(path).expect("read");
    let mut tap = DiagnosisTap::builtin().expect("rules");
    let (mut ratios, mut alones, mut boths) = (Vec::new(), Vec::new(), Vec::new());
    let (mut best_alone, mut best_both, mut total_lines) = (f64::MAX, f64::MAX, 0);
    for round in 1..=ROUNDS {
        let (alone, lines, _) = pass(path, None);
        let (both, lines2, found) = pass(path, Some(&mut tap));
        assert_eq!(lines, lines2, "both sides read the same lines");
        assert_eq!(found, 0, "{name}: no rule fires on this log");
        total_lines = lines;
        best_alone = best_alone.min(alone);
        best_both = best_both.min(both);
        println!(
            "{name} round {round}: {mb:.1} MB, {lines} lines, {builds} blocks: cache tap {alone:.3} s CPU ({:.0} MB/s), cache + diagnosis {both:.3} s ({:.0} MB/s), ratio {:.3}",
            mb / alone,
            mb / both,
            both / alone
        );
        ratios.push(both / alone);
        alones.push(alone);
        boths.push(both);
    }
    for v in [&mut ratios, &mut alones, &mut boths] {
        v.sort_by(f64::total_cmp);
    }
    Figures {
        best_alone,
        best_both,
        median: ratios[ROUNDS / 2],
        median_alone: alones[ROUNDS / 2],
        median_both: boths[ROUNDS / 2],
        lines: total_lines,
    }
}

#[test]
#[ignore = "benchmark: run explicitly (BENCHMARKS.md)"]
#[allow(clippy::cast_precision_loss)] // line counts of the benchmark file fit f64
fn bench_diagnosis_against_the_cache_analyzer() {
    let size_mb: u64 = std::env::var("CBDASH_BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let rules = cbdash::diagnose::builtin().expect("rules");
    println!("{} needles {:?}", rules.needles().len(), rules.needles());
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average before: {}", load.trim());
    let mut results = Vec::new();
    for (name, fail) in [("healthy", false), ("every command failing", true)] {
        let path = crate::common::repo_root().join("target/bench-diagnose.log");
        let builds = write_log(&path, size_mb * 1024 * 1024, fail).expect("write the log");
        let log = std::fs::read_to_string(&path).expect("read");
        let picked = log
            .lines()
            .filter(|l| rules.needles().iter().any(|n| l.contains(n.as_str())))
            .count();
        println!(
            "{name}: {} bytes; lines holding a needle: {picked}",
            log.len()
        );
        drop(log);
        results.push((name, measure(name, &path, builds)));
        let _ = std::fs::remove_file(&path);
    }
    for (name, f) in results {
        println!(
            "{name}: median ratio (cache + diagnosis) / cache alone {:.3}; median passes {:.3} s / {:.3} s, ratio {:.3}; fastest passes: cache tap {:.3} s, cache + diagnosis {:.3} s, ratio {:.3}; diagnosis ~{:.1} ns per line",
            f.median,
            f.median_alone,
            f.median_both,
            f.median_both / f.median_alone,
            f.best_alone,
            f.best_both,
            f.best_both / f.best_alone,
            (f.best_both - f.best_alone) / (f.lines.max(1) as f64) * 1e9
        );
    }
}
