//! Resuming a failed local build in place (`cbdash run --keep`, `cbdash resume`) and a shell in
//! its kept container (`cbdash shell`), against the real Docker daemon.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::common;
use crate::local_harness::{Run, command, image, parse, project, run};

/// Removes the build's container when the test ends, whatever happened.
pub struct Kept(pub String);

impl Drop for Kept {
    fn drop(&mut self) {
        let label = format!("label=cbdash.build-id={}", self.0);
        if let Ok(out) = Command::new("docker")
            .args(["ps", "-aq", "--filter", &label])
            .output()
        {
            for id in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                let _ = Command::new("docker").args(["rm", "-f", id]).output();
            }
        }
    }
}

/// A project whose BUILD fails until `check.sh` is fixed. The phases before and after BUILD
/// append to marker files that end up in the artifacts; the one before BUILD exports a
/// variable, sets one it does not export and changes directory; BUILD sets both kinds
/// before it fails.
pub const SPEC: &str = r#"version: 0.2
phases:
  install:
    commands:
      - mkdir -p markers sub && echo ran >> markers/install
  pre_build:
    commands:
      - echo ran >> markers/pre_build
      - export FROM_PRE=pre-value
      - PLAIN_PRE='plain value'
      - cd sub
  build:
    commands:
      - echo "state pwd=$(pwd) pre=${FROM_PRE:-unset} failed=${FROM_BUILD:-unset} plain=${PLAIN_PRE:-unset} plainfailed=${PLAIN_BUILD:-unset}"
      - export FROM_BUILD=from-the-failed-attempt
      - PLAIN_BUILD=from-the-failed-attempt
      - sh ../check.sh
      - echo built > ../out.txt
  post_build:
    commands:
      - echo ran >> $CODEBUILD_SRC_DIR/markers/post_build
artifacts:
  files:
    - 'markers/*'
    - out.txt
"#;

/// The failing project, and its first run with `--keep` (which must fail in BUILD).
pub fn failed_build(img: &str) -> (tempfile::TempDir, Run, String) {
    let dir = project(&[
        ("buildspec.yml", SPEC),
        ("check.sh", "echo broken >&2; exit 1\n"),
        (".gitignore", "cbdash-debug.log\n"),
    ]);
    let out = command(dir.path(), img, &["--keep"])
        .env("CBDASH_HISTORY", dir.path().join(".cbdash/history.sqlite"))
        .output()
        .expect("run cbdash");
    let r = parse(&out);
    assert_eq!(r.code, 1, "{}", r.dump());
    assert_eq!(r.phase_status("BUILD").as_deref(), Some("FAILED"));
    let id = r.of("build_started")[0]["build_id"]
        .as_str()
        .expect("build id")
        .to_owned();
    assert!(
        r.of("notice").iter().any(|n| n["message"]
            .as_str()
            .is_some_and(|m| m.contains("kept container"))),
        "{}",
        r.dump()
    );
    (dir, r, id)
}

/// `cbdash ARGS... --json` with the project's history file.
fn cbdash(dir: &Path, args: &[&str]) -> Run {
    let out = Command::new(common::cbdash_bin())
        .args(args)
        .arg("--json")
        .env("CBDASH_HISTORY", dir.join(".cbdash/history.sqlite"))
        .env("CBDASH_LOG_FILE", dir.join("cbdash-debug.log"))
        .output()
        .expect("run cbdash");
    parse(&out)
}

