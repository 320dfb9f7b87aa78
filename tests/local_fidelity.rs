//! Local builds behave as on CodeBuild where real buildspecs notice (issue 14): artifact
//! `base-directory` patterns, symlinks, file modes, secondary artifact names and
//! `exclude-paths`; `env.exported-variables`; the `YAML location` and `Phases found` lines;
//! `run-as`; bash-only syntax failing under dash as CodeBuild shows it; Parameter Store and
//! Secrets Manager errors said as what they are. On the real Docker daemon (and moto).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use crate::common::{self, files_under};
use crate::local_harness::{build_only, command, image, parse, project, run};

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777
}

#[test]
fn artifacts_base_directory_pattern_symlinks_modes_exclude_and_secondary_name() {
    let Some(img) = image() else { return };
    let dir = project(&[(
        "buildspec.yml",
        r"version: 0.2
phases:
  build:
    commands:
      - mkdir -p dist-1/bin dist-2 other
      - printf '#!/bin/sh\necho hi\n' > dist-1/bin/run.sh && chmod 755 dist-1/bin/run.sh
      - echo data > dist-1/data.txt && chmod 640 dist-1/data.txt
      - ln -s bin/run.sh dist-1/current
      - echo map > dist-1/skip.map
      - echo two > dist-2/two.txt
      - echo o > other/o.txt
      - export REL=v3
artifacts:
  base-directory: 'dist*'
  files:
    - '**/*'
  exclude-paths:
    - '*.map'
  enable-symlinks: yes
  secondary-artifacts:
    nolinks:
      base-directory: dist-1
      files:
        - '**/*'
      name: pkg-$REL
",
    )]);
    let out = tempfile::tempdir().expect("tempdir");
    let o = out.path();
    let r = run(
        dir.path(),
        &img,
        &["--artifacts", o.to_str().expect("utf8")],
    );
    assert_eq!(r.code, 0, "{}", r.dump());
    // Both matched directories' contents, without their own names; the excluded file (its
    // pattern relative to the base directory) and the file outside stay out.
    assert_eq!(
        files_under(o),
        [
            "bin/run.sh",
            "data.txt",
            "nolinks/pkg-v3/bin/run.sh",
            "nolinks/pkg-v3/data.txt",
            "nolinks/pkg-v3/skip.map",
            "two.txt",
        ]
    );
    assert_eq!(
        mode(&o.join("bin/run.sh")),
        0o755,
        "an executable stays one"
    );
    assert_eq!(mode(&o.join("data.txt")), 0o640);
    assert_eq!(mode(&o.join("nolinks/pkg-v3/bin/run.sh")), 0o755);
    // enable-symlinks keeps the link as a link; without it (the secondary) there is none.
    assert_eq!(
        std::fs::read_link(o.join("current")).expect("a symlink"),
        Path::new("bin/run.sh")
    );
    assert!(o.join("nolinks/pkg-v3/current").symlink_metadata().is_err());
    let ev = r.of("artifacts");
    assert!(
        ev[0]["files"]
            .as_array()
            .expect("files")
            .iter()
            .any(|f| f == "current"),
        "{ev:?}"
    );
}

#[test]
fn a_base_directory_pattern_that_matches_nothing_fails_upload() {
    let Some(img) = image() else { return };
    let dir = project(&[(
        "buildspec.yml",
        "version: 0.2\nphases:\n  build:\n    commands:\n      - mkdir -p out && echo x > out/x\nartifacts:\n  base-directory: 'dist*'\n  files:\n    - '**/*'\n",
    )]);
    let r = run(dir.path(), &img, &[]);
    assert_eq!(r.code, 1, "{}", r.dump());
    let up = r.finished("UPLOAD_ARTIFACTS");
    assert_eq!(up["status"], "FAILED");
    assert_eq!(up["context"]["message"], "no matching artifact paths found");
    assert!(
        r.lines().iter().any(|l| l.ends_with("Found 0 file(s)")),
        "{}",
        r.dump()
    );
}

const EXPORTING: &str = r#"version: 0.2
env:
  exported-variables:
    - IMAGE_TAG
    - TOKEN
    - AWS_REGION
    - UNSET_ONE
phases:
  pre_build:
    commands:
      - export IMAGE_TAG=first
  build:
    commands:
      - export IMAGE_TAG="two words"
  post_build:
    commands:
      - export IMAGE_TAG="final-$CODEBUILD_BUILD_NUMBER"
