//! The start of INSTALL: `runtime-versions`. Reads the image's runtime table
//! ([`super::runtimes::RUNTIMES_FILE`]) from the container, picks each requested runtime's
//! commands ([`super::runtimes`], pure) and runs them as build commands, through the same
//! path as the phase's own commands, so their `export`s and `cd`s carry over.

use std::collections::BTreeMap;

use crate::buildspec::Buildspec;
use crate::model::StatusCode;

use super::run::Build;
use super::runtimes::{self, RUNTIMES_FILE, Runtimes, Selection};
use super::{LocalError, phases, script};

/// What an image without a runtime table gets, as on CodeBuild.
const SKIPPING: &str =
    "Skipping install of runtimes. Runtime version selection is not supported by this build image";

/// Why INSTALL failed before its commands: the context's code and message.
pub type Failure = (StatusCode, String);

/// Installs the requested runtimes; `Some` when INSTALL fails.
pub async fn runtime_versions(
    b: &mut Build,
    spec: &Buildspec,
    wanted: &BTreeMap<String, String>,
    succeeding: bool,
) -> Result<Option<Failure>, LocalError> {
    let Some(text) = read_table(b).await? else {
        b.emit.agent(SKIPPING).await?;
        return Ok(None);
    };
    let table = match Runtimes::parse(&text) {
        Ok(t) => t,
        Err(e) => return Ok(Some((StatusCode::ClientError, e.to_string()))),
    };
    // Every request is checked before any runs: an unknown runtime installs nothing.
    let mut selected: Vec<Selection> = Vec::new();
    for (name, value) in wanted {
        let version = match resolve(b, name, value).await? {
            Ok(v) => v,
            Err(msg) => return Ok(Some((StatusCode::YamlFileError, msg))),
        };
        match table.select(name, &version) {
            Ok(sel) => selected.push(sel),
            Err(e) => return Ok(Some((StatusCode::YamlFileError, e.to_string()))),
        }
    }
    for sel in &selected {
        b.emit
            .agent(&format!(
                "Selecting '{}' runtime version '{}' based on manual selections...",
                sel.runtime, sel.version
            ))
            .await?;
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
        _ => Err(LocalError::Exec(format!(
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
