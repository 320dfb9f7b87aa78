//! `UPLOAD_ARTIFACTS`: copy the source directory out of the container once, select the primary
//! and secondary artifacts and the report files from it, write the artifacts into the output
//! folder and summarise JUnit reports.

use std::collections::HashMap;
use std::path::PathBuf;

use crate::buildspec::Artifact;
use crate::model::{BuildEvent, PhaseContext, StatusCode};

use super::phases::capture;
use super::plan::PhaseResult;
use super::run::Build;
use super::{LocalError, artifacts, docker, script};

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
    let tar = docker::download(&b.docker, &id, &b.src_dir)
        .await?
        .unwrap_or_default();
    let files = artifacts::index(&tar)?;
    reports(b, &spec, &tar, &files).await?;
    let Some(arts) = &spec.artifacts else {
        return Ok((PhaseResult::Succeeded, PhaseContext::default()));
    };
    let mut wanted: HashMap<String, Vec<PathBuf>> = HashMap::new();
    let mut written = Vec::new();
    let primary = select(b, &arts.primary, &files).await?;
    if primary.is_empty() {
        let msg = "no matching artifact paths found";
        return Ok((
            PhaseResult::Failed {
                message: msg.into(),
            },
            PhaseContext::new(StatusCode::ClientError, msg),
        ));
    }
    let primary_dir = match &arts.primary.name {
        Some(name) => {
            let expanded = expand_name(b, name).await?;
            b.artifacts_dir.join(expanded)
        }
        None => b.artifacts_dir.clone(),
    };
    add(
        &mut wanted,
        &mut written,
        &primary_dir,
        &b.artifacts_dir,
        primary,
    );
    for (ident, art) in &arts.secondary {
        let sel = select(b, art, &files).await?;
        if sel.is_empty() {
            let msg = "no matching artifact paths found";
            return Ok((
                PhaseResult::Failed {
                    message: msg.into(),
                },
                PhaseContext::new(StatusCode::ClientError, msg),
            ));
        }
        let dir = b.artifacts_dir.join(ident);
        add(&mut wanted, &mut written, &dir, &b.artifacts_dir, sel);
    }
    artifacts::extract(&tar, &wanted)?;
    written.sort();
    b.emit
        .event(BuildEvent::Artifacts {
            build_id: b.emit.build_id().clone(),
            dir: b.artifacts_dir.clone(),
            files: written,
        })
        .await?;
    Ok((PhaseResult::Succeeded, PhaseContext::default()))
}

fn add(
    wanted: &mut HashMap<String, Vec<PathBuf>>,
    written: &mut Vec<String>,
    dir: &std::path::Path,
    root: &std::path::Path,
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
    files: &[String],
) -> Result<Vec<(String, String)>, LocalError> {
    let base = art.base_directory.clone().unwrap_or_else(|| ".".into());
    b.emit
        .agent(&format!("Expanding base directory path: {base}"))
        .await?;
    b.emit.agent("Assembling file list").await?;
    for p in &art.files {
        b.emit.agent(&format!("Expanding {p}")).await?;
    }
    let sel = artifacts::select_artifact(files, art)?;
    b.emit
        .agent(&format!("Found {} file(s)", sel.len()))
        .await?;
    if sel.is_empty() {
        // Not a CodeBuild line: what did exist, for the user and the diagnosis's fix.
        let there = artifacts::paths_under(files, art.base_directory.as_deref());
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

async fn reports(
    b: &mut Build,
    spec: &crate::buildspec::Buildspec,
    tar: &[u8],
    files: &[String],
) -> Result<(), LocalError> {
    for (group, r) in &spec.reports {
        let sel = artifacts::select(
            files,
            &r.files,
            r.base_directory.as_deref(),
            &[],
            r.discard_paths,
        )?;
        let names: Vec<String> = sel.iter().map(|(s, _)| s.clone()).collect();
        let contents = artifacts::read_files(tar, &names)?;
        let mut sum = artifacts::JunitSummary::default();
        let format = if r.file_format.is_empty() {
            "JUNITXML"
        } else {
            &r.file_format
        };
        if format.eq_ignore_ascii_case("JUNITXML") {
            for data in contents.values() {
                let s = artifacts::junit_summary(&String::from_utf8_lossy(data));
                sum.tests += s.tests;
                sum.failures += s.failures;
                sum.skipped += s.skipped;
            }
        }
        b.emit
            .agent(&format!(
                "Found {} report file(s) for group {group}",
                names.len()
            ))
            .await?;
        b.emit
            .event(BuildEvent::Report {
                build_id: b.emit.build_id().clone(),
                group: group.clone(),
                files: names,
                tests: sum.tests,
                failures: sum.failures,
                skipped: sum.skipped,
            })
            .await?;
    }
    Ok(())
}
