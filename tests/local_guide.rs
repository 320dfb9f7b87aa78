//! The guide this project started from (`../shared/seed/000_*.txt`), end to end, as a user
//! runs it: its production Docker buildspec, word for word but for the ECR login, in the
//! CodeBuild-like image (`CBDASH_TEST_CB_IMAGE`, made by `scripts/test-env.sh` with
//! debootstrap), with the host's Docker socket (`--docker-socket`) and the local registry
//! (`CBDASH_TEST_REGISTRY`) standing in for ECR.
//!
//! How the pieces fit: the buildspec is cut out of the guide's text here, not copied, so a
//! change to the guide shows up. `REPOSITORY_URI` becomes `$LOCAL_REGISTRY/my-app`, with
//! `LOCAL_REGISTRY` given by `--env`. With the host's socket, `docker push 127.0.0.1:PORT/...`
//! inside the build is carried out by the host's daemon, so the registry's loopback address
//! is the right one. The project is a git repository made here, so
//! `CODEBUILD_RESOLVED_SOURCE_VERSION` is its commit. The Dockerfile has the guide's shape (a
//! multi-stage build) and starts FROM the busybox test image, so nothing is pulled; each
//! stage begins with a step unique to the test, so every later step's build-cache record
//! descends from one that names the test (what `host::prune_build_cache_of` relies on).
//!
//! Two smaller tests check the CodeBuild-like image itself: what it carries, and that
//! `runtime-versions` runs from its `runtimes.yml`.
//!
//! The guide's `pre_build` sets plain, non-exported variables (`REPOSITORY_URI`, `IMAGE_TAG`)
//! that `build` and `post_build` use: these tests hold cbdash to CodeBuild's semantics there.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

mod host;

use host::{Leftovers, local_image_exists, prune_build_cache_of};

use crate::common::{self, require};
use crate::local_harness::{Run, build_only, command, parse, project, run};

/// The ECR registry host of the guide's buildspec; the local registry takes its place.
const ECR_HOST: &str = "$AWS_ACCOUNT_ID.dkr.ecr.$AWS_DEFAULT_REGION.amazonaws.com";
/// The guide's build command, which its registry-cache variant replaces.
const GUIDE_BUILD: &str = "docker build -t $REPOSITORY_URI:latest .";
/// How the guide prints its registry-cache variant: one prose line.
const VARIANT_PREFIX: &str = "phases: build: commands:";

/// What the end-to-end runs need.
struct Env {
    /// The CodeBuild-like image the builds run in.
    cb_image: String,
    /// The busybox test image the Dockerfile starts FROM (present locally).
    base_image: String,
    /// The local registry, `127.0.0.1:PORT`.
    registry: String,
    /// The guide's text.
    guide: String,
}

fn env() -> Option<Env> {
    common::require("DOCKER_HOST")?;
    let cb_image = require("CBDASH_TEST_CB_IMAGE")?;
    let base_image = require("CBDASH_TEST_IMAGE")?;
    let registry = require("CBDASH_TEST_REGISTRY")?;
    let seed = common::shared_dir()?.join("seed");
    let file = std::fs::read_dir(&seed)
        .unwrap_or_else(|e| panic!("{}: {e}", seed.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            name.starts_with("000_") && p.extension().is_some_and(|x| x == "txt")
        })
        .unwrap_or_else(|| panic!("no 000_*.txt guide in {}", seed.display()));
    let guide = std::fs::read_to_string(&file).expect("read the guide");
    Some(Env {
        cb_image,
        base_image,
        registry,
        guide,
    })
}

