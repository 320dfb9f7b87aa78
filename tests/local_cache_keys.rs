//! `cache.key`, `fallback-keys` and `action` in local builds, against the real Docker daemon:
//! the key is evaluated in the build's shell, looked up in the project's keyed-cache store,
//! and reported in the log and as a `cache_key` NDJSON event.

use serde_json::Value;

use crate::common;
use crate::local_harness::{Run, image, project, run};

/// A buildspec whose build prints what the restored `deps/stamp` holds, then writes this
/// build's number there; `cache` is the YAML of its `cache` section's extra keys.
fn spec(cache: &str) -> String {
    format!(
        "version: 0.2\nphases:\n  build:\n    commands:\n      - cat deps/stamp 2>/dev/null || echo no-stamp\n      - mkdir -p deps && echo stamp-$CODEBUILD_BUILD_NUMBER > deps/stamp\ncache:\n{cache}  paths:\n    - 'deps/**/*'\n"
    )
}

/// The one `cache_key` event of a run.
fn cache_key(r: &Run) -> Value {
    let evs = r.of("cache_key");
    assert_eq!(evs.len(), 1, "{}", r.dump());
    evs[0].clone()
}

fn agent_has(r: &Run, text: &str) -> bool {
    r.of("log")
        .iter()
        .any(|e| e["stream"] == "agent" && e["line"].as_str().is_some_and(|l| l.contains(text)))
}

/// Removes the project's cache volumes.
fn remove_volumes(name: &str) {
    for v in common::volumes_of_project(name).lines() {
        let _ = std::process::Command::new("docker")
            .args(["volume", "rm", v])
            .output();
    }
}

fn named(name: &str, spec: &str) -> tempfile::TempDir {
    project(&[
        ("buildspec.yml", spec),
        ("package-lock.json", "{\"lock\": 1}\n"),
        (".cbdash.toml", &format!("name = \"{name}\"\n")),
    ])
}

#[test]
fn cache_key_misses_then_hits_then_falls_back_by_prefix() {
    let Some(img) = image() else { return };
    let name = format!("cachekeys{}", std::process::id());
    let dir = named(
        &name,
        &spec(
            "  key: deps-$(codebuild-hash-files package-lock.json)\n  fallback-keys:\n    - nothing-\n    - deps-\n",
        ),
    );
    let r1 = run(dir.path(), &img, &[]);
    assert_eq!(r1.status(), "SUCCEEDED", "{}", r1.dump());
    let k1 = cache_key(&r1);
    let key1 = k1["key"].as_str().expect("key").to_owned();
    assert!(key1.starts_with("deps-") && key1.len() == 5 + 64, "{k1}");
    assert_eq!(k1["result"], "miss");
    assert!(k1["restored_key"].is_null());
    assert!(
        r1.stdout().contains(&"no-stamp".to_owned()),
        "{}",
        r1.dump()
    );
    assert!(agent_has(&r1, &format!("Cache miss for key {key1}")));
    assert!(
        agent_has(&r1, &format!("Saved the cache of key {key1}")),
        "{}",
        r1.dump()
    );

    // Same lock file: the same key, restored.
    let r2 = run(dir.path(), &img, &[]);
    let k2 = cache_key(&r2);
    assert_eq!(k2["key"], key1.as_str());
    assert_eq!(k2["result"], "hit", "{}", r2.dump());
    assert_eq!(k2["restored_key"], key1.as_str());
    assert!(r2.stdout().contains(&"stamp-1".to_owned()), "{}", r2.dump());
    assert!(agent_has(
        &r2,
        &format!("Cache hit: restored the cache of key {key1}")
    ));
    // A saved key never changes.
    assert!(agent_has(&r2, "is saved already"), "{}", r2.dump());

    // A changed lock file: a new key, which misses; the fallback key finds the old one.
    std::fs::write(dir.path().join("package-lock.json"), "{\"lock\": 2}\n").expect("write");
    let r3 = run(dir.path(), &img, &[]);
    let k3 = cache_key(&r3);
    let key3 = k3["key"].as_str().expect("key").to_owned();
    assert_ne!(key3, key1);
    assert_eq!(k3["result"], "fallback", "{}", r3.dump());
    assert_eq!(k3["restored_key"], key1.as_str());
    assert!(r3.stdout().contains(&"stamp-1".to_owned()), "{}", r3.dump());
    assert!(agent_has(&r3, &format!("Saved the cache of key {key3}")));

    // Its own key now hits, with what the third build saved.
    let r4 = run(dir.path(), &img, &[]);
    assert_eq!(cache_key(&r4)["result"], "hit");
    assert!(r4.stdout().contains(&"stamp-3".to_owned()), "{}", r4.dump());
    let vols = common::volumes_of_project(&name);
    assert_eq!(
        vols.lines().count(),
        1,
        "one keyed store per project: {vols}"
    );
    remove_volumes(&name);
}

