//! Docker inside the build (`--privileged`), as on CodeBuild's curated images.
//!
//! How the pieces fit:
//! - The curated images start their own Docker daemon through their ENTRYPOINT
//!   [`ENTRYPOINT`]: it starts `dockerd` in the background, waits for `docker info`, then runs
//!   the build. cbdash keeps the build container's entrypoint overridden (its first process
//!   idles until the build ends, see [`super::docker::container_body`]); with `--privileged`,
//!   that first process runs [`START`] before idling: the image's entrypoint script with a
//!   no-op command, or, in an image that has `dockerd` and no such script, `dockerd` with the
//!   script's own flags. Their output goes to [`LOG`], their exit status to [`STATUS`].
//! - In PROVISIONING, [`wait_ready`] (one exec) waits up to [`DEFAULT_WAIT`] for `docker
//!   info`; a daemon that exits or does not answer in time fails PROVISIONING with the end of
//!   its log ([`NotReady`]).
//! - CodeBuild's `LOCAL_DOCKER_LAYER_CACHE`: the inner `/var/lib/docker` is a per-project
//!   cache volume ([`layer_cache`]), labelled like the `cache.paths` volumes, so image layers
//!   persist between local runs. `--no-layer-cache` turns it off.
//!
//! Without `--privileged` nothing here runs: the entrypoint stays overridden, as CodeBuild
//! does for custom images.

use std::time::Duration;

use bollard::Docker;
use bollard::models::ExecConfig;
use futures_util::StreamExt;

use super::LocalError;
use super::cache::{self, Mount};
use super::docker::{self as dock, ContainerSpec};
use super::run::Build;
use crate::engine::DindOptions;
use crate::model::{LogStream, NoticeLevel};

/// The curated images' entrypoint, which starts their Docker daemon.
pub const ENTRYPOINT: &str = "/usr/local/bin/dockerd-entrypoint.sh";
/// Where the inner daemon keeps images and layers (a `VOLUME` in the curated images).
pub const DATA_ROOT: &str = "/var/lib/docker";
/// The output of the daemon's start (the entrypoint script's, or `dockerd`'s).
pub const LOG: &str = "/var/log/cbdash-dockerd.log";
/// The exit status of the start, once it ended (the entrypoint script ends when the daemon
/// answers; `dockerd` itself only when it fails).
pub const STATUS: &str = "/var/log/cbdash-dockerd.status";
/// How long the daemon may take to answer `docker info`, as the entrypoint script allows.
pub const DEFAULT_WAIT: Duration = Duration::from_mins(1);
/// Lines of the daemon's log shown when it does not come up.
const TAIL_LINES: u32 = 30;

/// Starts the daemon in the background, run by the build container's first process before
/// it idles. The entrypoint script runs only if it is CodeBuild's kind, which waits for
/// `docker info` before running its arguments (`docker:dind`'s, say, would just run `true`). `dockerd`'s flags are the curated entrypoint script's (and the User Guide's
/// Docker sample's for custom images); the sample's `nohup` is left out: there is no terminal
/// to hang up, and minimal images lack it.
pub const START: &str = "mkdir -p /var/log; \
( ( if [ -x /usr/local/bin/dockerd-entrypoint.sh ] \
&& grep -q 'docker info' /usr/local/bin/dockerd-entrypoint.sh; then \
/usr/local/bin/dockerd-entrypoint.sh true; \
elif command -v dockerd >/dev/null 2>&1; then \
dockerd --host=unix:///var/run/docker.sock --host=tcp://127.0.0.1:2375 \
--storage-driver=overlay2; \
else echo 'cbdash: no dockerd in this image'; exit 127; fi ); \
echo $? >/var/log/cbdash-dockerd.status ) >/var/log/cbdash-dockerd.log 2>&1 & ";

