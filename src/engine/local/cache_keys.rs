//! `cache.key`, `cache.fallback-keys` and `cache.action` in a local build.
//!
//! Why this design: the key is shell-evaluated in the build (`npm-$(codebuild-hash-files
//! package-lock.json)`), so it is known only once the source and the shell state are in the
//! container, at the end of `DOWNLOAD_SOURCE`, while volumes can only be mounted when the
//! container is created. So a buildspec with a key gets ONE store volume per project, mounted
//! at [`STORE`] (see [`super::cache::mounts`]); each saved key is a folder in it
//! (`<id>/key`, `<id>/paths/<path id>/...`). Then, as CodeBuild downloads its cache in
//! `DOWNLOAD_SOURCE` and uploads it after the build:
//! - [`restore`], at the end of `DOWNLOAD_SOURCE`: evaluates the key and the fallback keys in the
//!   build's shell, looks them up ([`lookup`], pure) and copies the found key's folders into
//!   the cache paths;
//! - [`save`], at the end of `UPLOAD_ARTIFACTS` of a succeeding build: copies the cache paths
//!   into a new key folder (written aside, then renamed into place).
//!
//! Copies, not mounts or symlinks: a keyed cache does not change once saved (CodeBuild makes "a
//! unique cache copy that will not be updated once created"), `restore` never writes back, and
//! a fallback key's content seeds a new key without being changed itself. What `restore`
//! decided is kept in the container ([`STATE`]), so a resumed build saves as the run would have.

use std::fmt::Write as _;

use crate::buildspec::{Buildspec, CacheAction};
use crate::model::{BuildEvent, CacheLookup};

use super::run::Build;
use super::script::quote;
use super::{LocalError, cache, phases, source, steps};

/// Where the project's keyed-cache store volume is mounted in the build container.
pub const STORE: &str = "/codebuild/local-cache/keyed";

/// What [`save`] needs from [`restore`]: `save` or `skip` on the first line, the key on the
/// second.
const STATE: &str = "/codebuild/output/tmp/cache-key";

/// What a lookup found, from the saved keys, newest first.
#[must_use]
pub fn lookup(key: &str, fallbacks: &[String], saved: &[String]) -> CacheLookup {
    if saved.iter().any(|k| k == key) {
        return CacheLookup::Hit;
    }
    fallbacks
        .iter()
        .filter(|f| !f.is_empty())
        .find_map(|f| saved.iter().find(|k| k.starts_with(f.as_str())))
        .map_or(CacheLookup::Miss, |k| CacheLookup::Fallback {
            restored_key: k.clone(),
        })
}

/// A key's folder name in the store.
#[must_use]
pub fn key_id(key: &str) -> String {
    format!("{:016x}", cache::fnv64(key))
}

/// Prints each saved key, base64 (a key may hold any byte), newest first.
#[must_use]
pub fn list_script() -> String {
    format!(
        "cd {STORE} 2>/dev/null || exit 0\n\
         for d in $(ls -1t); do\n  \
           [ -f \"$d/key\" ] && {{ base64 < \"$d/key\" | tr -d '\\n'; echo; }}\n\
         done\nexit 0\n"
    )
}

/// Copies the saved key `id`'s folders into the cache paths (`(dir, target)` pairs).
#[must_use]
pub fn restore_script(id: &str, targets: &[(String, String)]) -> String {
    let mut s = String::new();
    for (dir, target) in targets {
        let from = format!("{STORE}/{id}/paths/{}", key_id(dir));
        let to = quote(target);
        let _ = writeln!(
            s,
            "if [ -d {from} ]; then mkdir -p {to} && cp -a {from}/. {to}/ || exit 1; fi"
        );
    }
    s
}