#[test]
fn resume_reruns_the_failed_phase_and_what_follows_in_place() {
    let Some(img) = image() else { return };
    let (dir, first, id) = failed_build(&img);
    let _cleanup = Kept(id.clone());
    assert!(
        first.stdout().iter().any(|l| l
            .ends_with("/src/sub pre=pre-value failed=unset plain=plain value plainfailed=unset")),
        "{}",
        first.dump()
    );

    // An invalid buildspec is refused before anything runs, with file:line:col.
    std::fs::write(
        dir.path().join("buildspec.yml"),
        "version: 0.2\nphases:\n  build:\n    commands:\n      - echo a: b\n",
    )
    .expect("write");
    let bad = cbdash(dir.path(), &["resume", &id]);
    assert_eq!(bad.code, 2, "{}", bad.dump());
    assert!(bad.stderr.contains("buildspec.yml:5:"), "{}", bad.stderr);
    assert!(bad.events.is_empty(), "nothing ran: {}", bad.dump());

    // The fix, on the host; the resume copies it in and runs BUILD again.
    std::fs::write(dir.path().join("buildspec.yml"), SPEC).expect("write");
    std::fs::write(dir.path().join("check.sh"), "echo fixed\n").expect("write");
    let r = cbdash(dir.path(), &["resume", &id]);
    assert_eq!(r.code, 0, "{}", r.dump());
    assert_eq!(
        r.of("build_started")[0]["build_id"],
        id.as_str(),
        "same build id"
    );
    let started: Vec<(String, u64)> = r
        .of("phase_started")
        .iter()
        .map(|e| {
            (
                e["phase"].as_str().unwrap_or_default().to_owned(),
                e["attempt"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(
        started,
        [
            ("BUILD".to_owned(), 2),
            ("POST_BUILD".to_owned(), 2),
            ("UPLOAD_ARTIFACTS".to_owned(), 2),
            ("FINALIZING".to_owned(), 2),
            ("COMPLETED".to_owned(), 2),
        ],
        "{}",
        r.dump()
    );
    assert_eq!(r.status(), "SUCCEEDED");
    // Two files changed on the host since the build started: check.sh and the buildspec.
    assert!(
        r.of("notice").iter().any(|n| n["message"]
            .as_str()
            .is_some_and(|m| m.contains("resuming BUILD (attempt 2)")
                && m.contains("2 changed files copied in, 0 deleted"))),
        "{}",
        r.dump()
    );
    // The state restored at BUILD is the one saved when BUILD first started: PRE_BUILD's
    // variables (exported or not) and directory are there, the failed attempt's are not.
    let out = r.stdout();
    assert!(
        out.iter().any(|l| l
            .ends_with("/src/sub pre=pre-value failed=unset plain=plain value plainfailed=unset")),
        "{}",
        r.dump()
    );
    assert!(out.contains(&"fixed".to_owned()), "{}", r.dump());
    // The build succeeded and stays kept (`--keep`): the notice speaks of no failed phase.
    let kept: Vec<&str> = r
        .of("notice")
        .iter()
        .filter_map(|n| n["message"].as_str())
        .filter(|m| m.starts_with("kept container"))
        .collect();
    assert_eq!(kept.len(), 1, "{:#?}", r.of("notice"));
    assert!(
        kept[0].contains("the build succeeded") && !kept[0].contains("failed phase"),
        "{}",
        kept[0]
    );

    // A resumed build's duration is the sum of its runs.
    let ms = |run: &Run| {
        run.of("build_finished")[0]["duration_ms"]
            .as_u64()
            .expect("ms")
    };
    let (first_ms, total_ms) = (ms(&first), ms(&r));
    let resumed_ms: u64 = r
        .of("phase_finished")
        .iter()
        .filter_map(|p| p["duration_ms"].as_u64())
        .sum();
    assert!(
        total_ms >= first_ms + resumed_ms,
        "{total_ms} ms: the first run took {first_ms} ms, the resume's phases {resumed_ms} ms"
    );

    assert_artifacts_and_history(dir.path(), &id);
    let show = history_show(dir.path(), &id);
    assert_eq!(show["duration_ms"].as_u64(), Some(total_ms), "{show:#}");
}

/// A resume mirrors the host's deletions into the container's source, and only those: what
/// the build itself made stays.
#[test]
fn a_resume_deletes_what_the_host_deleted_and_keeps_what_the_build_made() {
    let Some(img) = image() else { return };
    let spec = "version: 0.2\nphases:\n  pre_build:\n    commands:\n      - echo made > made-by-build.txt\n  build:\n    commands:\n      - sh check.sh\n";
    let dir = project(&[
        ("buildspec.yml", spec),
        ("check.sh", "exit 1\n"),
        ("stale/old.txt", "from the host\n"),
        ("kept.txt", "stays\n"),
        (".gitignore", "cbdash-debug.log\n"),
    ]);
    let out = command(dir.path(), &img, &["--keep"])
        .env("CBDASH_HISTORY", dir.path().join(".cbdash/history.sqlite"))
        .output()
        .expect("run cbdash");
    let first = parse(&out);
    assert_eq!(first.code, 1, "{}", first.dump());
    let id = first.of("build_started")[0]["build_id"]
        .as_str()
        .expect("build id")
        .to_owned();
    let _cleanup = Kept(id.clone());

    std::fs::remove_dir_all(dir.path().join("stale")).expect("rm");
    std::fs::write(
        dir.path().join("check.sh"),
        "test ! -e stale/old.txt && test -e made-by-build.txt && test -e kept.txt && echo checked\n",
    )
    .expect("write");
    let r = cbdash(dir.path(), &["resume", &id]);
    assert_eq!(r.code, 0, "{}", r.dump());
    assert!(r.stdout().contains(&"checked".to_owned()), "{}", r.dump());
    assert!(
        r.of("notice").iter().any(|n| n["message"]
            .as_str()
            .is_some_and(|m| m.contains("1 changed file copied in, 1 deleted"))),
        "{}",
        r.dump()
    );
}

/// Artifacts: `INSTALL` and `PRE_BUILD` ran once, `POST_BUILD` twice (after the failure too); the
/// history has one run with both BUILD attempts.
fn assert_artifacts_and_history(dir: &Path, id: &str) {
    let art = dir
        .join(".cbdash/artifacts")
        .join(id.split_once(':').expect("id").1);
    let read =
        |f: &str| std::fs::read_to_string(art.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
    assert_eq!(read("markers/install"), "ran\n");
    assert_eq!(read("markers/pre_build"), "ran\n");
    assert_eq!(read("markers/post_build"), "ran\nran\n");
    assert_eq!(read("out.txt"), "built\n");
    let show = history_show(dir, id);
    assert_eq!(show["status"], "SUCCEEDED", "{show:#}");
    // COMPLETED shows how each run ended, not IN_PROGRESS.
    let completed: Vec<(u64, &str)> = show["phases"]
        .as_array()
        .expect("phases")
        .iter()
        .filter(|p| p["phase"] == "COMPLETED")
        .map(|p| {
            (
                p["attempt"].as_u64().unwrap_or(0),
                p["status"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(completed, [(1, "FAILED"), (2, "SUCCEEDED")], "{show:#}");
    let builds: Vec<(u64, String)> = show["phases"]
        .as_array()
        .expect("phases")
        .iter()
        .filter(|p| p["phase"] == "BUILD")
        .map(|p| {
            (
                p["attempt"].as_u64().unwrap_or(0),
                p["status"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        builds,
        [(1, "FAILED".to_owned()), (2, "SUCCEEDED".to_owned())],
        "{show:#}"
    );
}

/// `cbdash history show ID --json` on the project's history.
fn history_show(dir: &Path, id: &str) -> serde_json::Value {
    let h = Command::new(common::cbdash_bin())
        .args(["history", "show", id, "--json"])
        .env("CBDASH_HISTORY", dir.join(".cbdash/history.sqlite"))
        .output()
        .expect("history");
    serde_json::from_slice(&h.stdout).expect("history json")
}

#[test]
fn a_build_whose_container_is_gone_cannot_be_resumed() {
    let Some(img) = image() else { return };
    let (dir, _, id) = failed_build(&img);
    drop(Kept(id.clone()));
    let r = cbdash(dir.path(), &["resume", &id]);
    assert_eq!(r.code, 2, "{}", r.dump());
    assert!(r.stderr.contains("is gone"), "{}", r.stderr);
    assert!(r.stderr.contains("fresh build"), "{}", r.stderr);
    // A build run without --keep leaves nothing to resume either.
    let plain = run(dir.path(), &img, &[]);
    let id2 = plain.of("build_started")[0]["build_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let r = cbdash(dir.path(), &["resume", &id2]);
    assert_eq!(r.code, 2, "{}", r.dump());
}

/// An id no build ever had: "no such build", with the builds kept now, not "is gone".
#[test]
fn an_unknown_build_id_is_no_such_build_not_a_removed_one() {
    let Some(img) = image() else { return };
    let (dir, _, id) = failed_build(&img);
    let _cleanup = Kept(id.clone());
    for args in [&["shell", "nonexist"][..], &["resume", "nonexist"]] {
        let out = Command::new(common::cbdash_bin())
            .args(args)
            .env("CBDASH_HISTORY", dir.path().join(".cbdash/history.sqlite"))
            .stdin(Stdio::null())
            .output()
            .expect("run cbdash");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("no build 'nonexist'"), "{args:?}: {err}");
        assert!(!err.contains("idle time"), "{args:?}: {err}");
        assert!(err.contains(&id), "the kept build is listed: {err}");
    }
}

#[test]
fn shell_opens_in_the_failed_phase_state() {
    let Some(img) = image() else { return };
    let (dir, _, id) = failed_build(&img);
    let _cleanup = Kept(id.clone());
    // `script` gives cbdash a terminal (raw mode, a TTY exec), fed from our pipe.
    let cmd = format!("{} shell {id}", common::cbdash_bin().display());
    let mut child = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env("CBDASH_LOG_FILE", dir.path().join("cbdash-debug.log"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("script");
    let pid = child.id().to_string();
    // A watchdog: a shell that never returns fails the test instead of hanging it.
    std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_mins(1));
        let _ = Command::new("kill").args(["-9", &pid]).status();
    });
    {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin
            .write_all(b"echo \"WHERE=$(pwd) PRE=$FROM_PRE FAILED=${FROM_BUILD:-unset} PLAIN=$PLAIN_PRE\"; exit 7\n")
            .expect("type");
        // Keep stdin open until the shell has exited: `script` ends at its child's end.
        let out = child.wait_with_output().expect("wait");
        drop(stdin);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("/src/sub PRE=pre-value FAILED=unset PLAIN=plain value"),
            "stdout: {text}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            text.contains("[cbdash BUILD]"),
            "prompt names the phase: {text}"
        );
        assert_eq!(out.status.code(), Some(7), "the shell's exit code: {text}");
    }
}

#[test]
fn a_resume_masks_the_secrets_of_the_build_it_resumes() {
    let Some(img) = image() else { return };
    let dir = project(&[
        (
            "buildspec.yml",
            "version: 0.2\nphases:\n  build:\n    commands:\n      - echo \"token=$TOKEN\"\n      - sh check.sh\n",
        ),
        ("check.sh", "exit 1\n"),
        (".gitignore", "cbdash-debug.log\n"),
    ]);
    let secret = "hunter2-xyz-secret";
    let first = run(
        dir.path(),
        &img,
        &["--keep", "--secret", &format!("TOKEN={secret}")],
    );
    assert_eq!(first.code, 1, "{}", first.dump());
    let id = first.of("build_started")[0]["build_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let _cleanup = Kept(id.clone());
    std::fs::write(dir.path().join("check.sh"), "true\n").expect("write");
    let r = cbdash(dir.path(), &["resume", &id]);
    assert_eq!(r.code, 0, "{}", r.dump());
    assert!(r.stdout().contains(&"token=***".to_owned()), "{}", r.dump());
    let everything = r.events.iter().map(ToString::to_string).collect::<String>();
    assert!(
        !everything.contains(secret),
        "the secret leaked: {}",
        r.dump()
    );
    let record = std::fs::read_to_string(
        dir.path()
            .join(".cbdash/kept")
            .join(format!("{}.json", id.split_once(':').expect("id").1)),
    )
    .expect("the record of a --keep build");
    assert!(!record.contains(secret), "the record holds no secret value");
}
