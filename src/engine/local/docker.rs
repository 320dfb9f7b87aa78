//! Everything the local backend asks the Docker daemon, through bollard: connecting (with API
//! version negotiation), pulling, the build container's lifecycle, copying files in and out,
//! cache volumes and listing cbdash's containers (see [`super::locate`] for which to remove).

use std::collections::HashMap;

use bollard::Docker;
use bollard::models::{ContainerCreateBody, ExecConfig, HostConfig, VolumeCreateRequest};
use bollard::query_parameters::{
    CreateContainerOptions, CreateImageOptions, DownloadFromContainerOptions,
    ListContainersOptions, RemoveContainerOptions, UploadToContainerOptions,
};
use futures_util::StreamExt;

use super::LocalError;
use super::driver::{self, Session};
use super::emit::Emitter;

/// Labels on everything cbdash creates.
pub const LABEL_BUILD: &str = "cbdash.build-id";
pub const LABEL_PROJECT: &str = "cbdash.project";
pub const LABEL_PID: &str = "cbdash.pid";
pub const LABEL_CACHE: &str = "cbdash.cache";
/// On a container kept for `cbdash resume` (`failed` or `always`).
pub const LABEL_KEEP: &str = "cbdash.keep";
/// The project directory on the host, where the kept build's record is.
pub const LABEL_SOURCE_DIR: &str = "cbdash.source-dir";

/// How long connecting (version negotiation and a ping) may take.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

/// Connects to `DOCKER_HOST` (unix, tcp, tcp+TLS, ssh) and negotiates the API version; a
/// daemon that does not answer is [`LocalError::DockerUnavailable`].
pub async fn connect() -> Result<Docker, LocalError> {
    let host =
        std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".into());
    let unavailable = |source: super::Cause| LocalError::DockerUnavailable {
        host: host.clone(),
        source,
    };
    let docker = Docker::connect_with_defaults().map_err(|e| unavailable(e.into()))?;
    // A daemon that accepts the connection and then says nothing must not hang us.
    let answered = super::watchdog::bounded(CONNECT_TIMEOUT, async {
        let docker = docker.negotiate_version().await?;
        docker.ping().await?;
        Ok::<_, bollard::errors::Error>(docker)
    })
    .await
    .map_err(|timeout| unavailable(timeout.into()))?;
    answered.map_err(|e| unavailable(e.into()))
}

/// Whether the image is present locally.
pub async fn image_present(docker: &Docker, image: &str) -> bool {
    docker.inspect_image(image).await.is_ok()
}

/// Pulls `image`, logging each change of progress as an agent line.
pub async fn pull(docker: &Docker, image: &str, emit: &mut Emitter) -> Result<(), LocalError> {
    let opts = CreateImageOptions {
        from_image: Some(image.to_owned()),
        ..Default::default()
    };
    let mut stream = docker.create_image(Some(opts), None, None);
    let mut last = String::new();
    while let Some(item) = stream.next().await {
        let info = item.map_err(|e| LocalError::Pull {
            image: image.to_owned(),
            source: e.into(),
        })?;
        // The daemon's own message: all there is underneath.
        if let Some(err) = info.error_detail.and_then(|d| d.message) {
            return Err(LocalError::Pull {
                image: image.to_owned(),
                source: err.into(),
            });
        }
        // Layer download ticks repeat the same status; report only changes, not every byte.
        if info.progress_detail.is_some_and(|p| p.current.is_some()) {
            continue;
        }
        let line = match (info.id, info.status) {
            (Some(id), Some(s)) => format!("{id}: {s}"),
            (None, Some(s)) => s,
            _ => continue,
        };
        if line != last {
            emit.agent(&line).await?;
            last = line;
        }
    }
    Ok(())
}

