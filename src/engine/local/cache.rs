//! `cache.paths` as local custom caches: each directory is a labelled named Docker volume per
//! project and path, mounted at that path in every build of the project, so its contents
//! persist between local runs (CodeBuild's `LOCAL_CUSTOM_CACHE`: directories only).

use std::collections::HashMap;
use std::path::Path;

use crate::buildspec::Buildspec;

use super::docker::{LABEL_CACHE, LABEL_PROJECT};

/// One cache volume and where it is mounted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mount {
    pub volume: String,
    pub target: String,
}

/// The directory a cache path names: glob suffixes (`/**/*`, `/**`, `/*`) dropped.
#[must_use]
pub fn directory(path: &str) -> &str {
    let mut p = path.trim();
    for suffix in ["/**/*", "/**", "/*"] {
        if let Some(s) = p.strip_suffix(suffix) {
            p = s;
        }
    }
    p.trim_end_matches('/')
}

/// The volumes for a buildspec's cache paths. A buildspec with `cache.key` gets the project's
/// keyed-cache store instead (see [`super::cache_keys`]): which key's content goes into the
/// paths is only known once the key is evaluated, after the container started.
#[must_use]
pub fn mounts(spec: &Buildspec, project: &str, src_dir: &str) -> Vec<Mount> {
    if spec.cache.as_ref().is_some_and(|c| c.key.is_some()) {
        let store = super::cache_keys::STORE;
        return vec![Mount {
            volume: volume_name(project, store),
            target: store.to_owned(),
        }];
    }
    targets(spec, src_dir)
        .into_iter()
        .map(|(d, target)| Mount {
            volume: volume_name(project, &d),
            target,
        })
        .collect()
}

/// Each cache directory as written (glob suffixes dropped) and its absolute path in the
/// container (relative ones are under `src_dir`).
#[must_use]
pub fn targets(spec: &Buildspec, src_dir: &str) -> Vec<(String, String)> {
    let Some(cache) = &spec.cache else {
        return Vec::new();
    };
    cache
        .paths
        .iter()
        .map(|p| directory(p))
        .filter(|d| !d.is_empty() && !d.contains('*'))
        .map(|d| {
            let target = if d.starts_with('/') {
                d.to_owned()
            } else {
                format!("{src_dir}/{}", d.trim_start_matches("./"))
            };
            (d.to_owned(), target)
        })
        .collect()
}

/// FNV-1a of `text`: stable across runs and platforms (std's hasher is not).
#[must_use]
pub fn fnv64(text: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// `cbdash-cache-<project>-<hash of the path>`, a valid volume name.
#[must_use]
pub fn volume_name(project: &str, dir: &str) -> String {
    let h = fnv64(dir);
    let p: String = project
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!("cbdash-cache-{p}-{h:016x}")
}

/// Labels of a cache volume.
#[must_use]
pub fn labels(project: &str) -> HashMap<String, String> {
    HashMap::from([
        (LABEL_CACHE.to_owned(), "1".to_owned()),
        (LABEL_PROJECT.to_owned(), project.to_owned()),
    ])
}

/// A cache path that names a file in the source (which a local cache cannot hold).
#[must_use]
pub fn file_path(spec: &Buildspec, source_dir: &Path) -> Option<String> {
    let cache = spec.cache.as_ref()?;
    cache
        .paths
        .iter()
        .map(|p| directory(p))
        .find(|d| !d.starts_with('/') && source_dir.join(d).is_file())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_suffixes_are_dropped() {
        assert_eq!(directory("/root/.m2/**/*"), "/root/.m2");
        assert_eq!(directory("node_modules/*"), "node_modules");
        assert_eq!(directory("deps/"), "deps");
    }

    #[test]
    fn volume_names_are_stable_and_distinct() {
        assert_eq!(volume_name("p", "a"), volume_name("p", "a"));
        assert_ne!(volume_name("p", "a"), volume_name("p", "b"));
        assert!(volume_name("my app", "a").starts_with("cbdash-cache-my-app-"));
    }
}
