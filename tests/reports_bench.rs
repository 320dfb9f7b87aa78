//! Benchmark (ignored; run explicitly, see BENCHMARKS.md): the report parsers on a generated
//! 50 MB JUnit file and a 50 MB Cobertura file, against `xmllint --stream --noout` (libxml2's
//! streaming reader, the baseline; `wc -c` when xmllint is missing) reading the same file in
//! the same run. Rounds alternate baseline and parser, so load on the shared machine hits both
//! alike; the figure is the median of the per-round ratios (wall time, the file in the page
//! cache).

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use cbdash::model::ReportBody;
use cbdash::reports::{Format, GroupParse};

const TARGET: u64 = 50 * 1024 * 1024;
const ROUNDS: usize = 5;

/// A JUnit file of about 50 MB: suites of 200 cases, one in 20 failing with a stack trace.
fn junit(path: &Path) -> u64 {
    let mut w = BufWriter::new(File::create(path).expect("create"));
    let _ = writeln!(
        w,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>"
    );
    let (mut suite, mut cases) = (0u64, 0u64);
    while w.get_ref().metadata().map_or(0, |m| m.len()) < TARGET {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "  <testsuite name=\"com.example.Suite{suite}\" tests=\"200\" failures=\"10\" errors=\"0\" skipped=\"0\" time=\"1.5\">"
        );
        for i in 0..200 {
            let _ = write!(
                s,
                "    <testcase classname=\"com.example.Suite{suite}\" name=\"test_case_number_{i}_does_the_thing\" time=\"0.00{i}\""
            );
            if i % 20 == 7 {
                let _ = writeln!(
                    s,
                    ">\n      <failure message=\"expected &lt;{i}&gt; but was &lt;0&gt;\" type=\"AssertionError\">java.lang.AssertionError: expected {i}\n\tat com.example.Suite{suite}.test{i}(Suite.java:{i})\n\tat java.base/jdk.internal.reflect.Method.invoke(Method.java:580)</failure>\n    </testcase>"
                );
            } else {
                s.push_str("/>\n");
            }
            cases += 1;
        }
        s.push_str("  </testsuite>\n");
        w.write_all(s.as_bytes()).expect("write");
        w.flush().expect("flush");
        suite += 1;
    }
    w.write_all(b"</testsuites>\n").expect("write");
    w.flush().expect("flush");
    cases
}

/// A Cobertura file of about 50 MB: classes of 400 lines, every 10th line a branch.
fn cobertura(path: &Path) -> u64 {
    let mut w = BufWriter::new(File::create(path).expect("create"));
    let _ = writeln!(
        w,
        "<?xml version=\"1.0\" ?>\n<coverage version=\"7.4.0\" line-rate=\"0.8\" branch-rate=\"0.5\">\n<packages><package name=\"src\"><classes>"
    );
    let mut class = 0u64;
    while w.get_ref().metadata().map_or(0, |m| m.len()) < TARGET {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "<class name=\"m{class}.py\" filename=\"src/pkg/module_{class}.py\" line-rate=\"0.8\" branch-rate=\"0.5\"><methods/><lines>"
        );
        for n in 1..=400 {
            let hits = u64::from(n % 5 != 0) * (n % 7);
            if n % 10 == 0 {
                let _ = writeln!(
                    s,
                    "<line number=\"{n}\" hits=\"{hits}\" branch=\"true\" condition-coverage=\"50% (1/2)\"/>"
                );
            } else {
                let _ = writeln!(s, "<line number=\"{n}\" hits=\"{hits}\"/>");
            }
        }
        s.push_str("</lines></class>\n");
        w.write_all(s.as_bytes()).expect("write");
        w.flush().expect("flush");
        class += 1;
    }
    w.write_all(b"</classes></package></packages></coverage>\n")
        .expect("write");
    w.flush().expect("flush");
    class
}

fn baseline_cmd(path: &Path) -> Command {
    let xmllint = Command::new("xmllint")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if xmllint {
        let mut c = Command::new("xmllint");
        c.args(["--stream", "--noout"]).arg(path);
        c
    } else {
        let mut c = Command::new("wc");
        c.arg("-c").arg(path);
        c
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn bench(format: Format, path: &Path) -> String {
    let bytes = std::fs::metadata(path).expect("meta").len();
    let mut cmd = baseline_cmd(path);
    let name = cmd.get_program().to_string_lossy().into_owned();
    let (mut ratios, mut ours, mut theirs) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let t = Instant::now();
        let out = cmd.output().expect("baseline runs");
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let base = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let mut g = GroupParse::new("bench", format);
        g.add(
            "f",
            BufReader::with_capacity(1 << 16, File::open(path).expect("open")),
        );
        let r = g.finish();
        let mine = t.elapsed().as_secs_f64();
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
        match &r.body {
            ReportBody::Test(s) => assert!(s.tests > 0 && s.failed > 0),
            ReportBody::Coverage(c) => assert!(c.files > 0 && c.lines_covered > 0),
        }
        ratios.push(mine / base);
        ours.push(mine);
        theirs.push(base);
    }
    #[allow(clippy::cast_precision_loss)]
    let mb = bytes as f64 / 1e6;
    let (o, b) = (median(&mut ours), median(&mut theirs));
    format!(
        "| {} | {mb:.1} MB | `{name}` {b:.3} s | {o:.3} s ({:.0} MB/s) | {:.2} |",
        format.as_str(),
        mb / o,
        median(&mut ratios)
    )
}

#[test]
#[ignore = "benchmark: run explicitly (BENCHMARKS.md)"]
fn bench_report_parsers_against_xmllint() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-reports");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let (j, c) = (dir.join("junit.xml"), dir.join("cobertura.xml"));
    let cases = junit(&j);
    let classes = cobertura(&c);
    println!("junit: {cases} cases; cobertura: {classes} classes");
    println!(
        "| format | file | baseline | cbdash | ratio (cbdash / baseline) |\n|---|---|---|---|---|"
    );
    println!("{}", bench(Format::JunitXml, &j));
    println!("{}", bench(Format::CoberturaXml, &c));
}
