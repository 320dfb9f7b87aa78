//! Docker faults, through the socket proxy (`proxy`): a connection cut mid-build and a
//! stalled daemon each end the build as FAULT with a clear message (the cut within 5 s), a
//! slow daemon is no fault, cbdash works again when the daemon returns and removes what the
//! faulted run left; an image without `sh` and a full disk fail clearly; the dashboard keeps
//! answering keys while the daemon is stalled. (A failed pull is a FAULT in PROVISIONING:
//! `local_pipeline::images_are_pulled_and_a_failed_pull_is_a_fault`.)

use std::process::Command;
use std::time::{Duration, Instant};

use super::live::{Live, containers_of, containers_of_project, finished, status};
use super::proxy::{DockerProxy, Mode};
use crate::common::{cbdash_bin, tmux::Tmux};
use crate::local_harness::{build_only, command, image, project, run};

/// `cbdash run --json` of `dir` through the proxy.
fn through(proxy: &DockerProxy, dir: &std::path::Path, img: &str, args: &[&str]) -> Command {
    let mut c = command(dir, img, args);
    c.env("DOCKER_HOST", proxy.docker_host());
    c
}

fn build_id(events: &[serde_json::Value]) -> String {
    events[0]["build_id"].as_str().expect("build id").to_owned()
}

#[test]
fn a_connection_cut_mid_build_is_a_fault_within_5s_and_cbdash_recovers() {
    let Some(img) = image() else { return };
    let Some(daemon) = DockerProxy::daemon_socket() else {
        return;
    };
    let proxy = DockerProxy::start(&daemon);
    let dir = project(&[("buildspec.yml", &build_only(&["echo started", "sleep 60"]))]);
    let mut live = Live::spawn(through(&proxy, dir.path(), &img, &[]));
    live.wait_command("sleep 60", Duration::from_mins(1));
    let cut = Instant::now();
    proxy.set(Mode::Cut);
    let (code, events, stderr) = live.finish(Duration::from_secs(30));
    let took = cut.elapsed();
    assert!(
        took < Duration::from_secs(5),
        "the cut took {took:?} to end the build"
    );
    assert_eq!(status(&events), "FAULT", "{events:#?}\n{stderr}");
    assert_eq!(code, Some(3), "FAULT exits 3");
    let build = finished(&events, "BUILD").expect("BUILD finished");
    assert_eq!(build["status"], "FAULT");
    assert_eq!(build["context"]["status_code"], "CLIENT_ERROR");
    let msg = build["context"]["message"].as_str().unwrap_or_default();
    assert!(msg.contains("lost the Docker daemon at 'unix://"), "{msg}");
    assert!(
        finished(&events, "POST_BUILD").is_none(),
        "no phase runs on a lost daemon"
    );
    eprintln!(
        "RELIABILITY docker cut: FAULT after {} ms",
        took.as_millis()
    );

    // The daemon comes back: the next run works and removes the container left behind.
    let faulted = build_id(&events);
    assert!(
        !containers_of(&faulted).is_empty(),
        "the daemon was unreachable, so the container is still there"
    );
    proxy.set(Mode::Pass);
    let again = project(&[("buildspec.yml", &build_only(&["echo back"]))]);
    let out = through(&proxy, again.path(), &img, &[])
        .output()
        .expect("run");
    let r = crate::local_harness::parse(&out);
    assert_eq!(r.status(), "SUCCEEDED", "{}", r.dump());
    assert_eq!(
        containers_of(&faulted),
        "",
        "the next run removed the orphan"
    );
}

#[test]
fn a_stalled_daemon_is_a_fault_not_a_hang_and_a_slow_one_is_no_fault() {
    let Some(img) = image() else { return };
    let Some(daemon) = DockerProxy::daemon_socket() else {
        return;
    };
    let proxy = DockerProxy::start(&daemon);
    // Slow: every chunk held 30 ms. The build succeeds.
    proxy.set(Mode::Delay(Duration::from_millis(30)));
    let dir = project(&[("buildspec.yml", &build_only(&["echo slow", "sleep 2"]))]);
    let out = through(&proxy, dir.path(), &img, &[])
        .output()
        .expect("run");
    let r = crate::local_harness::parse(&out);
    assert_eq!(r.status(), "SUCCEEDED", "{}", r.dump());

    // Stalled mid-build: the watchdog's ping goes unanswered.
    proxy.set(Mode::Pass);
    let dir = project(&[("buildspec.yml", &build_only(&["echo started", "sleep 60"]))]);
    let mut live = Live::spawn(through(&proxy, dir.path(), &img, &[]));
    live.wait_command("sleep 60", Duration::from_mins(1));
    let stall = Instant::now();
    proxy.set(Mode::Stall);
    let (code, events, stderr) = live.finish(Duration::from_secs(40));
    let took = stall.elapsed();
    assert_eq!(status(&events), "FAULT", "{events:#?}\n{stderr}");
    assert_eq!(code, Some(3));
    let msg = finished(&events, "BUILD").expect("BUILD")["context"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(msg.contains("no answer within"), "{msg}");
    assert!(
        events.iter().any(|e| e["type"] == "notice"
            && e["message"]
                .as_str()
                .is_some_and(|m| m.contains("the next cbdash run removes it"))),
        "the container that could not be removed is reported"
    );
    eprintln!(
        "RELIABILITY docker stall: FAULT and exit after {} ms",
        took.as_millis()
    );
    proxy.set(Mode::Pass);
    let id = build_id(&events);
    let _ = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "docker ps -aq --filter label=cbdash.build-id={id} | xargs -r docker rm -f"
        ))
        .output();
}

