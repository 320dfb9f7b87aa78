//! CodeBuild semantics of local builds against the real Docker daemon (semantics §9 items
//! 1–11): transitions, finally, on-failure, shells, state carry-over, environment, logs.

use crate::local_harness::{build_only, image, project, run};

#[test]
fn failing_install_skips_build_and_post_build() {
    let Some(img) = image() else { return };
    let dir = project(&[(
        "buildspec.yml",
        "version: 0.2\nphases:\n  install:\n    commands:\n      - exit 2\n  build:\n    commands:\n      - echo BUILD-RAN\n  post_build:\n    commands:\n      - echo POST-RAN\n",
    )]);
    let r = run(dir.path(), &img, &[]);
    assert_eq!(r.code, 1, "{}", r.dump());
    let phases: Vec<String> = r.phases().into_iter().map(|p| p.0).collect();
    assert_eq!(
        phases,
        ["PROVISIONING", "DOWNLOAD_SOURCE", "INSTALL", "FINALIZING"],
        "{}",
        r.dump()
    );
    assert!(!r.stdout().iter().any(|l| l.contains("RAN")));
    assert!(r.of("phase_started").iter().all(|e| e["phase"] != "BUILD"));
}

#[test]
fn failing_build_runs_post_build_with_succeeding_0_and_uploads() {
    let Some(img) = image() else { return };
    let dir = project(&[(
        "buildspec.yml",
        "version: 0.2\nphases:\n  build:\n    commands:\n      - echo before=$CODEBUILD_BUILD_SUCCEEDING\n      - exit 4\n      - echo SKIPPED\n  post_build:\n    commands:\n      - echo post=$CODEBUILD_BUILD_SUCCEEDING\n      - exit 1\n",
    )]);
    let r = run(dir.path(), &img, &[]);
    assert_eq!(r.code, 1);
    let out = r.stdout();
    assert!(out.contains(&"before=1".to_owned()), "{}", r.dump());
    assert!(out.contains(&"post=0".to_owned()), "{}", r.dump());
    assert!(!out.contains(&"SKIPPED".to_owned()));
    assert_eq!(r.phase_status("POST_BUILD").as_deref(), Some("FAILED"));
    assert_eq!(
        r.phase_status("UPLOAD_ARTIFACTS").as_deref(),
        Some("SUCCEEDED")
    );
    let ctx = &r.finished("BUILD")["context"];
    assert_eq!(ctx["status_code"], "COMMAND_EXECUTION_ERROR");
    assert_eq!(
        ctx["message"],
        "Error while executing command: exit 4. Reason: exit status 4"
    );
}

#[test]
fn finally_runs_after_the_first_failure_and_can_fail_the_phase() {
    let Some(img) = image() else { return };
    let dir = project(&[(
        "buildspec.yml",
        "version: 0.2\nphases:\n  pre_build:\n    commands:\n      - echo one\n    finally:\n      - echo fin-pre\n      - exit 5\n      - echo NOT-AFTER-FINALLY-FAILURE\n  build:\n    commands:\n      - echo BUILD\n",
    )]);
    let r = run(dir.path(), &img, &[]);
    assert_eq!(
        r.phase_status("PRE_BUILD").as_deref(),
        Some("FAILED"),
        "{}",
        r.dump()
    );
    assert!(r.stdout().contains(&"fin-pre".to_owned()));
    assert!(!r.stdout().iter().any(|l| l.contains("NOT-AFTER")));
    assert!(!r.stdout().contains(&"BUILD".to_owned()));

    let dir = project(&[(
        "buildspec.yml",
        "version: 0.2\nphases:\n  build:\n    commands:\n      - echo a\n      - false\n      - echo SKIPPED\n    finally:\n      - echo cleanup\n",
    )]);
    let r = run(dir.path(), &img, &[]);
    let out = r.stdout();
    assert_eq!(out, ["a", "cleanup"], "{}", r.dump());
    assert_eq!(r.phase_status("BUILD").as_deref(), Some("FAILED"));
}

