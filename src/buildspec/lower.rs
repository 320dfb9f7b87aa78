//! Lowering: the positioned YAML tree → [`Buildspec`], checking CodeBuild's schema on the way.
//!
//! Each function reads one section with the [`Walker`], which records type errors at the
//! offending token and unknown keys as warnings; a section that is wrong is left at its
//! default so the walk goes on and reports every problem in one pass.

use std::collections::BTreeMap;

use super::node::{Node, Value};
use super::walk::Walker;
use super::{Buildspec, Command, Env, OnFailure, Phase, Pos, Shell, Version};
use crate::model::PhaseKind;

const TOP_KEYS: &[&str] = &[
    "version",
    "run-as",
    "env",
    "environment_variables",
    "proxy",
    "batch",
    "phases",
    "reports",
    "artifacts",
    "cache",
];
const ENV_KEYS: &[&str] = &[
    "shell",
    "variables",
    "parameter-store",
    "secrets-manager",
    "exported-variables",
    "git-credential-helper",
];
const PHASE_NAMES: &[&str] = &["install", "pre_build", "build", "post_build"];
const PHASE_KEYS: &[&str] = &[
    "run-as",
    "on-failure",
    "runtime-versions",
    "commands",
    "finally",
];

const ON_FAILURE_HINT: &str =
    "use ABORT, CONTINUE, RETRY, RETRY-<count>, RETRY-<regex> or RETRY-<count>-<regex>";

/// Lowers a whole document. Returns `None` when the top level is not a mapping.
pub fn document(w: &mut Walker<'_>, root: &Node) -> Option<Buildspec> {
    if !matches!(root.value, Value::Map(_)) {
        let msg = if root.value == Value::Null {
            "the buildspec is empty".to_owned()
        } else {
            format!(
                "a buildspec must be a mapping of keys, found {}",
                root.value.kind()
            )
        };
        w.error(
            root.pos,
            msg,
            "start with `version: 0.2` and a `phases:` mapping",
        );
        return None;
    }
    let mut spec = Buildspec {
        version: Version::V02,
        run_as: None,
        env: Env::default(),
        phases: BTreeMap::new(),
        artifacts: None,
        reports: BTreeMap::new(),
        cache: None,
        batch: None,
    };
    let (mut version, mut has_phases, mut version_node) = (None, false, None);
    for e in w.entries(root, "buildspec", TOP_KEYS) {
        match e.key {
            "version" => {
                version = self::version(w, e.value);
                version_node = Some(e.value);
            }
            "run-as" => spec.run_as = w.string(e.value, "run-as"),
            "env" => env(w, e.value, &mut spec.env),
            "environment_variables" => legacy_env(w, e.value, &mut spec.env),
            "proxy" => super::lower_output::proxy(w, e.key_pos, e.value),
            "batch" => spec.batch = Some(super::lower_batch::batch(w, e.key_pos, e.value)),
            "phases" => {
                has_phases = true;
                spec.phases = phases(w, e.value);
            }
            "reports" => spec.reports = super::lower_output::reports(w, e.value),
            "artifacts" => spec.artifacts = Some(super::lower_output::artifacts(w, e.value)),
            "cache" => spec.cache = Some(super::lower_output::cache(w, e.value)),
            _ => {}
        }
    }
    let first_key = first_key_pos(root);
    match version {
        Some(v) => spec.version = v,
        None if !has_key(root, "version") => w.error(
            first_key,
            "missing `version`: CodeBuild requires it",
            "add `version: 0.2` as the first line",
        ),
        None => {}
    }
    if let (Some(batch), Some(node)) = (spec.batch.as_mut(), version_node)
        && version.is_some()
        && matches!(node.value, Value::Str(_))
    {
        batch.version_string = Some(node.pos);
        w.warn(
            node.pos,
            super::batch_check::VERSION_STRING,
            Some(super::batch_check::VERSION_STRING_HINT),
        );
    }
    if !has_phases && spec.batch.is_none() {
        w.error(
            first_key,
            "missing `phases`: CodeBuild requires it (unless the file only defines a `batch`)",
            "add `phases:` with at least a `build:` phase and its `commands:`",
        );
    }
    Some(spec)
}

fn has_key(map: &Node, key: &str) -> bool {
    matches!(&map.value, Value::Map(pairs) if pairs.iter().any(|(k, _)| k.value == Value::Str(key.to_owned())))
}

fn first_key_pos(map: &Node) -> Pos {
    match &map.value {
        Value::Map(pairs) => pairs.first().map_or(map.pos, |(k, _)| k.pos),
        _ => map.pos,
    }
}

