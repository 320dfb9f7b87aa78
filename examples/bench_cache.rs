//! Benchmark: layer-cache analyzer throughput over a large synthetic build log, against
//! `wc -l` on the same file in the same run (the baseline: the cost of just reading lines).
//!
//! `cargo run --release --example bench_cache -- [SIZE_MB] [FILE]` (default 100 MB in
//! `target/bench-cache.log`); `scripts/bench-cache.sh` runs it as BENCHMARKS.md records.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use cbdash::cache::Analyzer;

/// One docker build as BuildKit prints it, with `out` lines of step output per RUN, then the
/// same build by the legacy builder, then some ordinary build output.
fn block(n: u64, out: usize) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "[Container] 2026/11/27 22:46:00.101 Running command docker build -t app:{n} ."
    );
    let _ = writeln!(
        s,
        "#1 [internal] load build definition from Dockerfile\n#1 sha256:287d6dd442a8b1cc18dbd2621b54993e8267485bd11842083f5252fd917d84a7\n#1 transferring dockerfile: 182B 0.0s done\n#1 DONE 0.1s\n"
    );
    let _ = writeln!(s, "#4 [1/5] FROM docker.io/library/node:22\n#4 DONE 0.0s\n");
    for v in 5..9 {
        let _ = writeln!(s, "#{v} [{}/5] RUN npm run step-{v}", v - 3);
        if v < 7 {
            let _ = writeln!(s, "#{v} CACHED\n");
            continue;
        }
        for i in 0..out {
            let _ = writeln!(
                s,
                "#{v} {}.{:03} compiling module {i} of the project, emitting chunk {n}",
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
    s.push_str("Sending build context to Docker daemon  4.096kB\r\r\nStep 1/3 : FROM node:22\n ---> a991d75eb657\nStep 2/3 : COPY . .\n ---> Using cache\n ---> 37c62a92b3e8\nStep 3/3 : RUN make\n ---> Running in f800c9963208\n");
    for i in 0..out {
        let _ = writeln!(
            s,
            "make[1]: compiling src/module_{i}.c into build/module_{i}.o with -O2 -g"
        );
    }
    s.push_str("\x1b[91mwarning: something\n\x1b[0m ---> e9df2e30e253\nSuccessfully built e9df2e30e253\nSuccessfully tagged app:legacy\n");
    for i in 0..out {
        let _ = writeln!(
            s,
            "[Container] test {i} passed in 0.{i:03}s: assert_eq!(left, right) ok"
        );
    }
    s
}

// Byte and line counts of a benchmark file fit f64 and u64 exactly.
#[allow(clippy::cast_precision_loss)]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let size_mb: u64 = args.next().map_or(Ok(100), |a| a.parse())?;
    let path = args
        .next()
        .map_or_else(|| PathBuf::from("target/bench-cache.log"), PathBuf::from);
    let target = size_mb * 1024 * 1024;

    let mut w = BufWriter::new(std::fs::File::create(&path)?);
    let mut written = 0u64;
    let mut n: u64 = 0;
    while written < target {
        let b = block(n, 200);
        w.write_all(b.as_bytes())?;
        written += b.len() as u64;
        n += 1;
    }
    w.flush()?;
    drop(w);
    let bytes = std::fs::metadata(&path)?.len();
    // Warm the page cache so both sides read from memory.
    let _ = std::fs::read(&path)?;

    let t = Instant::now();
    let wc = Command::new("wc").arg("-l").arg(&path).output()?;
    let wc_secs = t.elapsed().as_secs_f64();
    let wc_lines: u64 = String::from_utf8(wc.stdout)?
        .split_whitespace()
        .next()
        .ok_or("wc printed nothing")?
        .parse()?;

    let t = Instant::now();
    let mut reader = BufReader::with_capacity(1 << 16, std::fs::File::open(&path)?);
    let mut line = String::new();
    let mut analyzer = Analyzer::new();
    let (mut lines, mut updates, mut finished) = (0u64, 0u64, 0u64);
    let mut out = Vec::new();
    while reader.read_line(&mut line)? > 0 {
        lines += 1;
        analyzer.feed_into(&line, &mut out);
        updates += out.len() as u64;
        finished += out.iter().filter(|r| r.finished).count() as u64;
        out.clear();
        line.clear();
    }
    finished += analyzer.finish().len() as u64;
    let an_secs = t.elapsed().as_secs_f64();

    let mb = bytes as f64 / 1e6;
    assert_eq!(lines, wc_lines, "both sides read the same lines");
    assert_eq!(finished, 2 * n, "every docker build was reported");
    println!(
        "file: {} ({mb:.1} MB, {lines} lines, {} docker builds)",
        path.display(),
        2 * n
    );
    println!("wc -l:    {wc_secs:.3} s  {:.0} MB/s", mb / wc_secs);
    println!(
        "analyzer: {an_secs:.3} s  {:.0} MB/s  ({updates} report updates)",
        mb / an_secs
    );
    println!("ratio analyzer/wc time: {:.2}", an_secs / wc_secs);
    Ok(())
}
