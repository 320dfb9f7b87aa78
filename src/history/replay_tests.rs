use chrono::{Duration, TimeZone, Utc};

use super::*;
use crate::history::{Recorder, Store};
use crate::model::{LogStream, PhaseContext};

fn at(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_800_000_000, 0).single().expect("time") + Duration::milliseconds(ms)
}

fn agent(text: &str) -> LogLine {
    LogLine {
        phase: None,
        stream: LogStream::Agent,
        text: format!("[Container] 2027/01/15 08:00:00.000000 {text}"),
    }
}

/// A local build whose `BUILD` fails and `POST_BUILD` still runs, recorded as a live one is.
fn recorded(dir: &std::path::Path) -> (Store, BuildId) {
    let id = BuildId::new_for("svc");
    let store = Store::open(&dir.join("h.sqlite")).expect("open");
    let mut rec = Recorder::new(store);
    let mut t = 0;
    let mut ev = vec![BuildEvent::Started {
        build_id: id.clone(),
        project: "svc".into(),
        backend: BackendKind::Local,
        image: "img:1".into(),
        docker: crate::model::DockerAccess::HostSocket,
        batch: None,
        at: at(0),
    }];
    for (phase, status, out) in [
        (PhaseKind::Build, Status::Failed, "make: *** [all] Error 2"),
        (PhaseKind::PostBuild, Status::Succeeded, "post build ran"),
    ] {
        t += 10;
        ev.push(BuildEvent::PhaseStarted {
            build_id: id.clone(),
            phase,
            attempt: 1,
            at: at(t),
        });
        ev.push(BuildEvent::Logs {
            build_id: id.clone(),
            lines: vec![
                agent(&format!("Entering phase {phase}")),
                LogLine {
                    phase: Some(phase),
                    stream: LogStream::Stdout,
                    text: out.into(),
                },
                agent(&format!("Phase complete: {phase} State: {status}")),
            ],
        });
        t += 10;
        ev.push(BuildEvent::PhaseFinished {
            build_id: id.clone(),
            phase,
            attempt: 1,
            status,
            duration_ms: 10,
            context: PhaseContext::default(),
            at: at(t),
        });
    }
    ev.push(BuildEvent::Finished {
        build_id: id.clone(),
        status: Status::Failed,
        duration_ms: 40,
        at: at(t + 5),
        exported_variables: std::collections::BTreeMap::new(),
    });
    for e in &ev {
        rec.record(e).expect("record");
    }
    (rec.finish().expect("finish"), id)
}

/// Each event's kind, with a log line's phase and text.
fn shape(events: &[BuildEvent]) -> Vec<String> {
    let mut out = Vec::new();
    for e in events {
        match e {
            BuildEvent::Started { image, docker, .. } => {
                out.push(format!("started {image} docker {docker}"));
            }
            BuildEvent::PhaseStarted { phase, attempt, .. } => {
                out.push(format!("start {phase}#{attempt}"));
            }
            BuildEvent::PhaseFinished { phase, status, .. } => {
                out.push(format!("end {phase} {status}"));
            }
            BuildEvent::Logs { lines, .. } => out.extend(lines.iter().map(|l| {
                let text = l.text.rsplit(".000000 ").next().unwrap_or(&l.text);
                format!("  {:?}: {text}", l.phase.map(PhaseKind::as_str))
            })),
            BuildEvent::Finished { status, .. } => out.push(format!("finished {status}")),
            other => out.push(format!("{other:?}")),
        }
    }
    out
}

#[test]
fn a_stored_run_replays_with_every_line_in_its_phase() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, id) = recorded(dir.path());
    let detail = store.run(id.as_str()).expect("query").expect("run");
    let log = store.read_log(id.as_str()).expect("read").expect("kept");
    let events = replay(&detail, Some(&log.text));
    assert_eq!(
        shape(&events),
        [
            "started img:1 docker host socket",
            "start BUILD#1",
            "  Some(\"BUILD\"): Entering phase BUILD",
            "  Some(\"BUILD\"): make: *** [all] Error 2",
            "  Some(\"BUILD\"): Phase complete: BUILD State: FAILED",
            "end BUILD FAILED",
            "start POST_BUILD#1",
            "  Some(\"POST_BUILD\"): Entering phase POST_BUILD",
            "  Some(\"POST_BUILD\"): post build ran",
            "  Some(\"POST_BUILD\"): Phase complete: POST_BUILD State: SUCCEEDED",
            "end POST_BUILD SUCCEEDED",
            "finished FAILED",
        ]
    );
}

#[test]
fn without_its_log_a_run_still_has_its_phases_and_says_why_no_log() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, id) = recorded(dir.path());
    let detail = store.run(id.as_str()).expect("query").expect("run");
    let shape = shape(&replay(&detail, None));
    assert_eq!(shape[0], "started img:1 docker host socket");
    assert!(shape[1].contains("no longer kept"), "{shape:?}");
    assert_eq!(
        shape[2..],
        [
            "start BUILD#1",
            "end BUILD FAILED",
            "start POST_BUILD#1",
            "end POST_BUILD SUCCEEDED",
            "finished FAILED"
        ]
    );
}

#[test]
fn a_hostile_log_cannot_invent_phases_or_break_the_replay() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, id) = recorded(dir.path());
    let detail = store.run(id.as_str()).expect("query").expect("run");
    // Lines that look like agent lines but are the build's output, and a phase never stored.
    let log = "echo [Container] x Entering phase INSTALL\n[Container] Entering phase INSTALL\n\
               [Container] Phase complete: NOPE State: X\n\u{1b}[2J\r\n";
    let shape = shape(&replay(&detail, Some(log)));
    assert!(
        !shape.iter().any(|s| s.starts_with("start INSTALL")),
        "{shape:?}"
    );
    assert_eq!(shape.last().map(String::as_str), Some("finished FAILED"));
    assert_eq!(shape.iter().filter(|s| s.starts_with("start ")).count(), 2);
}
