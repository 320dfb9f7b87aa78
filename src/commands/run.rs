//! `cbdash run`: run a project's buildspec locally and print the build headlessly (plain log
//! and summary, or NDJSON with `--json`).
//!
//! Everything that can be wrong with the invocation (a missing directory, a bad `--env`, an
//! invalid `.cbdash.toml` or buildspec) is reported before any container starts, as a usage
//! error (exit 2). The build's own status gives the exit code otherwise (0/1/3).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use tokio_util::sync::CancellationToken;

use crate::cli::{GlobalArgs, RunArgs};
use crate::config::project::{FILE_NAME, ProjectConfig};
use crate::engine::{BuildRequest, EventSink, LocalOptions};
use crate::headless::{ndjson, plain};
use crate::model::BuildEvent;

use super::CliError;
use super::pipeline::Pipeline;

/// Runs the command; returns the exit code.
pub fn run(global: &GlobalArgs, args: &RunArgs) -> Result<u8> {
    let req = request(args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
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
            keep: args.keep,
            artifacts_dir: args.artifacts.clone(),
            timeout: args.timeout,
            project_env: config.env.into_iter().collect(),
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
fn validate_spec(path: &Path) -> Result<()> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(());
    };
    let file = path.display().to_string();
    crate::buildspec::parse(&text).map(|_| ()).map_err(|diags| {
        let rendered: Vec<String> = diags.iter().map(|d| d.render(&file)).collect();
        usage(format!("invalid buildspec\n{}", rendered.join("\n")))
    })
}

/// `NAME=VALUE`, value literal.
fn parse_pair(s: &str, flag: &str) -> Result<(String, String)> {
    let (name, value) = s
        .split_once('=')
        .ok_or_else(|| usage(format!("{flag} '{s}': expected NAME=VALUE")))?;
    let valid = !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(usage(format!(
            "{flag} '{s}': '{name}' is not a variable name (letters, digits, _)"
        )));
    }
    Ok((name.to_owned(), value.to_owned()))
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

async fn drive(req: BuildRequest, mut pipeline: Pipeline, json: bool) -> Result<u8> {
    let (sink, mut rx) = EventSink::channel(64);
    let cancel = CancellationToken::new();
    spawn_signal_handler(cancel.clone());
    let build = tokio::spawn(crate::engine::local::run_build(req, sink, cancel));
    let mut printer = plain::Printer::default();
    let mut out = std::io::stdout();
    while let Some(backend_event) = rx.recv().await {
        for ev in pipeline.process(backend_event) {
            let text = if json {
                ndjson::render(&ev)
            } else {
                printer.feed(&ev)
            };
            // A closed stdout (`| head`) must not stop the build or its cleanup.
            let _ = out.write_all(text.as_bytes());
            if matches!(ev, BuildEvent::Finished { .. }) {
                let _ = out.flush();
            }
        }
    }
    pipeline.finish();
    let outcome = build.await.context("the build task panicked")??;
    if !json {
        let _ = out.write_all(printer.summary().as_bytes());
    }
    let _ = out.flush();
    Ok(outcome.status.exit_code())
}

/// Ctrl-C and SIGTERM stop the build (STOPPED); the engine then removes its container.
fn spawn_signal_handler(cancel: CancellationToken) {
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
