//! Benchmark (ignored; run explicitly, see BENCHMARKS.md): what the cache-miss explainer's
//! hashing costs against the `docker build` it explains, in the same run. The context is
//! 10,000 files / 200 MB (20 KB each, under 100 directories); the Dockerfile copies all of it
//! (`COPY . /ctx`, the worst case: every file is a source). The build is the legacy builder's
//! (the daemon's own, no CLI plugin), run once; the hashing is `app::explain::hash_sources`,
//! the function a missed `COPY` calls, run on the same context right after. Debug builds of
//! cbdash hash slower than release ones: the ratio is an upper bound.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use cbdash::app::explain::hash_sources;
use cbdash::cache::DockerIgnore;

const FILES: usize = 10_000;
const FILE_BYTES: usize = 20 * 1024;

fn write_context(dir: &Path, base: &str) {
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut buf = vec![0u8; FILE_BYTES];
    for n in 0..FILES {
        let sub = dir.join(format!("d{:02}", n % 100));
        std::fs::create_dir_all(&sub).expect("mkdir");
        // xorshift: incompressible bytes, different in every file.
        for chunk in buf.chunks_mut(8) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            chunk.copy_from_slice(&seed.to_le_bytes()[..chunk.len()]);
        }
        std::fs::write(sub.join(format!("f{n:05}.bin")), &buf).expect("write");
    }
    std::fs::write(
        dir.join("Dockerfile"),
        format!("FROM {base}\nCOPY . /ctx\n"),
    )
    .expect("Dockerfile");
}

#[test]
#[ignore = "benchmark: run explicitly (BENCHMARKS.md)"]
fn bench_explain_hashing_against_docker_build() {
    let base = std::env::var("CBDASH_TEST_IMAGE").unwrap_or_else(|_| "cbdash-test/base:2".into());
    let dir = tempfile::tempdir().expect("tempdir");
    write_context(dir.path(), &base);
    let tag = format!(
        "cbdash-test/explain-bench-{}:1",
        uuid::Uuid::new_v4().simple()
    );

    let t = Instant::now();
    let out = Command::new("docker")
        .args(["build", "-q", "-t", &tag])
        .arg(dir.path())
        .env("DOCKER_BUILDKIT", "0")
        .output()
        .expect("docker build");
    let build = t.elapsed();
    let _ = Command::new("docker").args(["rmi", "-f", &tag]).output();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let t = Instant::now();
    let hashes =
        hash_sources(dir.path(), &[String::new()], &DockerIgnore::default(), None).expect("hash");
    let hashing = t.elapsed();
    assert_eq!(hashes.len(), FILES + 1, "every file and the Dockerfile");

    println!(
        "docker build {:.2}s, hashing {:.2}s: {:.1}% of the build",
        build.as_secs_f64(),
        hashing.as_secs_f64(),
        100.0 * hashing.as_secs_f64() / build.as_secs_f64()
    );
}
