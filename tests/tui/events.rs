//! Backend events the pipeline derives (cache reports, regressions) reaching the reducer.

use cbdash::cache::CacheTap;
use cbdash::model::{BuildEvent, BuildId, LogLine, LogStream, PhaseKind};
use cbdash::tui::msg::Msg;

use super::fixtures::{ID, dashboard, replay, running, send};

fn docker_build_lines(copy_cached: bool) -> BuildEvent {
    let copy_verdict = if copy_cached {
        " ---> Using cache"
    } else {
        " ---> Running in 42"
    };
    let text = [
        "Step 1/3 : FROM base",
        " ---> 1234",
        "Step 2/3 : RUN make",
        " ---> Using cache",
        " ---> abcd",
        "Step 3/3 : COPY a /a",
        copy_verdict,
        " ---> ef01",
        "Successfully built ef01",
        "Successfully tagged api:1",
    ];
    BuildEvent::Logs {
        build_id: BuildId(ID.into()),
        lines: text
            .iter()
            .map(|t| LogLine {
                phase: Some(PhaseKind::Build),
                stream: LogStream::Stdout,
                text: (*t).to_owned(),
            })
            .collect(),
    }
}

#[test]
fn cache_reports_from_the_analyzer_fill_the_cache_panel() {
    let (mut s, km) = dashboard();
    replay(&mut s, &km, running());
    let mut tap = CacheTap::new();
    for ev in tap.observe(docker_build_lines(false), 0) {
        send(&mut s, &km, Msg::Build(ev));
    }
    let caches = &s.builds[&BuildId(ID.into())].caches;
    assert_eq!(
        caches.len(),
        1,
        "live updates replace, not append: {caches:?}"
    );
    assert_eq!((caches[0].cached, caches[0].steps), (1, 2));
    assert_eq!(caches[0].target, "api:1");
    assert_eq!(caches[0].first_miss.as_deref(), Some("step 3: COPY a /a"));

    // A second docker build in the same log gets its own summary.
    for ev in tap.observe(docker_build_lines(true), 10) {
        send(&mut s, &km, Msg::Build(ev));
    }
    let caches = &s.builds[&BuildId(ID.into())].caches;
    assert_eq!(caches.len(), 2);
    assert_eq!((caches[1].cached, caches[1].steps), (2, 2));
    assert_eq!(caches[1].first_miss, None);
}

/// When the build ends, what was still running (COMPLETED) stops its clock: a finished build's
/// timeline does not keep counting (it did, found in tmux: COMPLETED 3.1s, then 4.7s, 8.6s).
#[test]
fn the_finished_build_stops_the_clock_of_its_last_phase() {
    use cbdash::model::Status;
    use chrono::TimeDelta;
    let (mut s, km) = dashboard();
    replay(&mut s, &km, running());
    let id = BuildId(ID.into());
    let started = super::fixtures::t(100);
    send(
        &mut s,
        &km,
        Msg::Build(BuildEvent::PhaseStarted {
            build_id: id.clone(),
            phase: PhaseKind::Completed,
            attempt: 1,
            at: started,
        }),
    );
    send(
        &mut s,
        &km,
        Msg::Build(BuildEvent::Finished {
            build_id: id.clone(),
            status: Status::Succeeded,
            duration_ms: 100_000,
            at: started + TimeDelta::milliseconds(4),
            exported_variables: std::collections::BTreeMap::new(),
        }),
    );
    let completed = s.builds[&id]
        .phases
        .iter()
        .find(|p| p.kind == PhaseKind::Completed)
        .expect("a COMPLETED row");
    assert_eq!(completed.status, Status::Succeeded);
    assert_eq!(completed.duration_ms, Some(4));
}
