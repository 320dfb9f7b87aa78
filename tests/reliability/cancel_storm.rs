//! A cancellation storm: 50 headless runs (`cbdash run --plain`), each sent SIGINT after a
//! random delay (seeded, 0–6 s) that lands in the pull, the source copy, each command phase
//! or the artifact copy; five at a time. Afterwards no container or volume of the project is
//! left, no temporary file (TMPDIR is private and must stay empty, the project and history
//! folders hold only what a finished build leaves), and every exit code is 1 (STOPPED) or 0
//! (the build finished before the signal). Then five runs in the dashboard under tmux, each
//! quit with Ctrl-C (twice while the build runs): the terminal is restored every time.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::live::containers_of_project;
use super::proxy::{DockerProxy, Mode};
use crate::common::{self, cbdash_bin, tmux::Tmux};
use crate::local_harness::{image, project};

/// The runs, how many at once, and the RNG seed.
const RUNS: usize = 50;
const PARALLEL: usize = 5;
const SEED: u64 = 0x5eed_cbda;
/// Signals land up to this long after the start: a run takes about as long under the load
/// of five at once, so some finish first.
const MAX_DELAY_MS: u64 = 6000;

/// splitmix64: a seeded generator, so a failing storm can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const BUILDSPEC: &str = "version: 0.2
phases:
  install:
    commands:
      - echo install
      - sleep 0.3
  pre_build:
    commands:
      - echo pre_build
      - sleep 0.3
  build:
    commands:
      - mkdir -p out && head -c 30000000 /dev/urandom > out/blob.bin
      - sleep 0.3
  post_build:
    commands:
      - echo post_build
      - sleep 0.2
artifacts:
  files:
    - 'out/**/*'
";