"#;

#[test]
fn exported_variables_are_their_values_after_post_build_masked() {
    let Some(img) = image() else { return };
    let dir = project(&[("buildspec.yml", EXPORTING)]);
    let r = run(dir.path(), &img, &["--secret", "TOKEN=tok-planted-55"]);
    assert_eq!(r.code, 0, "{}", r.dump());
    let fin = r.of("build_finished");
    assert_eq!(
        fin[0]["exported_variables"],
        serde_json::json!({"IMAGE_TAG": "final-1", "TOKEN": "***", "UNSET_ONE": ""}),
        "{}",
        r.dump()
    );
    // Plain output: after the phase summary.
    let out = Command::new(common::cbdash_bin())
        .arg("run")
        .arg(dir.path())
        .args(["--plain", "--image", &img, "--pull", "never"])
        .args(["--secret", "TOKEN=tok-planted-55"])
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    let tail = text.split("\nPHASE ").nth(1).expect("a summary table");
    let exported = tail
        .split("\nExported variables\n")
        .nth(1)
        .unwrap_or_else(|| panic!("no exported variables after the summary:\n{text}"));
    let lines: Vec<&str> = exported.lines().take(3).collect();
    assert_eq!(
        lines,
        ["IMAGE_TAG=final-2", "TOKEN=***", "UNSET_ONE="],
        "{text}"
    );
    assert!(!text.contains("tok-planted-55"));
}

#[test]
fn validate_warns_about_variables_codebuild_will_not_export() {
    let spec = EXPORTING.replace(
        "  exported-variables:\n",
        "  secrets-manager:\n    FROM_SM: some-secret\n  exported-variables:\n    - FROM_SM\n",
    );
    let dir = project(&[("buildspec.yml", &spec)]);
    let out = Command::new(common::cbdash_bin())
        .arg("validate")
        .arg(dir.path().join("buildspec.yml"))
        .output()
        .expect("validate");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("`AWS_REGION` is not exported"), "{text}");
    assert!(text.contains("`FROM_SM` is not exported"), "{text}");
}

#[test]
fn yaml_location_and_phases_found_name_the_buildspec_used() {
    let Some(img) = image() else { return };
    let dir = project(&[(
        "ci/other.yml",
        "version: 0.2\nphases:\n  install:\n    commands: []\n  build:\n    commands:\n      - echo a\n      - echo b\n",
    )]);
    let spec = dir.path().join("ci/other.yml");
    let r = run(
        dir.path(),
        &img,
        &["--buildspec", spec.to_str().expect("utf8")],
    );
    assert_eq!(r.code, 0, "{}", r.dump());
    let re = regex::Regex::new(r"YAML location is /codebuild/output/src\d+/src/ci/other\.yml$")
        .expect("re");
    let lines = r.lines();
    assert!(lines.iter().any(|l| re.is_match(l)), "{}", r.dump());
    let found: Vec<&str> = lines
        .iter()
        .skip_while(|l| !l.contains("Phases found in YAML"))
        .take(3)
        .map(String::as_str)
        .collect();
    assert!(found[0].ends_with("Phases found in YAML: 1"), "{found:?}");
    assert!(found[1].ends_with(" BUILD: 2 commands"), "{found:?}");
    assert!(!found[2].contains("INSTALL"), "{found:?}");
}

#[test]
fn run_as_at_the_top_and_in_a_phase() {
    let Some(img) = image() else { return };
    let dir = project(&[(
        "buildspec.yml",
        "version: 0.2\nrun-as: nobody\nphases:\n  install:\n    run-as: root\n    commands:\n      - echo install-uid=$(id -u)\n  build:\n    commands:\n      - echo build-uid=$(id -u)\n      - echo build-user=$(whoami)\n",
    )]);
    let r = run(dir.path(), &img, &[]);
    assert_eq!(r.code, 0, "{}", r.dump());
    let out = r.stdout();
    for want in ["install-uid=0", "build-uid=65534", "build-user=nobody"] {
        assert!(out.contains(&want.to_owned()), "{want}: {}", r.dump());
    }
}