#[test]
fn cache_action_restore_never_writes_back() {
    let Some(img) = image() else { return };
    let name = format!("cacherestore{}", std::process::id());
    let dir = named(&name, &spec("  key: fixed-key\n  action: restore\n"));
    let r1 = run(dir.path(), &img, &[]);
    assert_eq!(r1.status(), "SUCCEEDED", "{}", r1.dump());
    assert_eq!(cache_key(&r1)["result"], "miss");
    assert!(agent_has(
        &r1,
        "Cache action is restore: the cache of key fixed-key is not saved"
    ));
    // Nothing was saved: the same key still misses, with both actions.
    std::fs::write(dir.path().join("buildspec.yml"), spec("  key: fixed-key\n")).expect("write");
    let r2 = run(dir.path(), &img, &[]);
    assert_eq!(cache_key(&r2)["result"], "miss", "{}", r2.dump());
    assert!(
        r2.stdout().contains(&"no-stamp".to_owned()),
        "{}",
        r2.dump()
    );
    remove_volumes(&name);
}

#[test]
fn cache_action_save_never_restores() {
    let Some(img) = image() else { return };
    let name = format!("cachesave{}", std::process::id());
    let dir = named(&name, &spec("  key: saved-key\n"));
    let r1 = run(dir.path(), &img, &[]);
    assert!(
        agent_has(&r1, "Saved the cache of key saved-key"),
        "{}",
        r1.dump()
    );
    std::fs::write(
        dir.path().join("buildspec.yml"),
        spec("  key: saved-key\n  action: save\n"),
    )
    .expect("write");
    let r2 = run(dir.path(), &img, &[]);
    assert_eq!(r2.status(), "SUCCEEDED", "{}", r2.dump());
    let k = cache_key(&r2);
    assert_eq!(k["result"], "not_restored", "{k}");
    assert!(
        r2.stdout().contains(&"no-stamp".to_owned()),
        "{}",
        r2.dump()
    );
    assert!(agent_has(
        &r2,
        "Cache action is save: the cache of key saved-key is not restored"
    ));
    remove_volumes(&name);
}

#[test]
fn cache_is_not_saved_by_a_failing_build() {
    let Some(img) = image() else { return };
    let name = format!("cachefail{}", std::process::id());
    let failing = spec("  key: fail-key\n").replace(
        "      - mkdir -p deps",
        "      - mkdir -p deps && echo x > deps/stamp && false\n      - mkdir -p deps",
    );
    let dir = named(&name, &failing);
    let r1 = run(dir.path(), &img, &[]);
    assert_eq!(r1.status(), "FAILED", "{}", r1.dump());
    assert!(
        agent_has(
            &r1,
            "The build is failing: the cache of key fail-key is not saved"
        ),
        "{}",
        r1.dump()
    );
    std::fs::write(dir.path().join("buildspec.yml"), spec("  key: fail-key\n")).expect("write");
    let r2 = run(dir.path(), &img, &[]);
    assert_eq!(cache_key(&r2)["result"], "miss", "{}", r2.dump());
    remove_volumes(&name);
}
