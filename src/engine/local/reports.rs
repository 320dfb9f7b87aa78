//! The `reports:` section in `UPLOAD_ARTIFACTS`, where CodeBuild processes it (reference
//! `batch-reports-debug.md` §3.3): per group, the group name (the section key, expanded by
//! the build's shell when it names a variable), `base-directory` (expanded too; a path under
//! the source directory is made relative to it), `files` selected as artifacts are, the
//! CodeBuild log lines of that selection, then the raw files streamed out of the downloaded
//! tar into the parsers of `crate::reports`, one `BuildEvent::Report` per group.
//!
//! `discard-paths` only changes where CodeBuild exports the raw files, which a local run does
//! not do: the files are parsed and listed by their path in the source directory.

use std::fs::File;
use std::io::BufReader;

use crate::buildspec::{Buildspec, Report};
use crate::model::{BackendKind, BuildEvent};
use crate::reports::{Format, GroupParse};

use super::phases::capture;
use super::run::Build;
use super::upload::reading;
use super::{LocalError, artifacts, script};

/// Reads every report group; returns CodeBuild's `UPLOAD_ARTIFACTS` error text when it would
/// refuse one (the phase then fails, after the artifacts are written).
pub async fn process(
    b: &mut Build,
    spec: &Buildspec,
    mut tar: Option<&mut File>,
    idx: &artifacts::Index,
) -> Result<Option<String>, LocalError> {
    let mut refused = Vec::new();
    for (key, r) in &spec.reports {
        let group = if key.contains('$') {
            expand(b, key).await?.unwrap_or_else(|| key.clone())
        } else {
            key.clone()
        };
        let names = select(b, r, idx).await?;
        let format = Format::parse(&r.file_format).unwrap_or(Format::JunitXml);
        let g = group.clone();
        let (report, rejected) = match tar.as_deref_mut() {
            Some(f) if !names.is_empty() => {
                reading(f, move |f| parse_group(f, &g, format, &names)).await?
            }
            _ => (GroupParse::new(&group, format).finish(), None),
        };
        if let Some(why) = rejected {
            refused.push(format!("{group}: [{why}]"));
        }
        b.emit
            .event(BuildEvent::Report {
                build_id: b.emit.build_id().clone(),
                backend: BackendKind::Local,
                report,
            })
            .await?;
    }
    if refused.is_empty() {
        return Ok(None);
    }
    let text = format!("Error in UPLOAD_ARTIFACTS phase: [{}]", refused.join(" "));
    b.emit.agent(&text).await?;
    Ok(Some(text))
}

/// The group's raw files (paths in the source directory), with CodeBuild's log lines.
async fn select(
    b: &mut Build,
    r: &Report,
    idx: &artifacts::Index,
) -> Result<Vec<String>, LocalError> {
    let base = match &r.base_directory {
        Some(d) => Some(relative(
            &expand(b, d).await?.unwrap_or_else(|| d.clone()),
            &b.src_dir,
        )),
        None => None,
    };
    let shown = base.clone().unwrap_or_else(|| ".".into());
    for line in [
        format!("Expanding base directory path: {shown}"),
        "Assembling file list".into(),
        format!("Expanding {shown}"),
        format!("Expanding file paths for base directory {shown}"),
        "Assembling file list".into(),
    ] {
        b.emit.agent(&line).await?;
    }
    for p in &r.files {
        b.emit.agent(&format!("Expanding {p}")).await?;
    }
    let bases = artifacts::base_dirs(base.as_deref(), &idx.dirs)?;
    let names: Vec<String> = artifacts::select(&idx.files, &r.files, &bases, &[], false)?
        .into_iter()
        .map(|(src, _)| src)
        .collect();
    b.emit
        .agent(&if names.is_empty() {
            "No matching report paths found".to_owned()
        } else {
            format!("Found {} file(s)", names.len())
        })
        .await?;
    Ok(names)
}

/// Text as the build's shell expands it (`None`: it failed or gave nothing).
async fn expand(b: &mut Build, text: &str) -> Result<Option<String>, LocalError> {
    let (rc, out) = capture(b, &script::expand(text)).await?;
    let expanded = out.join("");
    Ok((rc == 0 && !expanded.trim().is_empty()).then_some(expanded))
}

/// A base directory given as an absolute path under the source directory (for example
/// `$CODEBUILD_SRC_DIR/reports`), relative to it.
fn relative(base: &str, src_dir: &str) -> String {
    let src = src_dir.trim_end_matches('/');
    match base.strip_prefix(src) {
        Some("") => ".".to_owned(),
        Some(rest) if rest.starts_with('/') => rest.trim_start_matches('/').to_owned(),
        _ => base.to_owned(),
    }
}

/// Streams the group's files out of the tar into its parser (on a blocking thread).
fn parse_group(
    tar: &mut File,
    group: &str,
    format: Format,
    names: &[String],
) -> Result<(crate::model::TestReport, Option<String>), LocalError> {
    let mut g = GroupParse::new(group, format);
    artifacts::each_file(tar, names, |name, data| {
        g.add(name, BufReader::with_capacity(1 << 16, data));
    })?;
    let rejected = g.rejected.clone();
    Ok((g.finish(), rejected))
}

#[cfg(test)]
mod tests {
    #[test]
    fn absolute_base_directories_under_the_source_become_relative() {
        let src = "/codebuild/output/src1/src";
        assert_eq!(
            super::relative("/codebuild/output/src1/src/out/r", src),
            "out/r"
        );
        assert_eq!(super::relative("/codebuild/output/src1/src", src), ".");
        assert_eq!(super::relative("out", src), "out");
        assert_eq!(
            super::relative("/codebuild/output/src1/srcx", src),
            "/codebuild/output/src1/srcx"
        );
    }
}