fn version(w: &mut Walker<'_>, node: &Node) -> Option<Version> {
    let text = match &node.value {
        Value::Float(_) | Value::Int(_) => w.raw(node),
        Value::Str(s) => s.trim().to_owned(),
        _ => String::new(),
    };
    match text.as_str() {
        "0.2" | "0.20" => Some(Version::V02),
        "0.1" | "0.10" => Some(Version::V01),
        _ => {
            let found = if text.is_empty() {
                node.value.kind().to_owned()
            } else {
                format!("`{text}`")
            };
            w.error(
                node.pos,
                format!("unknown buildspec version {found}: CodeBuild accepts 0.1 and 0.2"),
                "use `version: 0.2`",
            );
            None
        }
    }
}

fn env(w: &mut Walker<'_>, node: &Node, env: &mut Env) {
    let mut exported = None;
    for e in w.entries(node, "env", ENV_KEYS) {
        match e.key {
            "shell" => env.shell = shell(w, e.value),
            "variables" => {
                env.variables = string_map(w, e.value, "env.variables");
                reserved_names(w, e.value);
            }
            "parameter-store" => {
                env.parameter_store = string_map(w, e.value, "env.parameter-store");
            }
            "secrets-manager" => {
                env.secrets_manager = string_map(w, e.value, "env.secrets-manager");
            }
            "exported-variables" => {
                env.exported_variables = w.string_list(e.value, "env.exported-variables");
                exported = Some(e.value);
            }
            "git-credential-helper" => {
                env.git_credential_helper = w.flag(e.value, "git-credential-helper");
                if env.git_credential_helper {
                    w.local_limit("git-credential-helper", e.key_pos);
                }
            }
            _ => {}
        }
    }
    if let Some(list) = exported {
        not_exportable(w, list, env);
    }
}

/// `env.variables` that set a `CODEBUILD_` name: CodeBuild reserves them.
pub fn reserved_names(w: &mut Walker<'_>, node: &Node) {
    let Value::Map(pairs) = &node.value else {
        return;
    };
    for (k, _) in pairs {
        if let Value::Str(name) = &k.value
            && name.starts_with("CODEBUILD_")
        {
            w.warn(
                k.pos,
                format!("`{name}`: names starting `CODEBUILD_` are reserved by CodeBuild"),
                Some(
                    "rename the variable; a local run sets it as written, over cbdash's own value",
                ),
            );
        }
    }
}

/// `exported-variables` entries CodeBuild refuses to export (`AWS_` names, Parameter Store
/// and Secrets Manager variables): warned about here, left out by a local run.
fn not_exportable(w: &mut Walker<'_>, node: &Node, env: &Env) {
    let Value::Seq(items) = &node.value else {
        return;
    };
    for item in items {
        let Value::Str(name) = &item.value else {
            continue;
        };
        if let Some(why) = super::lint::not_exportable(env, name) {
            w.warn(
                item.pos,
                format!("`{name}` is not exported: {why}"),
                Some("export a plain variable that holds what the next stage needs"),
            );
        }
    }
}

/// Version 0.1's `environment_variables: plaintext: {..}`.
fn legacy_env(w: &mut Walker<'_>, node: &Node, env: &mut Env) {
    for e in w.entries(node, "environment_variables", &["plaintext"]) {
        env.variables
            .extend(string_map(w, e.value, "environment_variables.plaintext"));
    }
}

fn shell(w: &mut Walker<'_>, node: &Node) -> Shell {
    let Some(text) = w.string(node, "env.shell") else {
        return Shell::Sh;
    };
    match text.as_str() {
        "sh" | "/bin/sh" => Shell::Sh,
        "bash" | "/bin/bash" | "/usr/bin/bash" => Shell::Bash,
        other => {
            if other.eq_ignore_ascii_case("powershell.exe") || other.eq_ignore_ascii_case("cmd.exe")
            {
                w.local_limit("windows-shell", node.pos);
            } else {
                w.warn(
                    node.pos,
                    format!("unknown shell `{other}`: CodeBuild accepts bash, /bin/sh, powershell.exe and cmd.exe"),
                    Some("use `shell: bash` or leave `shell` out for /bin/sh"),
                );
            }
            Shell::Other(other.to_owned())
        }
    }
}

/// A mapping of names to scalar values, values stringified as written.
pub fn string_map(w: &mut Walker<'_>, node: &Node, what: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (name, _, value) in w.pairs(node, what) {
        if let Some(v) = w.scalar(value, &format!("{what}.{name}")) {
            out.push((name.to_owned(), v));
        }
    }
    out
}

fn phases(w: &mut Walker<'_>, node: &Node) -> BTreeMap<PhaseKind, Phase> {
    let mut out = BTreeMap::new();
    for e in w.entries(node, "phases", PHASE_NAMES) {
        let kind = match e.key {
            "install" => PhaseKind::Install,
            "pre_build" => PhaseKind::PreBuild,
            "build" => PhaseKind::Build,
            _ => PhaseKind::PostBuild,
        };
        let mut p = phase(w, e.value, e.key);
        p.pos = e.key_pos;
        out.insert(kind, p);
    }
    out
}