/// Waits for `docker info` (`$1` seconds at most), once a second. Exit 0: it answers; 3: the
/// image has no daemon; 1: the start ended without a daemon; 2: no answer in time. The end of
/// the logs follows a failure on stdout.
const WAIT: &str = r#"limit=$1; lines=$2; tries=0
tail_logs() {
  for f in /var/log/cbdash-dockerd.log /var/log/docker.log; do
    if [ -s "$f" ]; then echo "--- $f"; tail -n "$lines" "$f"; fi
  done
}
while :; do
  if docker info >/dev/null 2>&1; then exit 0; fi
  if [ -s /var/log/cbdash-dockerd.status ]; then
    if grep -q '^cbdash: no dockerd' /var/log/cbdash-dockerd.log 2>/dev/null; then exit 3; fi
    echo "status $(cat /var/log/cbdash-dockerd.status)"; tail_logs; exit 1
  fi
  if [ "$tries" -ge "$limit" ]; then echo "timeout"; tail_logs; exit 2; fi
  tries=$((tries + 1)); sleep 1
done"#;

/// How the daemon's start ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ready {
    /// `docker info` answers.
    Running,
    /// The image has neither the entrypoint script nor `dockerd`.
    NoDaemon,
}

/// The daemon did not come up: why, and the end of its log.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NotReady {
    #[error("the Docker daemon in the build exited ({status}) before it answered `docker info`")]
    Exited { status: String, log: Vec<String> },
    #[error("the Docker daemon in the build did not answer `docker info` within {secs} s")]
    TimedOut { secs: u64, log: Vec<String> },
}

impl NotReady {
    /// The end of the daemon's log (what the entrypoint script dumps on failure).
    #[must_use]
    pub fn log(&self) -> &[String] {
        match self {
            Self::Exited { log, .. } | Self::TimedOut { log, .. } => log,
        }
    }
}

/// The layer-cache volume of a project: a cache volume (see [`cache`]) at [`DATA_ROOT`].
#[must_use]
pub fn layer_cache(project: &str) -> Mount {
    Mount {
        volume: cache::volume_name(project, DATA_ROOT),
        target: DATA_ROOT.to_owned(),
    }
}

/// Whether a build starts the image's daemon: privileged, and not served by the host's
/// daemon through `--docker-socket` (whose socket sits where the inner one would).
#[must_use]
pub fn starts_daemon(b: &Build) -> bool {
    (b.req.privileged || b.req.local.dind.start_unprivileged) && !b.req.local.docker_socket
}

/// Makes `spec` start the image's daemon ([`START`]) and, with the layer cache on, mount the
/// project's layer-cache volume at [`DATA_ROOT`] (returned: the volume to create first).
pub fn configure(spec: &mut ContainerSpec, project: &str, opts: &DindOptions) -> Option<Mount> {
    spec.start_dockerd = true;
    let m = opts.layer_cache.then(|| layer_cache(project))?;
    spec.binds.push(format!("{}:{}", m.volume, m.target));
    Some(m)
}

/// Completes the container of a build that starts the daemon (see [`configure`]).
pub(super) async fn prepare(b: &mut Build, spec: &mut ContainerSpec) -> Result<(), LocalError> {
    if !starts_daemon(b) {
        return Ok(());
    }
    let project = b.req.project.clone();
    if let Some(m) = configure(spec, &project, &b.req.local.dind) {
        dock::ensure_volume(&b.docker, &m.volume, cache::labels(&project)).await?;
        b.emit
            .agent(&format!(
                "Docker layer cache: volume {} at {}",
                m.volume, m.target
            ))
            .await?;
    }
    Ok(())
}

/// In PROVISIONING, once the container runs: waits for its daemon. `Some(message)` fails the
/// phase; the end of the daemon's log is in the build log above it.
pub(super) async fn await_daemon(b: &mut Build, id: &str) -> Result<Option<String>, LocalError> {
    if !starts_daemon(b) {
        return Ok(None);
    }
    b.emit
        .agent("Waiting for the Docker daemon in the build to answer docker info")
        .await?;
    match wait_ready(&b.docker, id, b.req.local.dind.wait).await? {
        Ok(Ready::Running) => {
            b.emit.agent("Docker daemon in the build is up").await?;
            Ok(None)
        }
        Ok(Ready::NoDaemon) => {
            let msg = format!(
                "the image has neither {ENTRYPOINT} nor dockerd: no Docker daemon was started \
                 (the build may start one itself)"
            );
            b.emit.notice(NoticeLevel::Info, &msg).await?;
            Ok(None)
        }
        Err(e) => {
            for line in e.log() {
                b.emit.line(LogStream::Stderr, line).await?;
            }
            let last = e
                .log()
                .iter()
                .rev()
                .find(|l| !l.trim().is_empty() && !l.starts_with("--- "))
                .map_or(String::new(), |l| format!(": {}", l.trim()));
            Ok(Some(format!("{e}{last}")))
        }
    }
}

