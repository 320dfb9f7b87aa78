//! What a local build produces and protects: artifacts, reports, caches, secret masking,
//! the NDJSON contract, exit codes, Docker access, cancellation and timeouts.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::{self, containers_of, files_under};
use crate::local_harness::{build_only, command, image, parse, project, run};

#[test]
fn artifacts_base_directory_discard_paths_secondary_and_name() {
    let Some(img) = image() else { return };
    let dir = project(&[(
        "buildspec.yml",
        "version: 0.2\nphases:\n  build:\n    commands:\n      - mkdir -p out/deep logs\n      - echo a > out/a.txt\n      - echo b > out/deep/b.txt\n      - echo l > logs/x.log\n      - export REL=v9\nartifacts:\n  base-directory: out\n  files:\n    - '**/*'\n  name: app-$REL\n  secondary-artifacts:\n    flat:\n      files:\n        - 'out/**/*'\n      discard-paths: yes\n    logs:\n      files:\n        - 'logs/*'\n",
    )]);
    let out = tempfile::tempdir().expect("tempdir");
    let r = run(
        dir.path(),
        &img,
        &["--artifacts", out.path().to_str().expect("utf8")],
    );
    assert_eq!(r.code, 0, "{}", r.dump());
    assert_eq!(
        files_under(out.path()),
        [
            "app-v9/a.txt",
            "app-v9/deep/b.txt",
            "flat/a.txt",
            "flat/b.txt",
            "logs/logs/x.log"
        ]
    );
    let ev = r.of("artifacts");
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0]["files"].as_array().map(Vec::len), Some(5));
    let lines = r.lines();
    assert!(
        lines
            .iter()
            .any(|l| l.ends_with("Expanding base directory path: out"))
    );
    assert!(lines.iter().any(|l| l.ends_with("Assembling file list")));
    assert!(lines.iter().any(|l| l.ends_with("Found 2 file(s)")));
}

#[test]
fn artifacts_matching_nothing_fail_upload_with_client_error() {
    let Some(img) = image() else { return };
    let dir = project(&[(
        "buildspec.yml",
        "version: 0.2\nphases:\n  build:\n    commands:\n      - echo hi\nartifacts:\n  files:\n    - 'nothing/**/*'\n",
    )]);
    let r = run(dir.path(), &img, &[]);
    assert_eq!(r.code, 1, "{}", r.dump());
    let up = r.finished("UPLOAD_ARTIFACTS");
    assert_eq!(up["status"], "FAILED");
    assert_eq!(up["context"]["status_code"], "CLIENT_ERROR");
    assert_eq!(up["context"]["message"], "no matching artifact paths found");
}

#[test]
fn junit_reports_are_summarised() {
    let Some(img) = image() else { return };
    let dir = project(&[
        (
            "buildspec.yml",
            "version: 0.2\nphases:\n  build:\n    commands:\n      - echo tests\nreports:\n  unit:\n    files:\n      - 'reports/*.xml'\n",
        ),
        (
            "reports/a.xml",
            "<testsuites><testsuite name=\"a\" tests=\"4\" failures=\"1\" errors=\"0\" skipped=\"1\"></testsuite></testsuites>",
        ),
        (
            "reports/b.xml",
            "<testsuite name='b' tests='2' failures='0'></testsuite>",
        ),
    ]);
    let r = run(dir.path(), &img, &[]);
    let rep = r.of("report");
    assert_eq!(rep.len(), 1, "{}", r.dump());
    assert_eq!(rep[0]["group"], "unit");
    assert_eq!(rep[0]["tests"], 6);
    assert_eq!(rep[0]["failures"], 1);
    assert_eq!(rep[0]["skipped"], 1);
}

