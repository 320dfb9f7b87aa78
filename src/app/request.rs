//! The request builder: a project's settings (its `.cbdash.toml`) with what one run adds on top
//! (the command line, or the dashboard's run form) → a validated [`BuildRequest`].
//!
//! Every consumer builds requests here: `cbdash run`, watch mode, the dashboard's `r` and `R`,
//! `cloud reproduce` (for the local side's Docker settings). Everything that can be wrong (a
//! missing directory or buildspec, a bad `.cbdash.toml`, a bad `NAME=VALUE`, a secret that is
//! not set) is reported here, before any container starts, as a [`UsageError`] (exit 2).
//!
//! Variables, lowest to highest: the buildspec's `env`, the file's `env_files`, the file's
//! `[env]` and `secrets`, then this run's `--env-file`, `--env` and `--secret`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::project::{FILE_NAME, ProjectConfig};
use crate::engine::{BuildRequest, DindOptions, Keep, LocalOptions, PullPolicy};
use crate::model::DockerAccess;

use super::UsageError;

/// What one run sets above the project's file. `None` (or empty) leaves the file's value.
#[derive(Clone, Debug, Default)]
pub struct RunOverrides {
    pub buildspec: Option<PathBuf>,
    pub image: Option<String>,
    pub pull: Option<PullPolicy>,
    pub docker_socket: Option<bool>,
    pub privileged: Option<bool>,
    pub mount_source: Option<bool>,
    pub timeout: Option<Duration>,
    pub artifacts: Option<PathBuf>,
    /// `--env-file`: above the file's variables.
    pub env_files: Vec<PathBuf>,
    /// `--env NAME=VALUE`, as typed.
    pub env: Vec<String>,
    /// `--secret NAME=VALUE`, as typed.
    pub secrets: Vec<String>,
    pub keep: Keep,
    /// `--tmpfs PATH:SIZE`, as typed.
    pub tmpfs: Vec<String>,
    /// `--no-layer-cache`.
    pub no_layer_cache: bool,
}

impl RunOverrides {
    /// Whether this changes nothing (the plain `r` of a project).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.buildspec.is_none()
            && self.image.is_none()
            && self.pull.is_none()
            && self.docker_socket.is_none()
            && self.privileged.is_none()
            && self.mount_source.is_none()
            && self.timeout.is_none()
            && self.artifacts.is_none()
            && self.env_files.is_empty()
            && self.env.is_empty()
            && self.secrets.is_empty()
            && self.tmpfs.is_empty()
    }

    /// Sets how the build reaches Docker (the run form's one choice for both flags).
    #[must_use]
    pub fn with_docker(mut self, docker: DockerAccess) -> Self {
        self.docker_socket = Some(docker == DockerAccess::HostSocket);
        self.privileged = Some(docker == DockerAccess::Privileged);
        self
    }
}

/// Reads `DIR/.cbdash.toml` (none is the default settings).
pub fn load_settings(dir: &Path) -> Result<ProjectConfig, UsageError> {
    let path = dir.join(FILE_NAME);
    match std::fs::read_to_string(&path) {
        Ok(text) => ProjectConfig::parse(&text, &path.display().to_string())
            .map_err(|e| UsageError(e.to_string())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ProjectConfig::default()),
        Err(e) => Err(UsageError(format!("cannot read {}: {e}", path.display()))),
    }
}

/// The project's name: the file's `name`, else the directory's.
#[must_use]
pub fn project_name(dir: &Path, config: &ProjectConfig) -> String {
    config
        .name
        .clone()
        .or_else(|| {
            std::fs::canonicalize(dir)
                .ok()
                .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        })
        .unwrap_or_else(|| "project".into())
}

/// The request for a build of the project in `dir`, with `over` above its settings.
pub fn build_request(dir: &Path, over: &RunOverrides) -> Result<BuildRequest, UsageError> {
    if !dir.is_dir() {
        return Err(UsageError(format!(
            "'{}' is not a directory; give the project directory (default: .)",
            dir.display()
        )));
    }
    let config = load_settings(dir)?;
    let spec_path = over
        .buildspec
        .clone()
        .or_else(|| config.buildspec.as_ref().map(|b| dir.join(b)))
        .unwrap_or_else(|| dir.join("buildspec.yml"));
    validate_spec(&spec_path)?;
    let mut project_env = Vec::new();
    for file in &config.env_files {
        project_env.extend(read_env_file(&dir.join(file))?);
    }
    project_env.extend(config.env.clone());
    let mut env = Vec::new();
    let mut secrets = secrets_from_environment(&config.secrets)?;
    env.extend(secrets.iter().cloned());
    for file in &over.env_files {
        env.extend(read_env_file(file)?);
    }
    for e in &over.env {
        env.push(parse_pair(e, "--env")?);
    }
    for s in &over.secrets {
        let pair = parse_pair(s, "--secret")?;
        env.push(pair.clone());
        secrets.push(pair);
    }
    let defaults = LocalOptions::default();
    Ok(BuildRequest {
        project: project_name(dir, &config),
        source_dir: Some(dir.to_path_buf()),
        buildspec: Some(spec_path),
        image: over.image.clone().or_else(|| config.image.clone()),
        env,
        secrets,
        privileged: over.privileged.or(config.privileged).unwrap_or(false),
        debug_session: false,
        source_version: None,
        batch: None,
        local: LocalOptions {
            pull: over.pull.or(config.pull).unwrap_or(defaults.pull),
            mount_source: over.mount_source.or(config.mount_source).unwrap_or(false),
            docker_socket: over.docker_socket.or(config.docker_socket).unwrap_or(false),
            keep: over.keep,
            keep_idle: defaults.keep_idle,
            artifacts_dir: over
                .artifacts
                .clone()
                .or_else(|| config.artifacts.as_ref().map(|a| dir.join(a))),
            timeout: over.timeout.or(config.timeout).unwrap_or(defaults.timeout),
            tmpfs: over
                .tmpfs
                .iter()
                .map(|t| parse_tmpfs(t))
                .collect::<Result<_, _>>()?,
            project_env,
            dind: DindOptions {
                layer_cache: !over.no_layer_cache,
                ..DindOptions::default()
            },
            debug: false,
        },
    })
}

