//! Files the dashboard writes itself (a saved log): always under cbdash's data directory
//! (`~/.local/share/cbdash` on Linux), never into a project folder, where a watched project
//! would see a change and re-run, and the next build would copy the file into its container.

use std::path::{Component, Path, PathBuf};

/// cbdash's data directory (the history lives there too).
#[must_use]
pub fn data_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "cbdash").map(|d| d.data_dir().to_path_buf())
}

/// Writes `contents` to `rel` under `base`, creating folders; returns the full path.
/// `rel` must stay inside `base` (no absolute path, no `..`).
pub fn save_under(base: &Path, rel: &Path, contents: &str) -> Result<PathBuf, String> {
    if !rel.components().all(|c| matches!(c, Component::Normal(_))) {
        return Err(format!(
            "refusing to save outside cbdash's data directory: '{}'",
            rel.display()
        ));
    }
    let path = base.join(rel);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create '{}': {e}", dir.display()))?;
    }
    std::fs::write(&path, contents)
        .map_err(|e| format!("cannot save '{}': {e}", path.display()))?;
    Ok(path)
}

/// [`save_under`] the data directory.
pub fn save(rel: &Path, contents: &str) -> Result<PathBuf, String> {
    let base = data_dir().ok_or("no data directory (is HOME set?)")?;
    save_under(&base, rel, contents)
}

/// A file-name-safe form of `text` (a project name may hold `/` or spaces).
#[must_use]
pub fn file_name_part(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saves_create_folders_and_stay_inside_the_base() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = save_under(dir.path(), Path::new("logs/api-1.log"), "hello\n").expect("save");
        assert_eq!(path, dir.path().join("logs/api-1.log"));
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "hello\n");
        for bad in ["../x.log", "/tmp/x.log", "logs/../../x.log"] {
            assert!(
                save_under(dir.path(), Path::new(bad), "x").is_err(),
                "{bad}"
            );
        }
        assert_eq!(file_name_part("team/api v2"), "team_api_v2");
    }
}
