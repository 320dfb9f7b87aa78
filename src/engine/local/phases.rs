//! What each phase does in a local build. Each returns how it ended and its context; the
//! transitions between phases are [`super::plan`]'s business, not this file's.

use std::collections::HashMap;

use crate::buildspec::{Buildspec, Shell};
use crate::model::{BuildEvent, NoticeLevel, PhaseContext, PhaseKind, StatusCode};

use super::driver::{Job, TMP_DIR};
use super::emit::Capture;
use super::envvars::{self, BuildFacts};
use super::plan::PhaseResult;
use super::run::{Build, SpecSource};
use super::{LocalError, cache, dind, docker, images, script, source};

type Outcome = Result<(PhaseResult, PhaseContext), LocalError>;

#[allow(clippy::unnecessary_wraps)] // phase functions return an Outcome; these build one
fn ok() -> Outcome {
    Ok((PhaseResult::Succeeded, PhaseContext::default()))
}

#[allow(clippy::unnecessary_wraps)] // phase functions return an Outcome; these build one
fn failed(code: StatusCode, message: impl Into<String>) -> Outcome {
    let message = message.into();
    Ok((
        PhaseResult::Failed {
            message: message.clone(),
        },
        PhaseContext::new(code, message),
    ))
}

/// Runs one phase.
pub async fn run_phase(b: &mut Build, phase: PhaseKind, succeeding: bool) -> Outcome {
    match phase {
        PhaseKind::Provisioning => provisioning(b).await,
        PhaseKind::DownloadSource => download_source(b).await,
        PhaseKind::Install | PhaseKind::PreBuild | PhaseKind::Build | PhaseKind::PostBuild => {
            commands(b, phase, succeeding).await
        }
        PhaseKind::UploadArtifacts => {
            let outcome = super::upload::upload_artifacts(b).await?;
            let uploaded = outcome.0 == PhaseResult::Succeeded;
            super::cache_keys::save(b, succeeding && uploaded).await?;
            Ok(outcome)
        }
        _ => ok(),
    }
}

