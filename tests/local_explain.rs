//! The cache-miss explainer end to end: `cbdash run --docker-socket` of a project whose build
//! runs `docker build` in the CodeBuild-like image, run after run in one history, with one
//! change between runs; each run's `cache_report.first_miss.reason` must name that change.
//! Both builders: the legacy one (`DOCKER_BUILDKIT=0`) and BuildKit (`--progress=plain`).

use std::process::Command;

use serde_json::Value;

use crate::local_harness::{Run, build_only, project, run};

fn docker(args: &[&str]) -> std::process::Output {
    Command::new("docker").args(args).output().expect("docker")
}

/// The base image of the builds: small and busybox-based (`CBDASH_TEST_IMAGE`).
fn base_image() -> String {
    std::env::var("CBDASH_TEST_IMAGE").unwrap_or_else(|_| "cbdash-test/base:2".into())
}

fn dockerfile(unique: &str, run_line: &str) -> String {
    let base = base_image();
    // No LABEL: the nonce goes in a RUN, so every test run has its own cache.
    format!(
        "FROM {base}\nRUN echo {unique} > /nonce\nCOPY src /src\nARG V\nRUN echo \"v=$V\" > /v\n{run_line}\n"
    )
}

/// The one finished report of a run, and its first miss's reason (or `Null`).
fn reason(r: &Run) -> (Value, Value) {
    assert_eq!(r.code, 0, "{}", r.dump());
    let reports = r.of("cache_report");
    assert_eq!(reports.len(), 1, "one docker build: {}", r.dump());
    let report = reports[0].clone();
    let why = report["first_miss"]["reason"].clone();
    (report, why)
}

struct Project {
    dir: tempfile::TempDir,
    history: tempfile::TempDir,
    tag: String,
    unique: String,
    buildkit: bool,
}

impl Project {
    fn new(buildkit: bool) -> Self {
        let unique = uuid::Uuid::new_v4().simple().to_string();
        let tag = format!("cbdash-test/explain-{unique}:1");
        let dir = project(&[
            ("ctx/Dockerfile", &dockerfile(&unique, "RUN cat /v")),
            ("ctx/src/a.txt", "a\n"),
            ("ctx/src/b.txt", "b\n"),
            ("ctx/src/ignored.log", "log 1\n"),
            ("ctx/.dockerignore", "src/*.log\n"),
        ]);
        let p = Self {
            dir,
            history: tempfile::tempdir().expect("tempdir"),
            tag,
            unique,
            buildkit,
        };
        p.set_arg("1");
        p
    }

    fn set_arg(&self, v: &str) {
        let env = if self.buildkit {
            "DOCKER_BUILDKIT=1"
        } else {
            "DOCKER_BUILDKIT=0"
        };
        let progress = if self.buildkit {
            " --progress=plain"
        } else {
            ""
        };
        let build = format!(
            "{env} docker build{progress} --build-arg V={v} -t {} ctx",
            self.tag
        );
        std::fs::write(self.dir.path().join("buildspec.yml"), build_only(&[&build]))
            .expect("write buildspec");
    }

    fn write(&self, file: &str, text: &str) {
        std::fs::write(self.dir.path().join(file), text).expect("write");
    }

    fn run(&self) -> (Value, Value) {
        let Some(img) = crate::local_harness::image() else {
            panic!("no CodeBuild-like image")
        };
        let history = self.history.path().join("h.sqlite");
        let args = [
            "--docker-socket",
            "--history",
            history.to_str().expect("utf-8"),
        ];
        reason(&run(self.dir.path(), &img, &args))
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        let _ = docker(&["rmi", "-f", &self.tag]);
    }
}

/// Runs the sequence of changes on one builder.
fn every_reason(buildkit: bool) {
    if crate::local_harness::image().is_none() {
        return;
    }
    let p = Project::new(buildkit);
    let (_, why) = p.run();
    assert_eq!(why["kind"], "no_previous_build", "{why}");

    // One file under the copied directory.
    p.write("ctx/src/b.txt", "b changed\n");
    let (report, why) = p.run();
    assert_eq!(why["kind"], "files_changed", "{report}");
    assert_eq!(why["files"], serde_json::json!(["src/b.txt"]), "{why}");
    assert_eq!(report["first_miss"]["instruction"], "COPY src /src");

    // A .dockerignored file: nothing misses, nothing to explain.
    p.write("ctx/src/ignored.log", "log 2\n");
    let (report, why) = p.run();
    assert_eq!(report["first_miss"], Value::Null, "{report}");
    assert_eq!(why, Value::Null);

    // A RUN line.
    p.write(
        "ctx/Dockerfile",
        &dockerfile(&p.unique, "RUN cat /v /nonce"),
    );
    let (report, why) = p.run();
    assert_eq!(why["kind"], "instruction_changed", "{report}");
    assert_eq!(why["previous"], "RUN cat /v", "{why}");
    assert_eq!(why["current"], "RUN cat /v /nonce", "{why}");

    // A --build-arg the RUN after its ARG sees.
    p.set_arg("2");
    let (report, why) = p.run();
    assert_eq!(why["kind"], "build_arg_changed", "{report}");
    assert_eq!(why["detail"], "--build-arg V", "{why}");
    assert_eq!(
        (&why["previous"], &why["current"]),
        (&"1".into(), &"2".into())
    );
    // The legacy builder prints `RUN echo "v=$V"` as written, which came from the cache in
    // the runs before: running it now was lost time. BuildKit prints it with the value
    // substituted (`v=2`), a text never cached before, so its loss is not known.
    if buildkit {
        assert!(report.get("time_lost_ms").is_none(), "{report}");
    } else {
        assert!(report["time_lost_ms"].is_u64(), "{report}");
    }

    // The same inputs again, after the cache is dropped.
    if buildkit {
        let out = docker(&["builder", "prune", "-af"]);
        assert!(out.status.success(), "{out:?}");
    } else {
        // The legacy builder's cache is the image's parent chain.
        let out = docker(&["rmi", "-f", &p.tag]);
        assert!(out.status.success(), "{out:?}");
    }
    let (report, why) = p.run();
    assert_eq!(why["kind"], "cache_pruned", "{report}");
}

#[test]
fn legacy_builder_misses_are_explained() {
    every_reason(false);
}

#[test]
fn buildkit_misses_are_explained() {
    every_reason(true);
}