/// Waits for the daemon [`START`] started in container `id`, up to `limit`.
pub async fn wait_ready(
    docker: &Docker,
    id: &str,
    limit: Duration,
) -> Result<Result<Ready, NotReady>, LocalError> {
    let secs = limit.as_secs().max(1);
    let cmd = ["/bin/sh", "-c", WAIT, "cbdash-dind"]
        .into_iter()
        .map(str::to_owned)
        .chain([secs.to_string(), TAIL_LINES.to_string()])
        .collect();
    // The script bounds itself; this only guards against an exec that never returns.
    let bound = limit + Duration::from_secs(30);
    let (code, out) = super::watchdog::bounded(bound, exec_output(docker, id, cmd))
        .await
        .map_err(LocalError::exec_msg)??;
    let mut lines = out.lines().map(str::to_owned);
    let first = lines.next().unwrap_or_default();
    let log: Vec<String> = lines.collect();
    Ok(match code {
        0 => Ok(Ready::Running),
        3 => Ok(Ready::NoDaemon),
        1 => Err(NotReady::Exited {
            status: first.trim().to_owned(),
            log,
        }),
        2 => Err(NotReady::TimedOut { secs, log }),
        _ => {
            return Err(LocalError::exec_msg(format!(
                "waiting for the Docker daemon in the build failed ({code}): {out}"
            )));
        }
    })
}

/// Runs `cmd` in the container as root; its exit code and its stdout and stderr together.
async fn exec_output(
    docker: &Docker,
    id: &str,
    cmd: Vec<String>,
) -> Result<(i64, String), LocalError> {
    let err = |e: bollard::errors::Error| LocalError::exec("", e);
    let exec = docker
        .create_exec(
            id,
            ExecConfig {
                attach_stdout: Some(true),
                attach_stderr: Some(true),
                user: Some("0:0".into()),
                cmd: Some(cmd),
                ..Default::default()
            },
        )
        .await
        .map_err(err)?
        .id;
    let mut text = String::new();
    if let bollard::exec::StartExecResults::Attached { mut output, .. } =
        docker.start_exec(&exec, None).await.map_err(err)?
    {
        while let Some(chunk) = output.next().await {
            text.push_str(&String::from_utf8_lossy(&chunk.map_err(err)?.into_bytes()));
        }
    }
    let code = docker
        .inspect_exec(&exec)
        .await
        .map_err(err)?
        .exit_code
        .unwrap_or(-1);
    Ok((code, text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_layer_cache_is_a_cache_volume_at_the_data_root() {
        let m = layer_cache("my app");
        assert_eq!(m.target, "/var/lib/docker");
        assert!(m.volume.starts_with("cbdash-cache-my-app-"), "{}", m.volume);
        assert_eq!(m.volume, cache::volume_name("my app", "/var/lib/docker"));
        assert_ne!(m.volume, layer_cache("other").volume);
    }

    #[test]
    fn the_start_runs_the_entrypoint_first_and_else_dockerd_with_its_flags() {
        let entry = START.find(ENTRYPOINT).expect("entrypoint");
        let dockerd = START.find("dockerd --host").expect("dockerd");
        assert!(entry < dockerd);
        for flag in [
            "--host=unix:///var/run/docker.sock",
            "--host=tcp://127.0.0.1:2375",
            "--storage-driver=overlay2",
        ] {
            assert!(START.contains(flag), "{flag}");
        }
        assert!(START.contains(LOG) && START.contains(STATUS));
        // In the background: the container's first process goes on to idle.
        assert!(START.trim_end().ends_with('&'));
    }

    #[test]
    fn the_wait_reads_the_same_files_as_the_start() {
        assert!(WAIT.contains(LOG) && WAIT.contains(STATUS));
        assert!(WAIT.contains("docker info"));
    }
}
