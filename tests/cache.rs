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

/// The guide's registry-cache variant (`../shared/seed/000_*.txt`: `export DOCKER_BUILDKIT=1`,
/// `docker pull $REPOSITORY_URI:latest || true`, `docker build --cache-from ...`), read from
/// its prose line, run as CodeBuild logs it: the pull fails on a first run (`|| true`) or
/// prints its progress, the build prints BuildKit's plain progress (a recorded build). One
/// report, for the docker build; none for the pull, whatever its output looks like.
#[test]
fn only_the_guides_docker_build_gets_a_cache_report() {
    let Some(shared) = crate::common::shared_dir() else {
        return;
    };
    let seed = shared.join("seed");
    let guide = std::fs::read_dir(&seed)
        .expect("the seed folder")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "txt"))
        .map(|p| std::fs::read_to_string(p).expect("read the guide"))
        .expect("a guide in the seed folder");
    let prose = guide
        .lines()
        .find_map(|l| l.strip_prefix("phases: build: commands:"))
        .expect("the guide's registry-cache variant");
    let commands: Vec<String> = prose
        .replace(" \\ ", " ")
        .split(" - ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .collect();
    assert_eq!(commands.len(), 3, "{commands:?}");
    assert!(commands[1].starts_with("docker pull "), "{commands:?}");
    assert!(commands[2].starts_with("docker build "), "{commands:?}");

    let agent = |cmd: &str| format!("[Container] 2026/12/02 04:40:00.000000 Running command {cmd}");
    let pull_outputs: [&[&str]; 2] = [
        // First run: nothing pushed yet.
        &[
            "Error response from daemon: manifest for 127.0.0.1:5000/my-app:latest not found: manifest unknown: manifest unknown",
        ],
        // Later runs: the image is there; then lines shaped like a legacy builder's output
        // (not what docker pull prints, but what any output under it may look like).
        &[
            "latest: Pulling from my-app",
            "Status: Downloaded newer image for 127.0.0.1:5000/my-app:latest",
            " ---> 0123456789ab",
            "Step 1/1 : pulled",
            "Sending build context to Docker daemon  5.12kB",
            "127.0.0.1:5000/my-app:latest",
        ],
    ];
    for pull in pull_outputs {
        let mut a = Analyzer::new();
        let mut reports = Vec::new();
        reports.extend(a.feed(&agent(&commands[0])));
        reports.extend(a.feed(&agent(&commands[1])));
        for line in pull {
            reports.extend(a.feed(line));
        }
        assert!(reports.is_empty(), "the pull made a report: {reports:#?}");
        reports.extend(a.feed(&agent(&commands[2])));
        for line in include_str!("fixtures/docker-build/bk-first.log").lines() {
            reports.extend(a.feed(line));
        }
        reports.extend(a.feed(&agent(
            "docker tag $REPOSITORY_URI:latest $REPOSITORY_URI:$IMAGE_TAG",
        )));
        reports.extend(a.finish());
        let finished: Vec<&CacheReport> = reports.iter().filter(|r| r.finished).collect();
        assert_eq!(finished.len(), 1, "{finished:#?}");
        assert_eq!(finished[0].docker_build, 0);
        assert!(finished[0].steps_total > 0, "{:#?}", finished[0]);
        assert!(reports.iter().all(|r| r.docker_build == 0), "{reports:#?}");
    }
}

