//! Per-project state kept between local runs in `DIR/.cbdash/state.json`: the build counter
//! behind `CODEBUILD_BUILD_NUMBER`.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    /// Last build number, per project name.
    #[serde(default)]
    build_numbers: BTreeMap<String, u64>,
}

/// Increments and returns the project's build number (1 for the first build). A state file
/// that cannot be read or written only costs the counter: the build still runs.
#[must_use]
pub fn next_build_number(dir: &Path, project: &str) -> u64 {
    // The builds of a batch start together in one process: one at a time reads and writes
    // the counter, and the write replaces the file whole, so no reader sees half of it.
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let path = dir.join(".cbdash").join("state.json");
    let mut state: State = std::fs::read_to_string(&path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    let n = state.build_numbers.entry(project.to_owned()).or_insert(0);
    *n += 1;
    let n = *n;
    let saved = std::fs::create_dir_all(dir.join(".cbdash")).is_ok()
        && serde_json::to_string_pretty(&state).ok().is_some_and(|t| {
            let tmp = path.with_extension("json.tmp");
            std::fs::write(&tmp, t).is_ok() && std::fs::rename(&tmp, &path).is_ok()
        });
    if !saved {
        tracing::warn!("could not save the build counter in {}", path.display());
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_project() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(next_build_number(dir.path(), "a"), 1);
        assert_eq!(next_build_number(dir.path(), "a"), 2);
        assert_eq!(next_build_number(dir.path(), "b"), 1);
        std::fs::write(dir.path().join(".cbdash/state.json"), "garbage").expect("write");
        assert_eq!(next_build_number(dir.path(), "a"), 1);
    }
}