async fn provisioning(b: &mut Build) -> Outcome {
    use crate::engine::PullPolicy;
    let requested = b.req.image.as_deref().unwrap_or(super::DEFAULT_IMAGE);
    if let Some(line) = images::mapped_line(requested, &b.image) {
        b.emit.agent(&line).await?;
    }
    let present = docker::image_present(&b.docker, &b.image).await;
    let pull = match b.req.local.pull {
        PullPolicy::Always => true,
        PullPolicy::Missing => !present,
        PullPolicy::Never => false,
    };
    if pull {
        b.emit.agent(&format!("Pulling image {}", b.image)).await?;
        if let Err(e) = docker::pull(&b.docker, &b.image, &mut b.emit).await {
            return fault(&e.to_string());
        }
    } else if !present {
        return fault(&format!(
            "image {} is not present locally and --pull never was given",
            b.image
        ));
    }
    let mut labels = HashMap::from([
        (docker::LABEL_BUILD.into(), b.emit.build_id().to_string()),
        (docker::LABEL_PROJECT.into(), b.req.project.clone()),
        (docker::LABEL_PID.into(), std::process::id().to_string()),
    ]);
    if b.req.local.keep != crate::engine::Keep::Never {
        // Where the kept build's record will be (see `locate`), and that it may outlive us.
        let dir = std::fs::canonicalize(&b.source_dir).unwrap_or_else(|_| b.source_dir.clone());
        labels.insert(docker::LABEL_SOURCE_DIR.into(), dir.display().to_string());
        let keep = format!("{:?}", b.req.local.keep).to_lowercase();
        labels.insert(docker::LABEL_KEEP.into(), keep);
    }
    let mut spec = docker::ContainerSpec {
        name: b.container_name.clone(),
        image: b.image.clone(),
        src_dir: b.src_dir.clone(),
        privileged: b.req.privileged,
        labels,
        binds: Vec::new(),
        start_dockerd: false,
        tmpfs: b.req.local.tmpfs.iter().cloned().collect(),
    };
    if b.req.local.mount_source {
        let abs = std::fs::canonicalize(&b.source_dir)
            .map_err(|e| LocalError::source_io(format!("{}", b.source_dir.display()), e))?;
        spec.binds.push(format!("{}:{}", abs.display(), b.src_dir));
    }
    if b.req.local.docker_socket {
        docker_socket(b, &mut spec).await?;
    }
    if b.req.privileged {
        b.emit
            .notice(
                NoticeLevel::Warning,
                "the build container runs privileged (--privileged): commands in the build \
                 have full access to this machine's devices and kernel",
            )
            .await?;
    }
    // A cache path that is a file fails DOWNLOAD_SOURCE: make no volume for such a build.
    if let Some(spec_ok) = b
        .spec()
        .filter(|s| cache::file_path(s, &b.source_dir).is_none())
        .cloned()
    {
        for m in cache::mounts(&spec_ok, &b.req.project, &b.src_dir) {
            docker::ensure_volume(&b.docker, &m.volume, cache::labels(&b.req.project)).await?;
            spec.binds.push(format!("{}:{}", m.volume, m.target));
        }
    }
    dind::prepare(b, &mut spec).await?;
    let docker = b.docker.clone();
    let task = b.starting.insert(tokio::spawn(async move {
        docker::start_container(&docker, &spec).await
    }));
    let started = task
        .await
        .map_err(|e| LocalError::container("the container task failed", e));
    b.starting = None;
    let id = match started? {
        Ok(id) => id,
        Err(e) => return fault(&e.to_string()),
    };
    b.container = Some(id.clone());
    install_helpers(b, &id).await?;
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    b.session = Some(docker::open_session(&b.docker, &id, &nonce).await?);
    if let Some(msg) = dind::await_daemon(b, &id).await? {
        return failed(StatusCode::ClientError, msg);
    }
    ok()
}

/// Copies the `codebuild-*` helpers and the breakpoint token into the new container, with
/// the agent's tmp folder.
async fn install_helpers(b: &mut Build, id: &str) -> Result<(), LocalError> {
    let helpers = super::helpers::files();
    let token = super::breakpoint::token_file(b.emit.build_id());
    let mut helper_files: Vec<(&str, &str, u32)> = helpers
        .iter()
        .map(|(path, text, mode)| (path.as_str(), *text, *mode))
        .collect();
    helper_files.push((&token.0, &token.1, token.2));
    let tar = source::files_tar(&[(TMP_DIR, 0o1777)], &helper_files)?;
    docker::upload(&b.docker, id, tar).await
}

async fn docker_socket(b: &mut Build, spec: &mut docker::ContainerSpec) -> Result<(), LocalError> {
    let host = std::env::var("DOCKER_HOST").unwrap_or_default();
    let socket = host
        .strip_prefix("unix://")
        .filter(|s| !s.is_empty())
        .unwrap_or("/var/run/docker.sock")
        .to_owned();
    spec.binds.push(format!("{socket}:/var/run/docker.sock"));
    b.emit
        .notice(
            NoticeLevel::Warning,
            "the host's Docker socket is mounted into the build: commands in the build control \
             the host's Docker daemon (root-equivalent access to this machine)",
        )
        .await
}

#[allow(clippy::unnecessary_wraps)] // phase functions return an Outcome; these build one
fn fault(message: &str) -> Outcome {
    Ok((
        PhaseResult::Fault,
        PhaseContext::new(StatusCode::ClientError, message),
    ))
}

