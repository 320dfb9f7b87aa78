//! The layer-cache analyzer on live `docker build` output from the real daemon, both
//! builders: a first build misses every step, a second hits every one, and changing one file
//! of the context makes its `COPY` the first miss.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use cbdash::cache::Analyzer;
use cbdash::model::{Builder, CacheReport};

use crate::common::require;

/// The docker 20.10 CLI, which still has the built-in BuildKit client.
fn docker_cli() -> &'static str {
    if Path::new("/usr/bin/docker").exists() {
        "/usr/bin/docker"
    } else {
        "docker"
    }
}

/// Runs `docker build` on `ctx`, streaming its output line by line through an analyzer;
/// returns the finished reports and the live updates seen.
fn build(ctx: &Path, tag: &str, buildkit: bool) -> (Vec<CacheReport>, usize) {
    // No `--label`: the legacy builder would add it as a step of its own. The unique tag
    // names the image for cleanup.
    let mut args = vec!["build", "-t", tag];
    if buildkit {
        args.extend(["--progress=plain", "--network=none"]);
    }
    let script = format!(
        "exec {} {} {} 2>&1",
        docker_cli(),
        args.join(" "),
        ctx.display()
    );
    let mut child = Command::new("sh")
        .args(["-c", &script])
        .env("DOCKER_BUILDKIT", if buildkit { "1" } else { "0" })
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn docker build");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut analyzer = Analyzer::new();
    let (mut finished, mut updates) = (Vec::new(), 0);
    let mut text = String::new();
    for read in BufReader::new(stdout).lines() {
        let line = read.expect("read docker output");
        text.push_str(&line);
        text.push('\n');
        for r in analyzer.feed(&line) {
            if r.finished {
                finished.push(r);
            } else {
                updates += 1;
            }
        }
    }
    finished.extend(analyzer.finish());
    let status = child.wait().expect("wait docker build");
    assert!(status.success(), "docker build failed:\n{text}");
    (finished, updates)
}

fn write_context(dir: &Path, image: &str, nonce: &str, b: &str) {
    let dockerfile = format!(
        "FROM {image}\nRUN echo {nonce} > /nonce\nCOPY a.txt /a.txt\nCOPY b.txt /b.txt\nRUN cat /a.txt /b.txt > /ab.txt\n"
    );
    std::fs::write(dir.join("Dockerfile"), dockerfile).expect("write Dockerfile");
    std::fs::write(dir.join("a.txt"), "a\n").expect("write a.txt");
    std::fs::write(dir.join("b.txt"), b).expect("write b.txt");
}

fn cache_cycle(buildkit: bool) {
    let Some(image) = require("CBDASH_TEST_IMAGE") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    let tag = format!("cbdash-test/cache-{}:t", &nonce[..12]);
    write_context(dir.path(), &image, &nonce, "b1\n");

    let (first, live) = build(dir.path(), &tag, buildkit);
    let builder = if buildkit {
        Builder::Buildkit
    } else {
        Builder::Legacy
    };
    assert_eq!(first.len(), 1, "{first:#?}");
    assert_eq!(first[0].builder, builder);
    assert_eq!((first[0].steps_total, first[0].steps_cached), (4, 0));
    assert_eq!(first[0].image.as_deref(), Some(tag.as_str()));
    assert!(live >= 4, "live updates while building: {live}");

    let (second, _) = build(dir.path(), &tag, buildkit);
    assert_eq!((second[0].steps_total, second[0].steps_cached), (4, 4));
    assert_eq!(second[0].first_miss, None);

    std::fs::write(dir.path().join("b.txt"), "b2\n").expect("change b.txt");
    let (third, _) = build(dir.path(), &tag, buildkit);
    let r = &third[0];
    assert_eq!((r.steps_total, r.steps_cached), (4, 2));
    let miss = r.first_miss.as_ref().expect("a first miss");
    assert_eq!(
        (miss.step, miss.instruction.as_str()),
        (4, "COPY b.txt /b.txt")
    );
    assert_eq!(r.steps[3].invalidated_by, Some(4));

    let _ = Command::new(docker_cli())
        .args(["rmi", "-f", &tag])
        .stdout(Stdio::null())
        .status();
}

#[test]
fn buildkit_cache_hits_on_the_real_daemon() {
    cache_cycle(true);
}

#[test]
fn legacy_cache_hits_on_the_real_daemon() {
    cache_cycle(false);
}