/// One recorded local build of project `web` whose docker build of `web:1` ran `steps`,
/// missing from `first_miss` on (each miss taking `ms`).
pub fn record_build(path: &Path, n: i64, steps: &[&str], first_miss: usize, ms: u64) {
    use cbdash::model::{BackendKind, BuildEvent, BuildId, CacheStep, FirstMiss, Status};
    let id = BuildId(format!("web:{n:08}-1111-2222-3333-444444444444"));
    let at = chrono::Utc::now() - chrono::Duration::minutes(60 - n);
    let mut report = CacheReport::new(0, Builder::Buildkit);
    report.image = Some("web:1".into());
    report.finished = true;
    for (i, text) in steps.iter().enumerate() {
        let cached = i < first_miss;
        report.steps.push(CacheStep {
            index: u32::try_from(i + 2).expect("small"),
            stage: None,
            platform: None,
            instruction: (*text).to_owned(),
            cached,
            state: if cached {
                cbdash::model::StepState::Cached
            } else {
                cbdash::model::StepState::Built
            },
            duration_ms: Some(if cached { 0 } else { ms }),
            invalidated_by: None,
        });
    }
    report.steps_total = u32::try_from(steps.len()).expect("small");
    report.steps_cached = u32::try_from(first_miss.min(steps.len())).expect("small");
    report.first_miss = steps.get(first_miss).map(|s| FirstMiss {
        step: u32::try_from(first_miss + 2).expect("small"),
        instruction: (*s).to_owned(),
        reason: None,
    });
    let mut rec = cbdash::history::Recorder::new(cbdash::history::Store::open(path).expect("open"));
    for ev in [
        BuildEvent::Started {
            build_id: id.clone(),
            project: "web".into(),
            backend: BackendKind::Local,
            image: "img".into(),
            docker: cbdash::model::DockerAccess::default(),
            batch: None,
            at,
        },
        BuildEvent::Cache {
            build_id: id.clone(),
            report,
        },
        BuildEvent::Finished {
            build_id: id.clone(),
            status: Status::Succeeded,
            duration_ms: 1000,
            at,
            exported_variables: std::collections::BTreeMap::new(),
        },
    ] {
        rec.record(&ev).expect("record");
    }
    drop(rec.finish().expect("finish"));
}

/// `cbdash cache DIR` on a recorded history: nothing recorded says so; four builds whose
/// `COPY . .` re-ran `npm ci` give the report and the reordering, in 80 columns and as JSON.
#[test]
fn the_cache_command_reports_a_projects_dockerfile_with_advice() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let project = tmp.path().join("web");
    std::fs::create_dir(&project).expect("mkdir");
    std::fs::write(
        project.join("Dockerfile"),
        "FROM node:22\nWORKDIR /app\nCOPY . .\nRUN npm ci\nRUN npm run build\n",
    )
    .expect("Dockerfile");
    std::fs::write(project.join("package.json"), "{}").expect("package.json");
    std::fs::write(project.join("package-lock.json"), "{}").expect("lock");
    let history = tmp.path().join("h.sqlite");
    let run = |args: &[&str]| {
        let out = Command::new(crate::common::cbdash_bin())
            .arg("--history")
            .arg(&history)
            .arg("cache")
            .arg(&project)
            .args(args)
            .output()
            .expect("run cbdash");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let out = run(&[]);
    assert!(out.starts_with("no docker build of project 'web'"), "{out}");

    let steps = [
        "WORKDIR /app",
        "COPY . .",
        "RUN npm ci",
        "RUN npm run build",
    ];
    record_build(&history, 0, &steps, 0, 30_000);
    for n in 1..=3 {
        record_build(&history, n, &steps, 1, 20_000);
    }
    let out = run(&[]);
    assert!(
        out.lines().all(|l| l.chars().count() <= 80),
        "wider than 80 columns:\n{out}"
    );
    assert!(
        out.starts_with("web:1 · project web · last 4 docker builds"),
        "{out}"
    );
    assert!(out.contains("RUN npm ci"), "{out}");
    assert!(out.contains("[npm-after-copy-all]"), "{out}");
    assert!(
        out.contains(
            "      COPY package.json package-lock.json ./\n      RUN npm ci\n      COPY . .\n"
        ),
        "{out}"
    );

    let doc: serde_json::Value =
        serde_json::from_str(run(&["--json"]).trim()).expect("one JSON document");
    assert_eq!(doc["project"], "web");
    let d = &doc["dockerfiles"][0];
    assert_eq!(d["image"], "web:1");
    assert_eq!(d["builds"], 4);
    let npm = &d["steps"][2];
    assert_eq!(npm["instruction"], "RUN npm ci");
    assert_eq!(npm["misses"], 4);
    assert_eq!(npm["miss_cost_ms"], 30_000 + 3 * 20_000);
    assert_eq!(d["hit_ratio"][1]["ratio"], 0.25);
    let advice = d["advice"].as_array().expect("advice");
    let npm_advice = advice
        .iter()
        .find(|a| a["rule"] == "npm-after-copy-all")
        .expect("the npm advice");
    assert_eq!(npm_advice["builds"], 4);
    // The Dockerfile reordered: the history's pattern is no longer advised on.
    std::fs::write(
        project.join("Dockerfile"),
        "FROM node:22\nWORKDIR /app\nCOPY package.json package-lock.json ./\nRUN npm ci\nCOPY . .\n",
    )
    .expect("Dockerfile");
    assert!(!run(&[]).contains("[npm-after-copy-all]"));
}