/// Saves the cache paths as key `key`; exits 3 when the key is saved already.
#[must_use]
pub fn save_script(key: &str, targets: &[(String, String)]) -> String {
    let id = key_id(key);
    let mut s = format!(
        "[ -d {STORE}/{id} ] && exit 3\nT={STORE}/.tmp-{id}-$$\nrm -rf \"$T\" && mkdir -p \"$T/paths\" || exit 1\n"
    );
    for (dir, target) in targets {
        let to = format!("\"$T/paths/{}\"", key_id(dir));
        let from = quote(target);
        let _ = writeln!(
            s,
            "if [ -d {from} ]; then mkdir -p {to} && cp -a {from}/. {to}/ || {{ rm -rf \"$T\"; exit 1; }}; fi"
        );
    }
    let _ = write!(
        s,
        "printf '%s' {} > \"$T/key\"\n[ -d {STORE}/{id} ] && {{ rm -rf \"$T\"; exit 3; }}\nmv \"$T\" {STORE}/{id} || {{ rm -rf \"$T\"; exit 1; }}\n",
        quote(key)
    );
    s
}

/// The agent line of a lookup.
#[must_use]
pub fn lookup_line(key: &str, found: &CacheLookup) -> String {
    match found {
        CacheLookup::Hit => format!("Cache hit: restored the cache of key {key}"),
        CacheLookup::Fallback { restored_key } => {
            format!("Cache miss for key {key}: restored the cache of fallback key {restored_key}")
        }
        CacheLookup::Miss => format!("Cache miss for key {key}: no cache or fallback key matched"),
        CacheLookup::NotRestored => {
            format!("Cache action is save: the cache of key {key} is not restored")
        }
    }
}

/// Evaluates the key and fallback keys, restores what they find, and says so (agent line and
/// a `CacheKey` event). A failure to restore is a warning line: the build goes on without.
pub async fn restore(b: &mut Build, spec: &Buildspec) -> Result<(), LocalError> {
    let Some(c) = spec.cache.as_ref() else {
        return Ok(());
    };
    let Some(raw) = c.key.as_deref() else {
        return Ok(());
    };
    let key = evaluate(b, raw).await?;
    if key.is_empty() {
        let line = format!("Cache key '{raw}' expands to nothing: the cache is not used");
        return b.emit.agent(&line).await;
    }
    let mut fallbacks = Vec::new();
    for f in &c.fallback_keys {
        fallbacks.push(evaluate(b, f).await?);
    }
    let mut found = if c.action == CacheAction::Save {
        CacheLookup::NotRestored
    } else {
        let saved = saved_keys(b).await?;
        lookup(&key, &fallbacks, &saved)
    };
    let from = match &found {
        CacheLookup::Hit => Some(key.clone()),
        CacheLookup::Fallback { restored_key } => Some(restored_key.clone()),
        CacheLookup::Miss | CacheLookup::NotRestored => None,
    };
    if let Some(from) = from {
        let targets = cache::targets(spec, &b.src_dir);
        let (rc, _) = steps::helper(b, &restore_script(&key_id(&from), &targets)).await?;
        if rc != 0 {
            let line = format!("Unable to restore the cache of key {from}: going on without it");
            b.emit.agent(&line).await?;
            found = CacheLookup::Miss;
        }
    }
    b.emit.agent(&lookup_line(&key, &found)).await?;
    let key_masked = b.emit.mask(&key);
    let lookup_masked = match found {
        CacheLookup::Fallback { restored_key } => CacheLookup::Fallback {
            restored_key: b.emit.mask(&restored_key),
        },
        other => other,
    };
    b.emit
        .event(BuildEvent::CacheKey {
            build_id: b.emit.build_id().clone(),
            key: key_masked,
            lookup: lookup_masked.clone(),
        })
        .await?;
    // A key that exists is never written again; `restore` never writes.
    let due = c.action != CacheAction::Restore && lookup_masked != CacheLookup::Hit;
    let state = format!("{}\n{key}\n", if due { "save" } else { "skip" });
    let path = STATE.trim_start_matches('/');
    let tar = source::files_tar(&[], &[(path, &state, 0o600)])?;
    let id = b.container.clone().ok_or(LocalError::NoContainer)?;
    super::docker::upload(&b.docker, &id, tar).await
}