/// A request made elsewhere (a reproduced cloud build) run with the local project's settings
/// for how it runs here: Docker access, pull, timeout, source mount, artifacts, secrets and
/// variables (above the cloud project's).
pub fn apply_local_settings(
    req: &mut BuildRequest,
    config: &ProjectConfig,
) -> Result<(), UsageError> {
    if let Some(image) = &config.image {
        req.image.get_or_insert_with(|| image.clone());
    }
    req.privileged |= config.privileged.unwrap_or(false);
    req.local.docker_socket |= config.docker_socket.unwrap_or(false);
    if let Some(pull) = config.pull {
        req.local.pull = pull;
    }
    if let Some(timeout) = config.timeout {
        req.local.timeout = timeout;
    }
    if let Some(mount) = config.mount_source {
        req.local.mount_source = mount;
    }
    if let (Some(a), Some(dir)) = (&config.artifacts, &req.source_dir) {
        req.local.artifacts_dir = Some(dir.join(a));
    }
    let secrets = secrets_from_environment(&config.secrets)?;
    req.env.extend(secrets.iter().cloned());
    req.secrets.extend(secrets);
    req.env.extend(config.env.clone());
    Ok(())
}

/// `secrets = ["NAME"]`: each value from cbdash's own environment, now.
fn secrets_from_environment(names: &[String]) -> Result<Vec<(String, String)>, UsageError> {
    names
        .iter()
        .map(|name| {
            check_name(name, "secrets", name)?;
            std::env::var(name).map(|v| (name.clone(), v)).map_err(|_| {
                UsageError(format!(
                    "secret '{name}' ({FILE_NAME} `secrets`) is not set in cbdash's \
                     environment: export {name}=... in the shell that starts cbdash"
                ))
            })
        })
        .collect()
}

/// The buildspec must exist and be valid before anything starts. (CodeBuild would fail
/// `DOWNLOAD_SOURCE` with `YAML_FILE_ERROR`; locally a missing file is almost always a wrong
/// directory, so it is refused up front: see the README's fidelity table.)
pub fn validate_spec(path: &Path) -> Result<(), UsageError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        UsageError(format!(
            "no buildspec at {} ({e}): `cbdash init` writes a starter one, or give --buildspec FILE",
            path.display()
        ))
    })?;
    let file = path.display().to_string();
    crate::buildspec::parse(&text).map(|_| ()).map_err(|diags| {
        let rendered: Vec<String> = diags.iter().map(|d| d.render(&file)).collect();
        UsageError(format!("invalid buildspec\n{}", rendered.join("\n")))
    })
}

/// `NAME=VALUE`, value literal. An error about a `--secret` never repeats its value (a
/// secret given without `NAME=` is all value).
pub fn parse_pair(s: &str, flag: &str) -> Result<(String, String), UsageError> {
    let secret = flag == "--secret";
    let shown = |s: &str| {
        if secret {
            s.split_once('=')
                .map_or_else(|| "***".to_owned(), |(n, _)| format!("{n}=***"))
        } else {
            s.to_owned()
        }
    };
    let (name, value) = s
        .split_once('=')
        .ok_or_else(|| UsageError(format!("{flag} '{}': expected NAME=VALUE", shown(s))))?;
    check_name(name, flag, &shown(s))?;
    Ok((name.to_owned(), value.to_owned()))
}

fn check_name(name: &str, what: &str, shown: &str) -> Result<(), UsageError> {
    let valid = !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if valid {
        Ok(())
    } else {
        Err(UsageError(format!(
            "{what} '{shown}': '{name}' is not a variable name (letters, digits, _)"
        )))
    }
}

/// `--tmpfs PATH:SIZE`: an absolute path and a size of digits with an optional k, m or g.
fn parse_tmpfs(s: &str) -> Result<(String, String), UsageError> {
    let bad = || {
        UsageError(format!(
            "--tmpfs '{s}': expected PATH:SIZE, for example /data:1m"
        ))
    };
    let (path, size) = s.rsplit_once(':').ok_or_else(bad)?;
    let digits = size.trim_end_matches(['k', 'm', 'g']);
    let size_ok = !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_digit())
        && size.len() - digits.len() <= 1;
    if !path.starts_with('/') || path.contains(',') || !size_ok {
        return Err(bad());
    }
    // Docker copies files into the container's own filesystem, under a tmpfs mount: the
    // source and shell state would be hidden.
    if path == "/" || path.starts_with("/codebuild") {
        return Err(UsageError(format!(
            "--tmpfs '{s}': not at / or under /codebuild, where cbdash copies the source and \
             the shell state"
        )));
    }
    Ok((path.to_owned(), size.to_owned()))
}

/// An env file: `NAME=VALUE` lines, `#` comments and blank lines ignored, quotes kept.
fn read_env_file(path: &Path) -> Result<Vec<(String, String)>, UsageError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| UsageError(format!("env file '{}': {e}", path.display())))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        out.push(parse_pair(t, &format!("{}:{}", path.display(), i + 1))?);
    }
    Ok(out)
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