/// An image holding only a static busybox at /bin/busybox: no /bin/sh.
fn image_without_sh(tag: &str) -> bool {
    let Some(busybox) = ["/bin/busybox", "/usr/bin/busybox"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
    else {
        assert!(!crate::common::in_ci(), "busybox-static is required in CI");
        eprintln!("SKIPPED: no busybox");
        return false;
    };
    let root = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(root.path().join("bin")).expect("mkdir");
    std::fs::copy(busybox, root.path().join("bin/busybox")).expect("copy busybox");
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "tar -C {} -cf - bin | docker import - {tag}",
            root.path().display()
        ))
        .output()
        .expect("docker import");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    true
}

#[test]
fn an_image_without_sh_is_a_clear_fault_and_leaves_no_container() {
    if image().is_none() {
        return;
    }
    let tag = format!("cbdash-test/nosh:{}", std::process::id());
    if !image_without_sh(&tag) {
        return;
    }
    let name = format!("nosh{}", std::process::id());
    let dir = project(&[
        ("buildspec.yml", &build_only(&["echo hi"])),
        (".cbdash.toml", &format!("name = \"{name}\"\n")),
    ]);
    let r = run(dir.path(), &tag, &[]);
    let _ = Command::new("docker").args(["rmi", "-f", &tag]).output();
    assert_eq!(r.status(), "FAULT", "{}", r.dump());
    assert_eq!(r.code, 3);
    let p = r.finished("PROVISIONING");
    assert_eq!(p["context"]["status_code"], "CLIENT_ERROR");
    let msg = p["context"]["message"].as_str().unwrap_or_default();
    assert!(msg.contains("has no /bin/sh"), "{msg}");
    assert_eq!(containers_of_project(&name), "", "no container left");
}

#[test]
fn a_full_disk_fails_the_command_with_a_clear_message() {
    let Some(img) = image() else { return };
    let dir = project(&[(
        "buildspec.yml",
        "version: 0.2\nphases:\n  build:\n    commands:\n      - dd if=/dev/zero of=/scratch/big.bin bs=1k count=3000\n  post_build:\n    commands:\n      - echo post-ran\n",
    )]);
    let r = run(dir.path(), &img, &["--tmpfs", "/scratch:1m"]);
    assert_eq!(r.code, 1, "{}", r.dump());
    assert_eq!(r.status(), "FAILED");
    let b = r.finished("BUILD");
    assert_eq!(b["context"]["status_code"], "COMMAND_EXECUTION_ERROR");
    assert!(
        r.lines()
            .iter()
            .any(|l| l.contains("No space left on device")),
        "the log says why: {}",
        r.dump()
    );
    // The build goes on as CodeBuild's would: POST_BUILD runs.
    assert!(r.stdout().contains(&"post-ran".to_owned()), "{}", r.dump());
}

#[test]
fn the_dashboard_answers_keys_while_the_daemon_is_stalled() {
    let Some(img) = image() else { return };
    let Some(daemon) = DockerProxy::daemon_socket() else {
        return;
    };
    if !Tmux::available() {
        return;
    }
    let proxy = DockerProxy::start(&daemon);
    let name = format!("stall{}", std::process::id());
    let dir = project(&[
        ("buildspec.yml", &build_only(&["echo started", "sleep 60"])),
        (".cbdash.toml", &format!("name = \"{name}\"\n")),
    ]);
    let work = tempfile::tempdir().expect("tempdir");
    let vars = Tmux::isolated_vars(work.path(), proxy.docker_host());
    let tmux = Tmux::shell("stall", dir.path(), &vars);
    tmux.keys(&[
        &format!(
            "{} run . --image {img} --pull never",
            cbdash_bin().display()
        ),
        "Enter",
    ]);
    tmux.wait_for("the build running", Duration::from_mins(1), |s| {
        s.contains("started")
    });
    proxy.set(Mode::Stall);
    // Keys work at once while nothing comes back from the daemon.
    let asked = Instant::now();
    tmux.keys(&["?"]);
    tmux.wait("help", |s| s.contains("Keys"));
    let answered = asked.elapsed();
    assert!(answered < Duration::from_secs(2), "help took {answered:?}");
    tmux.keys(&["Escape"]);
    tmux.wait("help closed", |s| !s.contains("half page down"));
    // The watchdog then faults the build, which the dashboard shows.
    tmux.wait_for("the FAULT", Duration::from_secs(30), |s| {
        s.contains("FAULT")
    });
    proxy.set(Mode::Pass);
    tmux.keys(&["q"]);
    tmux.wait_for("the prompt again", Duration::from_secs(30), |s| {
        s.contains("READY$") && !s.contains("Projects")
    });
    assert!(!tmux.alternate_on());
    eprintln!(
        "RELIABILITY dashboard under a stalled daemon: help opened in {} ms",
        answered.as_millis()
    );
    let _ = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "docker ps -aq --filter label=cbdash.project={name} | xargs -r docker rm -f"
        ))
        .output();
}
