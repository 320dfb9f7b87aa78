//! `cbdash cloud …`: the headless face of the cloud backend.
//!
//! Targets: `--profile`/`--region` give one; otherwise the config file's `[[cloud]]` entries
//! (one group each), otherwise the SDK's default chain. Output of `watch` is the same NDJSON
//! event types as local runs (`build_started`, `phase_started`, `log`, `phase_finished`,
//! `build_finished`, plus `notice`), written by the shared printer in `headless/` through
//! [`Output`], as local runs are. Batches (`start --batch`, `watch`/`retry`/`stop` of a batch
//! id, `batches`) are [`crate::app::cloud_batch`]'s. Exit code: the build's status (0/1/3), 2 bad input, 3 AWS
//! errors; Ctrl-C and SIGTERM stop following with STOPPED's 1 (see [`follow`]).

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};

use crate::app::UsageError;
use crate::app::cloud_batch::{self, BatchFollow};
use crate::app::headless::spawn_signal_handler;
use crate::app::output::Output;
use crate::app::pipeline::Pipeline;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::cli::{CloudArgs, CloudCommand, CloudRetryArgs, CloudStartArgs, GlobalArgs};
use crate::engine::cloud::ecr::{self, EcrImage};
use crate::engine::cloud::follow::{FollowOptions, follow_build};
use crate::engine::cloud::projects::{self, ProjectGroup};
use crate::engine::cloud::{CloudClients, CloudError, CloudTarget, ConnectOptions, actions};
use crate::engine::{BuildRequest, EventSink};
use crate::model::{BuildEvent, BuildId, NoticeLevel, Status};

/// Runs a `cbdash cloud` command.
pub fn run(global: &GlobalArgs, args: CloudArgs) -> Result<u8> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let targets = targets(global.config.as_deref(), &args)?;
    rt.block_on(run_async(targets, args.command, global))
}

async fn run_async(
    targets: Vec<CloudTarget>,
    cmd: CloudCommand,
    global: &GlobalArgs,
) -> Result<u8> {
    let history = global.history.as_deref();
    let first = targets.first().cloned().unwrap_or_default();
    let clients = CloudClients::connect(&first, &ConnectOptions::default()).await;
    match cmd {
        CloudCommand::Projects { json } => {
            let groups = projects::load_groups(&targets, &ConnectOptions::default()).await;
            print_groups(&groups, json)?;
            Ok(u8::from(groups.iter().all(|g| g.projects.is_err())) * 3)
        }
        CloudCommand::Builds {
            project,
            limit,
            json,
        } => {
            let ids = projects::list_build_ids(&clients.codebuild, &project, limit).await?;
            let builds = projects::get_builds(&clients.codebuild, &ids).await?;
            for b in builds {
                let line = json!({"id": b.id, "number": b.build_number, "status": b.status,
                    "current_phase": b.current_phase, "source_version": b.source_version,
                    "start": b.start, "end": b.end});
                if json {
                    out(&line.to_string())?;
                } else {
                    out(&format!(
                        "{:<12} #{:<5} {}",
                        b.status.as_str(),
                        b.build_number.unwrap_or(0),
                        b.id
                    ))?;
                }
            }
            Ok(0)
        }
        CloudCommand::Batches {
            project,
            limit,
            json,
        } => cloud_batch::list(&clients, &project, limit, json).await,
        CloudCommand::Watch(w) => {
            if let Some(batch) = cloud_batch::target(&clients, &w.build_id, w.batch).await? {
                let how = BatchFollow {
                    json: w.json,
                    live_tail: w.live_tail,
                    history,
                    stop_on_signal: false,
                };
                return cloud_batch::follow(&clients, batch, &how).await;
            }
            let how = Follow {
                json: w.json,
                live_tail: w.live_tail,
                history,
                buildspec: None,
                stop_on_signal: false,
            };
            follow(&clients, BuildId(w.build_id), &how).await
        }
        CloudCommand::Start(s) => start(&clients, s, history).await,
        CloudCommand::Retry(r) => retry(&clients, r, history).await,
        CloudCommand::Stop { build_id, batch } => {
            if let Some(batch) = cloud_batch::target(&clients, &build_id, batch).await? {
                return cloud_batch::stop(&clients, &batch).await;
            }
            let b = actions::stop_build(&clients.codebuild, &build_id).await?;
            out(&format!("stopping {} (status {})", b.id, b.status))?;
            Ok(0)
        }
        CloudCommand::Reports(r) => {
            crate::app::cloud_reports::run(
                &clients,
                r.build_id.as_deref(),
                r.group.as_deref(),
                r.last,
                r.json,
            )
            .await
        }
        CloudCommand::Reproduce(r) => {
            Box::pin(crate::app::reproduce::run(global, &clients, &r)).await
        }
    }
}