/// A project with a few MB of source, so that copying it takes a moment too.
fn storm_project(name: &str) -> tempfile::TempDir {
    let dir = project(&[
        ("buildspec.yml", BUILDSPEC),
        (".cbdash.toml", &format!("name = \"{name}\"\n")),
    ]);
    let data: Vec<u8> = (0..6_000_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(dir.path().join("data.bin"), data).expect("write source data");
    dir
}

/// One interrupted run: its exit code and the phase it was in when it stopped.
struct Outcome {
    code: Option<i32>,
    phase: String,
    delay_ms: u64,
}

/// Runs one build and sends it SIGINT after `delay_ms`.
fn one(dir: &Path, img: &str, pull: bool, delay_ms: u64, env: &StormEnv) -> Outcome {
    let mut cmd = Command::new(cbdash_bin());
    cmd.arg("run")
        .arg(dir)
        .args(["--plain", "--image", img])
        .args(["--pull", if pull { "always" } else { "never" }])
        .env("CBDASH_HISTORY", &env.history)
        .env("CBDASH_LOG_FILE", env.tmp.join("../cbdash.log"))
        .env("TMPDIR", &env.tmp)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let child = cmd.spawn().expect("spawn cbdash");
    std::thread::sleep(Duration::from_millis(delay_ms));
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let out = child.wait_with_output().expect("wait");
    let text = String::from_utf8_lossy(&out.stdout);
    // The phase the signal interrupted ends `STOPPED`; a run that ended otherwise finished.
    let stopped = text.lines().find_map(|l| {
        l.split("Phase complete: ")
            .nth(1)
            .and_then(|r| r.strip_suffix(" State: STOPPED"))
    });
    let phase = match stopped {
        Some(p) => p.to_owned(),
        None if text.contains("Build ") => "(finished)".to_owned(),
        None => "before PROVISIONING".to_owned(),
    };
    Outcome {
        code: out.status.code(),
        phase,
        delay_ms,
    }
}

/// Where the storm's runs write.
struct StormEnv {
    history: std::path::PathBuf,
    tmp: std::path::PathBuf,
}

/// The image to pull, pushed to the test registry (`None` without one: no pulls then).
fn registry_image(img: &str) -> Option<String> {
    let registry = std::env::var("CBDASH_TEST_REGISTRY").ok()?;
    let remote = format!("{registry}/cbdash-test/storm:1");
    let ok = |args: &[&str]| {
        Command::new("docker")
            .args(args)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    (ok(&["tag", img, &remote]) && ok(&["push", &remote])).then_some(remote)
}

fn leftovers(dir: &Path, keep: &[&str]) -> Vec<String> {
    crate::common::files_under(dir)
        .into_iter()
        .filter(|p| !keep.iter().any(|k| p.starts_with(k)))
        .collect()
}

#[test]
#[allow(clippy::too_many_lines)] // the storm, then every check on what it left
fn fifty_cancelled_runs_leave_nothing_behind() {
    let Some(img) = image() else { return };
    let name = format!("storm{}", std::process::id());
    let dir = storm_project(&name);
    let work = tempfile::tempdir().expect("tempdir");
    let env = StormEnv {
        history: work.path().join("history/history.sqlite"),
        tmp: work.path().join("tmp"),
    };
    std::fs::create_dir_all(&env.tmp).expect("tmp");
    let pulled = registry_image(&img);
    if pulled.is_none() {
        assert!(
            !common::in_ci(),
            "the storm pulls from the test registry in CI"
        );
    }
    let mut rng = Rng(SEED);
    let plan: Vec<(u64, bool)> = (0..RUNS)
        .map(|i| (rng.below(MAX_DELAY_MS), pulled.is_some() && i % 5 == 0))
        .collect();
    let started = Instant::now();
    let mut outcomes = Vec::new();
    for wave in plan.chunks(PARALLEL) {
        let handles: Vec<_> = wave
            .iter()
            .map(|&(delay, pull)| {
                let d = dir.path().to_path_buf();
                let image = if pull {
                    pulled.clone().unwrap_or_else(|| img.clone())
                } else {
                    img.clone()
                };
                let e = StormEnv {
                    history: env.history.clone(),
                    tmp: env.tmp.clone(),
                };
                std::thread::spawn(move || one(&d, &image, pull, delay, &e))
            })
            .collect();
        outcomes.extend(handles.into_iter().map(|h| h.join().expect("run thread")));
    }
    let took = started.elapsed();

    let mut by_phase: BTreeMap<String, usize> = BTreeMap::new();
    for o in &outcomes {
        *by_phase.entry(o.phase.clone()).or_default() += 1;
        // A signal before cbdash's handler exists (the first milliseconds) ends it by the
        // signal, before any container exists; anything later must be a clean STOPPED.
        let early = o.code.is_none() && o.phase == "before PROVISIONING";
        assert!(
            matches!(o.code, Some(0 | 1)) || early,
            "run interrupted after {} ms in {} exited {:?}",
            o.delay_ms,
            o.phase,
            o.code
        );
    }
    let stopped = outcomes.iter().filter(|o| o.code == Some(1)).count();
    eprintln!(
        "RELIABILITY cancel storm: {RUNS} runs in {:.1}s, {stopped} stopped, {} finished; phases {by_phase:?}",
        took.as_secs_f64(),
        outcomes.iter().filter(|o| o.code == Some(0)).count()
    );
    assert!(
        by_phase.len() >= 5,
        "the signals landed in several phases: {by_phase:?}"
    );

    // Nothing left: containers, volumes, temporary files.
    assert_eq!(containers_of_project(&name), "", "containers left");
    let vols = crate::common::volumes_of_project(&name);
    assert!(vols.is_empty(), "volumes left: {vols}");
    assert_eq!(leftovers(&env.tmp, &[]), Vec::<String>::new(), "TMPDIR");
    let project_files = leftovers(
        dir.path(),
        &[
            "buildspec.yml",
            ".cbdash.toml",
            "data.bin",
            "cbdash-debug.log",
            ".cbdash/state.json",
            ".cbdash/artifacts/",
        ],
    );
    assert_eq!(project_files, Vec::<String>::new(), "project folder");
    let history_files = leftovers(&work.path().join("history"), &["history.sqlite", "logs/"]);
    assert_eq!(history_files, Vec::<String>::new(), "history folder");
    // Every run is in the history, none left IN_PROGRESS.
    let store = cbdash::history::Store::open(&env.history).expect("history");
    let runs = store.list_runs(Some(&name), 100).expect("runs");
    assert!(
        runs.iter().all(|r| r.status != "IN_PROGRESS"),
        "{:?}",
        runs.iter().map(|r| &r.status).collect::<Vec<_>>()
    );
    if let Some(remote) = pulled {
        let _ = Command::new("docker").args(["rmi", &remote]).output();
    }
}

/// SIGINT as soon as `phase` starts (`UPLOAD_ARTIFACTS`; `PROVISIONING` with `--pull always`):
/// the moments a random delay rarely hits. The daemon is slowed down through the proxy from
/// that moment, so that the copy or pull is still going when the signal comes. The run must
/// end STOPPED in that phase, with no container left.
fn stop_at(dir: &Path, img: &str, proxy: &DockerProxy, pull: bool, phase: &str) {
    let mut cmd = Command::new(cbdash_bin());
    cmd.arg("run")
        .arg(dir)
        .args(["--json", "--image", img])
        .args(["--pull", if pull { "always" } else { "never" }])
        .env("DOCKER_HOST", proxy.docker_host());
    let mut live = super::live::Live::spawn(cmd);
    live.wait_event(phase, Duration::from_mins(1), |v| {
        v["type"] == "phase_started" && v["phase"] == phase
    });
    proxy.set(Mode::Delay(Duration::from_millis(20)));
    std::thread::sleep(Duration::from_millis(100));
    let _ = Command::new("kill")
        .args(["-INT", &live.child.id().to_string()])
        .status();
    let (code, events, stderr) = live.finish(Duration::from_mins(1));
    proxy.set(Mode::Pass);
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(super::live::status(&events), "STOPPED");
    let ended = super::live::finished(&events, phase).expect("the phase ended");
    assert_eq!(ended["status"], "STOPPED", "{ended}");
    let id = events[0]["build_id"].as_str().expect("id");
    assert_eq!(super::live::containers_of(id), "", "container left");
}

#[test]
fn a_stop_during_the_pull_or_the_artifact_copy_leaves_nothing() {
    let Some(img) = image() else { return };
    let Some(daemon) = DockerProxy::daemon_socket() else {
        return;
    };
    let name = format!("stormat{}", std::process::id());
    let dir = storm_project(&name);
    let proxy = DockerProxy::start(&daemon);
    stop_at(dir.path(), &img, &proxy, false, "UPLOAD_ARTIFACTS");
    match registry_image(&img) {
        Some(remote) => {
            let _ = Command::new("docker").args(["rmi", &remote]).output();
            stop_at(dir.path(), &remote, &proxy, true, "PROVISIONING");
            let _ = Command::new("docker").args(["rmi", &remote]).output();
        }
        None => assert!(!common::in_ci(), "the test registry is needed in CI"),
    }
    assert_eq!(containers_of_project(&name), "", "containers left");
}

#[test]
fn ctrl_c_in_the_dashboard_restores_the_terminal_every_time() {
    let Some(img) = image() else { return };
    if !Tmux::available() {
        return;
    }
    let name = format!("stormtui{}", std::process::id());
    let dir = storm_project(&name);
    let work = tempfile::tempdir().expect("tempdir");
    let vars = Tmux::isolated_vars(
        work.path(),
        std::env::var("DOCKER_HOST").unwrap_or_default(),
    );
    let tmux = Tmux::shell("storm", dir.path(), &vars);
    let mut rng = Rng(SEED ^ 0x7e57);
    for i in 0..5 {
        tmux.keys(&["clear", "Enter"]);
        tmux.keys(&[
            &format!(
                "{} run . --image {img} --pull never",
                cbdash_bin().display()
            ),
            "Enter",
        ]);
        tmux.wait("the dashboard", |s| s.contains("Projects"));
        std::thread::sleep(Duration::from_millis(rng.below(2500)));
        tmux.keys(&["C-c"]);
        // While a build runs Ctrl-C asks first; a second one confirms.
        std::thread::sleep(Duration::from_millis(300));
        if tmux.screen().contains("Projects") {
            tmux.keys(&["C-c"]);
        }
        tmux.wait_command("bash", Duration::from_secs(30));
        let s = tmux.wait("the prompt again", |s| s.contains("READY$"));
        assert!(
            !tmux.alternate_on(),
            "run {i}: alternate screen left on:\n{s}"
        );
        assert_eq!(
            tmux.format("#{mouse_any_flag}#{cursor_flag}"),
            "01",
            "run {i}: mouse left on or cursor hidden"
        );
    }
    assert_eq!(containers_of_project(&name), "", "containers left");
}
