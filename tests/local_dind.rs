//! Docker inside a privileged build (`--privileged`), on the real daemon.
//!
//! Privileged containers cannot start on the test machines (runc: "unable to apply caps:
//! operation not permitted"), so:
//! - the privileged container is checked by creating it (not starting it) and inspecting it:
//!   privileged flag, entrypoint, the daemon's start script, the layer-cache volume;
//! - the daemon's start, the wait for `docker info`, the failure report and the layer cache
//!   run for real in unprivileged containers of images whose `dockerd` (or entrypoint script)
//!   is a script of ours (`DindOptions::start_unprivileged`, a testing aid the CLI never sets).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use cbdash::engine::local::docker::{self, ContainerSpec};
use cbdash::engine::local::{LocalBackend, dind};
use cbdash::engine::{Backend, BuildRequest, DindOptions, EventSink, LocalOptions, PullPolicy};
use cbdash::model::{BuildEvent, LogStream, NoticeLevel, PhaseKind, Status};
use tokio_util::sync::CancellationToken;

use crate::common::volumes_of_project;
use crate::local_harness::{image, project, run};

/// A throwaway image: the test image plus executable files, removed on drop.
struct FakeImage(String);

impl FakeImage {
    fn new(base: &str, files: &[(&str, &str)]) -> Self {
        let tag = format!("cbdash-test/dind-{}:1", uuid::Uuid::new_v4().simple());
        let dir = tempfile::tempdir().expect("tempdir");
        for (path, text) in files {
            let p = dir.path().join(path.trim_start_matches('/'));
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(&p, text).expect("write");
            set_executable(&p);
        }
        let name = format!("cbdash-dind-build-{}", uuid::Uuid::new_v4().simple());
        docker_ok(&["create", "--name", &name, base, "true"]);
        docker_ok(&[
            "cp",
            &format!("{}/.", dir.path().display()),
            &format!("{name}:/"),
        ]);
        docker_ok(&["commit", &name, &tag]);
        docker_ok(&["rm", "-f", &name]);
        Self(tag)
    }
}

impl Drop for FakeImage {
    fn drop(&mut self) {
        let _ = Command::new("docker").args(["rmi", "-f", &self.0]).output();
    }
}

fn set_executable(p: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

fn docker_ok(args: &[&str]) -> String {
    let out = Command::new("docker").args(args).output().expect("docker");
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Removes a project's volumes on drop.
struct Volumes(String);

impl Drop for Volumes {
    fn drop(&mut self) {
        for v in volumes_of_project(&self.0).lines() {
            let _ = Command::new("docker")
                .args(["volume", "rm", "-f", v])
                .output();
        }
    }
}

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
}

/// What a build through the library emitted.
struct Events(Vec<BuildEvent>);

impl Events {
    fn lines(&self, stream: LogStream) -> Vec<String> {
        self.0
            .iter()
            .filter_map(|e| match e {
                BuildEvent::Logs { lines, .. } => Some(lines),
                _ => None,
            })
            .flatten()
            .filter(|l| l.stream == stream)
            .map(|l| l.text.clone())
            .collect()
    }

    fn provisioning(&self) -> (Status, String) {
        self.0
            .iter()
            .find_map(|e| match e {
                BuildEvent::PhaseFinished {
                    phase: PhaseKind::Provisioning,
                    status,
                    context,
                    ..
                } => Some((*status, context.message.clone())),
                _ => None,
            })
            .expect("PROVISIONING finished")
    }

    fn notices(&self) -> Vec<(NoticeLevel, String)> {
        self.0
            .iter()
            .filter_map(|e| match e {
                BuildEvent::Notice { level, message, .. } => Some((*level, message.clone())),
                _ => None,
            })
            .collect()
    }
}

/// Runs `spec` in `img` through the library, starting the image's daemon without privileged
/// mode, with `wait` for it; the build's status and events.
fn build(project: &str, img: &str, spec: &str, wait: Duration) -> (Status, Events) {
    let dir = crate::local_harness::project(&[("buildspec.yml", spec)]);
    let req = BuildRequest {
        project: project.to_owned(),
        source_dir: Some(dir.path().to_path_buf()),
        buildspec: Some(dir.path().join("buildspec.yml")),
        image: Some(img.to_owned()),
        local: LocalOptions {
            pull: PullPolicy::Never,
            dind: DindOptions {
                wait,
                start_unprivileged: true,
                ..DindOptions::default()
            },
            ..LocalOptions::default()
        },
        ..BuildRequest::default()
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let (sink, mut rx) = EventSink::channel(256);
        let collect = async {
            let mut all = Vec::new();
            while let Some(ev) = rx.recv().await {
                all.push(ev);
            }
            all
        };
        let (outcome, events) = tokio::join!(
            LocalBackend.run(req, sink, CancellationToken::new()),
            collect
        );
        (outcome.expect("the build ran").status, Events(events))
    })
}