#[test]
fn cache_paths_persist_between_runs_and_files_are_refused() {
    let Some(img) = image() else { return };
    let name = format!("cachetest{}", std::process::id());
    let dir = project(&[
        (
            "buildspec.yml",
            "version: 0.2\nphases:\n  build:\n    commands:\n      - cat deps/stamp 2>/dev/null || echo no-stamp\n      - mkdir -p deps && echo cached-$CODEBUILD_BUILD_NUMBER > deps/stamp\ncache:\n  paths:\n    - 'deps/**/*'\n",
        ),
        (".cbdash.toml", &format!("name = \"{name}\"\n")),
    ]);
    let r1 = run(dir.path(), &img, &[]);
    assert!(
        r1.stdout().contains(&"no-stamp".to_owned()),
        "{}",
        r1.dump()
    );
    let r2 = run(dir.path(), &img, &[]);
    assert!(
        r2.stdout().contains(&"cached-1".to_owned()),
        "{}",
        r2.dump()
    );
    // Remove our own volume.
    let vols = common::volumes_of_project(&name);
    assert_eq!(vols.lines().count(), 1, "one labelled cache volume: {vols}");
    for v in vols.lines() {
        let _ = std::process::Command::new("docker")
            .args(["volume", "rm", v])
            .output();
    }
    let dir = project(&[
        (
            "buildspec.yml",
            "version: 0.2\nphases:\n  build:\n    commands:\n      - echo x\ncache:\n  paths:\n    - package-lock.json\n",
        ),
        ("package-lock.json", "{}"),
    ]);
    let r = run(dir.path(), &img, &[]);
    assert_eq!(r.code, 1);
    assert!(
        r.lines()
            .iter()
            .any(|l| l.contains("only directories can be cached locally")),
        "{}",
        r.dump()
    );
    // A build whose cache cannot be used leaves no volume behind.
    let project = r.of("build_started")[0]["project"]
        .as_str()
        .expect("project")
        .to_owned();
    let vols = common::volumes_of_project(&project);
    assert!(vols.is_empty(), "volumes left: {vols}");
}

#[test]
fn secrets_are_masked_everywhere() {
    let Some(img) = image() else { return };
    let Some(endpoint) = common::require("CBDASH_TEST_AWS_ENDPOINT") else {
        return;
    };
    let param = format!("/cbdash/test/{}", std::process::id());
    let secret_id = format!("cbdash-test-{}", std::process::id());
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let conf = crate::common::emulator_config(&endpoint).await;
        aws_sdk_ssm::Client::new(&conf)
            .put_parameter()
            .name(&param)
            .value("ssm-value-7731")
            .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
            .overwrite(true)
            .send()
            .await
            .expect("put parameter");
        aws_sdk_secretsmanager::Client::new(&conf)
            .create_secret()
            .name(&secret_id)
            .secret_string(r#"{"password":"sm-pass-4412"}"#)
            .send()
            .await
            .expect("create secret");
    });
    let dir = project(&[(
        "buildspec.yml",
        &format!(
            "version: 0.2\nenv:\n  parameter-store:\n    P: {param}\n  secrets-manager:\n    S: {secret_id}:password\nphases:\n  build:\n    commands:\n      - echo \"p=$P s=$S c=$C\"\n      - echo $P >&2\n      - echo cli-secret-9 && exit 1\n"
        ),
    )]);
    let out = command(dir.path(), &img, &["--secret", "C=cli-secret-9"])
        .env("AWS_ENDPOINT_URL", &endpoint)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test-secret-key-xyz")
        .env("AWS_REGION", "us-east-1")
        .output()
        .expect("run");
    let r = parse(&out);
    let all = String::from_utf8_lossy(&out.stdout);
    assert!(
        r.stdout().contains(&"p=*** s=*** c=***".to_owned()),
        "{}",
        r.dump()
    );
    for s in ["ssm-value-7731", "sm-pass-4412", "cli-secret-9"] {
        assert!(!all.contains(s), "{s} leaked");
    }
    // Missing parameter: Decrypted Variables Error in DOWNLOAD_SOURCE.
    let dir = project(&[(
        "buildspec.yml",
        "version: 0.2\nenv:\n  parameter-store:\n    P: /does/not/exist\nphases:\n  build:\n    commands:\n      - echo x\n",
    )]);
    let out = command(dir.path(), &img, &[])
        .env("AWS_ENDPOINT_URL", &endpoint)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
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
    assert_eq!(
        ds["context"]["message"],
        "parameter does not exist: /does/not/exist"
    );
}

#[test]
fn json_contract_types_and_order() {
    let Some(img) = image() else { return };
    let dir = project(&[("buildspec.yml", &build_only(&["echo hi"]))]);
    let r = run(dir.path(), &img, &[]);
    assert_eq!(r.code, 0, "{}", r.dump());
    let types: Vec<&str> = r.events.iter().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(types.first(), Some(&"build_started"));
    assert_eq!(types.last(), Some(&"build_finished"));
    let first = &r.events[0];
    assert_eq!(first["backend"], "local");
    assert_eq!(first["image"], img.as_str());
    let id = first["build_id"].as_str().expect("id").to_owned();
    assert!(r.events.iter().all(|e| e["build_id"] == id.as_str()));
    // Every phase_started is followed by its phase_finished before the next phase starts.
    let mut open: Option<String> = None;
    for e in &r.events {
        match e["type"].as_str() {
            Some("phase_started") if e["phase"] != "COMPLETED" => {
                assert!(open.is_none(), "nested phases");
                open = e["phase"].as_str().map(str::to_owned);
            }
            Some("phase_finished") => {
                assert_eq!(open.as_deref(), e["phase"].as_str());
                assert!(e["duration_ms"].is_u64() && e["context"]["status_code"].is_string());
                open = None;
            }
            Some("log") => {
                assert!(
                    ["stdout", "stderr", "agent"].contains(&e["stream"].as_str().unwrap_or(""))
                );
                assert!(e["line"].is_string());
            }
            _ => {}
        }
    }
    let phases: Vec<String> = r.phases().into_iter().map(|p| p.0).collect();
    assert_eq!(
        phases,
        [
            "PROVISIONING",
            "DOWNLOAD_SOURCE",
            "INSTALL",
            "PRE_BUILD",
            "BUILD",
            "POST_BUILD",
            "UPLOAD_ARTIFACTS",
            "FINALIZING"
        ]
    );
}

