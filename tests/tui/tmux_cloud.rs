//! The cloud group end to end in a real terminal: `cbdash` in tmux against the scripted fake
//! AWS endpoint lists the account's projects, opens a failed build from the builds list,
//! retries it, starts another with a source version override from the start form and stops
//! it (each only after a confirmation or the form), and quits without asking (cloud builds go
//! on without us).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use serde_json::{Value, json};

use crate::cloud_fake::{FakeAws, Reply, build, phase};
use crate::cloud_scripted::{failing_build, log_page};
use crate::common::cbdash_bin;
use crate::common::tmux::Tmux;

const RETRIED: &str = "demo:22222222-2222-3333-4444-555555555555";
const STARTED: &str = "demo:33333333-2222-3333-4444-555555555555";

/// Every phase up to `last`, succeeded, then `last` itself with `status` (running if None).
fn phases_to(last: &str, status: Option<&str>) -> Vec<Value> {
    let order = [
        "SUBMITTED",
        "QUEUED",
        "PROVISIONING",
        "DOWNLOAD_SOURCE",
        "INSTALL",
        "PRE_BUILD",
        "BUILD",
        "POST_BUILD",
        "UPLOAD_ARTIFACTS",
        "FINALIZING",
    ];
    let mut out = Vec::new();
    for (i, kind) in order.iter().enumerate() {
        let at = f64::from(u32::try_from(i).unwrap_or(0));
        if *kind == last {
            out.push(phase(kind, status, at, status.map(|_| at + 1.0)));
            break;
        }
        out.push(phase(kind, Some("SUCCEEDED"), at, Some(at + 1.0)));
    }
    out
}

