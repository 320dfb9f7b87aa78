//! The cache-miss explainer on cloud builds: two builds of one project followed with
//! `cbdash cloud watch --json` against the scripted endpoint, each with its
//! `resolvedSourceVersion` and a log whose `docker build` (BuildKit plain output) ran every
//! step, then missed at `COPY b.txt`. Run from a git checkout holding both commits, the second
//! build's first miss names the file that changed between them (also from a folder whose
//! `demo` subdirectory is that checkout); run elsewhere, the reason is
//! `unknown` and says why.

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use crate::cloud_cli::cbdash_in;
use crate::cloud_fake::{FakeAws, Reply, Req, build, phase};

const FIRST: &str = "demo:00000000-0000-0000-0000-000000000001";
const SECOND: &str = "demo:00000000-0000-0000-0000-000000000002";
/// A third build of the second commit.
const THIRD: &str = "demo:00000000-0000-0000-0000-000000000003";

/// The Dockerfile the recorded builds (`tests/fixtures/docker-build/bk-*.log`) built.
const DOCKERFILE: &str = "FROM cbdash-test/base:2\nCOPY a.txt /a.txt\nRUN echo step-two > /two.txt\nCOPY b.txt /b.txt\nRUN echo \"line A\" && echo \"line B\" 1>&2 && cat /b.txt\n";

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@e",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .output()
        .expect("git");
    assert!(out.status.success(), "git {args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// The build's source, committed twice: `b.txt` (copied by the step that misses) and
/// `notes.md` (copied by no step) change in the second commit.
fn checkout() -> (tempfile::TempDir, String, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path();
    git(p, &["init", "-q"]);
    for (f, t) in [
        ("Dockerfile", DOCKERFILE),
        ("a.txt", "a"),
        ("b.txt", "b"),
        ("notes.md", "n"),
    ] {
        std::fs::write(p.join(f), t).expect("write");
    }
    git(p, &["add", "-A"]);
    git(p, &["commit", "-q", "-m", "one"]);
    let first = git(p, &["rev-parse", "HEAD"]);
    std::fs::write(p.join("b.txt"), "b 2").expect("write");
    std::fs::write(p.join("notes.md"), "n 2").expect("write");
    git(p, &["commit", "-q", "-am", "two"]);
    let second = git(p, &["rev-parse", "HEAD"]);
    (dir, first, second)
}

/// The build's log: its BUILD phase runs `docker build` with the recorded output `fixture`.
fn log(fixture: &str) -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/docker-build")
        .join(fixture);
    let output = std::fs::read_to_string(path).expect("fixture");
    let mut lines = vec![
        "[Container] 2026/12/02 10:00:00.1 Entering phase BUILD\n".to_owned(),
        "[Container] 2026/12/02 10:00:00.2 Running command docker build --progress=plain -t demo:latest .\n"
            .to_owned(),
    ];
    lines.extend(output.lines().map(|l| format!("{l}\n")));
    lines.push(
        "[Container] 2026/12/02 10:00:09.0 Phase complete: BUILD State: SUCCEEDED\n".to_owned(),
    );
    lines
}

fn finished(id: &str, version: &str) -> Value {
    let stream = id.split(':').nth(1).unwrap_or_default();
    let phases = vec![
        phase("SUBMITTED", Some("SUCCEEDED"), 0.0, Some(1.0)),
        phase("DOWNLOAD_SOURCE", Some("SUCCEEDED"), 1.0, Some(2.0)),
        phase("BUILD", Some("SUCCEEDED"), 2.0, Some(9.0)),
        json!({"phaseType": "COMPLETED", "startTime": 10.0}),
    ];
    let mut b = build(
        id,
        "SUCCEEDED",
        phases,
        Some(("/aws/codebuild/demo", stream)),
    );
    b["sourceVersion"] = json!("main");
    // One after the other, as the history orders them.
    let n: f64 = id[id.len() - 1..].parse().unwrap_or(0.0);
    b["startTime"] = json!(1_700_000_000.0 + n * 100.0);
    b["endTime"] = json!(1_700_000_060.0 + n * 100.0);
    b["resolvedSourceVersion"] = json!(version);
    b
}

