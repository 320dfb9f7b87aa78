//! `cbdash run`: run a project's buildspec locally and print the build headlessly (plain log
//! and summary, or NDJSON with `--json`).
//!
//! Everything that can be wrong with the invocation (a missing directory, a bad `--env`, an
//! invalid `.cbdash.toml` or buildspec) is reported before any container starts, as a usage
//! error (exit 2). The build's own status gives the exit code otherwise (0/1/3).

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use tokio_util::sync::CancellationToken;

use crate::cli::{GlobalArgs, RunArgs};
use crate::config::project::{FILE_NAME, ProjectConfig};
use crate::config::user::UserConfig;
use crate::engine::{BuildRequest, EventSink, Keep, LocalOptions};

use super::CliError;
use super::output::{Output, consume};
use super::pipeline::Pipeline;

/// Runs the command; returns the exit code.
pub fn run(global: &GlobalArgs, args: &RunArgs) -> Result<u8> {
    let mut req = request(args)?;
    if args.keep || args.watch {
        req.local.keep_idle = UserConfig::load(global.config.as_deref())?
            .options
            .keep_idle;
    }
    let runtime = runtime()?;
    runtime.block_on(crate::engine::local::images::precheck(req.image.as_deref()))?;
    if args.watch {
        return runtime.block_on(super::watch::run(global, req, args.json));
    }
    // On a terminal, without --plain or --json, the build opens in the dashboard.
    if !args.plain && !args.json && std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        let local = crate::engine::local::LocalBackend;
        return runtime.block_on(super::dashboard::follow_build(global, local, req));
    }
    let buildspec = req
        .buildspec
        .as_deref()
        .and_then(|p| std::fs::read_to_string(p).ok());
    let pipeline = Pipeline::new(global.history.as_deref()).with_buildspec(buildspec);
    runtime.block_on(drive(req, pipeline, args.json))
}

/// The runtime of the headless commands.
pub(super) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Builds the request from the arguments, validating everything first.
pub fn request(args: &RunArgs) -> Result<BuildRequest> {
    let dir = &args.dir;
    if !dir.is_dir() {
        return Err(usage(format!(
            "'{}' is not a directory; give the project directory (default: .)",
            dir.display()
        )));
    }
    let config = load_config(dir)?;
    let project = config
        .name
        .clone()
        .or_else(|| {
            std::fs::canonicalize(dir)
                .ok()
                .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        })
        .unwrap_or_else(|| "project".into());
    let spec_path = args
        .buildspec
        .clone()
        .unwrap_or_else(|| dir.join("buildspec.yml"));
    validate_spec(&spec_path)?;
    let mut env = Vec::new();
    for file in &args.env_file {
        env.extend(read_env_file(file)?);
    }
    for e in &args.env {
        env.push(parse_pair(e, "--env")?);
    }
    let mut secrets = Vec::new();
    for s in &args.secret {
        let pair = parse_pair(s, "--secret")?;
        env.push(pair.clone());
        secrets.push(pair);
    }
    Ok(BuildRequest {
        project,
        source_dir: Some(dir.clone()),
        buildspec: Some(spec_path),
        image: args.image.clone().or(config.image),
        env,
        secrets,
        privileged: args.privileged,
        source_version: None,
        local: LocalOptions {
            pull: args.pull,
            mount_source: args.mount_source,
            docker_socket: args.docker_socket,
            // Watch mode resumes a failed build in place, so it keeps failed ones.
            keep: if args.keep {
                Keep::Always
            } else if args.watch {
                Keep::Failed
            } else {
                Keep::Never
            },
            keep_idle: crate::engine::DEFAULT_KEEP_IDLE,
            artifacts_dir: args.artifacts.clone(),
            timeout: args.timeout,
            tmpfs: args
                .tmpfs
                .iter()
                .map(|t| parse_tmpfs(t))
                .collect::<Result<_>>()?,
            project_env: config.env.into_iter().collect(),
            dind: crate::engine::DindOptions {
                layer_cache: !args.no_layer_cache,
                ..crate::engine::DindOptions::default()
            },
        },
    })
}

fn usage(msg: String) -> anyhow::Error {
    CliError::Usage(msg).into()
}

fn load_config(dir: &Path) -> Result<ProjectConfig> {
    let path = dir.join(FILE_NAME);
    match std::fs::read_to_string(&path) {
        Ok(text) => ProjectConfig::parse(&text, &path.display().to_string())
            .map_err(|e| usage(e.to_string())),
        Err(_) => Ok(ProjectConfig::default()),
    }
}

