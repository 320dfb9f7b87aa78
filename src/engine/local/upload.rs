//! `UPLOAD_ARTIFACTS`: copy the source directory out of the container once (a tar streamed
//! into an anonymous temporary file), select the primary and secondary artifacts and the
//! report files from it (`reports`: parsed into one report per group), and write the
//! artifacts into the output folder.
//!
//! Where artifacts go: the primary into the output folder, or `<name>/` under it when it has
//! a `name`; each secondary artifact into `<identifier>/`, or `<identifier>/<name>/` when it
//! has a `name` (its own location, as each secondary artifact has one on CodeBuild, with the
//! name as the folder in it). Names are expanded by the build's shell.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::buildspec::Artifact;
use crate::model::{BuildEvent, PhaseContext, StatusCode};

use super::phases::capture;
use super::plan::PhaseResult;
use super::run::Build;
use super::{LocalError, artifacts, docker, reports, script};

type Outcome = Result<(PhaseResult, PhaseContext), LocalError>;

/// Runs the phase.
pub async fn upload_artifacts(b: &mut Build) -> Outcome {
    let Some(spec) = b.spec().cloned() else {
        return Ok((PhaseResult::Succeeded, PhaseContext::default()));
    };
    if spec.artifacts.is_none() && spec.reports.is_empty() {
        return Ok((PhaseResult::Succeeded, PhaseContext::default()));
    }
    let id = b.container.clone().ok_or(LocalError::NoContainer)?;
    let mut tar = download(&b.docker.clone(), &id, &b.src_dir.clone()).await?;
    let idx = match &mut tar {
        Some(f) => reading(f, |f| artifacts::index(f)).await?,
        None => artifacts::Index::default(),
    };
    let refused = reports::process(b, &spec, tar.as_mut(), &idx).await?;
    // CodeBuild refused a report: the phase fails once the artifacts are written.
    let end = || match &refused {
        Some(text) => (
            PhaseResult::Failed {
                message: text.clone(),
            },
            PhaseContext::new(StatusCode::ClientError, text),
        ),
        None => (PhaseResult::Succeeded, PhaseContext::default()),
    };
    let Some(arts) = &spec.artifacts else {
        return Ok(end());
    };
    let mut wanted: HashMap<String, Vec<PathBuf>> = HashMap::new();
    let mut written = Vec::new();
    let mut all = vec![(None, &arts.primary)];
    all.extend(arts.secondary.iter().map(|(id, a)| (Some(id.as_str()), a)));
    for (ident, art) in all {
        let sel = select(b, art, &idx).await?;
        if sel.is_empty() {
            let msg = "no matching artifact paths found";
            return Ok((
                PhaseResult::Failed {
                    message: msg.into(),
                },
                PhaseContext::new(StatusCode::ClientError, msg),
            ));
        }
        let dir = destination(b, ident, art.name.as_deref()).await?;
        add(&mut wanted, &mut written, &dir, &b.artifacts_dir, sel);
    }
    if let Some(f) = &mut tar {
        reading(f, move |f| artifacts::extract(f, &wanted)).await?;
    }
    written.sort();
    b.emit
        .event(BuildEvent::Artifacts {
            build_id: b.emit.build_id().clone(),
            dir: b.artifacts_dir.clone(),
            files: written,
        })
        .await?;
    Ok(end())
}

/// The source directory's tar, streamed into an anonymous temporary file (gone when
/// dropped); `None` when the directory does not exist.
async fn download(
    docker: &bollard::Docker,
    id: &str,
    src_dir: &str,
) -> Result<Option<File>, LocalError> {
    let file = tempfile::tempfile()
        .map_err(|e| LocalError::artifacts("cannot make a temporary file", e))?;
    let mut file = tokio::fs::File::from_std(file);
    let found = docker::download_to(docker, id, src_dir, &mut file).await?;
    Ok(found.then(|| file.try_into_std().ok()).flatten())
}

/// Runs `work` over the downloaded tar from its start, on a blocking thread: reading and
/// writing files must not hold up the build's task, which also watches for a stop, the
/// timeout and the daemon.
pub(super) async fn reading<T: Send + 'static>(
    tar: &mut File,
    work: impl FnOnce(&mut File) -> Result<T, LocalError> + Send + 'static,
) -> Result<T, LocalError> {
    let mut f = tar
        .try_clone()
        .map_err(|e| LocalError::artifacts("cannot read the downloaded files", e))?;
    tokio::task::spawn_blocking(move || {
        f.seek(SeekFrom::Start(0))
            .map_err(|e| LocalError::artifacts("cannot read the downloaded files", e))?;
        work(&mut f)
    })
    .await
    .map_err(|e| LocalError::artifacts("the artifact copy stopped", e))?
}

/// Where one artifact's files go (see the module doc).
async fn destination(
    b: &mut Build,
    identifier: Option<&str>,
    name: Option<&str>,
) -> Result<PathBuf, LocalError> {
    let mut dir = b.artifacts_dir.clone();
    if let Some(ident) = identifier {
        dir.push(ident);
    }
    if let Some(name) = name {
        let expanded = expand_name(b, name).await?;
        dir.push(expanded);
    }
    Ok(dir)
}

fn add(
    wanted: &mut HashMap<String, Vec<PathBuf>>,
    written: &mut Vec<String>,
    dir: &Path,
    root: &Path,
    sel: Vec<(String, String)>,
) {
    for (src, dest) in sel {
        let path = dir.join(&dest);
        if let Ok(rel) = path.strip_prefix(root) {
            written.push(rel.to_string_lossy().into_owned());
        }
        wanted.entry(src).or_default().push(path);
    }
}

async fn select(
    b: &mut Build,
    art: &Artifact,
    idx: &artifacts::Index,
) -> Result<Vec<(String, String)>, LocalError> {
    let base = art.base_directory.clone().unwrap_or_else(|| ".".into());
    b.emit
        .agent(&format!("Expanding base directory path: {base}"))
        .await?;
    b.emit.agent("Assembling file list").await?;
    for p in &art.files {
        b.emit.agent(&format!("Expanding {p}")).await?;
    }
    let sel = artifacts::select_artifact(idx, art)?;
    b.emit
        .agent(&format!("Found {} file(s)", sel.len()))
        .await?;
    if sel.is_empty() {
        // Not a CodeBuild line: what did exist, for the user and the diagnosis's fix.
        let bases = artifacts::base_dirs(art.base_directory.as_deref(), &idx.dirs)?;
        let there = artifacts::paths_under(&idx.files, &bases);
        b.emit
            .agent(&crate::diagnose::listing_line(&base, &there))
            .await?;
    }
    Ok(sel)
}

/// The artifact name as the build shell expands it; a name that expands to nothing, or to
/// a path leaving the output folder, falls back to the text.
async fn expand_name(b: &mut Build, name: &str) -> Result<String, LocalError> {
    let (rc, out) = capture(b, &script::expand(name)).await?;
    let expanded = out.join("");
    let safe = rc == 0
        && !expanded.trim().is_empty()
        && !expanded.split('/').any(|c| c == "..")
        && !expanded.starts_with('/');
    Ok(if safe {
        expanded
    } else {
        name.replace('/', "_")
    })
}
