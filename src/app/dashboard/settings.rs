//! The run form's "save to .cbdash.toml": the project's file edited in place (comments and
//! order kept), or made when there is none.

use std::path::PathBuf;

use anyhow::{Context as _, Result};

use crate::config::project::{FILE_NAME, save_docker_and_image};
use crate::tui::msg::LocalOverrides;
use crate::tui::state::ProjectKey;

/// Writes the form's image and Docker access into the project's `.cbdash.toml`; returns its
/// path. The file is replaced atomically (a temporary file renamed over it), so a crash never
/// leaves half a file.
pub(super) fn save(project: &ProjectKey, form: &LocalOverrides) -> Result<PathBuf> {
    let dir = project
        .dir
        .clone()
        .context("only a local project has a .cbdash.toml")?;
    let path = dir.join(FILE_NAME);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let out = save_docker_and_image(&text, form.image.as_deref(), form.docker)
        .with_context(|| format!("{} is not valid TOML", path.display()))?;
    let tmp = dir.join(format!("{FILE_NAME}.cbdash-tmp"));
    std::fs::write(&tmp, out).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, &path).with_context(|| format!("cannot replace {}", path.display()))?;
    Ok(path)
}