fn phase(w: &mut Walker<'_>, node: &Node, name: &str) -> Phase {
    let mut p = Phase::default();
    for e in w.entries(node, &format!("phases.{name}"), PHASE_KEYS) {
        match e.key {
            "run-as" => p.run_as = w.string(e.value, "run-as"),
            "on-failure" => p.on_failure = on_failure(w, e.value).unwrap_or_default(),
            "runtime-versions" => {
                if name != "install" {
                    w.warn(
                        e.key_pos,
                        "`runtime-versions` only works in the `install` phase",
                        Some("move it under `phases.install`"),
                    );
                }
                // Run locally as on CodeBuild: from the image's runtimes.yml, or skipped on an
                // image without one (engine::local::install).
                p.runtime_versions = runtime_versions(w, e.value);
            }
            "commands" => p.commands = commands(w, e.value, &format!("phases.{name}.commands")),
            "finally" => p.finally = commands(w, e.value, &format!("phases.{name}.finally")),
            _ => {}
        }
    }
    p
}

fn runtime_versions(w: &mut Walker<'_>, node: &Node) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (name, _, value) in w.pairs(node, "runtime-versions") {
        let Some(v) = w.scalar(value, &format!("runtime-versions.{name}")) else {
            continue;
        };
        if let Value::Float(f) = value.value
            && f.to_string() != v
        {
            w.warn(
                value.pos,
                format!("`{v}` is a YAML number, which reads as {f}"),
                Some(&format!("quote it: `{name}: \"{v}\"`")),
            );
        }
        out.push((name.to_owned(), v));
    }
    out
}

/// `commands`/`finally`: a list of strings (null is empty; a lone string is one command).
fn commands(w: &mut Walker<'_>, node: &Node, what: &str) -> Vec<Command> {
    match &node.value {
        Value::Null => Vec::new(),
        Value::Str(s) => {
            w.warn(
                node.pos,
                format!("`{what}` is a single string, not a list: it runs as one command"),
                Some("write each command as a `- ` list item"),
            );
            vec![Command {
                text: s.clone(),
                pos: node.pos,
            }]
        }
        Value::Seq(items) => items.iter().filter_map(|i| command(w, i, what)).collect(),
        _ => {
            w.wrong_type(node, what, "a list of commands");
            Vec::new()
        }
    }
}

fn command(w: &mut Walker<'_>, item: &Node, what: &str) -> Option<Command> {
    match &item.value {
        Value::Str(s) => Some(Command {
            text: s.clone(),
            pos: item.pos,
        }),
        Value::Bool(_) | Value::Int(_) | Value::Float(_) => Some(Command {
            text: w.raw(item),
            pos: item.pos,
        }),
        Value::Null => {
            w.warn(
                item.pos,
                format!("empty entry in `{what}`"),
                Some("remove the empty `-`"),
            );
            None
        }
        Value::Map(_) => {
            w.error(
                item.pos,
                format!("this entry of `{what}` is read by YAML as a mapping, not a command"),
                "a command containing ': ' must be quoted: wrap the whole command in single quotes",
            );
            None
        }
        Value::Seq(_) => {
            w.wrong_type(item, what, "a list of strings");
            None
        }
    }
}

fn on_failure(w: &mut Walker<'_>, node: &Node) -> Option<OnFailure> {
    let text = w.string(node, "on-failure")?;
    let parsed = parse_on_failure(&text);
    if let Err(why) = &parsed {
        w.error(
            node.pos,
            format!("invalid `on-failure` value `{text}`: {why}"),
            ON_FAILURE_HINT,
        );
    }
    parsed.ok()
}

/// `ABORT`, `CONTINUE`, `RETRY`, `RETRY-<count>`, `RETRY-<regex>`, `RETRY-<count>-<regex>`.
pub fn parse_on_failure(text: &str) -> Result<OnFailure, String> {
    match text {
        "ABORT" => return Ok(OnFailure::Abort),
        "CONTINUE" => return Ok(OnFailure::Continue),
        "RETRY" => {
            return Ok(OnFailure::Retry {
                count: 3,
                pattern: None,
            });
        }
        _ => {}
    }
    let Some(rest) = text.strip_prefix("RETRY-") else {
        return Err("not one of the accepted values".into());
    };
    let digits = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let (count, pattern) = if digits == 0 {
        (3, Some(rest))
    } else if digits == rest.len() {
        (
            rest.parse().map_err(|_| "the retry count is too large")?,
            None,
        )
    } else if let Some(regex) = rest[digits..].strip_prefix('-') {
        (
            rest[..digits]
                .parse()
                .map_err(|_| "the retry count is too large")?,
            Some(regex),
        )
    } else {
        (3, Some(rest))
    };
    if count == 0 {
        return Err("the retry count must be at least 1".into());
    }
    if let Some(p) = pattern {
        if p.is_empty() {
            return Err("the retry pattern is empty".into());
        }
        regex::Regex::new(p)
            .map_err(|e| format!("the retry pattern is not a valid regex ({e})"))?;
    }
    Ok(OnFailure::Retry {
        count,
        pattern: pattern.map(str::to_owned),
    })
}
