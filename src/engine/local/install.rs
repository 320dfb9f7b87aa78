//! `runtime-versions`, as CodeBuild's agent does them: at the end of `DOWNLOAD_SOURCE` each
//! requested runtime is announced (`Selecting '<r>' runtime version '<v>' based on manual
//! selections...`) and checked against the image's runtime table
//! ([`super::runtimes::RUNTIMES_FILE`], read from the container, parsed by the pure
//! [`super::runtimes`]): an unknown runtime or version fails `DOWNLOAD_SOURCE` with
//! `YAML_FILE_ERROR`, as public CodeBuild logs show. At the start of INSTALL the table is read
//! again (the selection is cheap, and a resume of INSTALL needs it too) and each runtime's
//! commands run as build commands, through the same path as the phase's own commands, so their
//! `export`s and `cd`s carry over.

use crate::buildspec::Buildspec;
use crate::model::{PhaseKind, StatusCode};

use super::run::Build;
use super::runtimes::{self, RUNTIMES_FILE, Runtimes, Selection};
use super::{LocalError, phases, script};

/// What an image without a runtime table gets, as on CodeBuild.
const SKIPPING: &str =
    "Skipping install of runtimes. Runtime version selection is not supported by this build image";

/// Why a phase failed over its runtimes: the context's code and message.
pub type Failure = (StatusCode, String);

/// The selections of the buildspec's `runtime-versions`: `Ok(None)` when the image has no
/// runtime table, `Err` with the failure when one cannot be selected. With `announce`, each
/// is announced in an agent line before it is checked (as CodeBuild logs them).
async fn select_all(
    b: &mut Build,
    spec: &Buildspec,
    announce: bool,
) -> Result<Result<Option<Vec<Selection>>, Failure>, LocalError> {
    let wanted = spec
        .phase(PhaseKind::Install)
        .map(|p| p.runtime_versions.clone())
        .unwrap_or_default();
    let Some(text) = read_table(b).await? else {
        return Ok(Ok(None));
    };
    let table = match Runtimes::parse(&text) {
        Ok(t) => t,
        Err(e) => return Ok(Err((StatusCode::ClientError, e.to_string()))),
    };
    let mut selected: Vec<Selection> = Vec::new();
    for (name, value) in &wanted {
        let version = match resolve(b, name, value).await? {
            Ok(v) => v,
            Err(msg) => return Ok(Err((StatusCode::YamlFileError, msg))),
        };
        if announce {
            let line = format!(
                "Selecting '{name}' runtime version '{version}' based on manual selections..."
            );
            b.emit.agent(&line).await?;
        }
        match table.select(name, &version) {
            Ok(sel) => selected.push(sel),
            Err(e) => return Ok(Err((StatusCode::YamlFileError, e.to_string()))),
        }
    }
    Ok(Ok(Some(selected)))
}

/// At the end of `DOWNLOAD_SOURCE`: announces and checks the requested runtimes; `Some` when
/// the phase fails over them. Nothing is installed yet.
pub async fn check(b: &mut Build, spec: &Buildspec) -> Result<Option<Failure>, LocalError> {
    let asked = spec
        .phase(PhaseKind::Install)
        .is_some_and(|p| !p.runtime_versions.is_empty());
    if !asked {
        return Ok(None);
    }
    Ok(select_all(b, spec, true).await?.err())
}

/// At the start of INSTALL: runs the requested runtimes' commands; `Some` when INSTALL fails.
pub async fn runtime_versions(
    b: &mut Build,
    spec: &Buildspec,
    succeeding: bool,
) -> Result<Option<Failure>, LocalError> {
    let selected = match select_all(b, spec, false).await? {
        Ok(Some(s)) => s,
        Ok(None) => {
            b.emit.agent(SKIPPING).await?;
            return Ok(None);
        }
        Err(failure) => return Ok(Some(failure)),
    };
    for sel in &selected {
        for cmd in &sel.commands {
            let text = runtimes::command_script(sel, cmd);
            // As root, whatever `run-as` says: installing a runtime needs it (a choice).
            if let Some(msg) = phases::run_shown(b, spec, cmd, &text, None, succeeding).await? {
                return Ok(Some((StatusCode::CommandExecutionError, msg)));
            }
        }
    }
    Ok(None)
}

/// The image's runtime table, or `None` when the image has none.
async fn read_table(b: &mut Build) -> Result<Option<String>, LocalError> {
    let script = format!("[ -f {RUNTIMES_FILE} ] || exit 3\ncat {RUNTIMES_FILE}\n");
    let (rc, lines) = phases::capture(b, &script).await?;
    match rc {
        0 => Ok(Some(lines.join("\n"))),
        3 => Ok(None),
        _ => Err(LocalError::exec_msg(format!(
            "cannot read {RUNTIMES_FILE} in the build (exit status {rc})"
        ))),
    }
}

/// A version as written, or as the build's shell expands it (`"$PYTHON_VERSION"`).
async fn resolve(
    b: &mut Build,
    name: &str,
    value: &str,
) -> Result<Result<String, String>, LocalError> {
    if !runtimes::needs_expansion(value) {
        return Ok(Ok(value.to_owned()));
    }
    let (rc, lines) = phases::capture(b, &script::expand(value)).await?;
    let version = lines.concat().trim().to_owned();
    if rc != 0 || version.is_empty() {
        return Ok(Err(format!(
            "runtime-versions: the version of {name} ('{value}') expands to nothing in the build's shell"
        )));
    }
    Ok(Ok(version))
}
