//! Local batch builds (`cbdash run --batch`, `cbdash resume BATCH_ID`) against the real Docker
//! daemon: the graph's order, a failed task's dependents, fast-fail, a matrix, a fanout's
//! shards, `--max-parallel`, Ctrl-C, artifacts per task and the resume of a failed batch.

use std::collections::BTreeMap;
use std::process::Command;

use serde_json::Value;

use crate::common;
use crate::local_harness::{Run, command, image, parse, project, run};

/// The reference's graph example, made to run on busybox: each task prints its identifier
/// and the batch's variables; `compile` fails while `fail-compile` exists; `lint` always fails
/// but ignores its failure; every task leaves one artifact.
const GRAPH: &str = r#"version: 0.2
env:
  variables:
    APP: demo
batch:
  fast-fail: false
  build-graph:
    - identifier: compile
    - identifier: lint
      ignore-failure: true
    - identifier: unit
      depend-on:
        - compile
      env:
        variables:
          SUITE: unit
    - identifier: image
      depend-on:
        - compile
    - identifier: e2e
      depend-on:
        - unit
        - image
      env:
        variables:
          SUITE: e2e
phases:
  build:
    commands:
      - echo "task=$CODEBUILD_BATCH_BUILD_IDENTIFIER initiator=$CODEBUILD_INITIATOR suite=${SUITE:-none} app=$APP"
      - echo "$CODEBUILD_BATCH_BUILD_IDENTIFIER" > out.txt
      - if [ "$CODEBUILD_BATCH_BUILD_IDENTIFIER" = compile ] && [ -e fail-compile ]; then exit 1; fi
      - if [ "$CODEBUILD_BATCH_BUILD_IDENTIFIER" = lint ]; then exit 3; fi
artifacts:
  files:
    - out.txt
"#;

/// The NDJSON events of one task (by its build id).
fn of_task<'a>(r: &'a Run, identifier: &str) -> Vec<&'a Value> {
    let Some(id) = build_of(r, identifier) else {
        return Vec::new();
    };
    r.events.iter().filter(|e| e["build_id"] == id).collect()
}

/// The build id of a task's (last) build.
fn build_of(r: &Run, identifier: &str) -> Option<String> {
    r.of("build_started")
        .iter()
        .rev()
        .find(|e| e["identifier"] == identifier)
        .and_then(|e| e["build_id"].as_str())
        .map(str::to_owned)
}

/// The index in the event stream of the first event matching `f`.
fn index_of(r: &Run, f: impl Fn(&Value) -> bool) -> usize {
    r.events
        .iter()
        .position(f)
        .unwrap_or_else(|| panic!("no such event:\n{}", r.dump()))
}