#[test]
fn invalid_buildspec_exits_2_before_any_container() {
    let Some(img) = image() else { return };
    let dir = project(&[("buildspec.yml", "version: 0.2\nphases: [\n")]);
    let r = run(dir.path(), &img, &[]);
    assert_eq!(r.code, 2, "{}", r.dump());
    assert!(r.events.is_empty());
    assert!(r.stderr.contains("buildspec.yml"), "{}", r.stderr);
}

#[test]
fn no_daemon_exits_3_with_a_clear_message() {
    let dir = project(&[("buildspec.yml", &build_only(&["echo hi"]))]);
    let out = command(dir.path(), "cbdash-test/base:2", &[])
        .env("DOCKER_HOST", "unix:///nonexistent")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no Docker daemon answered at 'unix:///nonexistent'"),
        "{err}"
    );
}

#[test]
fn docker_in_the_build_needs_the_socket_flag() {
    let Some(img) = image() else { return };
    let dir = project(&[("buildspec.yml", &build_only(&["docker info"]))]);
    let r = run(dir.path(), &img, &[]);
    assert_eq!(
        r.phase_status("BUILD").as_deref(),
        Some("FAILED"),
        "{}",
        r.dump()
    );
    let dir = project(&[
        (
            "buildspec.yml",
            &build_only(&[
                "docker build -q -t cbdash-test/dind-probe:latest ctx",
                "docker rmi cbdash-test/dind-probe:latest",
            ]),
        ),
        (
            "ctx/Dockerfile",
            &format!("FROM {img}\nRUN echo built > /probe\n"),
        ),
    ]);
    let r = run(dir.path(), &img, &["--docker-socket"]);
    assert_eq!(r.code, 0, "{}", r.dump());
    assert!(
        r.of("notice").iter().any(|n| n["message"]
            .as_str()
            .unwrap_or("")
            .contains("Docker socket")),
        "security warning"
    );
}

#[test]
fn sigint_stops_the_build_and_removes_the_container() {
    let Some(img) = image() else { return };
    let dir = project(&[("buildspec.yml", &build_only(&["echo started", "sleep 60"]))]);
    let mut child = command(dir.path(), &img, &[])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        use std::io::BufRead;
        let mut lines = Vec::new();
        let mut sent = false;
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if !sent && line.contains("Running command sleep 60") {
                let _ = std::process::Command::new("kill")
                    .args(["-INT", &child.id().to_string()])
                    .status();
                sent = true;
            }
            lines.push(line);
        }
        (child.wait().expect("wait"), lines)
    });
    let (status, lines) = reader.join().expect("reader");
    assert_eq!(status.code(), Some(1), "{lines:?}");
    let events: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    let fin = events
        .iter()
        .find(|e| e["type"] == "build_finished")
        .expect("finished");
    assert_eq!(fin["status"], "STOPPED");
    let id = events[0]["build_id"].as_str().expect("id");
    assert_eq!(containers_of(id), "", "container left behind");
}

#[test]
fn timeout_ends_the_build_timed_out() {
    let Some(img) = image() else { return };
    let dir = project(&[("buildspec.yml", &build_only(&["sleep 30"]))]);
    let t = Instant::now();
    let r = run(dir.path(), &img, &["--timeout", "3s"]);
    assert!(t.elapsed() < Duration::from_secs(20));
    assert_eq!(r.code, 1, "{}", r.dump());
    assert_eq!(r.status(), "TIMED_OUT");
    assert_eq!(r.phase_status("BUILD").as_deref(), Some("TIMED_OUT"));
    let id = r.events[0]["build_id"].as_str().expect("id");
    assert_eq!(containers_of(id), "");
}
