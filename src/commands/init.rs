//! `cbdash init [DIR]`: writes the commented `.cbdash.toml` of
//! [`crate::config::template`] and, when the project has none, a starter `buildspec.yml`.
//! An existing file is never overwritten: it is left as it is and named; when nothing was
//! written because both exist, the command fails (exit 2) and says how to get the template.

use std::io::Write as _;
use std::path::Path;

use anyhow::{Context as _, Result};

use crate::app::UsageError;
use crate::cli::InitArgs;
use crate::config::project::FILE_NAME;
use crate::config::template::{BUILDSPEC_YML, PROJECT_TOML};

/// Runs the command; returns the exit code.
pub fn run(args: &InitArgs) -> Result<u8> {
    let dir = &args.dir;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot make {}", dir.display()))?;
    let mut out = std::io::stdout().lock();
    let settings = write_new(&dir.join(FILE_NAME), PROJECT_TOML)?;
    let spec = write_new(&dir.join("buildspec.yml"), BUILDSPEC_YML)?;
    if !settings && !spec {
        return Err(UsageError(format!(
            "{} and {} exist already; cbdash init never overwrites a file: edit them, or move {} \
             away and run `cbdash init` again to get the commented template",
            dir.join(FILE_NAME).display(),
            dir.join("buildspec.yml").display(),
            FILE_NAME,
        ))
        .into());
    }
    let said = |written: bool, name: &str, what: &str| {
        let path = dir.join(name);
        if written {
            format!("wrote {}: {what}", path.display())
        } else {
            format!(
                "kept {}: it exists, and cbdash init never overwrites a file",
                path.display()
            )
        }
    };
    writeln!(
        out,
        "{}",
        said(
            settings,
            FILE_NAME,
            "every option once, commented out but the image"
        )
    )?;
    writeln!(
        out,
        "{}",
        said(spec, "buildspec.yml", "a starter buildspec")
    )?;
    writeln!(
        out,
        "next: `cbdash run {}` runs it in Docker; `cbdash` in that directory opens the dashboard",
        dir.display()
    )?;
    Ok(0)
}

/// Writes `text` to `path` unless a file is there; whether it wrote. (`create_new`: a file
/// that appears meanwhile is not overwritten either.)
fn write_new(path: &Path, text: &str) -> Result<bool> {
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path);
    let mut file = match file {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(false),
        Err(e) => return Err(e).with_context(|| format!("cannot write {}", path.display())),
    };
    file.write_all(text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(true)
}