async fn start(clients: &CloudClients, s: CloudStartArgs, history: Option<&Path>) -> Result<u8> {
    let env = s
        .env
        .iter()
        .map(|kv| {
            kv.split_once('=')
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .ok_or_else(|| CloudError::InvalidInput(format!("--env '{kv}' is not NAME=VALUE")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let buildspec = s
        .buildspec
        .as_deref()
        .map(actions::read_buildspec)
        .transpose()?;
    let req = BuildRequest {
        project: s.project,
        image: s.image,
        env,
        privileged: s.privileged,
        debug_session: s.debug_session,
        source_version: s.source_version,
        ..BuildRequest::default()
    };
    if s.batch {
        let how = s.watch.then_some(BatchFollow {
            json: s.json,
            live_tail: s.live_tail,
            history,
            stop_on_signal: true,
        });
        return cloud_batch::start(clients, &req, buildspec, how, s.json).await;
    }
    let b = actions::start_build(&clients.codebuild, &req, buildspec.clone()).await?;
    announce(&b.id, "started", s.json)?;
    if s.watch {
        let how = Follow {
            json: s.json,
            live_tail: s.live_tail,
            history,
            buildspec,
            stop_on_signal: true,
        };
        follow(clients, b.id, &how).await
    } else {
        Ok(0)
    }
}

/// `cloud retry`: RetryBuildBatch for a batch id, else RetryBuild.
async fn retry(clients: &CloudClients, r: CloudRetryArgs, history: Option<&Path>) -> Result<u8> {
    if let Some(batch) = cloud_batch::target(clients, &r.build_id, r.batch).await? {
        let how = r.watch.then_some(BatchFollow {
            json: r.json,
            live_tail: false,
            history,
            stop_on_signal: true,
        });
        return cloud_batch::retry(clients, &batch, r.failed_only, how, r.json).await;
    }
    if r.failed_only {
        return Err(UsageError(format!(
            "--failed-only retries part of a batch; {} is a build",
            r.build_id
        ))
        .into());
    }
    let b = actions::retry_build(&clients.codebuild, &r.build_id).await?;
    announce(&b.id, "retried as", r.json)?;
    if !r.watch {
        return Ok(0);
    }
    let how = Follow {
        json: r.json,
        live_tail: false,
        history,
        buildspec: None,
        stop_on_signal: true,
    };
    follow(clients, b.id, &how).await
}

fn announce(id: &BuildId, what: &str, json: bool) -> Result<()> {
    if json {
        out(&json!({"type": "cloud_build", "action": what, "build_id": id}).to_string())
    } else {
        out(&format!("{what} {id}"))
    }
}

/// Push lines kept per build for the ECR lookup (a build pushes a handful of images).
const MAX_PUSH_LINES: usize = 256;

/// How to follow a build.
struct Follow<'a> {
    json: bool,
    live_tail: bool,
    /// The run history (`--history`), which records the build like a local one.
    history: Option<&'a Path>,
    /// The buildspec override sent with the build, for the diagnosis of a `YAML_FILE_ERROR`.
    buildspec: Option<String>,
    /// A signal stops the build too (StopBuild): it was started by this command.
    stop_on_signal: bool,
}

/// Follows a build, printing as events come; the exit code is its final status. Events go
/// through the same pipeline (cache reports from the log, history, regressions) and the same
/// printer ([`Output`]: the plain log and phase table, or NDJSON) as local runs.
///
/// Ctrl-C and SIGTERM stop following, as they stop `cbdash run --plain`, and the exit code is
/// STOPPED's (1). The build itself goes on in CodeBuild when it is one this command did not
/// start (`cloud watch`: it may be someone else's; `cbdash cloud stop` stops it), and a notice
/// says so; a build this command started (`start --watch`, `retry --watch`) is stopped with
/// StopBuild, as a local run's container is. The history marks the followed run interrupted.
async fn follow(clients: &CloudClients, id: BuildId, how: &Follow<'_>) -> Result<u8> {
    let mut pipeline = Pipeline::new(how.history).with_buildspec(how.buildspec.clone());
    let (sink, mut rx) = EventSink::channel(64);
    let cancel = CancellationToken::new();
    spawn_signal_handler(cancel.clone());
    let opts = FollowOptions {
        live_tail: how.live_tail,
        ..FollowOptions::default()
    };
    let watcher = follow_build(clients, id.clone(), &opts, sink, cancel.clone());
    let mut output = Output::new(how.json);
    let printer = async {
        // Only push lines are kept from the log, for the ECR lookup: memory stays bounded.
        let mut pushes: Vec<String> = Vec::new();
        let mut finished = false;
        while let Some(backend_event) = rx.recv().await {
            match &backend_event {
                BuildEvent::Logs { lines, .. } => {
                    let found = lines.iter().filter(|l| ecr::is_push_line(&l.text));
                    pushes.extend(found.map(|l| l.text.clone()).take(MAX_PUSH_LINES));
                    pushes.truncate(MAX_PUSH_LINES);
                }
                BuildEvent::Finished { .. } => finished = true,
                _ => {}
            }
            output.event(&mut pipeline, backend_event);
        }
        (pushes, finished)
    };
    let (outcome, (pushes, finished)) = tokio::join!(Box::pin(watcher), printer);
    let outcome = outcome?;
    if cancel.is_cancelled() && !finished {
        let message = stop_on_signal(clients, &id, how.stop_on_signal).await;
        output.notice(Some(id.clone()), NoticeLevel::Warning, &message);
    }
    output.end_build();
    pipeline.finish();
    if cancel.is_cancelled() && !finished {
        return Ok(Status::Stopped.exit_code());
    }
    // The build's environment may name the repository when the log shows no push.
    let env_values = projects::get_builds(
        &clients.codebuild,
        std::slice::from_ref(&outcome.build_id.0),
    )
    .await
    .ok()
    .and_then(|b| b.into_iter().next())
    .map(|b| b.env_values)
    .unwrap_or_default();
    for r in ecr::refs_for_build(pushes.iter().map(String::as_str), &env_values) {
        match ecr::describe(&clients.ecr, &r).await {
            Ok(img) => print_image(&img, how.json)?,
            Err(e) => eprintln!("cbdash: image {}: {e}", r.repository),
        }
    }
    Ok(outcome.status.exit_code())
}

/// After a signal: StopBuild when this command started the build, and what to tell the user.
async fn stop_on_signal(clients: &CloudClients, id: &BuildId, stop: bool) -> String {
    if !stop {
        return format!(
            "stopped following {id}; the build goes on in CodeBuild (`cbdash cloud stop {id}` stops it)"
        );
    }
    match actions::stop_build(&clients.codebuild, &id.0).await {
        Ok(_) => format!("stopped {id} (StopBuild sent)"),
        Err(e) => format!("stopped following {id}; StopBuild failed: {e}"),
    }
}

fn print_image(img: &EcrImage, json: bool) -> Result<()> {
    if json {
        let mut v = serde_json::to_value(img)?;
        v["type"] = json!("ecr_image");
        return out(&v.to_string());
    }
    let findings = img.findings.as_ref().map_or_else(
        || "not scanned".to_owned(),
        |f| {
            f.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" ")
        },
    );
    out(&format!(
        "image {}: tags [{}] digest {} size {} pushed {} findings {findings}",
        img.reference.repository,
        img.tags.join(", "),
        img.digest.as_deref().unwrap_or("?"),
        img.size_bytes.unwrap_or(0),
        img.pushed_at.map_or_else(|| "?".into(), |t| t.to_rfc3339()),
    ))
}

fn print_groups(groups: &[ProjectGroup], json: bool) -> Result<()> {
    for g in groups {
        match (&g.projects, json) {
            (Ok(ps), true) => out(&json!({"group": g.name, "projects": ps}).to_string())?,
            (Err(e), true) => out(&json!({"group": g.name, "error": e.to_string()}).to_string())?,
            (Ok(ps), false) => {
                out(&format!(
                    "[{}] {}",
                    g.name,
                    crate::headless::count(ps.len(), "project")
                ))?;
                for p in ps {
                    let last = p.last_build.as_ref().map_or("-", |b| b.status.as_str());
                    out(&format!(
                        "  {:<40} {:<10} {}",
                        p.name,
                        last,
                        p.image.as_deref().unwrap_or("")
                    ))?;
                }
            }
            (Err(e), false) => out(&format!("[{}] error: {e}", g.name))?,
        }
    }
    Ok(())
}

/// Which profile/region pairs to show.
fn targets(config: Option<&Path>, args: &CloudArgs) -> Result<Vec<CloudTarget>> {
    if args.profile.is_some() || args.region.is_some() {
        return Ok(vec![CloudTarget {
            profile: args.profile.clone(),
            region: args.region.clone(),
        }]);
    }
    let path = config.map(Path::to_path_buf).or_else(|| {
        directories::ProjectDirs::from("", "", "cbdash").map(|d| d.config_dir().join("config.toml"))
    });
    let from_file = match path {
        Some(p) if p.is_file() => read_targets(&p)?,
        _ => Vec::new(),
    };
    Ok(if from_file.is_empty() {
        vec![CloudTarget::default()]
    } else {
        from_file
    })
}

/// The `[[cloud]]` entries of a config file (the rest of the file is not ours to judge).
fn read_targets(path: &Path) -> Result<Vec<CloudTarget>> {
    #[derive(serde::Deserialize)]
    struct File {
        #[serde(default)]
        cloud: Vec<CloudTarget>,
    }
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let file: File = toml::from_str(&text)
        .map_err(|e| crate::app::UsageError(format!("{}: {e}", path.display())))?;
    Ok(file.cloud)
}

fn out(line: &str) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{line}")?;
    stdout.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Status;

    #[test]
    fn config_targets_are_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("c.toml");
        std::fs::write(&p, "[[cloud]]\nprofile = \"dev\"\nregion = \"eu-west-1\"\n[[cloud]]\nregion = \"us-east-1\"\n[ui]\nx = 1\n").expect("write");
        let t = read_targets(&p).expect("read");
        assert_eq!(t.len(), 2);
        let none = |_: &str| None;
        assert_eq!(t[0].resolved(none), ("dev".into(), "eu-west-1".into()));
        assert_eq!(t[1].resolved(none), ("default".into(), "us-east-1".into()));
        assert_eq!(Status::Fault.exit_code(), 3);
    }
}