#[test]
fn pipefail_and_source_fail_under_dash_as_codebuild_shows() {
    let Some(img) = image() else { return };
    let dir = project(&[
        (
            "buildspec.yml",
            "version: 0.2\nphases:\n  install:\n    on-failure: CONTINUE\n    commands:\n      - source ./vars.sh\n  build:\n    commands:\n      - set -o pipefail\n      - echo NOT-REACHED\n",
        ),
        ("vars.sh", "X=1\n"),
    ]);
    let r = run(dir.path(), &img, &[]);
    assert_eq!(r.code, 1, "{}", r.dump());
    let lines = r.lines();
    let re = |pat: &str| regex::Regex::new(pat).expect("re");
    let source = re(r"^/codebuild/output/tmp/script\.sh: \d+: source: not found$");
    let pipefail = re(r"^/codebuild/output/tmp/script\.sh: \d+: set: Illegal option -o pipefail$");
    assert!(lines.iter().any(|l| source.is_match(l)), "{}", r.dump());
    assert!(lines.iter().any(|l| pipefail.is_match(l)), "{}", r.dump());
    assert!(
        lines
            .iter()
            .any(|l| l
                .ends_with("Command did not exit successfully source ./vars.sh exit status 127")),
        "{}",
        r.dump()
    );
    assert_eq!(r.phase_status("INSTALL").as_deref(), Some("FAILED"));
    assert_eq!(r.phase_status("BUILD").as_deref(), Some("FAILED"));
    assert!(!r.stdout().contains(&"NOT-REACHED".to_owned()));
}

/// Runs `buildspec` against these AWS settings; returns `DOWNLOAD_SOURCE`'s context message.
fn secret_failure(img: &str, buildspec: &str, endpoint: &str) -> String {
    let dir = project(&[("buildspec.yml", buildspec)]);
    let out = command(dir.path(), img, &[])
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_MAX_ATTEMPTS", "1")
        .output()
        .expect("run");
    let r = parse(&out);
    let ds = r.finished("DOWNLOAD_SOURCE");
    assert_eq!(
        ds["context"]["status_code"],
        "Decrypted Variables Error",
        "{}",
        r.dump()
    );
    ds["context"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn parameter_store_and_secrets_manager_errors_are_said_as_what_they_are() {
    let Some(img) = image() else { return };
    let Some(endpoint) = common::require("CBDASH_TEST_AWS_ENDPOINT") else {
        return;
    };
    // A secret scheduled for deletion exists but cannot be read: not "does not exist".
    let secret_id = format!("cbdash-deleted-{}", std::process::id());
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let conf = crate::common::emulator_config(&endpoint).await;
        let sm = aws_sdk_secretsmanager::Client::new(&conf);
        sm.create_secret()
            .name(&secret_id)
            .secret_string("v")
            .send()
            .await
            .expect("create secret");
        sm.delete_secret()
            .secret_id(&secret_id)
            .send()
            .await
            .expect("schedule deletion");
    });
    let msg = secret_failure(
        &img,
        &format!(
            "version: 0.2\nenv:\n  secrets-manager:\n    S: {secret_id}\nphases:\n  build:\n    commands:\n      - echo x\n"
        ),
        &endpoint,
    );
    assert!(
        msg.starts_with(&format!(
            "cannot read secret {secret_id}: InvalidRequestException"
        )),
        "{msg}"
    );
    // No service answers at all (a wrong endpoint, or no network): said so.
    let msg = secret_failure(
        &img,
        "version: 0.2\nenv:\n  parameter-store:\n    P: /cbdash/any\nphases:\n  build:\n    commands:\n      - echo x\n",
        "http://127.0.0.1:9",
    );
    assert!(
        msg.starts_with("cannot read parameter /cbdash/any: "),
        "{msg}"
    );
    assert!(!msg.contains("does not exist"), "{msg}");
    // A missing one is still CodeBuild's "does not exist".
    let msg = secret_failure(
        &img,
        "version: 0.2\nenv:\n  parameter-store:\n    P: /cbdash/missing/for/sure\nphases:\n  build:\n    commands:\n      - echo x\n",
        &endpoint,
    );
    assert_eq!(msg, "parameter does not exist: /cbdash/missing/for/sure");
}

#[test]
fn a_build_that_exports_nothing_has_an_empty_object() {
    let Some(img) = image() else { return };
    let dir = project(&[("buildspec.yml", &build_only(&["echo hi"]))]);
    let r = run(dir.path(), &img, &[]);
    assert_eq!(r.code, 0, "{}", r.dump());
    assert_eq!(
        r.of("build_finished")[0]["exported_variables"],
        serde_json::json!({})
    );
}