/// The guide's production buildspec, from `version: 0.2` to its `artifacts` file, with the
/// ECR login dropped (the local registry needs none) and ECR's host replaced by
/// `$LOCAL_REGISTRY`.
fn guide_buildspec(guide: &str) -> String {
    let start = guide.find("version: 0.2").expect("the guide's buildspec");
    let end_marker = "files: imagedefinitions.json";
    let end = start
        + guide[start..]
            .find(end_marker)
            .expect("the end of the guide's buildspec")
        + end_marker.len();
    let lines: Vec<&str> = guide[start..end].lines().collect();
    let logins = lines
        .iter()
        .filter(|l| l.contains("aws ecr get-login-password"))
        .count();
    assert_eq!(logins, 1, "the guide's buildspec has one ECR login");
    let mut spec = String::new();
    for line in lines {
        if line.contains("aws ecr get-login-password") {
            continue;
        }
        spec += &line.replace(ECR_HOST, "$LOCAL_REGISTRY");
        spec.push('\n');
    }
    assert!(
        spec.contains("REPOSITORY_URI=$LOCAL_REGISTRY/my-app\n"),
        "{spec}"
    );
    assert!(spec.contains(&format!("- {GUIDE_BUILD}\n")), "{spec}");
    spec
}

/// The guide's registry-cache variant: its build command replaced by the variant's commands
/// (`docker pull ... || true`, `docker build --cache-from ...`), read from the guide's prose,
/// where the line continuations (`\`) were flattened onto one line.
fn registry_cache_buildspec(guide: &str) -> String {
    let prose = guide
        .lines()
        .find(|l| l.starts_with(VARIANT_PREFIX))
        .expect("the guide's registry-cache variant");
    let commands: Vec<String> = prose[VARIANT_PREFIX.len()..]
        .replace(" \\ ", " ")
        .split(" - ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .collect();
    assert_eq!(
        commands,
        [
            "export DOCKER_BUILDKIT=1",
            "docker pull $REPOSITORY_URI:latest || true",
            "docker build --cache-from $REPOSITORY_URI:latest --build-arg BUILDKIT_INLINE_CACHE=1 -t $REPOSITORY_URI:latest ."
        ],
        "the variant as the guide prints it"
    );
    let spec = guide_buildspec(guide);
    // The guide's build phase already exports DOCKER_BUILDKIT=1 just before its build.
    assert!(spec.contains(&format!("- {}\n", commands[0])), "{spec}");
    let indent = "      - ";
    spec.replace(
        &format!("{indent}{GUIDE_BUILD}\n"),
        &format!("{indent}{}\n{indent}{}\n", commands[1], commands[2]),
    )
}

/// The guide's Dockerfile shape, a multi-stage build, FROM the local busybox image. The first
/// step of each stage names `unique`, so the first run builds everything and every
/// build-cache record of this test descends from a record that names it.
fn dockerfile(base: &str, unique: &str) -> String {
    format!(
        "FROM {base} AS builder\nRUN echo {unique} > /build-id\nWORKDIR /src\nCOPY app.sh .\nRUN sh app.sh > /out.txt\n\nFROM {base}\nRUN echo {unique} > /stage-id\nCOPY --from=builder /out.txt /app/out.txt\nCMD [\"cat\", \"/app/out.txt\"]\n"
    )
}

/// Cacheable steps of [`dockerfile`]: RUN, WORKDIR, COPY, RUN; RUN, COPY.
const STEPS: u64 = 6;

/// `git ARGS` in `dir`, with an identity of its own; the trimmed stdout.
fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=cbdash test",
            "-c",
            "user.email=test@cbdash.invalid",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A committed git project with this buildspec and the Dockerfile; its commit.
fn guide_project(buildspec: &str, e: &Env, unique: &str) -> (tempfile::TempDir, String) {
    let dir = project(&[
        ("buildspec.yml", buildspec),
        ("Dockerfile", &dockerfile(&e.base_image, unique)),
        ("app.sh", "echo hello from my-app\n"),
        // The harness writes cbdash's debug log into the project.
        (".gitignore", "cbdash-debug.log\n"),
    ]);
    git(dir.path(), &["init", "-q"]);
    git(dir.path(), &["add", "-A"]);
    git(dir.path(), &["commit", "-q", "-m", "the guide's project"]);
    let commit = git(dir.path(), &["rev-parse", "HEAD"]);
    (dir, commit)
}

/// One run of the project in the CodeBuild-like image, with the host's socket, artifacts to
/// `out`.
fn run_guide(e: &Env, dir: &Path, local_registry: &str, out: &Path) -> Run {
    let output = command(
        dir,
        &e.cb_image,
        &[
            "--docker-socket",
            "--env",
            &format!("LOCAL_REGISTRY={local_registry}"),
            "--artifacts",
            out.to_str().expect("utf-8"),
        ],
    )
    .output()
    .expect("run cbdash");
    parse(&output)
}

/// The tags the registry holds for `repository`.
fn registry_tags(registry: &str, repository: &str) -> Vec<String> {
    let out = Command::new("curl")
        .args([
            "-fsS",
            &format!("http://{registry}/v2/{repository}/tags/list"),
        ])
        .output()
        .expect("curl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("tags json");
    let mut tags: Vec<String> = v["tags"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|t| t.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    tags.sort();
    tags
}

/// The one finished cache report of the docker build that tagged `image`.
fn report_of<'a>(r: &'a Run, image: &str) -> &'a Value {
    let reports: Vec<&Value> = r
        .of("cache_report")
        .into_iter()
        .filter(|c| c["image"] == image)
        .collect();
    assert_eq!(reports.len(), 1, "one report for {image}:\n{}", r.dump());
    reports[0]
}

/// The artifact `imagedefinitions.json` of a run, checked to be the one the guide writes.
fn image_definitions(out: &Path) -> Value {
    assert_eq!(common::files_under(out), ["imagedefinitions.json"]);
    let text = std::fs::read_to_string(out.join("imagedefinitions.json")).expect("read");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

fn assert_succeeded(r: &Run) {
    assert_eq!(r.code, 0, "{}", r.dump());
    assert_eq!(r.status(), "SUCCEEDED", "{}", r.dump());
}

/// The CodeBuild-like image has what the guide's buildspec and `runtime-versions` expect of
/// CodeBuild's images: dash as `/bin/sh`, a Docker CLI with BuildKit built in, git, python3
/// and a `runtimes.yml` where the curated images keep theirs.
#[test]
fn codebuild_like_image_has_what_the_curated_images_have() {
    let Some(e) = env() else { return };
    let dir = project(&[(
        "buildspec.yml",
        &build_only(&[
            "echo sh=$(readlink /bin/sh)",
            "docker --version",
            "git --version",
            "python3 --version",
            "grep -c '^runtimes:' /codebuild/image/config/runtimes.yml",
        ]),
    )]);
    let r = run(dir.path(), &e.cb_image, &[]);
    assert_succeeded(&r);
    let out = r.stdout();
    for prefix in [
        "sh=dash",
        "Docker version 20.10.",
        "git version 2.",
        "Python 3.",
    ] {
        assert!(
            out.iter().any(|l| l.starts_with(prefix)),
            "{prefix}: {}",
            r.dump()
        );
    }
    assert!(out.iter().any(|l| l == "1"), "{}", r.dump());
}

/// `runtime-versions` with the image's own `runtimes.yml`: `latest` is the highest listed
/// version by number (3.12, not 3.9), and what its commands export reaches the build.
#[test]
fn runtime_versions_use_the_codebuild_like_images_runtimes_yml() {
    let Some(e) = env() else { return };
    let dir = project(&[(
        "buildspec.yml",
        "version: 0.2\nphases:\n  install:\n    runtime-versions:\n      python: latest\n  build:\n    commands:\n      - echo runtime=$CBDASH_PYTHON_RUNTIME\n",
    )]);
    let r = run(dir.path(), &e.cb_image, &[]);
    assert_succeeded(&r);
    let out = r.stdout();
    assert!(
        out.iter()
            .any(|l| l == "Installing Python version 3.12 ..."),
        "{}",
        r.dump()
    );
    assert!(out.iter().any(|l| l == "runtime=3.12"), "{}", r.dump());
}

/// The guide's buildspec run twice: both succeed, the artifact names the commit's image,
/// the registry holds both tags, and the second docker build comes wholly from the host's
/// layer cache.
#[test]
fn guide_docker_buildspec_pushes_and_caches() {
    let Some(e) = env() else { return };
    let unique = format!("guide-{}", uuid::Uuid::new_v4().simple());
    let (dir, commit) = guide_project(&guide_buildspec(&e.guide), &e, &unique);
    let tag = &commit[..7];
    let latest = format!("{}/my-app:latest", e.registry);
    let tagged = format!("{}/my-app:{tag}", e.registry);
    let _leftovers = Leftovers {
        repository: format!("{}/my-app", e.registry),
        unique: unique.clone(),
    };

    let outs = [tempdir(), tempdir()];
    let runs: Vec<Run> = outs
        .iter()
        .map(|out| run_guide(&e, dir.path(), &e.registry, out.path()))
        .collect();
    for (r, out) in runs.iter().zip(&outs) {
        assert_succeeded(r);
        assert_eq!(
            image_definitions(out.path()),
            serde_json::json!([{"name": "my-app", "imageUri": tagged}]),
        );
    }
    let tags = registry_tags(&e.registry, "my-app");
    for t in ["latest", tag] {
        assert!(tags.iter().any(|x| x == t), "{t} not in {tags:?}");
    }
    let first = report_of(&runs[0], &latest);
    assert_eq!(first["steps_total"], STEPS, "{first}");
    assert_eq!(first["steps_cached"], 0, "{first}");
    let second = report_of(&runs[1], &latest);
    assert_eq!(second["steps_total"], STEPS, "{second}");
    assert_eq!(second["steps_cached"], STEPS, "{second}");
    assert_eq!(second["first_miss"], Value::Null, "{second}");
}

/// The guide's registry-cache variant, with this test's images and build cache removed from
/// the host between the runs: the second build imports the inline cache that the first
/// pushed, and every step comes back cached from the registry.
#[test]
fn guide_registry_cache_variant_restores_layers_from_the_registry() {
    let Some(e) = env() else { return };
    let unique = format!("guide-cache-{}", uuid::Uuid::new_v4().simple());
    // A namespace of its own in the registry, so only this test's images are removed.
    let local_registry = format!("{}/{unique}", e.registry);
    let (dir, commit) = guide_project(&registry_cache_buildspec(&e.guide), &e, &unique);
    let latest = format!("{local_registry}/my-app:latest");
    let tagged = format!("{local_registry}/my-app:{}", &commit[..7]);
    let leftovers = Leftovers {
        repository: format!("{local_registry}/my-app"),
        unique: unique.clone(),
    };

    let out = tempdir();
    let first = run_guide(&e, dir.path(), &local_registry, out.path());
    assert_succeeded(&first);
    let built = report_of(&first, &latest);
    assert_eq!(built["steps_cached"], 0, "{built}");

    leftovers.remove_images();
    prune_build_cache_of(&unique);
    assert!(
        !local_image_exists(&latest) && !local_image_exists(&tagged),
        "the host still has the images"
    );

    let out = tempdir();
    let second = run_guide(&e, dir.path(), &local_registry, out.path());
    assert_succeeded(&second);
    assert_eq!(
        image_definitions(out.path()),
        serde_json::json!([{"name": "my-app", "imageUri": tagged}]),
    );
    let lines = second.lines();
    assert!(
        lines
            .iter()
            .any(|l| l.ends_with(&format!("importing cache manifest from {latest}"))),
        "{}",
        second.dump()
    );
    let restored = report_of(&second, &latest);
    assert_eq!(restored["steps_total"], STEPS, "{restored}");
    assert_eq!(restored["steps_cached"], STEPS, "{restored}");
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}