async fn download_source(b: &mut Build) -> Outcome {
    b.emit
        .agent(&format!("CODEBUILD_SRC_DIR={}", b.src_dir))
        .await?;
    let spec = match &b.spec {
        SpecSource::Loaded(s) => (**s).clone(),
        SpecSource::Missing => {
            return failed(StatusCode::YamlFileError, "YAML file does not exist");
        }
        SpecSource::Invalid(msg) => return failed(StatusCode::YamlFileError, msg.clone()),
    };
    let location = source::yaml_location(&b.src_dir, &b.source_dir, b.req.buildspec.as_deref());
    b.emit
        .agent(&format!("YAML location is {location}"))
        .await?;
    if let Shell::Other(sh) = &spec.env.shell {
        return failed(
            StatusCode::YamlFileError,
            format!("unsupported shell '{sh}': a Linux build runs bash or /bin/sh"),
        );
    }
    if let Some(bad) = cache::file_path(&spec, &b.source_dir) {
        return failed(
            StatusCode::ClientError,
            format!(
                "Unable to initialize cache download: only directories can be cached locally ({bad})"
            ),
        );
    }
    b.emit.agent("Processing environment variables").await?;
    let resolved = match envvars::resolve_secrets(&spec.env).await {
        Ok(r) => r,
        Err(e) => return failed(StatusCode::DecryptedVariablesError, e.0),
    };
    for (_, v) in &resolved {
        b.emit.add_secret(v);
    }
    let id = b.container.clone().ok_or(LocalError::NoContainer)?;
    if !b.req.local.mount_source {
        b.emit
            .agent(&format!("Moving to directory {}", b.src_dir))
            .await?;
        let tar = source::source_tar(&b.source_dir, b.src_dir.trim_start_matches('/'))?;
        docker::upload(&b.docker, &id, tar).await?;
        if b.req.local.keep != crate::engine::Keep::Never {
            // What a resume compares the host with, to delete what the host lost since.
            b.synced_files = Some(source::tracked_files(&b.source_dir)?);
        }
    }
    let facts = BuildFacts {
        build_id: b.emit.build_id().to_string(),
        project: b.req.project.clone(),
        uuid: b.emit.build_id().uuid().to_owned(),
        number: b.number,
        start_ms: b.start_ms,
        src_dir: b.src_dir.clone(),
        image: b.image.clone(),
        region: envvars::region(),
        initiator: envvars::initiator(b.req.batch.as_ref()),
        source_version: envvars::git_head(&b.source_dir).await,
        batch: b.req.batch.clone(),
    };
    if let Some(version) = &facts.source_version {
        b.emit
            .event(BuildEvent::SourceVersion {
                build_id: b.emit.build_id().clone(),
                version: version.clone(),
            })
            .await?;
    }
    let vars = envvars::layered(
        envvars::codebuild_vars(&facts),
        &spec.env,
        &resolved,
        &b.req.local.project_env,
        &b.req.env,
    );
    let env_sh = script::initial_env(&vars, &b.src_dir);
    let path = format!("{}/env.sh", TMP_DIR.trim_start_matches('/'));
    let tar = source::files_tar(&[], &[(&path, &env_sh, 0o666)])?;
    docker::upload(&b.docker, &id, tar).await?;
    for line in phases_found(&spec) {
        b.emit.agent(&line).await?;
    }
    if let Some((code, message)) = super::install::check(b, &spec).await? {
        return failed(code, message);
    }
    super::cache_keys::restore(b, &spec).await?;
    ok()
}

/// `Phases found in YAML: N` and one ` PHASE: M commands` line for each of the same N phases:
/// those with commands (a phase key with none is not counted or listed).
fn phases_found(spec: &Buildspec) -> Vec<String> {
    let listed: Vec<_> = spec
        .phases
        .iter()
        .filter(|(_, p)| !p.commands.is_empty())
        .collect();
    let mut out = vec![format!("Phases found in YAML: {}", listed.len())];
    out.extend(
        listed
            .iter()
            .map(|(kind, p)| format!(" {kind}: {} commands", p.commands.len())),
    );
    out
}

pub(super) fn shell_of(spec: &Buildspec) -> &'static str {
    match spec.env.shell {
        Shell::Bash => "bash",
        _ => "/bin/sh",
    }
}