#[test]
fn on_failure_abort_continue_and_retry() {
    let Some(img) = image() else { return };
    // ABORT on build skips post_build.
    let dir = project(&[(
        "buildspec.yml",
        "version: 0.2\nphases:\n  build:\n    on-failure: ABORT\n    commands:\n      - false\n  post_build:\n    commands:\n      - echo POST\n",
    )]);
    let r = run(dir.path(), &img, &[]);
    assert!(!r.stdout().contains(&"POST".to_owned()), "{}", r.dump());
    assert_eq!(r.phase_status("UPLOAD_ARTIFACTS"), None);
    assert_eq!(r.status(), "FAILED");
    // CONTINUE on pre_build runs build, which sees SUCCEEDING=0; the build fails.
    let dir = project(&[(
        "buildspec.yml",
        "version: 0.2\nphases:\n  pre_build:\n    on-failure: CONTINUE\n    commands:\n      - false\n  build:\n    commands:\n      - echo build=$CODEBUILD_BUILD_SUCCEEDING\n",
    )]);
    let r = run(dir.path(), &img, &[]);
    assert!(r.stdout().contains(&"build=0".to_owned()), "{}", r.dump());
    assert_eq!(r.status(), "FAILED");
    assert_eq!(r.code, 1);
    // RETRY-2: three attempts in all; a counter file proves the re-runs.
    let dir = project(&[(
        "buildspec.yml",
        "version: 0.2\nphases:\n  build:\n    on-failure: RETRY-2\n    commands:\n      - echo x >> /tmp/attempts\n      - wc -l < /tmp/attempts\n      - false\n",
    )]);
    let r = run(dir.path(), &img, &[]);
    let attempts: Vec<u64> = r
        .phases()
        .into_iter()
        .filter(|p| p.0 == "BUILD")
        .map(|p| p.2)
        .collect();
    assert_eq!(attempts, [1, 2, 3], "{}", r.dump());
    assert_eq!(
        r.stdout().last().map(|s| s.trim().to_owned()).as_deref(),
        Some("3")
    );
    // RETRY-<regex>: retried only when the message matches.
    let dir = project(&[(
        "buildspec.yml",
        "version: 0.2\nphases:\n  build:\n    on-failure: RETRY-1-exit status 7\n    commands:\n      - exit 6\n",
    )]);
    let r = run(dir.path(), &img, &[]);
    assert_eq!(
        r.phases().iter().filter(|p| p.0 == "BUILD").count(),
        1,
        "{}",
        r.dump()
    );
    let dir = project(&[(
        "buildspec.yml",
        "version: 0.2\nphases:\n  build:\n    on-failure: RETRY-1-exit status 7\n    commands:\n      - exit 7\n",
    )]);
    let r = run(dir.path(), &img, &[]);
    assert_eq!(
        r.phases().iter().filter(|p| p.0 == "BUILD").count(),
        2,
        "{}",
        r.dump()
    );
}

#[test]
fn sh_is_dash_unless_env_shell_is_bash() {
    let Some(img) = image() else { return };
    let dir = project(&[(
        "buildspec.yml",
        &build_only(&["[[ 1 == 1 ]] && echo double-bracket"]),
    )]);
    let r = run(dir.path(), &img, &[]);
    assert_eq!(
        r.phase_status("BUILD").as_deref(),
        Some("FAILED"),
        "{}",
        r.dump()
    );
    assert_eq!(r.code, 1);
    let dir = project(&[(
        "buildspec.yml",
        "version: 0.2\nenv:\n  shell: bash\nphases:\n  build:\n    commands:\n      - '[[ 1 == 1 ]] && echo double-bracket'\n      - set -o pipefail; echo $BASH_VERSION | cut -c1\n",
    )]);
    let r = run(dir.path(), &img, &[]);
    assert_eq!(r.code, 0, "{}", r.dump());
    assert!(r.stdout().contains(&"double-bracket".to_owned()));
}

#[test]
fn cd_and_export_carry_over_in_0_2_but_not_0_1() {
    let Some(img) = image() else { return };
    let spec = "phases:\n  install:\n    commands:\n      - mkdir -p sub && cd sub\n      - export X=1\n      - Y=plain\n  build:\n    commands:\n      - pwd\n      - echo X=$X\n";
    let dir = project(&[("buildspec.yml", &format!("version: 0.2\n{spec}"))]);
    let r = run(dir.path(), &img, &[]);
    let out = r.stdout();
    assert!(
        out.iter()
            .any(|l| l.starts_with("/codebuild/output/src") && l.ends_with("/src/sub")),
        "{}",
        r.dump()
    );
    assert!(out.contains(&"X=1".to_owned()), "{}", r.dump());
    let dir = project(&[("buildspec.yml", &format!("version: 0.1\n{spec}"))]);
    let r = run(dir.path(), &img, &[]);
    let out = r.stdout();
    assert!(out.iter().any(|l| l.ends_with("/src")), "{}", r.dump());
    assert!(out.contains(&"X=".to_owned()), "{}", r.dump());
}

#[test]
fn multi_line_block_fails_only_on_its_last_line_unless_set_e() {
    let Some(img) = image() else { return };
    let dir = project(&[(
        "buildspec.yml",
        "version: 0.2\nphases:\n  build:\n    commands:\n      - |\n        false\n        true\n      - echo after-masked\n      - |\n        set -e\n        false\n        echo NOT-REACHED\n",
    )]);
    let r = run(dir.path(), &img, &[]);
    let out = r.stdout();
    assert!(out.contains(&"after-masked".to_owned()), "{}", r.dump());
    assert!(!out.contains(&"NOT-REACHED".to_owned()));
    assert_eq!(r.phase_status("BUILD").as_deref(), Some("FAILED"));
}

#[test]
fn variables_are_literal_and_layered() {
    let Some(img) = image() else { return };
    let dir = project(&[
        (
            "buildspec.yml",
            "version: 0.2\nenv:\n  variables:\n    LIT: \"$HOME:/x\"\n    A: spec\n    B: spec\n    C: spec\nphases:\n  build:\n    commands:\n      - echo \"LIT=$LIT A=$A B=$B C=$C\"\n",
        ),
        (".cbdash.toml", "[env]\nB = \"project\"\nC = \"project\"\n"),
    ]);
    let r = run(dir.path(), &img, &["--env", "C=cli"]);
    assert!(
        r.stdout()
            .contains(&"LIT=$HOME:/x A=spec B=project C=cli".to_owned()),
        "{}",
        r.dump()
    );
}

