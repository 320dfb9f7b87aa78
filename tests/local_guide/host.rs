//! What the guide tests leave on the host's shared Docker daemon, and how they remove it:
//! their images, and their build-cache records (and only theirs: other tests run beside them).

use std::process::Command;

use serde_json::Value;

/// What a test leaves on the host's daemon, removed when dropped (after a failed assertion
/// too): every image of its repository, tagged or pulled by digest, then its build-cache
/// records.
pub struct Leftovers {
    /// `<registry>[/namespace]/my-app`.
    pub repository: String,
    /// What this test's Dockerfile steps are named after (see `dockerfile` in the parent module).
    pub unique: String,
}

impl Leftovers {
    pub fn remove_images(&self) {
        let out = docker(&["image", "ls", "-q", &self.repository]);
        let mut ids: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_owned)
            .collect();
        ids.dedup();
        for id in ids {
            let _ = docker(&["image", "rm", "-f", &id]);
        }
    }
}

impl Drop for Leftovers {
    fn drop(&mut self) {
        self.remove_images();
        // The cache listing asserts; a second panic while unwinding would abort the suite.
        if !std::thread::panicking() {
            prune_build_cache_of(&self.unique);
        }
    }
}

pub fn docker(args: &[&str]) -> std::process::Output {
    Command::new("docker").args(args).output().expect("docker")
}

pub fn local_image_exists(image: &str) -> bool {
    docker(&["image", "inspect", image]).status.success()
}

/// The host's build-cache records: `docker system df -v`, retried while another disk-usage
/// call runs (the daemon does one at a time, and the tests run in parallel).
fn build_cache_records() -> Vec<Value> {
    for _ in 0..50 {
        let out = docker(&["system", "df", "-v", "--format", "{{json .BuildCache}}"]);
        if out.status.success() {
            return serde_json::from_slice::<Option<Vec<Value>>>(&out.stdout)
                .expect("build cache json")
                .unwrap_or_default();
        }
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("already running"), "docker system df: {err}");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    panic!("docker system df stayed busy");
}

/// The host's build-cache records of this test: those whose description names `unique` and
/// every record built on one of them.
fn build_cache_of(unique: &str) -> Vec<String> {
    let records = build_cache_records();
    // The CLI marks a record in use with a trailing `*`.
    let field = |r: &Value, k: &str| {
        r[k].as_str()
            .unwrap_or_default()
            .trim_end_matches('*')
            .to_owned()
    };
    let mut ours: Vec<String> = records
        .iter()
        .filter(|r| field(r, "Description").contains(unique))
        .map(|r| field(r, "ID"))
        .collect();
    loop {
        let children: Vec<String> = records
            .iter()
            .filter(|r| ours.contains(&field(r, "Parent")) && !ours.contains(&field(r, "ID")))
            .map(|r| field(r, "ID"))
            .collect();
        if children.is_empty() {
            return ours;
        }
        ours.extend(children);
    }
}

/// Removes this test's build-cache records from the host's daemon, and only those (the
/// daemon is shared: `docker builder prune -af` would empty other tests' caches). The daemon
/// prunes one id per call, keeps a record while a child needs it and, for a moment after a
/// build, while the build still holds it: hence the rounds.
pub fn prune_build_cache_of(unique: &str) {
    for _ in 0..50 {
        let ids = build_cache_of(unique);
        if ids.is_empty() {
            return;
        }
        for id in ids {
            let _ = docker(&["builder", "prune", "-f", "--filter", &format!("id={id}")]);
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    panic!(
        "build-cache records of {unique} are left: {:?}",
        build_cache_of(unique)
    );
}