async fn commands(b: &mut Build, phase: PhaseKind, succeeding: bool) -> Outcome {
    let Some(spec) = b.spec().cloned() else {
        return ok();
    };
    let Some(p) = spec.phase(phase).cloned() else {
        return ok();
    };
    let user = p.run_as.clone().or_else(|| spec.run_as.clone());
    let mut failure: Option<(StatusCode, String)> = None;
    if phase == PhaseKind::Install && !p.runtime_versions.is_empty() {
        failure = super::install::runtime_versions(b, &spec, succeeding).await?;
    }
    let commands = if failure.is_none() {
        &p.commands[..]
    } else {
        &[]
    };
    for c in commands {
        if let Some(msg) = run_one(b, &spec, &c.text, user.as_deref(), succeeding).await? {
            failure = Some((StatusCode::CommandExecutionError, msg));
            super::breakpoint::pause_on_failure(b, &spec, &c.text).await?;
            break;
        }
    }
    for c in &p.finally {
        let ok_so_far = succeeding && failure.is_none();
        if let Some(msg) = run_one(b, &spec, &c.text, user.as_deref(), ok_so_far).await? {
            failure.get_or_insert((StatusCode::CommandExecutionError, msg));
            super::breakpoint::pause_on_failure(b, &spec, &c.text).await?;
            break;
        }
    }
    match failure {
        None => ok(),
        Some((code, msg)) => failed(code, msg),
    }
}

/// Runs one command; `Some(message)` when it failed.
async fn run_one(
    b: &mut Build,
    spec: &Buildspec,
    text: &str,
    user: Option<&str>,
    succeeding: bool,
) -> Result<Option<String>, LocalError> {
    run_shown(b, spec, text, text, user, succeeding).await
}

/// Runs the build command `text`, logged (and named in a failure) as `shown`.
pub(super) async fn run_shown(
    b: &mut Build,
    spec: &Buildspec,
    shown: &str,
    text: &str,
    user: Option<&str>,
    succeeding: bool,
) -> Result<Option<String>, LocalError> {
    b.emit.agent(&format!("Running command {shown}")).await?;
    let script = script::wrap(text, spec.version, succeeding);
    let job = Job {
        script: &script,
        shell: shell_of(spec),
        user,
    };
    // The session is taken out while the watcher borrows the build (a breakpoint's events
    // name its container).
    let mut session = b.session.take().ok_or(LocalError::NoContainer)?;
    let rc = session
        .run(job, &mut super::breakpoint::Watch::new(b, shown, false))
        .await;
    b.session = Some(session);
    let rc = rc?;
    if rc == 0 {
        return Ok(None);
    }
    b.emit
        .agent(&format!(
            "Command did not exit successfully {shown} exit status {rc}"
        ))
        .await?;
    Ok(Some(format!(
        "Error while executing command: {shown}. Reason: exit status {rc}"
    )))
}

/// Runs a helper script in the build shell and returns its stdout (stderr goes to the log).
pub async fn capture(b: &mut Build, script: &str) -> Result<(i32, Vec<String>), LocalError> {
    let shell = b.spec().map_or("/bin/sh", shell_of);
    let session = b.session.as_mut().ok_or(LocalError::NoContainer)?;
    let mut capture = Capture {
        emit: &mut b.emit,
        stdout: Vec::new(),
    };
    let job = Job {
        script,
        shell,
        user: None,
    };
    let rc = session.run(job, &mut capture).await?;
    Ok((rc, capture.stdout))
}

#[cfg(test)]
mod tests {
    #[test]
    fn phases_found_counts_and_lists_the_same_phases() {
        let spec = crate::buildspec::parse(
            "version: 0.2\nphases:\n  install:\n    commands: []\n  build:\n    commands:\n      - a\n      - b\n",
        )
        .expect("parse")
        .spec;
        assert_eq!(
            super::phases_found(&spec),
            ["Phases found in YAML: 1", " BUILD: 2 commands"]
        );
    }
}