/// The scripted account: one project `demo` whose last build failed in BUILD; a retry that
/// succeeds on its second poll; a started build that runs until StopBuild.
fn account(
    retry_polls: Arc<AtomicUsize>,
    stopped: Arc<AtomicBool>,
) -> impl Fn(&crate::cloud_fake::Req) -> Reply + Send + Sync {
    let failed_id = failing_build(0)["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    move |r| match r.op.as_str() {
        "ListProjects" => Reply::ok(json!({"projects": ["demo"]})),
        "ListBuildsForProject" => Reply::ok(json!({"ids": [failed_id]})),
        "BatchGetBuilds" => {
            let ids: Vec<&str> = r.body["ids"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let builds: Vec<Value> = ids
                .iter()
                .map(|id| match *id {
                    RETRIED if retry_polls.fetch_add(1, Ordering::SeqCst) == 0 => {
                        build(RETRIED, "IN_PROGRESS", phases_to("BUILD", None), None)
                    }
                    RETRIED => {
                        let mut p = phases_to("FINALIZING", Some("SUCCEEDED"));
                        p.push(json!({"phaseType": "COMPLETED", "startTime": 10.0}));
                        build(RETRIED, "SUCCEEDED", p, None)
                    }
                    STARTED if stopped.load(Ordering::SeqCst) => build(
                        STARTED,
                        "STOPPED",
                        phases_to("BUILD", Some("STOPPED")),
                        None,
                    ),
                    STARTED => build(STARTED, "IN_PROGRESS", phases_to("PRE_BUILD", None), None),
                    _ => failing_build(99),
                })
                .collect();
            Reply::ok(json!({"builds": builds}))
        }
        "GetLogEvents" => log_page(&r.body),
        "RetryBuild" => Reply::ok(
            json!({"build": build(RETRIED, "IN_PROGRESS", phases_to("SUBMITTED", None), None)}),
        ),
        "StartBuild" => Reply::ok(
            json!({"build": build(STARTED, "IN_PROGRESS", phases_to("SUBMITTED", None), None)}),
        ),
        "StopBuild" => {
            stopped.store(true, Ordering::SeqCst);
            Reply::ok(
                json!({"build": build(STARTED, "STOPPED", phases_to("PRE_BUILD", Some("STOPPED")), None)}),
            )
        }
        _ => Reply::error(400, "InvalidInputException", "unexpected"),
    }
}

#[test]
fn the_cloud_group_retries_starts_and_stops_builds_after_confirmation() {
    if !Tmux::available() {
        return;
    }
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let retry_polls = Arc::new(AtomicUsize::new(0));
    let stopped = Arc::new(AtomicBool::new(false));
    let fake = rt.block_on(FakeAws::start(account(retry_polls, stopped)));
    let dir = tempfile::tempdir().expect("tempdir");
    let home = dir.path().join("cloudhome");
    std::fs::create_dir(&home).expect("mkdir");
    let config = home.join("config.toml");
    std::fs::write(
        &config,
        "[[cloud]]\nprofile = \"default\"\nregion = \"us-east-1\"\n",
    )
    .expect("config");
    let env = [
        ("HOME", home.display().to_string()),
        ("CBDASH_CONFIG", config.display().to_string()),
        ("AWS_ENDPOINT_URL", fake.url()),
        ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
        ("AWS_MAX_ATTEMPTS", "1".to_owned()),
        ("AWS_CONFIG_FILE", "/nonexistent".to_owned()),
        ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent".to_owned()),
    ];
    let tmux = Tmux::shell("cloud", &home, &env);
    tmux.keys(&[&cbdash_bin().to_string_lossy(), "Enter"]);
    let s = tmux.wait("the account's projects", |s| {
        s.contains("Cloud default/us-east-1") && s.contains("demo")
    });
    assert!(tmux.alternate_on(), "{s}");

    // The project's builds list (ListBuildsForProject) opens its failed build.
    tmux.keys(&["2"]);
    tmux.keys(&["b"]);
    tmux.wait("the builds list", |s| s.contains("demo:11111111"));
    tmux.keys(&["Enter"]);
    let s = tmux.wait("the failed build", |s| {
        s.contains("COMMAND_EXECUTION_ERROR") && s.contains("make: *** [test] Error 2")
    });
    assert!(s.contains("FAILED"), "{s}");

    // r retries it (after y), and the new build is followed to its end.
    tmux.keys(&["r"]);
    tmux.wait("the retry question", |s| s.contains("retry demo:11111111"));
    tmux.keys(&["y"]);
    // The title says the build's status (its phases say SUCCEEDED while it still runs).
    tmux.wait("the retried build", |s| {
        s.contains("SUCCEEDED demo:22222222")
    });

    // R opens the start form: a source version override, Enter starts; s stops (after y).
    tmux.keys(&["R"]);
    tmux.wait("the start form", |s| {
        s.contains("Start demo in CodeBuild") && s.contains("source version")
    });
    tmux.keys(&["main", "Enter"]);
    tmux.wait("the started build", |s| {
        s.contains("demo:33333333") && s.contains("PRE_BUILD")
    });
    tmux.keys(&["s"]);
    tmux.wait("the stop question", |s| s.contains("stop demo:33333333"));
    tmux.keys(&["y"]);
    tmux.wait("the stopped build", |s| s.contains("STOPPED demo:33333333"));

    // Nothing local runs: q quits at once and the terminal is back.
    tmux.keys(&["q"]);
    tmux.wait_command("bash", std::time::Duration::from_secs(30));
    assert!(
        !tmux.alternate_on(),
        "alternate screen left:\n{}",
        tmux.screen()
    );
    assert_eq!(
        (
            fake.count("RetryBuild"),
            fake.count("StartBuild"),
            fake.count("StopBuild")
        ),
        (1, 1, 1)
    );
    let start = fake
        .calls()
        .into_iter()
        .find(|(op, _)| op == "StartBuild")
        .expect("StartBuild");
    assert_eq!(start.1["projectName"], "demo");
    assert_eq!(
        start.1["sourceVersion"], "main",
        "the form's override is sent"
    );
}

/// A `[[cloud]]` entry with neither profile nor region uses the default chain and is named
/// after the environment's `AWS_PROFILE` and `AWS_REGION`; selecting its project opens the
/// project's newest build at once (no `b`), as the console does.
#[test]
fn a_cloud_target_without_profile_opens_the_newest_build_on_selection() {
    if !Tmux::available() {
        return;
    }
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let retry_polls = Arc::new(AtomicUsize::new(0));
    let stopped = Arc::new(AtomicBool::new(false));
    let fake = rt.block_on(FakeAws::start(account(retry_polls, stopped)));
    let dir = tempfile::tempdir().expect("tempdir");
    let home = dir.path().join("cloudhome");
    std::fs::create_dir(&home).expect("mkdir");
    let config = home.join("config.toml");
    std::fs::write(&config, "[[cloud]]\n").expect("config");
    let env = [
        ("HOME", home.display().to_string()),
        ("CBDASH_CONFIG", config.display().to_string()),
        ("AWS_ENDPOINT_URL", fake.url()),
        ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
        ("AWS_PROFILE", "team".to_owned()),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_MAX_ATTEMPTS", "1".to_owned()),
        ("AWS_CONFIG_FILE", "/nonexistent".to_owned()),
        ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent".to_owned()),
    ];
    let tmux = Tmux::shell("cloudnoprofile", &home, &env);
    tmux.keys(&[&cbdash_bin().to_string_lossy(), "Enter"]);
    tmux.wait("the group named after the environment", |s| {
        s.contains("Cloud team/us-east-1") && s.contains("demo")
    });
    // Selecting the project opens its newest build (ListBuildsForProject, then followed).
    tmux.keys(&["2"]);
    let s = tmux.wait("the newest build, without b", |s| {
        s.contains("COMMAND_EXECUTION_ERROR") && s.contains("make: *** [test] Error 2")
    });
    assert!(s.contains("FAILED demo:11111111"), "{s}");
    assert!(!s.contains("no build yet"), "{s}");
    tmux.keys(&["q"]);
    tmux.wait_command("bash", std::time::Duration::from_secs(30));
    // Listed once, at discovery: the selection reuses that list.
    assert_eq!(fake.count("ListBuildsForProject"), 1);
}

/// A group whose builds cannot be listed (here: access denied) says so once at discovery,
/// instead of once per configured project.
#[test]
fn a_denied_group_is_reported_once_at_discovery() {
    if !Tmux::available() {
        return;
    }
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let fake = rt.block_on(FakeAws::start(|r| match r.op.as_str() {
        "ListBuildsForProject" => Reply::error(400, "AccessDeniedException", "not allowed"),
        _ => Reply::error(400, "InvalidInputException", "unexpected"),
    }));
    let dir = tempfile::tempdir().expect("tempdir");
    let home = dir.path().join("cloudhome");
    std::fs::create_dir(&home).expect("mkdir");
    let config = home.join("config.toml");
    let names: Vec<String> = (0..12).map(|i| format!("\"p{i}\"")).collect();
    std::fs::write(
        &config,
        format!(
            "[[cloud]]\nregion = \"us-east-1\"\nprojects = [{}]\n",
            names.join(", ")
        ),
    )
    .expect("config");
    let env = [
        ("HOME", home.display().to_string()),
        ("CBDASH_CONFIG", config.display().to_string()),
        ("AWS_ENDPOINT_URL", fake.url()),
        ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
        ("AWS_MAX_ATTEMPTS", "1".to_owned()),
        ("AWS_CONFIG_FILE", "/nonexistent".to_owned()),
        ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent".to_owned()),
    ];
    let tmux = Tmux::shell("clouddenied", &home, &env);
    tmux.keys(&[&cbdash_bin().to_string_lossy(), "Enter"]);
    tmux.wait("the access error", |s| s.contains("access denied"));
    std::thread::sleep(std::time::Duration::from_millis(500));
    tmux.keys(&["q"]);
    tmux.wait_command("bash", std::time::Duration::from_secs(30));
    let calls = fake.count("ListBuildsForProject");
    assert!(
        (1..=4).contains(&calls),
        "the lists in flight when the first failed, not all 12: {calls}"
    );
}
