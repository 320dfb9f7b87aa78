//! `cbdash run` end to end through the event pipeline: docker builds inside the build become
//! `cache_report` events and history rows, and images are pulled from a real registry.

use std::process::Command;

use serde_json::Value;

use crate::common::require;
use crate::local_harness::{Run, build_only, image, parse, project, run};

fn docker(args: &[&str]) -> std::process::Output {
    Command::new("docker").args(args).output().expect("docker")
}

fn finished_reports(r: &Run) -> Vec<&Value> {
    r.of("cache_report")
}

/// Three runs of a project whose build does `docker build` through the host's socket:
/// nothing cached, then everything, then a miss at the COPY whose file changed.
#[test]
fn docker_builds_in_a_run_are_reported_with_their_cache_hits() {
    let Some(img) = image() else { return };
    let tag = format!("cbdash-test/cache-e2e-{}:1", uuid::Uuid::new_v4().simple());
    let unique = uuid::Uuid::new_v4().simple().to_string();
    let history = tempfile::tempdir().expect("tempdir");
    let history_db = history.path().join("h.sqlite");
    let dockerfile = format!(
        "FROM {img}\nLABEL cbdash-test={unique}\nRUN echo {unique} > /one\nCOPY a.txt /a.txt\nRUN cat /a.txt > /two\n"
    );
    let build = format!("DOCKER_BUILDKIT=0 docker build -t {tag} ctx");
    let dir = project(&[
        ("buildspec.yml", &build_only(&[&build])),
        ("ctx/Dockerfile", &dockerfile),
        ("ctx/a.txt", "first\n"),
    ]);
    let args = [
        "--docker-socket",
        "--history",
        history_db.to_str().expect("utf-8"),
    ];

    let first = run(dir.path(), &img, &args);
    assert_eq!(first.code, 0, "{}", first.dump());
    let second = run(dir.path(), &img, &args);
    assert_eq!(second.code, 0, "{}", second.dump());
    std::fs::write(dir.path().join("ctx/a.txt"), "second\n").expect("write");
    let third = run(dir.path(), &img, &args);
    assert_eq!(third.code, 0, "{}", third.dump());
    // Every image these builds made, tagged or not, carries the label.
    let _ = docker(&["rmi", "-f", &tag]);
    let _ = docker(&[
        "image",
        "prune",
        "-af",
        "--filter",
        &format!("label=cbdash-test={unique}"),
    ]);

    for (r, cached) in [(&first, 0), (&second, 4), (&third, 2)] {
        let reports = finished_reports(r);
        assert_eq!(reports.len(), 1, "one docker build: {}", r.dump());
        // LABEL is a step too (a metadata one, cached like the others).
        assert_eq!(reports[0]["steps_total"], 4, "{}", reports[0]);
        assert_eq!(reports[0]["steps_cached"], cached, "{}", reports[0]);
        assert_eq!(
            reports[0]["image"].as_str(),
            Some(tag.as_str()),
            "{}",
            reports[0]
        );
        // The report comes before the build ends, so a consumer stopping there has it.
        let types: Vec<&str> = r.events.iter().filter_map(|e| e["type"].as_str()).collect();
        let at = |t: &str| types.iter().position(|x| *x == t).expect("present");
        assert!(at("cache_report") < at("build_finished"));
    }
    let miss = &finished_reports(&third)[0]["first_miss"];
    assert_eq!(miss["instruction"], "COPY a.txt /a.txt", "{miss}");
    assert_eq!(finished_reports(&second)[0]["first_miss"], Value::Null);
    // The history knew the steps from the first run, so the cached run says what it saved.
    assert!(
        finished_reports(&second)[0]["time_saved_ms"].is_u64(),
        "{}",
        finished_reports(&second)[0]
    );
    assert!(finished_reports(&first)[0].get("time_saved_ms").is_none());

    // The three runs and their cache reports are in the history.
    let out = Command::new(crate::common::cbdash_bin())
        .args(["history", "--json", "--history"])
        .arg(&history_db)
        .output()
        .expect("cbdash history");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed = String::from_utf8_lossy(&out.stdout);
    let runs: Vec<Value> = listed
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(runs.len(), 3, "{listed}");
}

/// An image missing locally is pulled from the registry; one the registry lacks is a FAULT
/// in PROVISIONING with the daemon's message, exit 3.
#[test]
fn images_are_pulled_and_a_failed_pull_is_a_fault() {
    let Some(img) = image() else { return };
    let Some(registry) = require("CBDASH_TEST_REGISTRY") else {
        return;
    };
    let remote = format!(
        "{registry}/cbdash-test/pull-{}:1",
        uuid::Uuid::new_v4().simple()
    );
    assert!(docker(&["tag", &img, &remote]).status.success());
    let pushed = docker(&["push", &remote]);
    assert!(
        pushed.status.success(),
        "{}",
        String::from_utf8_lossy(&pushed.stderr)
    );
    assert!(docker(&["rmi", &remote]).status.success());

    let dir = project(&[("buildspec.yml", &build_only(&["echo pulled-and-ran"]))]);
    let r = run_pulling(dir.path(), &remote);
    let _ = docker(&["rmi", "-f", &remote]);
    assert_eq!(r.code, 0, "{}", r.dump());
    assert!(
        r.lines().iter().any(|l| l == "pulled-and-ran"),
        "{}",
        r.dump()
    );

    let missing = format!("{registry}/cbdash-test/never-pushed:1");
    let r = run_pulling(dir.path(), &missing);
    assert_eq!(r.code, 3, "{}", r.dump());
    assert_eq!(
        r.phase_status("PROVISIONING").as_deref(),
        Some("FAULT"),
        "{}",
        r.dump()
    );
    assert_eq!(r.status(), "FAULT");
}

/// `cbdash run --json --image IMAGE` with the default pull policy (pull when missing).
fn run_pulling(dir: &std::path::Path, image: &str) -> Run {
    let out = Command::new(crate::common::cbdash_bin())
        .arg("run")
        .arg(dir)
        .args(["--json", "--image", image])
        .env("CBDASH_LOG_FILE", dir.join("cbdash-debug.log"))
        .output()
        .expect("run cbdash");
    parse(&out)
}