const DOCKER_INFO: &str = "version: 0.2
phases:
  build:
    commands:
      - docker info
      - cat /entrypoint-args 2>/dev/null || echo no-entrypoint
";

/// A `docker` CLI whose `info` answers once our fake daemon has started.
const FAKE_DOCKER: &str = "#!/bin/sh
if [ \"$1\" = info ] && [ -e /fake-dockerd-ready ]; then echo 'Server Version: fake'; exit 0; fi
echo 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock' >&2
exit 1
";

#[test]
fn the_privileged_container_is_created_with_the_daemon_start_and_the_layer_cache() {
    let Some(img) = image() else { return };
    let project = unique("dind-create");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let d = docker::connect().await.expect("docker");
        for layer_cache in [true, false] {
            let mut spec = ContainerSpec {
                name: unique("cbdash-dind-create"),
                image: img.clone(),
                privileged: true,
                ..ContainerSpec::default()
            };
            let opts = DindOptions {
                layer_cache,
                ..DindOptions::default()
            };
            let mount = dind::configure(&mut spec, &project, &opts);
            let id = docker::create_container(&d, &spec).await.expect("create");
            let inspect = d
                .inspect_container(&id, None::<bollard::query_parameters::InspectContainerOptions>)
                .await;
            docker::remove_container(&d, &id).await.expect("remove");
            // The daemon made the named volume for the bind, unlabelled: remove it by name.
            if let Some(m) = &mount {
                let rm = Command::new("docker")
                    .args(["volume", "rm", "-f", &m.volume])
                    .output()
                    .expect("docker volume rm");
                assert!(rm.status.success(), "{rm:?}");
            }
            let inspect = inspect.expect("inspect");
            let host = inspect.host_config.expect("host config");
            assert_eq!(host.privileged, Some(true));
            let config = inspect.config.expect("config");
            assert_eq!(
                config.entrypoint,
                Some(vec!["/bin/sh".to_owned(), "-c".to_owned()]),
                "the image's entrypoint stays overridden: the first process starts the daemon"
            );
            let first = config.cmd.expect("cmd").join(" ");
            assert!(first.starts_with(dind::START), "{first}");
            assert!(first.contains(dind::ENTRYPOINT), "{first}");
            assert!(
                first.contains("elif command -v dockerd >/dev/null 2>&1; then dockerd --host=unix:///var/run/docker.sock --host=tcp://127.0.0.1:2375 --storage-driver=overlay2"),
                "{first}"
            );
            assert!(first.ends_with("done"), "then it idles: {first}");
            let binds = host.binds.unwrap_or_default();
            if layer_cache {
                let m = mount.expect("a layer-cache mount");
                assert_eq!(binds, vec![format!("{}:/var/lib/docker", m.volume)]);
            } else {
                assert!(mount.is_none() && binds.is_empty(), "{binds:?}");
            }
        }
    });
}

#[test]
fn without_privileged_the_container_starts_no_daemon() {
    let Some(img) = image() else { return };
    let spec = ContainerSpec {
        image: img,
        ..ContainerSpec::default()
    };
    let body = docker::container_body(&spec);
    let first = body.cmd.expect("cmd").join(" ");
    assert!(!first.contains("dockerd"), "{first}");
    assert_eq!(body.host_config.and_then(|h| h.privileged), Some(false));
}

#[test]
fn the_images_entrypoint_runs_before_the_build_and_the_build_sees_its_daemon() {
    let Some(img) = image() else { return };
    let entry = "#!/bin/sh
echo \"$@\" > /entrypoint-args
/usr/local/bin/dockerd &
until docker info >/dev/null 2>&1; do sleep 0.2; done
eval \"$@\"
";
    let fake = FakeImage::new(
        &img,
        &[
            ("usr/local/bin/dockerd-entrypoint.sh", entry),
            (
                "usr/local/bin/dockerd",
                "#!/bin/sh\ntouch /fake-dockerd-ready\nexec sleep 600\n",
            ),
            ("usr/local/bin/docker", FAKE_DOCKER),
        ],
    );
    let project = unique("dind-entry");
    let _volumes = Volumes(project.clone());
    let (status, ev) = build(&project, &fake.0, DOCKER_INFO, Duration::from_secs(20));
    let out = ev.lines(LogStream::Stdout);
    assert_eq!(status, Status::Succeeded, "{out:?} {:?}", ev.provisioning());
    assert!(out.contains(&"Server Version: fake".to_owned()), "{out:?}");
    // The entrypoint ran with a no-op command: the build's commands run in our shell.
    assert!(out.contains(&"true".to_owned()), "{out:?}");
    let agent = ev.lines(LogStream::Agent).join("\n");
    assert!(
        agent.contains("Docker daemon in the build is up"),
        "{agent}"
    );
}

