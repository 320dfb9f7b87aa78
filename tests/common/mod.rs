//! Shared test harness: where the prerequisites are, and the rule that under `CI=true` a
//! missing one fails the test instead of skipping it.
#![allow(dead_code)] // each suite uses a different part of the harness

use std::path::PathBuf;

/// Whether we run in CI, where nothing may be skipped.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// The value of a prerequisite's environment variable. Outside CI a missing one skips the
/// test loudly (returns `None` after printing why); in CI it fails the test.
pub fn require(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Some(v),
        _ => {
            assert!(
                !in_ci(),
                "{var} is not set: run the suite through scripts/test, which starts the prerequisites"
            );
            eprintln!("SKIPPED: {var} is not set (run scripts/test to start the prerequisites)");
            None
        }
    }
}

/// `../shared`, or `CBDASH_TEST_SHARED`.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("CBDASH_TEST_SHARED")
        .filter(|v| !v.is_empty())
        .map_or_else(|| repo_root().join("../shared"), PathBuf::from);
    if dir.join("corpus").is_dir() {
        return Some(dir);
    }
    assert!(
        !in_ci(),
        "the shared folder is missing at {}",
        dir.display()
    );
    eprintln!("SKIPPED: no shared folder at {}", dir.display());
    None
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Ids of the Docker objects (`ps -a` or `volume ls`) labelled `label=value`, one per line.
fn docker_ids(list: &[&str], label: &str, value: &str) -> String {
    let out = std::process::Command::new("docker")
        .args(list)
        .args(["-q", "--filter", &format!("label={label}={value}")])
        .output()
        .expect("docker list");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Containers of this build id (`docker ps -aq`): empty when none is left.
pub fn containers_of(build_id: &str) -> String {
    docker_ids(&["ps", "-a"], "cbdash.build-id", build_id)
}

/// Containers of this project (`docker ps -aq`): empty when none is left.
pub fn containers_of_project(project: &str) -> String {
    docker_ids(&["ps", "-a"], "cbdash.project", project)
}

/// Volumes of this project (the caches; `docker volume ls -q`): empty when none is left.
pub fn volumes_of_project(project: &str) -> String {
    docker_ids(&["volume", "ls"], "cbdash.project", project)
}

/// Every file under `dir`, relative to it, sorted (nothing skipped, hidden files included).
pub fn files_under(dir: &std::path::Path) -> Vec<String> {
    let mut out: Vec<String> = ignore::WalkBuilder::new(dir)
        .standard_filters(false)
        .build()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_some_and(|t| t.is_file()))
        .map(|e| {
            e.path()
                .strip_prefix(dir)
                .expect("prefix")
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    out.sort();
    out
}

/// The built `cbdash` binary.
pub fn cbdash_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_cbdash"))
}
pub mod tmux;

/// An AWS SDK configuration for the emulator at `endpoint` (us-east-1, fixed test keys).
pub async fn emulator_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_ssm::config::Credentials::new(
            "test", "test", None, None, "test",
        ))
        .load()
        .await
}