#[test]
fn codebuild_variables_look_real() {
    let Some(img) = image() else { return };
    let dir = project(&[(
        "buildspec.yml",
        &build_only(&[
            "echo HOME=$HOME",
            "echo START=$CODEBUILD_START_TIME",
            "echo ID=$CODEBUILD_BUILD_ID",
            "echo NUM=$CODEBUILD_BUILD_NUMBER",
            "echo SRC=$CODEBUILD_SRC_DIR",
            "echo ARN=$CODEBUILD_BUILD_ARN",
            "echo RSV=${CODEBUILD_RESOLVED_SOURCE_VERSION:-unset}",
            "id -u",
            // Writes into the source copy, which must never reach the user's tree.
            "mkdir -p sub && echo made > sub/f && echo made > top.txt && echo WROTE=$(cat sub/f)",
        ]),
    )]);
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .arg("-C")
            .arg(dir.path())
            .args(args)
            .output()
            .expect("git")
    };
    git(&["init", "-q"]);
    git(&[
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@t",
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "x",
    ]);
    let head = String::from_utf8_lossy(&git(&["rev-parse", "HEAD"]).stdout)
        .trim()
        .to_owned();
    let r = run(dir.path(), &img, &[]);
    let out = r.stdout();
    let get = |k: &str| {
        out.iter()
            .find_map(|l| l.strip_prefix(&format!("{k}=")))
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(get("HOME"), "/root", "{}", r.dump());
    let start: i64 = get("START").parse().expect("START is a number");
    assert!(start > 1_600_000_000_000, "milliseconds: {start}");
    let name = dir
        .path()
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    assert!(get("ID").starts_with(&format!("{name}:")), "{}", get("ID"));
    assert_eq!(get("NUM"), "1");
    assert!(get("SRC").starts_with("/codebuild/output/src"));
    assert!(get("ARN").starts_with("arn:aws:codebuild:"));
    assert_eq!(get("RSV"), head);
    assert!(out.contains(&"0".to_owned()), "runs as root");
    let r2 = run(dir.path(), &img, &[]);
    assert!(
        r2.stdout().contains(&"NUM=2".to_owned()),
        "build number counts"
    );
    // The source copy never writes into the user's tree: what the build wrote there (it
    // did: WROTE=made) is not on the host.
    assert!(out.contains(&"WROTE=made".to_owned()), "{}", r.dump());
    assert!(!dir.path().join("sub").exists());
    assert!(!dir.path().join("top.txt").exists());
}

/// CodeBuild fails `DOWNLOAD_SOURCE` with `YAML_FILE_ERROR`; locally a folder without a
/// buildspec is a wrong directory, refused before anything starts (README fidelity table), in
/// every output mode.
#[test]
fn missing_buildspec_is_refused_up_front() {
    let Some(img) = image() else { return };
    let dir = project(&[("README", "no buildspec here")]);
    for mode in ["--json", "--plain"] {
        let out = std::process::Command::new(crate::common::cbdash_bin())
            .arg("run")
            .arg(dir.path())
            .args([mode, "--image", &img, "--pull", "never"])
            .output()
            .expect("run cbdash");
        assert_eq!(out.status.code(), Some(2), "{mode}: {out:?}");
        assert!(out.stdout.is_empty(), "{mode}: nothing started: {out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("no buildspec at") && err.contains("cbdash init"),
            "{err}"
        );
    }
}

#[test]
fn log_lines_follow_codebuild_formats() {
    let Some(img) = image() else { return };
    let dir = project(&[("buildspec.yml", &build_only(&["echo ok", "exit 3"]))]);
    let r = run(dir.path(), &img, &[]);
    let lines = r.lines();
    let re = regex::Regex::new(r"^\[Container\] \d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}\.\d{6} ")
        .expect("re");
    let agent: Vec<&str> = r
        .of("log")
        .iter()
        .filter(|e| e["stream"] == "agent")
        .filter_map(|e| e["line"].as_str())
        .collect();
    assert!(agent.iter().all(|l| re.is_match(l)), "{agent:?}");
    let has = |s: &str| lines.iter().any(|l| re.is_match(l) && l.ends_with(s));
    assert!(has("Entering phase BUILD"), "{}", r.dump());
    assert!(has("Running command echo ok"));
    assert!(has(
        "Command did not exit successfully exit 3 exit status 3"
    ));
    assert!(has("Phase complete: BUILD State: FAILED"));
    assert!(has(
        "Phase context status code: COMMAND_EXECUTION_ERROR Message: Error while executing command: exit 3. Reason: exit status 3"
    ));
    assert!(has("Phase complete: INSTALL State: SUCCEEDED"));
    assert!(has("Phase context status code:  Message: "));
}