fn finished_status(r: &Run) -> BTreeMap<String, String> {
    let fin = r.of("batch_finished");
    assert_eq!(fin.len(), 1, "{}", r.dump());
    fin[0]["builds"]
        .as_array()
        .expect("builds")
        .iter()
        .map(|b| {
            (
                b["identifier"].as_str().unwrap_or_default().to_owned(),
                b["status"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// No container is left but those of failed tasks (kept for a resume), which go when the
/// returned guards drop.
fn no_containers_of(r: &Run) -> Vec<crate::local_resume::Kept> {
    let mut kept = Vec::new();
    for s in r.of("build_started") {
        let id = s["build_id"].as_str().unwrap_or_default().to_owned();
        let failed = r.events.iter().any(|e| {
            e["type"] == "build_finished" && e["build_id"] == id.as_str() && e["status"] == "FAILED"
        });
        let ignored = r.of("batch_started")[0]["builds"]
            .as_array()
            .is_some_and(|b| {
                b.iter()
                    .any(|n| n["identifier"] == s["identifier"] && n["ignore_failure"] == true)
            });
        if failed && !ignored {
            kept.push(crate::local_resume::Kept(id));
        } else {
            assert_eq!(common::containers_of(&id), "", "container of {id} left");
        }
    }
    kept
}

#[test]
fn a_graph_batch_runs_its_tasks_in_dependency_order_with_the_batch_variables() {
    let Some(img) = image() else { return };
    let dir = project(&[("buildspec.yml", GRAPH)]);
    let r = run(dir.path(), &img, &["--batch", "--max-parallel", "4"]);
    assert_eq!(r.code, 0, "{}", r.dump());
    let started = &r.of("batch_started")[0];
    assert_eq!(started["kind"], "graph");
    let batch_id = started["batch_id"].as_str().expect("batch id").to_owned();
    assert_eq!(started["builds"][4]["identifier"], "e2e");
    assert_eq!(
        started["builds"][4]["depends_on"],
        serde_json::json!(["unit", "image"])
    );
    // Every task ran as a build of its own, with its identifier and the batch's initiator.
    for task in ["compile", "lint", "unit", "image", "e2e"] {
        let lines: Vec<String> = of_task(&r, task)
            .iter()
            .filter(|e| e["type"] == "log")
            .map(|e| e["line"].as_str().unwrap_or_default().to_owned())
            .collect();
        let want = format!("task={task} initiator={batch_id}");
        assert!(
            lines.iter().any(|l| l.starts_with(&want)),
            "{task}: {lines:?}"
        );
        let artifact = dir
            .path()
            .join(".cbdash/artifacts")
            .join(batch_id.split_once(':').expect("uuid").1)
            .join(task)
            .join("out.txt");
        assert_eq!(
            std::fs::read_to_string(&artifact)
                .map(|s| s.trim().to_owned())
                .ok(),
            Some(task.to_owned()),
            "{}",
            artifact.display()
        );
    }
    // The task's variables are above the buildspec's.
    assert!(
        r.lines()
            .iter()
            .any(|l| l.contains("task=e2e") && l.contains("suite=e2e"))
    );
    // Order: unit and image start after compile finished; e2e after both.
    let finished = |task: &str| {
        let id = build_of(&r, task).expect("build");
        index_of(&r, |e| e["type"] == "build_finished" && e["build_id"] == id)
    };
    let started_at = |task: &str| {
        index_of(&r, |e| {
            e["type"] == "build_started" && e["identifier"] == task
        })
    };
    assert!(started_at("unit") > finished("compile"));
    assert!(started_at("image") > finished("compile"));
    assert!(started_at("e2e") > finished("unit").max(finished("image")));
    // lint failed, but it ignores its failure: the batch succeeded.
    let statuses = finished_status(&r);
    assert_eq!(statuses["lint"], "FAILED");
    assert_eq!(statuses["e2e"], "SUCCEEDED");
    assert_eq!(r.of("batch_finished")[0]["status"], "SUCCEEDED");
    let _kept = no_containers_of(&r);
}

#[test]
fn a_failed_task_stops_its_dependents_and_the_batch_resumes_from_it() {
    let Some(img) = image() else { return };
    let dir = project(&[("buildspec.yml", GRAPH), ("fail-compile", "")]);
    let r = run(dir.path(), &img, &["--batch"]);
    assert_eq!(r.code, 1, "{}", r.dump());
    let statuses = finished_status(&r);
    assert_eq!(statuses["compile"], "FAILED");
    for dependent in ["unit", "image", "e2e"] {
        assert_eq!(statuses[dependent], "STOPPED", "{statuses:?}");
        assert!(
            build_of(&r, dependent).is_none(),
            "{dependent} must not start"
        );
    }
    assert_eq!(r.of("batch_finished")[0]["status"], "FAILED");
    let batch_id = r.of("batch_started")[0]["batch_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let compile = build_of(&r, "compile").expect("compile build");
    let _kept = crate::local_resume::Kept(compile.clone());
    assert_ne!(
        common::containers_of(&compile),
        "",
        "the failed task is kept"
    );

    // Fix the cause, then resume the batch by its id from the project directory.
    std::fs::remove_file(dir.path().join("fail-compile")).expect("fix");
    let out = Command::new(common::cbdash_bin())
        .args(["resume", &batch_id, "--json"])
        .current_dir(dir.path())
        .env("CBDASH_LOG_FILE", dir.path().join("cbdash-debug.log"))
        .output()
        .expect("resume");
    let resumed = parse(&out);
    assert_eq!(resumed.code, 0, "{}", resumed.dump());
    let started = &resumed.of("batch_started")[0];
    assert_eq!(
        started["batch_id"],
        batch_id.as_str(),
        "the batch keeps its id"
    );
    // compile resumed in place: same build, attempt 2 of its node, BUILD attempt 2.
    assert_eq!(
        build_of(&resumed, "compile").as_deref(),
        Some(compile.as_str())
    );
    let compile_node = resumed
        .of("batch_build")
        .into_iter()
        .rfind(|e| e["identifier"] == "compile")
        .cloned()
        .expect("compile node");
    assert_eq!(compile_node["attempt"], 2);
    assert!(
        resumed
            .phases()
            .iter()
            .any(|(p, s, a)| p == "BUILD" && s == "SUCCEEDED" && *a == 2)
    );
    // lint (done, ignore-failure) did not run again; the stopped dependents did.
    assert!(build_of(&resumed, "lint").is_none());
    let statuses = finished_status(&resumed);
    assert!(statuses.values().all(|s| s == "SUCCEEDED" || s == "FAILED"));
    assert_eq!(statuses["e2e"], "SUCCEEDED");
    assert_eq!(statuses["lint"], "FAILED");
    let _kept = no_containers_of(&resumed);
}

#[test]
fn fast_fail_stops_the_running_tasks() {
    let Some(img) = image() else { return };
    let spec = r#"version: 0.2
batch:
  fast-fail: true
  build-list:
    - identifier: quick_fail
    - identifier: slow
phases:
  build:
    commands:
      - if [ "$CODEBUILD_BATCH_BUILD_IDENTIFIER" = quick_fail ]; then exit 1; fi
      - sleep 60
"#;
    let dir = project(&[("buildspec.yml", spec)]);
    let t = std::time::Instant::now();
    let r = run(dir.path(), &img, &["--batch", "--max-parallel", "2"]);
    assert_eq!(r.code, 1, "{}", r.dump());
    assert!(t.elapsed().as_secs() < 50, "slow was not stopped");
    let statuses = finished_status(&r);
    assert_eq!(statuses["quick_fail"], "FAILED");
    assert_eq!(statuses["slow"], "STOPPED");
    let _kept = no_containers_of(&r);
}

#[test]
fn a_matrix_runs_every_combination_and_max_parallel_bounds_the_builds() {
    let Some(img) = image() else { return };
    let spec = r#"version: 0.2
batch:
  build-matrix:
    dynamic:
      env:
        variables:
          OS: [linux, windows]
          NODE: ["18", "20"]
phases:
  build:
    commands:
      - echo "combo=$CODEBUILD_BATCH_BUILD_IDENTIFIER os=$OS node=$NODE"
"#;
    let dir = project(&[("buildspec.yml", spec)]);
    let r = run(dir.path(), &img, &["--batch", "--max-parallel", "1"]);
    assert_eq!(r.code, 0, "{}", r.dump());
    let started = &r.of("batch_started")[0];
    assert_eq!(started["kind"], "matrix");
    let labels: Vec<&str> = started["builds"]
        .as_array()
        .expect("builds")
        .iter()
        .map(|b| b["label"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        labels,
        [
            "OS=linux NODE=18",
            "OS=linux NODE=20",
            "OS=windows NODE=18",
            "OS=windows NODE=20"
        ]
    );
    assert!(
        r.lines()
            .iter()
            .any(|l| l == "combo=matrix_3 os=windows node=18")
    );
    // One at a time: every build finished before the next started.
    let mut open = 0;
    for e in &r.events {
        match e["type"].as_str() {
            Some("build_started") => {
                open += 1;
                assert_eq!(open, 1, "{}", r.dump());
            }
            Some("build_finished") => open -= 1,
            _ => {}
        }
    }
}

#[test]
fn a_fanout_splits_the_test_files_across_its_shards() {
    let Some(img) = image() else { return };
    let spec = r#"version: 0.2
batch:
  build-fanout:
    parallelism: 3
phases:
  build:
    commands:
      - echo "shard=$CODEBUILD_BATCH_BUILD_IDENTIFIER number=$CBDASH_SHARD_NUMBER count=$CBDASH_SHARD_COUNT"
"#;
    let dir = project(&[("buildspec.yml", spec)]);
    let r = run(dir.path(), &img, &["--batch"]);
    assert_eq!(r.code, 0, "{}", r.dump());
    for i in 1..=3 {
        let want = format!("shard=fanout_{i} number={i} count=3");
        assert!(r.lines().contains(&want), "{want}\n{}", r.dump());
    }
}

#[test]
fn ctrl_c_stops_the_whole_batch_and_leaves_no_container() {
    let Some(img) = image() else { return };
    let spec = r"version: 0.2
batch:
  build-list:
    - identifier: a
    - identifier: b
phases:
  build:
    commands:
      - echo started
      - sleep 120
";
    let dir = project(&[("buildspec.yml", spec)]);
    let mut child = command(dir.path(), &img, &["--batch"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    // Wait until both builds run their command.
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stdout));
    let mut seen = Vec::new();
    let mut running = 0;
    for line in lines.by_ref() {
        let line = line.expect("line");
        if line.contains("\"line\":\"started\"") {
            running += 1;
        }
        seen.push(line);
        if running == 2 {
            break;
        }
    }
    assert_eq!(running, 2, "{seen:?}");
    let pid = child.id().to_string();
    Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("kill");
    seen.extend(lines.map_while(Result::ok));
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(1), "{seen:?}");
    let events: Vec<Value> = seen
        .iter()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    let fin = events
        .iter()
        .find(|e| e["type"] == "batch_finished")
        .expect("batch_finished");
    assert_eq!(fin["status"], "STOPPED");
    for e in events.iter().filter(|e| e["type"] == "build_started") {
        let id = e["build_id"].as_str().unwrap_or_default();
        assert_eq!(common::containers_of(id), "", "container of {id} left");
    }
}

#[test]
fn an_invalid_batch_is_refused_before_anything_starts() {
    let Some(img) = image() else { return };
    let spec = r"version: 0.2
batch:
  build-graph:
    - identifier: a
      depend-on: [b]
    - identifier: b
      depend-on: [a]
phases:
  build:
    commands:
      - echo never
";
    let dir = project(&[("buildspec.yml", spec)]);
    let r = run(dir.path(), &img, &["--batch"]);
    assert_eq!(r.code, 2, "{}", r.dump());
    assert!(r.events.is_empty(), "{}", r.dump());
    assert!(r.stderr.contains("buildspec.yml:"), "{}", r.stderr);
    assert!(r.stderr.contains("cycle"), "{}", r.stderr);
}
