//! `runtime-versions` from the image's `/codebuild/image/config/runtimes.yml`, and the helper
//! commands (`codebuild-hash-files`, `codebuild-glob-search`) in every local build, against the
//! real Docker daemon.

use std::process::Command;
use std::sync::Mutex;

use serde_json::Value;

use crate::local_harness::{Run, image, project, run};

/// The runtime table of the test image made by [`runtimes_image`]: listed versions, a
/// `default` entry, and commands that export what BUILD then reads.
const RUNTIMES_YML: &str = r#"version: 0.1
runtimes:
  python:
    versions:
      "3.9":
        commands:
          - echo "Installing Python version 3.9 ..."
          - export PYTHON_SELECTED=3.9
      "3.12":
        commands:
          - echo "Installing Python version 3.12 ..."
          - export PYTHON_SELECTED=3.12
      default:
        commands:
          - echo "Installing custom Python version $VERSION ..."
          - export PYTHON_SELECTED=custom-$VERSION
  nodejs:
    versions:
      "20":
        commands:
          - export NODE_SELECTED=20
  broken:
    versions:
      "1":
        commands:
          - echo "Installing broken 1 ..."
          - exit 9
          - echo NOT-AFTER-A-FAILED-RUNTIME-COMMAND
"#;

static MAKING: Mutex<()> = Mutex::new(());

fn docker(args: &[&str]) -> std::process::Output {
    Command::new("docker").args(args).output().expect("docker")
}