#[test]
fn without_codebuilds_entrypoint_dockerd_is_started_and_its_layers_persist_between_runs() {
    let Some(img) = image() else { return };
    let fake = FakeImage::new(
        &img,
        &[
            (
                "usr/local/bin/dockerd",
                "#!/bin/sh\necho \"dockerd $*\" > /dockerd-args\ntouch /fake-dockerd-ready\nexec sleep 600\n",
            ),
            ("usr/local/bin/docker", FAKE_DOCKER),
            // Not CodeBuild's kind (`docker:dind`'s runs its arguments): not run.
            (
                "usr/local/bin/dockerd-entrypoint.sh",
                "#!/bin/sh\nexec \"$@\"\n",
            ),
        ],
    );
    let project = unique("dind-plain");
    let _volumes = Volumes(project.clone());
    let spec = "version: 0.2
phases:
  build:
    commands:
      - cat /dockerd-args
      - cat /var/lib/docker/layers 2>/dev/null || echo no-layers-yet
      - echo from-run-one >> /var/lib/docker/layers
";
    let (status, ev) = build(&project, &fake.0, spec, Duration::from_secs(20));
    let out = ev.lines(LogStream::Stdout);
    assert_eq!(status, Status::Succeeded, "{out:?} {:?}", ev.provisioning());
    assert!(
        out.contains(&"dockerd --host=unix:///var/run/docker.sock --host=tcp://127.0.0.1:2375 --storage-driver=overlay2".to_owned()),
        "{out:?}"
    );
    assert!(out.contains(&"no-layers-yet".to_owned()), "{out:?}");
    let volume = dind::layer_cache(&project).volume;
    assert_eq!(volumes_of_project(&project), volume);
    assert_eq!(
        docker_ok(&[
            "volume",
            "inspect",
            "-f",
            "{{index .Labels \"cbdash.cache\"}}",
            &volume
        ]),
        "1"
    );

    let (status, ev) = build(&project, &fake.0, spec, Duration::from_secs(20));
    let out = ev.lines(LogStream::Stdout);
    assert_eq!(status, Status::Succeeded, "{out:?}");
    assert!(
        out.contains(&"from-run-one".to_owned()),
        "the second run sees the first's /var/lib/docker: {out:?}"
    );
}

#[test]
fn a_daemon_that_exits_fails_provisioning_at_once_with_the_end_of_its_log() {
    let Some(img) = image() else { return };
    let dockerd = "#!/bin/sh
echo 'level=info msg=\"Starting up\"'
echo 'failed to start daemon: Error initializing network controller: fake-iptables-missing' >&2
exit 1
";
    let fake = FakeImage::new(&img, &[("usr/local/bin/dockerd", dockerd)]);
    let project = unique("dind-exit");
    let _volumes = Volumes(project.clone());
    let started = std::time::Instant::now();
    let (status, ev) = build(&project, &fake.0, DOCKER_INFO, dind::DEFAULT_WAIT);
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "a daemon that exited is not waited for: {:?}",
        started.elapsed()
    );
    assert_eq!(status, Status::Failed);
    let (phase, message) = ev.provisioning();
    assert_eq!(phase, Status::Failed, "{message}");
    assert!(message.contains("exited (status 1)"), "{message}");
    assert!(message.ends_with("fake-iptables-missing"), "{message}");
    let err = ev.lines(LogStream::Stderr);
    assert!(
        err.iter().any(|l| l.contains("msg=\"Starting up\"")),
        "{err:?}"
    );
    // No command ran.
    assert!(
        !ev.lines(LogStream::Stdout)
            .iter()
            .any(|l| l.contains("no-entrypoint"))
    );
}