/// What the build container needs.
#[derive(Clone, Debug, Default)]
pub struct ContainerSpec {
    pub name: String,
    pub image: String,
    pub labels: HashMap<String, String>,
    pub src_dir: String,
    pub binds: Vec<String>,
    pub privileged: bool,
    /// Start the image's Docker daemon before idling (see [`super::dind`]).
    pub start_dockerd: bool,
    /// tmpfs mounts: path → size (`1m`).
    pub tmpfs: HashMap<String, String>,
}

/// What the container's first process runs: an idle loop that exits on SIGTERM, after
/// starting the image's Docker daemon in the background when asked.
const IDLE: &str = "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done";

/// The build container's configuration: root, entrypoint overridden (as CodeBuild does for
/// custom images), an idle first process (see [`IDLE`], [`super::dind::START`]).
#[must_use]
pub fn container_body(spec: &ContainerSpec) -> ContainerCreateBody {
    let first = if spec.start_dockerd {
        format!("{}{IDLE}", super::dind::START)
    } else {
        IDLE.to_owned()
    };
    ContainerCreateBody {
        image: Some(spec.image.clone()),
        entrypoint: Some(vec!["/bin/sh".into(), "-c".into()]),
        cmd: Some(vec![first]),
        user: Some("0:0".into()),
        labels: Some(spec.labels.clone()),
        host_config: Some(HostConfig {
            binds: (!spec.binds.is_empty()).then(|| spec.binds.clone()),
            privileged: Some(spec.privileged),
            tmpfs: (!spec.tmpfs.is_empty()).then(|| {
                spec.tmpfs
                    .iter()
                    .map(|(path, size)| (path.clone(), format!("size={size}")))
                    .collect()
            }),
            init: Some(false),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Creates the build container (not started); its id.
pub async fn create_container(docker: &Docker, spec: &ContainerSpec) -> Result<String, LocalError> {
    let opts = CreateContainerOptions {
        name: Some(spec.name.clone()),
        ..Default::default()
    };
    Ok(docker
        .create_container(Some(opts), container_body(spec))
        .await
        .map_err(|e| LocalError::container("", e))?
        .id)
}

/// Creates and starts the build container (see [`container_body`]).
pub async fn start_container(docker: &Docker, spec: &ContainerSpec) -> Result<String, LocalError> {
    let id = create_container(docker, spec).await?;
    let started = docker
        .start_container(
            &id,
            None::<bollard::query_parameters::StartContainerOptions>,
        )
        .await;
    if let Err(e) = started {
        // A container that was created but cannot start is ours to remove.
        let _ = remove_container(docker, &id).await;
        return Err(LocalError::container(
            start_error(&spec.image, &e.to_string()),
            e,
        ));
    }
    Ok(id)
}

/// Why the container did not start, with a hint for the usual cause: an image without the
/// `/bin/sh` every build command runs in.
fn start_error(image: &str, docker_says: &str) -> String {
    if docker_says.contains("/bin/sh") && docker_says.contains("no such file") {
        format!("the image {image} has no /bin/sh: build commands need a POSIX shell in the image")
    } else {
        "cannot start the build container".to_owned()
    }
}

/// Extracts a tar archive at `/` in the container.
pub async fn upload(docker: &Docker, id: &str, tar: Vec<u8>) -> Result<(), LocalError> {
    let opts = UploadToContainerOptions {
        path: "/".into(),
        ..Default::default()
    };
    docker
        .upload_to_container(id, Some(opts), bollard::body_full(tar.into()))
        .await
        .map_err(|e| LocalError::container("cannot copy files into the build", e))
}

/// Streams a tar archive of `path` in the container into `out`, chunk by chunk (a large
/// output never sits in memory); `false` when `path` does not exist.
pub async fn download_to(
    docker: &Docker,
    id: &str,
    path: &str,
    out: &mut tokio::fs::File,
) -> Result<bool, LocalError> {
    use tokio::io::AsyncWriteExt;
    let fail = |e: super::Cause| {
        LocalError::container(format!("cannot copy '{path}' out of the build"), e)
    };
    let opts = DownloadFromContainerOptions { path: path.into() };
    let mut stream = docker.download_from_container(id, Some(opts));
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(bytes) => out.write_all(&bytes).await.map_err(|e| fail(e.into()))?,
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => return Ok(false),
            Err(e) => return Err(fail(e.into())),
        }
    }
    out.flush().await.map_err(|e| fail(e.into()))?;
    Ok(true)
}

/// Whether `path` exists in the container (a 404 of its archive says no).
pub async fn path_exists(docker: &Docker, id: &str, path: &str) -> Result<bool, LocalError> {
    let opts = DownloadFromContainerOptions { path: path.into() };
    let mut stream = docker.download_from_container(id, Some(opts));
    match stream.next().await {
        Some(Ok(_)) | None => Ok(true),
        Some(Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        })) => Ok(false),
        Some(Err(e)) => Err(LocalError::container(
            format!("cannot look for '{path}' in the build"),
            e,
        )),
    }
}