/// An existing buildspec must be valid before anything starts; a missing one is the build's
/// `DOWNLOAD_SOURCE` failure, as in CodeBuild.
pub(super) fn validate_spec(path: &Path) -> Result<()> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(());
    };
    let file = path.display().to_string();
    crate::buildspec::parse(&text).map(|_| ()).map_err(|diags| {
        let rendered: Vec<String> = diags.iter().map(|d| d.render(&file)).collect();
        usage(format!("invalid buildspec\n{}", rendered.join("\n")))
    })
}

/// `NAME=VALUE`, value literal. An error about a `--secret` never repeats its value (a
/// secret given without `NAME=` is all value).
fn parse_pair(s: &str, flag: &str) -> Result<(String, String)> {
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
        .ok_or_else(|| usage(format!("{flag} '{}': expected NAME=VALUE", shown(s))))?;
    let valid = !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(usage(format!(
            "{flag} '{}': '{name}' is not a variable name (letters, digits, _)",
            shown(s)
        )));
    }
    Ok((name.to_owned(), value.to_owned()))
}

/// `--tmpfs PATH:SIZE`: an absolute path and a size of digits with an optional k, m or g.
fn parse_tmpfs(s: &str) -> Result<(String, String)> {
    let bad = || {
        usage(format!(
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
        return Err(usage(format!(
            "--tmpfs '{s}': not at / or under /codebuild, where cbdash copies the source and \
             the shell state"
        )));
    }
    Ok((path.to_owned(), size.to_owned()))
}

/// An env file: `NAME=VALUE` lines, `#` comments and blank lines ignored, quotes kept.
fn read_env_file(path: &PathBuf) -> Result<Vec<(String, String)>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| usage(format!("--env-file '{}': {e}", path.display())))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let pair = parse_pair(t, &format!("{}:{}", path.display(), i + 1))?;
        out.push(pair);
    }
    Ok(out)
}

pub(super) async fn drive(req: BuildRequest, mut pipeline: Pipeline, json: bool) -> Result<u8> {
    let (sink, mut rx) = EventSink::channel(64);
    let cancel = CancellationToken::new();
    spawn_signal_handler(cancel.clone());
    let build = tokio::spawn(crate::engine::local::run_build(req, sink, cancel));
    consume(&mut rx, &mut pipeline, &mut Output::new(json)).await;
    pipeline.finish();
    let outcome = build.await.context("the build task panicked")??;
    Ok(outcome.status.exit_code())
}

/// Ctrl-C and SIGTERM stop the build (STOPPED); the engine then removes its container.
pub(super) fn spawn_signal_handler(cancel: CancellationToken) {
    tokio::spawn(async move {
        let term = async {
            #[cfg(unix)]
            if let Ok(mut s) =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            {
                s.recv().await;
                return;
            }
            std::future::pending::<()>().await;
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            () = term => {}
        }
        cancel.cancel();
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_are_literal_and_validated() {
        assert_eq!(
            parse_pair("PATH=$PATH:/x", "--env").expect("pair"),
            ("PATH".into(), "$PATH:/x".into())
        );
        assert_eq!(
            parse_pair("A=b=c", "--env").expect("pair"),
            ("A".into(), "b=c".into())
        );
        assert!(parse_pair("novalue", "--env").is_err());
        assert!(parse_pair("1A=x", "--env").is_err());
        assert!(parse_pair("A-B=x", "--env").is_err());
    }

    #[test]
    fn a_bad_secret_is_not_repeated_in_the_error() {
        for bad in ["hunter2-value", "BAD-NAME=hunter2-value"] {
            let e = parse_pair(bad, "--secret").expect_err("invalid");
            assert!(!e.to_string().contains("hunter2"), "{e}");
        }
    }

    #[test]
    fn tmpfs_needs_an_absolute_path_and_a_size() {
        assert_eq!(
            parse_tmpfs("/scratch:1m").expect("tmpfs"),
            ("/scratch".into(), "1m".into())
        );
        for bad in [
            "rel:1m",
            "/x",
            "/x:",
            "/x:1q",
            "/x:mm",
            "/a,b:1m",
            "/codebuild/output:1m",
        ] {
            assert!(parse_tmpfs(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn env_files_keep_quotes_and_skip_comments() {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = dir.path().join("e");
        std::fs::write(&f, "# c\n\nA=\"q\"\nB=2\n").expect("write");
        assert_eq!(
            read_env_file(&f).expect("read"),
            [("A".into(), "\"q\"".into()), ("B".into(), "2".into())]
        );
    }
}