/// The test image plus [`RUNTIMES_YML`], made here (create, copy, commit: nothing is
/// pulled) once per base image and table.
fn runtimes_image(base: &str) -> String {
    let _guard = MAKING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let id = docker(&["image", "inspect", "-f", "{{.Id}}", base]);
    assert!(id.status.success(), "no base image {base}");
    let fingerprint = format!(
        "{}{RUNTIMES_YML}",
        String::from_utf8_lossy(&id.stdout).trim()
    );
    let tag = format!(
        "cbdash-test/runtimes:{:016x}",
        cbdash::engine::local::cache::fnv64(&fingerprint)
    );
    if docker(&["image", "inspect", &tag]).status.success() {
        return tag;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let conf = dir.path().join("codebuild/image/config");
    std::fs::create_dir_all(&conf).expect("mkdir");
    std::fs::write(conf.join("runtimes.yml"), RUNTIMES_YML).expect("write");
    let made = docker(&["create", base, "/bin/sh"]);
    assert!(made.status.success(), "docker create: {made:?}");
    let container = String::from_utf8_lossy(&made.stdout).trim().to_owned();
    let src = format!("{}/codebuild", dir.path().display());
    let copied = docker(&["cp", &src, &format!("{container}:/")]);
    let committed = docker(&["commit", &container, &tag]);
    docker(&["rm", "-f", &container]);
    assert!(copied.status.success(), "docker cp: {copied:?}");
    assert!(committed.status.success(), "docker commit: {committed:?}");
    tag
}

fn with_runtimes(versions: &str, build: &str) -> String {
    format!(
        "version: 0.2\nenv:\n  variables:\n    PY_WANTED: \"3.12\"\nphases:\n  install:\n    runtime-versions:\n{versions}    commands:\n      - echo install-commands-ran\n  build:\n    commands:\n{build}"
    )
}

fn agent_lines(r: &Run) -> Vec<String> {
    r.of("log")
        .iter()
        .filter(|e| e["stream"] == "agent")
        .map(|e| e["line"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn runtime_versions_run_the_listed_version_and_its_exports_reach_build() {
    let Some(base) = image() else { return };
    let img = runtimes_image(&base);
    let spec = with_runtimes(
        "      python: \"3.9\"\n      nodejs: 20\n",
        "      - echo py=$PYTHON_SELECTED node=$NODE_SELECTED\n",
    );
    let dir = project(&[("buildspec.yml", &spec)]);
    let r = run(dir.path(), &img, &[]);
    assert_eq!(r.status(), "SUCCEEDED", "{}", r.dump());
    let out = r.stdout();
    assert!(
        out.contains(&"Installing Python version 3.9 ...".to_owned()),
        "{}",
        r.dump()
    );
    assert!(
        out.contains(&"install-commands-ran".to_owned()),
        "{}",
        r.dump()
    );
    assert!(out.contains(&"py=3.9 node=20".to_owned()), "{}", r.dump());
    let agent = agent_lines(&r);
    assert!(
        agent
            .iter()
            .any(|l| l.ends_with("Running command echo \"Installing Python version 3.9 ...\"")),
        "{}",
        r.dump()
    );
    // Announced in DOWNLOAD_SOURCE, in the buildspec's order, as CodeBuild logs them.
    let selecting: Vec<&Value> = r
        .of("log")
        .into_iter()
        .filter(|e| {
            e["line"]
                .as_str()
                .is_some_and(|l| l.contains("Selecting '"))
        })
        .collect();
    assert_eq!(selecting.len(), 2, "{}", r.dump());
    assert!(selecting.iter().all(|e| e["phase"] == "DOWNLOAD_SOURCE"));
    let ends = |i: usize, text: &str| {
        selecting[i]["line"]
            .as_str()
            .is_some_and(|l| l.ends_with(text))
    };
    assert!(
        ends(
            0,
            "Selecting 'python' runtime version '3.9' based on manual selections..."
        ),
        "{}",
        r.dump()
    );
    assert!(
        ends(
            1,
            "Selecting 'nodejs' runtime version '20' based on manual selections..."
        ),
        "{}",
        r.dump()
    );
    assert!(
        !agent
            .iter()
            .any(|l| l.contains("Skipping install of runtimes"))
    );
}

#[test]
fn runtime_versions_latest_and_a_shell_variable_pick_their_version() {
    let Some(base) = image() else { return };
    let img = runtimes_image(&base);
    for (value, expected) in [("latest", "py=3.12"), ("\"$PY_WANTED\"", "py=3.12")] {
        let spec = with_runtimes(
            &format!("      python: {value}\n"),
            "      - echo py=$PYTHON_SELECTED\n",
        );
        let dir = project(&[("buildspec.yml", &spec)]);
        let r = run(dir.path(), &img, &[]);
        assert_eq!(r.status(), "SUCCEEDED", "{value}: {}", r.dump());
        assert!(
            r.stdout().contains(&expected.to_owned()),
            "{value}: {}",
            r.dump()
        );
        assert!(
            r.stdout()
                .contains(&"Installing Python version 3.12 ...".to_owned()),
            "{value}: {}",
            r.dump()
        );
    }
}

#[test]
fn runtime_versions_unlisted_version_runs_default_with_version_set() {
    let Some(base) = image() else { return };
    let img = runtimes_image(&base);
    let spec = with_runtimes(
        "      python: \"3.11\"\n",
        "      - echo py=$PYTHON_SELECTED build-version=${VERSION-unset}\n",
    );
    let dir = project(&[("buildspec.yml", &spec)]);
    let r = run(dir.path(), &img, &[]);
    assert_eq!(r.status(), "SUCCEEDED", "{}", r.dump());
    let out = r.stdout();
    // The runtime's VERSION does not outlive its commands: the build's own is unset here.
    assert!(
        out.contains(&"py=custom-3.11 build-version=unset".to_owned()),
        "{}",
        r.dump()
    );
    // And a build's own VERSION survives the runtime install.
    let with_own = spec.replace(
        "    PY_WANTED: \"3.12\"\n",
        "    PY_WANTED: \"3.12\"\n    VERSION: app-1.2\n",
    );
    let dir2 = project(&[("buildspec.yml", &with_own)]);
    let r2 = run(dir2.path(), &img, &[]);
    assert!(
        r2.stdout()
            .contains(&"py=custom-3.11 build-version=app-1.2".to_owned()),
        "{}",
        r2.dump()
    );
    assert!(
        out.contains(&"Installing custom Python version 3.11 ...".to_owned()),
        "{}",
        r.dump()
    );
    // Logged as the table writes it.
    assert!(
        agent_lines(&r).iter().any(|l| l
            .ends_with("Running command echo \"Installing custom Python version $VERSION ...\"")),
        "{}",
        r.dump()
    );
}

#[test]
fn runtime_versions_unknown_runtime_or_version_fails_download_source_with_what_the_image_has() {
    let Some(base) = image() else { return };
    let img = runtimes_image(&base);
    let cases = [
        (
            "      ruby: \"3.3\"\n      python: \"3.9\"\n",
            "ruby",
            "Unknown runtime named 'ruby'. This build image has the following runtimes: broken, \
             nodejs, python",
        ),
        (
            "      python: \"3.9\"\n      nodejs: 18\n",
            "nodejs",
            "Unknown runtime version named '18' of nodejs. This build image has the following \
             versions: 20",
        ),
    ];
    for (versions, runtime, message) in cases {
        let spec = with_runtimes(versions, "      - echo BUILD-RAN\n");
        let dir = project(&[("buildspec.yml", &spec)]);
        let r = run(dir.path(), &img, &[]);
        assert_eq!(r.status(), "FAILED", "{}", r.dump());
        assert_eq!(r.code, 1);
        // As public CodeBuild logs show: announced, then DOWNLOAD_SOURCE fails; nothing runs.
        let phases: Vec<String> = r.phases().into_iter().map(|p| p.0).collect();
        assert_eq!(
            phases,
            ["PROVISIONING", "DOWNLOAD_SOURCE", "FINALIZING"],
            "{}",
            r.dump()
        );
        let ctx = &r.finished("DOWNLOAD_SOURCE")["context"];
        assert_eq!(ctx["status_code"], "YAML_FILE_ERROR", "{}", r.dump());
        assert_eq!(ctx["message"], message);
        assert!(
            agent_lines(&r)
                .iter()
                .any(|l| l.contains(&format!("Selecting '{runtime}' runtime version"))),
            "{}",
            r.dump()
        );
        assert!(r.stdout().is_empty(), "{}", r.dump());
    }
}

#[test]
fn runtime_versions_a_failing_runtime_command_fails_install_and_finally_runs() {
    let Some(base) = image() else { return };
    let img = runtimes_image(&base);
    let spec = with_runtimes("      broken: \"1\"\n", "      - echo BUILD-RAN\n").replace(
        "      - echo install-commands-ran\n",
        "      - echo install-commands-ran\n    finally:\n      - echo install-finally-ran\n",
    );
    let dir = project(&[("buildspec.yml", &spec)]);
    let r = run(dir.path(), &img, &[]);
    assert_eq!(r.status(), "FAILED", "{}", r.dump());
    let ctx = &r.finished("INSTALL")["context"];
    assert_eq!(
        ctx["status_code"],
        "COMMAND_EXECUTION_ERROR",
        "{}",
        r.dump()
    );
    assert_eq!(
        ctx["message"],
        "Error while executing command: exit 9. Reason: exit status 9"
    );
    let out = r.stdout();
    assert_eq!(
        out,
        ["Installing broken 1 ...", "install-finally-ran"],
        "{}",
        r.dump()
    );
}

#[test]
fn runtime_versions_on_an_image_without_runtimes_yml_are_skipped() {
    let Some(img) = image() else { return };
    let spec = with_runtimes("      python: \"3.12\"\n", "      - echo BUILD-RAN\n");
    let dir = project(&[("buildspec.yml", &spec)]);
    let r = run(dir.path(), &img, &[]);
    assert_eq!(r.status(), "SUCCEEDED", "{}", r.dump());
    assert!(
        agent_lines(&r).iter().any(|l| l.ends_with(
            "Skipping install of runtimes. Runtime version selection is not supported by this build image"
        )),
        "{}",
        r.dump()
    );
    assert!(r.stdout().contains(&"install-commands-ran".to_owned()));
    assert!(r.stdout().contains(&"BUILD-RAN".to_owned()));
}

/// The 64-hex lines of a run's output.
fn hashes(r: &Run) -> Vec<String> {
    r.stdout()
        .into_iter()
        .filter(|l| l.len() == 64 && l.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')))
        .collect()
}

#[test]
fn helper_hash_files_is_stable_and_follows_file_changes() {
    let Some(img) = image() else { return };
    let spec = "version: 0.2\nphases:\n  build:\n    commands:\n      - codebuild-hash-files package-lock.json '**/*.md'\n      - cd docs && codebuild-hash-files '*.md'\n";
    let dir = project(&[
        ("buildspec.yml", spec),
        ("package-lock.json", "{\"v\": 1}\n"),
        ("docs/a.md", "a\n"),
        ("docs/deep/b.md", "b\n"),
    ]);
    let r1 = run(dir.path(), &img, &[]);
    assert_eq!(r1.status(), "SUCCEEDED", "{}", r1.dump());
    let h1 = hashes(&r1);
    assert_eq!(h1.len(), 2, "{}", r1.dump());
    assert_ne!(h1[0], h1[1], "different file sets hash differently");
    let r2 = run(dir.path(), &img, &[]);
    assert_eq!(hashes(&r2), h1, "stable across runs: {}", r2.dump());
    std::fs::write(dir.path().join("package-lock.json"), "{\"v\": 2}\n").expect("write");
    let r3 = run(dir.path(), &img, &[]);
    let h3 = hashes(&r3);
    assert_eq!(h3.len(), 2, "{}", r3.dump());
    assert_ne!(h3[0], h1[0], "a changed file changes the hash");
    assert_eq!(h3[1], h1[1], "files outside the patterns do not count");
}

#[test]
fn helper_glob_search_lists_matches_and_says_when_there_are_none() {
    let Some(img) = image() else { return };
    let spec = "version: 0.2\nphases:\n  build:\n    commands:\n      - codebuild-glob-search '**/*.md' 'c/*'\n      - codebuild-glob-search '*.none'\n      - echo after-no-match\n      - PATH=/nowhere /usr/local/bin/codebuild-hash-files x; echo rc=$?\n";
    let dir = project(&[
        ("buildspec.yml", spec),
        ("top.md", "t"),
        ("a/x.md", "x"),
        ("a/b/y.md", "y"),
        ("c/z.txt", "z"),
        ("c/d/deeper.txt", "no: `*` stays in one directory"),
        ("notmd", "n"),
    ]);
    let r = run(dir.path(), &img, &[]);
    assert_eq!(r.status(), "SUCCEEDED", "{}", r.dump());
    let out = r.stdout();
    assert_eq!(
        out[..4],
        ["a/b/y.md", "a/x.md", "c/z.txt", "top.md"],
        "{}",
        r.dump()
    );
    assert_eq!(out[4], "after-no-match", "{}", r.dump());
    let stderr: Vec<String> = r
        .of("log")
        .iter()
        .filter(|e| e["stream"] == "stderr")
        .map(|e| e["line"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(
        stderr
            .iter()
            .any(|l| l == "codebuild-glob-search: no files found matching: *.none"),
        "{}",
        r.dump()
    );
    // An image without any SHA-256 tool gets a clear message.
    assert!(out.contains(&"rc=127".to_owned()), "{}", r.dump());
    assert!(
        stderr
            .iter()
            .any(|l| l.contains("this image has no SHA-256 tool")),
        "{}",
        r.dump()
    );
}
