//! The Reports panel in a real terminal: `cbdash` in tmux against the scripted fake endpoint
//! opens a failed cloud build whose reports CodeBuild kept (the report APIs scripted as in
//! `cloud_reports`), shows its groups and failed cases under the phases, and `T` `Enter` shows
//! a case's message, its escape sequences removed.

use serde_json::json;

use crate::cloud_fake::{FakeAws, Reply};
use crate::cloud_reports::{ID, endpoint};
use crate::common::cbdash_bin;
use crate::common::tmux::Tmux;

#[test]
fn a_cloud_builds_failed_cases_are_one_key_away() {
    if !Tmux::available() {
        return;
    }
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let reports = endpoint();
    let fake = rt.block_on(FakeAws::start(move |r| match r.op.as_str() {
        "ListProjects" => Reply::ok(json!({"projects": ["demo"]})),
        "ListBuildsForProject" => Reply::ok(json!({"ids": [ID]})),
        _ => reports(r),
    }));
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
    let tmux = Tmux::shell("reports", &home, &env);
    tmux.keys(&[&cbdash_bin().to_string_lossy(), "Enter"]);
    tmux.wait("the account's projects", |s| s.contains("demo"));
    tmux.keys(&["2"]);
    tmux.keys(&["b"]);
    tmux.wait("the builds list", |s| s.contains("demo:11111111"));
    tmux.keys(&["Enter"]);
    // The reports come after a throttle and a GENERATING answer, before the build's end.
    let s = tmux.wait("the Reports panel", |s| {
        s.contains("Reports · 3 failed cases") && s.contains("demo-cov")
    });
    assert!(
        s.contains("demo-unit") && s.contains("calc.Tests › adds"),
        "{s}"
    );
    tmux.keys(&["T"]);
    tmux.keys(&["Enter"]);
    let s = tmux.wait("the case's message", |s| {
        s.contains("FAILED 1/3 · demo-unit · adds") && s.contains("received 5")
    });
    assert!(s.contains("expected 4"), "{s}");
    assert_ne!(
        tmux.format("#{pane_title}"),
        "pwned",
        "the message's title sequence is not passed to the terminal"
    );
    tmux.keys(&["j"]);
    tmux.wait("the next case", |s| {
        s.contains("FAILED 2/3 · demo-unit · divides")
    });
    // Any other key closes the box (the panel keeps the keys); then q quits at once.
    tmux.keys(&["Escape"]);
    tmux.wait("the box closed", |s| !s.contains("FAILED 2/3"));
    tmux.keys(&["q"]);
    tmux.wait_command("bash", std::time::Duration::from_secs(30));
}