/// Both builds, finished; each one's log in one page.
fn endpoint(first: String, second: String) -> impl Fn(&Req) -> Reply + Send + Sync + 'static {
    move |r: &Req| match r.op.as_str() {
        "BatchGetBuilds" => {
            let builds: Vec<Value> = r.body["ids"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(|id| finished(id, if id == FIRST { &first } else { &second }))
                .collect();
            Reply::ok(json!({"builds": builds, "buildsNotFound": []}))
        }
        "GetLogEvents" => {
            let fixture = if r.body["logStreamName"].as_str() == FIRST.split(':').nth(1) {
                "bk-first.log"
            } else {
                "bk-middle-miss.log"
            };
            let events: Vec<Value> = match r.body["nextToken"].as_str() {
                Some("f/end") => Vec::new(),
                _ => log(fixture)
                    .iter()
                    .map(|m| json!({"timestamp": 1_700_000_000_000_i64, "message": m, "ingestionTime": 1}))
                    .collect(),
            };
            Reply::ok(
                json!({"events": events, "nextForwardToken": "f/end", "nextBackwardToken": "b/0"}),
            )
        }
        _ => Reply::error(400, "InvalidInputException", "unexpected"),
    }
}

/// `cbdash cloud watch ID --json` run in `cwd` with the history at `history`: its lines.
async fn watch(fake: &FakeAws, cwd: &Path, history: &Path, id: &str) -> Vec<Value> {
    let db = history.to_str().expect("utf-8");
    let args = ["cloud", "watch", id, "--json", "--history", db];
    let (code, stdout, stderr) = cbdash_in(fake, Some(cwd), &args).await;
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// The finished cache report's first miss reason, and the source version line's version.
fn reason(lines: &[Value]) -> (Value, Value) {
    let report = lines
        .iter()
        .rfind(|l| l["type"] == "cache_report")
        .unwrap_or_else(|| panic!("a finished cache report: {lines:#?}"));
    let version = lines
        .iter()
        .find(|l| l["type"] == "source_version")
        .map_or(Value::Null, |l| l["version"].clone());
    (report["first_miss"]["reason"].clone(), version)
}

#[tokio::test]
async fn a_cloud_miss_names_the_files_changed_between_the_two_commits() {
    let (repo, first, second) = checkout();
    let fake = FakeAws::start(endpoint(first.clone(), second.clone())).await;
    let history = tempfile::tempdir().expect("tempdir");
    let db = history.path().join("h.sqlite");
    let (why, version) = reason(&watch(&fake, repo.path(), &db, FIRST).await);
    assert_eq!(why["kind"], "no_previous_build", "{why}");
    assert_eq!(version, json!(first), "the resolved source version is said");
    let (why, _) = reason(&watch(&fake, repo.path(), &db, SECOND).await);
    assert_eq!(why["kind"], "files_changed", "{why}");
    assert_eq!(
        why["files"],
        json!(["b.txt"]),
        "notes.md is copied by no step: {why}"
    );
    // The same commit built again, missing at the same step: nothing it is given changed
    // (its Dockerfile read from the checkout as of that commit), so the cache was dropped.
    let (why, _) = reason(&watch(&fake, repo.path(), &db, THIRD).await);
    assert_eq!(why["kind"], "cache_pruned", "{why}");
    // The history keeps the commit each build built.
    let out = Command::new(env!("CARGO_BIN_EXE_cbdash"))
        .args(["history", "show", SECOND, "--json", "--history"])
        .arg(&db)
        .output()
        .expect("history show");
    let shown: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(shown["source_version"], json!(second), "{shown}");
}

#[tokio::test]
async fn a_cloud_miss_outside_a_checkout_is_unknown_and_says_why() {
    let (_repo, first, second) = checkout();
    let fake = FakeAws::start(endpoint(first, second)).await;
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let db = elsewhere.path().join("h.sqlite");
    watch(&fake, elsewhere.path(), &db, FIRST).await;
    let (why, _) = reason(&watch(&fake, elsewhere.path(), &db, SECOND).await);
    assert_eq!(why["kind"], "unknown", "{why}");
    let detail = why["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("not a git checkout"), "{why}");
}

#[tokio::test]
async fn a_folder_of_projects_holds_the_checkout_under_the_project_name() {
    let (repo, first, second) = checkout();
    let folder = tempfile::tempdir().expect("tempdir");
    std::fs::rename(repo.path(), folder.path().join("demo")).expect("move the checkout");
    let fake = FakeAws::start(endpoint(first, second)).await;
    let db = folder.path().join("h.sqlite");
    watch(&fake, folder.path(), &db, FIRST).await;
    let (why, _) = reason(&watch(&fake, folder.path(), &db, SECOND).await);
    assert_eq!(why["kind"], "files_changed", "{why}");
    assert_eq!(why["files"], json!(["b.txt"]), "{why}");
}
