//! Secrets planted and searched for: a Parameter Store value, a Secrets Manager value (one
//! JSON key and the whole secret), `--secret` values (one on a single line, one over two
//! lines) and the host's AWS credentials are echoed by a real local build in several shapes,
//! and then looked for, raw, in everything cbdash wrote: plain output, NDJSON, the history
//! database (with its WAL) and its gzip logs, `cbdash history show --log`, the tracing log
//! at `trace` level, and the dashboard's screen under tmux. Also: privileged mode and the
//! Docker socket mount are off unless asked for, and each prints a warning when on.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use crate::common::{self, cbdash_bin, tmux::Tmux};
use crate::local_harness::{image, parse, project};

const SSM_VALUE: &str = "ssm-planted-8c1f27";
const SM_KEY_VALUE: &str = "sm-key-planted-41d0";
const CLI_SECRET: &str = "cli-planted-93ab5";
const ML_FIRST: &str = "multi-first-planted-6e2";
const ML_SECOND: &str = "multi-second-planted-7f3";
const AWS_SECRET_KEY: &str = "aws-secret-planted-Zq81";
const AWS_TOKEN: &str = "aws-token-planted-Kp44";

/// Every raw value that must never be written anywhere.
fn planted() -> Vec<&'static str> {
    vec![
        SSM_VALUE,
        SM_KEY_VALUE,
        CLI_SECRET,
        ML_FIRST,
        ML_SECOND,
        AWS_SECRET_KEY,
        AWS_TOKEN,
    ]
}

/// Puts the Parameter Store and Secrets Manager values into the emulator.
fn plant_in_aws(endpoint: &str, param: &str, secret_id: &str) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let conf = crate::common::emulator_config(endpoint).await;
        aws_sdk_ssm::Client::new(&conf)
            .put_parameter()
            .name(param)
            .value(SSM_VALUE)
            .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
            .overwrite(true)
            .send()
            .await
            .expect("put parameter");
        let sm = aws_sdk_secretsmanager::Client::new(&conf);
        let text = format!(r#"{{"password":"{SM_KEY_VALUE}","user":"builder"}}"#);
        if sm
            .create_secret()
            .name(secret_id)
            .secret_string(&text)
            .send()
            .await
            .is_err()
        {
            sm.put_secret_value()
                .secret_id(secret_id)
                .secret_string(&text)
                .send()
                .await
                .expect("put secret value");
        }
    });
}

/// The buildspec: every secret echoed plainly, inside a line, on stderr, across lines, in a
/// failing command (whose context message quotes it) and as a whole JSON secret.
fn buildspec(param: &str, secret_id: &str) -> String {
    format!(
        r#"version: 0.2
env:
  parameter-store:
    P: {param}
  secrets-manager:
    S: {secret_id}:password
    WHOLE: {secret_id}
phases:
  install:
    commands:
      - echo "$P"
      - echo "before-$P-after and $S in the middle"
      - echo "$S" >&2
      - echo "cli=$C"
      - printf '%s\n' "$ML"
      - echo "whole=$WHOLE"
      - echo "aws=$AWSK token=$AWST"
  build:
    commands:
      - echo marker-build-ran
      - test "{CLI_SECRET}" = nothing && echo unreachable
"#
    )
}

/// The environment a run gets: AWS pointed at the emulator, the planted credentials.
fn aws_env(cmd: &mut Command, endpoint: &str) {
    cmd.env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "AKIDPLANTEDTEST")
        .env("AWS_SECRET_ACCESS_KEY", AWS_SECRET_KEY)
        .env("AWS_SESSION_TOKEN", AWS_TOKEN)
        .env("AWS_REGION", "us-east-1");
}

/// The run arguments that hand the build its secrets.
fn secret_args() -> Vec<String> {
    vec![
        "--secret".into(),
        format!("C={CLI_SECRET}"),
        "--secret".into(),
        format!("ML={ML_FIRST}\n{ML_SECOND}"),
        // Credentials forwarded into the build as ordinary variables: still masked.
        "--env".into(),
        format!("AWSK={AWS_SECRET_KEY}"),
        "--env".into(),
        format!("AWST={AWS_TOKEN}"),
    ]
}

/// Where one scenario writes: its history and its tracing log.
struct Outputs {
    history: PathBuf,
    log_file: PathBuf,
}