#[test]
fn a_daemon_that_never_answers_fails_provisioning_after_the_wait() {
    let Some(img) = image() else { return };
    let dockerd = "#!/bin/sh\necho 'level=info msg=\"Starting up\"'\necho 'level=warning msg=\"still waiting for containerd\"'\nexec sleep 600\n";
    let fake = FakeImage::new(&img, &[("usr/local/bin/dockerd", dockerd)]);
    let project = unique("dind-slow");
    let _volumes = Volumes(project.clone());
    let started = std::time::Instant::now();
    let (status, ev) = build(&project, &fake.0, DOCKER_INFO, Duration::from_secs(3));
    assert!(
        started.elapsed() >= Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(status, Status::Failed);
    let (_, message) = ev.provisioning();
    assert!(
        message.contains("did not answer `docker info` within 3 s"),
        "{message}"
    );
    assert!(
        message.ends_with("msg=\"still waiting for containerd\""),
        "{message}"
    );
}

#[test]
fn a_failing_entrypoint_script_fails_provisioning_with_what_it_printed() {
    let Some(img) = image() else { return };
    let entry = "#!/bin/sh
tries=0
until docker info >/dev/null 2>&1; do [ $tries -ge 2 ] && break; tries=$((tries+1)); done
echo '[EntryScript] Docker daemon failed to start within 60 seconds. Dumping docker logs...' >&2
echo 'fake-dockerd: mount overlay: operation not permitted'
echo 'Timed out trying to connect to internal docker host.' >&2
exit 1
";
    let fake = FakeImage::new(&img, &[("usr/local/bin/dockerd-entrypoint.sh", entry)]);
    let project = unique("dind-entryfail");
    let _volumes = Volumes(project.clone());
    let (status, ev) = build(&project, &fake.0, DOCKER_INFO, Duration::from_secs(20));
    assert_eq!(status, Status::Failed);
    let (_, message) = ev.provisioning();
    assert!(
        message.ends_with("Timed out trying to connect to internal docker host."),
        "{message}"
    );
    let err = ev.lines(LogStream::Stderr).join("\n");
    assert!(err.contains("operation not permitted"), "{err}");
}

#[test]
fn an_image_without_a_daemon_says_so_and_builds() {
    let Some(img) = image() else { return };
    // The test image has the docker CLI but neither dockerd nor the entrypoint script.
    let project = unique("dind-none");
    let _volumes = Volumes(project.clone());
    let spec = "version: 0.2\nphases:\n  build:\n    commands:\n      - echo built\n";
    let (status, ev) = build(&project, &img, spec, Duration::from_secs(20));
    assert_eq!(status, Status::Succeeded, "{:?}", ev.provisioning());
    let notices = ev.notices();
    assert!(
        notices
            .iter()
            .any(|(_, m)| m.contains("neither /usr/local/bin/dockerd-entrypoint.sh nor dockerd")),
        "{notices:?}"
    );
}

/// The CLI's `--privileged`: the layer-cache volume is made and mounted, not with
/// `--no-layer-cache`, and no daemon is started with `--docker-socket` (the host's serves);
/// where privileged containers cannot start, the build is a FAULT that says so.
#[test]
fn privileged_runs_mount_the_layer_cache_unless_turned_off() {
    let Some(img) = image() else { return };
    let spec = "version: 0.2\nphases:\n  build:\n    commands:\n      - echo hi\n";
    for (extra, daemon, cache) in [
        (None, true, true),
        (Some("--no-layer-cache"), true, false),
        (Some("--docker-socket"), false, false),
    ] {
        let name = unique("dind-cli");
        let _volumes = Volumes(name.clone());
        let config = format!("name = \"{name}\"\n");
        let dir = project(&[("buildspec.yml", spec), (".cbdash.toml", &config)]);
        let args: Vec<&str> = std::iter::once("--privileged").chain(extra).collect();
        let r = run(dir.path(), &img, &args);
        let volume = dind::layer_cache(&name).volume;
        let agent = r.lines().join("\n");
        let announced = format!("Docker layer cache: volume {volume} at /var/lib/docker");
        assert_eq!(agent.contains(&announced), cache, "{extra:?}: {agent}");
        let volumes = volumes_of_project(&name);
        assert_eq!(volumes, if cache { volume } else { String::new() });
        let message = r.finished("PROVISIONING")["context"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if r.status() == "FAULT" {
            assert!(
                message.contains("cannot start the build container"),
                "{message}"
            );
        } else {
            assert_eq!(r.status(), "SUCCEEDED", "{}", r.dump());
            let waited = agent.contains("Waiting for the Docker daemon");
            assert_eq!(waited, daemon, "{extra:?}: {agent}");
        }
    }
}