/// Opens the driver exec (see [`driver`]).
pub async fn open_session(docker: &Docker, id: &str, nonce: &str) -> Result<Session, LocalError> {
    let exec = docker
        .create_exec(
            id,
            ExecConfig {
                attach_stdin: Some(true),
                attach_stdout: Some(true),
                attach_stderr: Some(true),
                user: Some("0:0".into()),
                cmd: Some(driver::loop_command(nonce)),
                ..Default::default()
            },
        )
        .await
        .map_err(|e| LocalError::exec("", e))?
        .id;
    match docker
        .start_exec(&exec, None)
        .await
        .map_err(|e| LocalError::exec("", e))?
    {
        bollard::exec::StartExecResults::Attached { output, input } => {
            Ok(Session::new(input, output, nonce.to_owned()))
        }
        bollard::exec::StartExecResults::Detached => {
            Err(LocalError::exec_msg("the build shell did not attach"))
        }
    }
}

/// Force-removes a container and its anonymous volumes.
pub async fn remove_container(docker: &Docker, id: &str) -> Result<(), LocalError> {
    let opts = RemoveContainerOptions {
        force: true,
        v: true,
        ..Default::default()
    };
    match docker.remove_container(id, Some(opts)).await {
        Ok(())
        | Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(()),
        Err(e) => Err(LocalError::container("", e)),
    }
}

/// The cbdash containers (running or not) with their labels.
pub async fn list_labelled(
    docker: &Docker,
) -> Result<Vec<(String, HashMap<String, String>, bool)>, LocalError> {
    let opts = ListContainersOptions {
        all: true,
        filters: Some(HashMap::from([("label".into(), vec![LABEL_PID.into()])])),
        ..Default::default()
    };
    let list = docker
        .list_containers(Some(opts))
        .await
        .map_err(|e| LocalError::container("", e))?;
    Ok(list
        .into_iter()
        .filter_map(|c| {
            let running = c.state == Some(bollard::models::ContainerSummaryStateEnum::RUNNING);
            Some((c.id?, c.labels.unwrap_or_default(), running))
        })
        .collect())
}

/// Starts a stopped container again (a kept build after a daemon restart).
pub async fn restart(docker: &Docker, id: &str) -> Result<(), LocalError> {
    docker
        .start_container(id, None::<bollard::query_parameters::StartContainerOptions>)
        .await
        .map_err(|e| LocalError::container("", e))
}

/// Creates (or reuses) a labelled named volume.
#[allow(clippy::implicit_hasher)] // bollard's VolumeCreateRequest takes a std HashMap
pub async fn ensure_volume(
    docker: &Docker,
    name: &str,
    labels: HashMap<String, String>,
) -> Result<(), LocalError> {
    docker
        .create_volume(VolumeCreateRequest {
            name: Some(name.to_owned()),
            labels: Some(labels),
            ..Default::default()
        })
        .await
        .map(|_| ())
        .map_err(|e| LocalError::container(format!("cannot create cache volume {name}"), e))
}