fn headless(dir: &Path, img: &str, endpoint: &str, out: &Outputs, mode: &str) -> Output {
    let mut cmd = Command::new(cbdash_bin());
    cmd.arg("run")
        .arg(dir)
        .args([mode, "--image", img, "--pull", "never"])
        .args(secret_args())
        .env("CBDASH_HISTORY", &out.history)
        .env("CBDASH_LOG_FILE", &out.log_file)
        .env("CBDASH_LOG", "trace");
    aws_env(&mut cmd, endpoint);
    cmd.output().expect("run cbdash")
}

/// Every file under `dir`, as bytes; gzip files also decompressed.
fn files_as_bytes(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in ignore::WalkBuilder::new(dir)
        .standard_filters(false)
        .build()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_some_and(|t| t.is_file()))
    {
        let path = entry.path().to_path_buf();
        let bytes = std::fs::read(&path).expect("read output file");
        if path.extension().is_some_and(|e| e == "gz") {
            let mut text = Vec::new();
            let _ = std::io::Read::read_to_end(
                &mut flate2::read::MultiGzDecoder::new(&bytes[..]),
                &mut text,
            );
            out.push((path.with_extension("gz(decompressed)"), text));
        }
        out.push((path, bytes));
    }
    out
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Asserts no planted value is in any of `outputs`; returns how many places were searched.
fn assert_clean(outputs: &[(String, Vec<u8>)]) -> usize {
    for (name, bytes) in outputs {
        for secret in planted() {
            assert!(
                !contains(bytes, secret),
                "secret {secret} leaked into {name}:\n{}",
                String::from_utf8_lossy(bytes)
                    .lines()
                    .filter(|l| l.contains(secret))
                    .take(5)
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
    }
    outputs.len()
}

#[test]
#[allow(clippy::too_many_lines)] // one scenario: plant, run three ways, search everything
fn planted_secrets_appear_in_no_output() {
    let Some(img) = image() else { return };
    let Some(endpoint) = common::require("CBDASH_TEST_AWS_ENDPOINT") else {
        return;
    };
    if !Tmux::available() {
        return;
    }
    let pid = std::process::id();
    let (param, secret_id) = (
        format!("/cbdash/reliab/{pid}"),
        format!("cbdash-reliab-{pid}"),
    );
    plant_in_aws(&endpoint, &param, &secret_id);
    let dir = project(&[("buildspec.yml", &buildspec(&param, &secret_id))]);
    let work = tempfile::tempdir().expect("tempdir");
    let out = Outputs {
        history: work.path().join("history/history.sqlite"),
        log_file: work.path().join("cbdash.log"),
    };
    let mut searched: Vec<(String, Vec<u8>)> = Vec::new();

    // Plain output.
    let plain = headless(dir.path(), &img, &endpoint, &out, "--plain");
    let text = String::from_utf8_lossy(&plain.stdout).into_owned();
    assert_eq!(plain.status.code(), Some(1), "{text}");
    for shown in [
        "before-***-after and *** in the middle",
        "cli=***",
        "whole=***",
        "aws=*** token=***",
    ] {
        assert!(text.lines().any(|l| l == shown), "'{shown}' in:\n{text}");
    }
    assert!(text.lines().filter(|l| *l == "***").count() >= 4, "{text}");
    searched.push(("plain stdout".into(), plain.stdout));
    searched.push(("plain stderr".into(), plain.stderr));

    // NDJSON.
    let json = headless(dir.path(), &img, &endpoint, &out, "--json");
    let run = parse(&json);
    assert_eq!(run.status(), "FAILED", "{}", run.dump());
    let ctx = &run.finished("BUILD")["context"]["message"];
    assert!(
        ctx.as_str()
            .is_some_and(|m| m.contains("test \"***\" = nothing")),
        "the failing command's context is masked: {ctx}"
    );
    let build_id = run.events[0]["build_id"]
        .as_str()
        .expect("build id")
        .to_owned();
    searched.push(("NDJSON stdout".into(), json.stdout));
    searched.push(("NDJSON stderr".into(), json.stderr));

    // The stored log, as `cbdash history show --log` prints it.
    let show = Command::new(cbdash_bin())
        .args(["history", "show", &build_id, "--log"])
        .env("CBDASH_HISTORY", &out.history)
        .output()
        .expect("history show");
    let show_text = String::from_utf8_lossy(&show.stdout).into_owned();
    assert!(show_text.contains("before-***-after"), "{show_text}");
    searched.push(("history show --log".into(), show.stdout));

    // The dashboard, under tmux: the screen while the build runs and after it ended.
    let screens = dashboard_screens(dir.path(), &img, &endpoint, &out);
    assert!(
        screens.iter().any(|s| s.contains("***")),
        "the dashboard shows the masked lines:\n{}",
        screens.join("\n----\n")
    );
    for (i, s) in screens.into_iter().enumerate() {
        searched.push((format!("dashboard screen {i}"), s.into_bytes()));
    }

    // The history database, its WAL and its gzip logs; the tracing log.
    for (path, bytes) in files_as_bytes(work.path()) {
        searched.push((path.display().to_string(), bytes));
    }
    let log = std::fs::read_to_string(&out.log_file).expect("the tracing log was written");
    assert!(
        log.contains("TRACE") && log.lines().count() > 20,
        "the tracing log recorded at trace level ({} lines)",
        log.lines().count()
    );
    assert!(
        searched
            .iter()
            .any(|(n, _)| n.ends_with("gz(decompressed)")),
        "a gzip log was searched"
    );
    let places = assert_clean(&searched);
    eprintln!(
        "RELIABILITY secrets: {} values planted, {places} outputs searched, 0 found",
        planted().len()
    );
}

/// Runs the build in the dashboard (`cbdash run` on a terminal) and captures its screens:
/// once the log shows the secrets' lines, then after the build, from the top of the log.
fn dashboard_screens(dir: &Path, img: &str, endpoint: &str, out: &Outputs) -> Vec<String> {
    let quote = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
    let args: Vec<String> = secret_args().iter().map(|a| quote(a)).collect();
    let shell = format!(
        "env -i PATH=/usr/local/bin:/usr/bin:/bin TERM=xterm-256color HOME={home} \
         DOCKER_HOST={docker} CBDASH_HISTORY={history} CBDASH_LOG_FILE={log} CBDASH_LOG=trace \
         AWS_ENDPOINT_URL={endpoint} AWS_ACCESS_KEY_ID=AKIDPLANTEDTEST \
         AWS_SECRET_ACCESS_KEY={AWS_SECRET_KEY} AWS_SESSION_TOKEN={AWS_TOKEN} \
         AWS_REGION=us-east-1 {bin} run . --image {img} --pull never {args}; \
         echo EXITED-$?; sleep 600",
        home = dir.display(),
        docker = std::env::var("DOCKER_HOST").unwrap_or_default(),
        history = out.history.display(),
        log = out.log_file.display(),
        bin = cbdash_bin().display(),
        args = args.join(" "),
    );
    let tmux = Tmux::start("secrets", dir, &shell);
    let mut screens = Vec::new();
    screens.push(
        // The build's end (its title's status), not its BUILD phase's: a `q` while it still
        // runs asks first, and this test quits with one `q`.
        tmux.wait_for("the finished build", Duration::from_mins(1), |s| {
            s.contains("┌ ✘ FAILED") && s.contains("marker-build-ran")
        }),
    );
    // The top of the log, where INSTALL echoed the secrets.
    tmux.keys(&["l", "g"]);
    std::thread::sleep(Duration::from_millis(500));
    screens.push(tmux.screen());
    tmux.keys(&["q"]);
    screens.push(tmux.wait("cbdash exited", |s| s.contains("EXITED-")));
    screens
}

/// Runs `echo hi --privileged` through a socket proxy that holds the container's start:
/// inspects the created container (privileged, not started), then lets the build go on. A
/// daemon that may not grant the capabilities (a nested, unprivileged one, as on CI
/// machines) refuses the start: the build is then a clear FAULT and no container is left;
/// where it may, the build succeeds. Returns the run (`None`: skipped, no unix socket).
fn privileged_container_as_created(img: &str) -> Option<crate::local_harness::Run> {
    use super::proxy::{DockerProxy, Mode};
    let daemon = DockerProxy::daemon_socket()?;
    let proxy = DockerProxy::start(&daemon);
    proxy.set(Mode::HoldOn(&["/containers/", "/start HTTP"]));
    let name = format!("privcheck{}", std::process::id());
    let dir = project(&[
        (
            "buildspec.yml",
            "version: 0.2\nphases:\n  build:\n    commands:\n      - echo hi\n",
        ),
        (".cbdash.toml", &format!("name = \"{name}\"\n")),
    ]);
    let child =
        crate::local_harness::command(dir.path(), img, &["--privileged", "--no-layer-cache"])
            .env("DOCKER_HOST", proxy.docker_host())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn");
    let deadline = std::time::Instant::now() + Duration::from_mins(1);
    while !proxy.held() {
        assert!(
            std::time::Instant::now() < deadline,
            "the container's start never reached the daemon"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let cid = common::containers_of_project(&name);
    let inspect = Command::new("docker")
        .args(["inspect", &cid])
        .output()
        .expect("docker inspect");
    proxy.set(Mode::Pass);
    let r = parse(&child.wait_with_output().expect("wait"));
    let v: serde_json::Value = serde_json::from_slice(&inspect.stdout).expect("inspect json");
    assert_eq!(v[0]["HostConfig"]["Privileged"], true, "{v}");
    assert_eq!(v[0]["State"]["Status"], "created", "{v}");
    assert_eq!(v[0]["Config"]["Labels"]["cbdash.project"], name.as_str());
    if r.status() == "FAULT" {
        let msg = r.finished("PROVISIONING")["context"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(msg.contains("cannot start the build container"), "{msg}");
    } else {
        assert_eq!(r.code, 0, "{}", r.dump());
    }
    assert_eq!(common::containers_of_project(&name), "", "a container left");
    Some(r)
}

/// Runs `echo hi` with `--keep` and these flags; returns the NDJSON run and, when a
/// container was kept, its `docker inspect` (the container is removed).
fn kept_container(
    img: &str,
    flags: &[&str],
) -> (crate::local_harness::Run, Option<serde_json::Value>) {
    let dir = project(&[(
        "buildspec.yml",
        "version: 0.2\nphases:\n  build:\n    commands:\n      - echo hi\n",
    )]);
    let mut args = vec!["--keep"];
    args.extend_from_slice(flags);
    let r = crate::local_harness::run(dir.path(), img, &args);
    let id = r.events[0]["build_id"].as_str().expect("id").to_owned();
    let cid = crate::common::containers_of(&id);
    if cid.is_empty() {
        return (r, None);
    }
    let inspect = Command::new("docker")
        .args(["inspect", &cid])
        .output()
        .expect("docker inspect");
    let _ = Command::new("docker").args(["rm", "-f", &cid]).output();
    let v: serde_json::Value = serde_json::from_slice(&inspect.stdout).expect("inspect json");
    (r, Some(v[0].clone()))
}

fn warnings(r: &crate::local_harness::Run) -> Vec<String> {
    r.of("notice")
        .iter()
        .filter(|n| n["level"] == "warning")
        .filter_map(|n| n["message"].as_str().map(str::to_owned))
        .collect()
}

fn binds(inspect: &serde_json::Value) -> Vec<String> {
    inspect["HostConfig"]["Binds"]
        .as_array()
        .map(|b| {
            b.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn privileged_and_docker_socket_are_off_unless_asked_and_warn_when_on() {
    let Some(img) = image() else { return };
    let (r, inspect) = kept_container(&img, &[]);
    assert_eq!(r.code, 0, "{}", r.dump());
    let inspect = inspect.expect("the container was kept");
    assert_eq!(inspect["HostConfig"]["Privileged"], false);
    assert!(
        !binds(&inspect).iter().any(|b| b.contains("docker.sock")),
        "{:?}",
        binds(&inspect)
    );
    assert!(warnings(&r).is_empty(), "{:?}", warnings(&r));

    let (r, inspect) = kept_container(&img, &["--docker-socket"]);
    assert_eq!(r.code, 0, "{}", r.dump());
    let inspect = inspect.expect("the container was kept");
    assert_eq!(inspect["HostConfig"]["Privileged"], false);
    assert!(
        binds(&inspect)
            .iter()
            .any(|b| b.ends_with(":/var/run/docker.sock")),
        "{:?}",
        binds(&inspect)
    );
    let w = warnings(&r);
    assert!(w.iter().any(|m| m.contains("Docker socket")), "{w:?}");

    // Privileged: the container cbdash creates, inspected before it starts (its start is
    // held at a socket proxy), is privileged; and a warning is printed. (`--no-layer-cache`:
    // no layer-cache volume is left behind; `local_dind` tests the volume.)
    let Some(r) = privileged_container_as_created(&img) else {
        return;
    };
    let w = warnings(&r);
    assert!(w.iter().any(|m| m.contains("privileged")), "{w:?}");

    // Plain output shows the warning too.
    let dir = project(&[(
        "buildspec.yml",
        "version: 0.2\nphases:\n  build:\n    commands:\n      - echo hi\n",
    )]);
    let out = Command::new(cbdash_bin())
        .arg("run")
        .arg(dir.path())
        .args([
            "--plain",
            "--image",
            &img,
            "--pull",
            "never",
            "--privileged",
            "--no-layer-cache",
        ])
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines()
            .any(|l| l.starts_with("cbdash: Warning:") && l.contains("privileged")),
        "{text}"
    );
}
