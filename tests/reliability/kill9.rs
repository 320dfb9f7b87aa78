//! `kill -9` of a real `cbdash run` mid-build. (`history::a_writer_killed_mid_run_leaves_an_
//! interrupted_run` covers a killed history writer on its own; this is the whole process,
//! with a container.) The next `cbdash run` removes the orphaned container, and the history
//! marks the killed run interrupted (STOPPED, with what it logged before the kill) while the
//! run before it stays intact.

use std::time::Duration;

use super::live::{Live, containers_of};
use crate::local_harness::{build_only, command, image, parse, project};

#[test]
fn kill_9_mid_build_is_cleaned_up_by_the_next_start() {
    let Some(img) = image() else { return };
    let name = format!("kill9{}", std::process::id());
    let work = tempfile::tempdir().expect("tempdir");
    let history = work.path().join("history.sqlite");
    let run_with = |cmds: &[&str]| {
        let dir = project(&[
            ("buildspec.yml", &build_only(cmds)),
            (".cbdash.toml", &format!("name = \"{name}\"\n")),
        ]);
        let mut c = command(dir.path(), &img, &[]);
        c.env("CBDASH_HISTORY", &history);
        (dir, c)
    };

    let (_d1, mut c1) = run_with(&["echo earlier-run"]);
    let earlier = parse(&c1.output().expect("run 1"));
    assert_eq!(earlier.status(), "SUCCEEDED", "{}", earlier.dump());
    let earlier_id = earlier.events[0]["build_id"]
        .as_str()
        .expect("id")
        .to_owned();

    let (_d2, c2) = run_with(&["echo killed-run-started", "sleep 60"]);
    let mut live = Live::spawn(c2);
    live.wait_command("sleep 60", Duration::from_mins(1));
    // The line before the sleep is flushed to the history within its 50 ms batch.
    std::thread::sleep(Duration::from_millis(300));
    live.child.kill().expect("SIGKILL");
    let (code, events, _) = live.finish(Duration::from_secs(10));
    assert_eq!(code, None, "killed by a signal");
    let killed_id = events[0]["build_id"].as_str().expect("id").to_owned();
    assert!(
        !containers_of(&killed_id).is_empty(),
        "the killed run's container is orphaned"
    );

    let (_d3, mut c3) = run_with(&["echo next-run"]);
    let next = parse(&c3.output().expect("run 3"));
    assert_eq!(next.status(), "SUCCEEDED", "{}", next.dump());
    assert_eq!(containers_of(&killed_id), "", "the next start removed it");

    let store = cbdash::history::Store::open(&history).expect("history");
    let killed = store
        .run(&killed_id)
        .expect("query")
        .expect("the killed run is in the history");
    assert_eq!(killed.run.status, "STOPPED");
    assert!(killed.run.interrupted, "marked interrupted");
    assert!(
        killed
            .phases
            .iter()
            .any(|p| p.phase == "BUILD" && p.status == "STOPPED"),
        "{:?}",
        killed
            .phases
            .iter()
            .map(|p| (&p.phase, &p.status))
            .collect::<Vec<_>>()
    );
    let log = super::stored_log(&history, &killed_id);
    assert!(log.contains("killed-run-started"), "{log}");
    let before = store.run(&earlier_id).expect("query").expect("earlier run");
    assert_eq!(
        (before.run.status.as_str(), before.run.interrupted),
        ("SUCCEEDED", false)
    );
    assert!(super::stored_log(&history, &earlier_id).contains("earlier-run"));
    assert_eq!(
        store.list_runs(Some(&name), 10).expect("runs").len(),
        3,
        "no run lost"
    );
}