/// Saves the cache paths under the key [`restore`] evaluated, when that is due and the build
/// is succeeding; says what it did in an agent line.
pub async fn save(b: &mut Build, succeeding: bool) -> Result<(), LocalError> {
    let Some(spec) = b.spec().cloned() else {
        return Ok(());
    };
    let Some(c) = spec.cache.as_ref().filter(|c| c.key.is_some()) else {
        return Ok(());
    };
    let (rc, lines) = steps::helper(b, &format!("cat {STATE} 2>/dev/null || exit 3\n")).await?;
    let (Some(due), Some(key)) = (lines.first(), lines.get(1)) else {
        return Ok(());
    };
    if rc != 0 {
        return Ok(());
    }
    let key = key.clone();
    let line = if due != "save" {
        if c.action == CacheAction::Restore {
            format!("Cache action is restore: the cache of key {key} is not saved")
        } else {
            format!("Cache key {key} is saved already: a keyed cache does not change once saved")
        }
    } else if !succeeding {
        format!("The build is failing: the cache of key {key} is not saved")
    } else {
        let targets = cache::targets(&spec, &b.src_dir);
        match steps::helper(b, &save_script(&key, &targets)).await?.0 {
            0 => format!("Saved the cache of key {key}"),
            3 => format!(
                "Cache key {key} is saved already: a keyed cache does not change once saved"
            ),
            rc => format!("Unable to save the cache of key {key} (exit status {rc})"),
        }
    };
    b.emit.agent(&line).await
}

/// A key as the build's shell expands it (lines joined: a key is one line).
async fn evaluate(b: &mut Build, raw: &str) -> Result<String, LocalError> {
    let (_, lines) = phases::capture(b, &super::script::expand(raw)).await?;
    Ok(lines.concat().trim().to_owned())
}

/// The keys saved in the project's store, newest first.
async fn saved_keys(b: &mut Build) -> Result<Vec<String>, LocalError> {
    let (_, lines) = steps::helper(b, &list_script()).await?;
    let engine = &base64::engine::general_purpose::STANDARD;
    Ok(lines
        .iter()
        .filter_map(|l| base64::Engine::decode(engine, l.trim()).ok())
        .filter_map(|bytes| String::from_utf8(bytes).ok())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn saved() -> Vec<String> {
        ["npm-linux-bbb", "npm-linux-aaa", "pip-1"]
            .map(String::from)
            .to_vec()
    }

    #[test]
    fn the_key_itself_is_a_hit() {
        assert_eq!(lookup("pip-1", &[], &saved()), CacheLookup::Hit);
    }

    #[test]
    fn fallback_keys_match_by_prefix_in_order_newest_first() {
        let f = ["nope".to_owned(), "npm-linux-".to_owned(), "pip".to_owned()];
        assert_eq!(
            lookup("npm-linux-ccc", &f, &saved()),
            CacheLookup::Fallback {
                restored_key: "npm-linux-bbb".into()
            }
        );
    }

    #[test]
    fn nothing_matching_is_a_miss_and_an_empty_fallback_matches_nothing() {
        assert_eq!(
            lookup("x", &[String::new(), "y".into()], &saved()),
            CacheLookup::Miss
        );
        assert_eq!(lookup("x", &[], &[]), CacheLookup::Miss);
    }

    #[test]
    fn scripts_quote_paths_and_keys() {
        let t = [("node_modules".to_owned(), "/src/node modules".to_owned())];
        let s = save_script("k'1", &t);
        assert!(s.contains(r"printf '%s' 'k'\''1'"), "{s}");
        assert!(s.contains("'/src/node modules'"), "{s}");
        assert!(s.contains(&key_id("k'1")));
        let r = restore_script(&key_id("k"), &t);
        assert!(r.contains(&format!(
            "{STORE}/{}/paths/{}",
            key_id("k"),
            key_id("node_modules")
        )));
        assert!(r.contains("cp -a"));
    }

    #[test]
    fn lines_say_what_happened() {
        let l = lookup_line(
            "a",
            &CacheLookup::Fallback {
                restored_key: "a-old".into(),
            },
        );
        assert_eq!(
            l,
            "Cache miss for key a: restored the cache of fallback key a-old"
        );
    }
}
