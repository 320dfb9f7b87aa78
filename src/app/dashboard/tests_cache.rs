//! A past build's layer cache through the executor and the reducer, as the dashboard opens
//! it: the stored report replayed with its miss reason (not re-derived from the log without
//! it), and its finished report's step history asked for, read from the run history and
//! given to the panel.

use chrono::{TimeZone, Utc};

use super::cloud::CloudPool;
use super::tests::{Fake, start_full};
use crate::engine::cloud::CloudBackend;
use crate::history::{Recorder, Store};
use crate::model::{
    BackendKind, BuildEvent, BuildId, LogLine, MissKind, MissReason, PhaseContext, PhaseKind,
    Status,
};
use crate::tui::msg::{Effect, Msg};
use crate::tui::state::State;

/// A legacy `docker build` of `app:1`: `RUN echo one` from the cache, `COPY a /a` ran.
const DOCKER: &[&str] = &[
    "Step 1/3 : FROM base",
    " ---> 1234",
    "Step 2/3 : RUN echo one",
    " ---> Using cache",
    " ---> abcd",
    "Step 3/3 : COPY a /a",
    " ---> Running in 99",
    " ---> ef01",
    "Successfully built ef01",
    "Successfully tagged app:1",
];

/// Records a run of `svc` whose docker build missed at `COPY a /a` (file `a` changed), as the
/// live pipeline records it: the finished report carries the reason the explainer gave.
fn record(rec: &mut Recorder, n: i64) -> BuildId {
    let id = BuildId(format!("svc:0000000{n}-0000-0000-0000-000000000000"));
    let at = Utc
        .timestamp_opt(1_800_000_000 + n * 600, 0)
        .single()
        .expect("time");
    let mut tap = crate::cache::CacheTap::new();
    let logs = BuildEvent::Logs {
        build_id: id.clone(),
        lines: DOCKER
            .iter()
            .map(|t| LogLine::from_log(Some(PhaseKind::Build), t))
            .collect(),
    };
    let mut events = vec![
        BuildEvent::Started {
            build_id: id.clone(),
            project: "svc".into(),
            backend: BackendKind::Local,
            image: "img".into(),
            docker: crate::model::DockerAccess::HostSocket,
            batch: None,
            at,
        },
        BuildEvent::PhaseStarted {
            build_id: id.clone(),
            phase: PhaseKind::Build,
            attempt: 1,
            at,
        },
    ];
    for mut ev in tap.observe(logs, 0) {
        if let BuildEvent::Cache { report, .. } = &mut ev
            && let Some(m) = report.first_miss.as_mut()
            && report.finished
        {
            m.reason = Some(MissReason {
                files: vec!["a".into()],
                ..MissReason::bare(MissKind::FilesChanged)
            });
            report.time_lost_ms = Some(1_500);
        }
        events.push(ev);
    }
    events.push(BuildEvent::PhaseFinished {
        build_id: id.clone(),
        phase: PhaseKind::Build,
        attempt: 1,
        status: Status::Succeeded,
        duration_ms: 20,
        context: PhaseContext::default(),
        at,
    });
    events.push(BuildEvent::Finished {
        build_id: id.clone(),
        status: Status::Succeeded,
        duration_ms: 30,
        at,
        exported_variables: std::collections::BTreeMap::new(),
    });
    for e in &events {
        rec.record(e).expect("record");
    }
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_past_build_opens_with_its_stored_miss_reason_and_its_steps_history() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rec = Recorder::new(Store::open(&dir.path().join("history.sqlite")).expect("open"));
    for n in 1..=3 {
        record(&mut rec, n);
    }
    let newest = record(&mut rec, 4);
    rec.finish().expect("finish");
    let mut h = start_full(Fake::default(), dir, CloudPool::<CloudBackend>::empty());
    let project = h.project.clone();
    // Driven by the reducer as the dashboard is: the project is listed, its history loads,
    // its newest build opens from the history, its finished cache report asks for its steps.
    let cfg = crate::config::user::UserConfig::defaults().expect("defaults");
    let km = crate::tui::keymap::Keymap::from_bindings(&cfg.keys).expect("keymap");
    let mut state = State::new(Utc::now());
    let mut fx = crate::tui::update::update(&mut state, &km, Msg::Projects(vec![project]));
    let (mut reports, mut asked) = (Vec::new(), Vec::new());
    loop {
        for e in fx.drain(..) {
            if let Effect::LoadStepHistory { .. } = &e {
                asked.push(e.clone());
            }
            h.effects.send(e).await.expect("send");
        }
        let msg = h.next(Some).await;
        match &msg {
            Msg::ProjectBuild {
                event: BuildEvent::Cache { report, .. },
                ..
            } => reports.push(report.clone()),
            Msg::Flash(_, text) => panic!("{text}"),
            _ => {}
        }
        let answered = matches!(&msg, Msg::StepHistory { .. });
        fx = crate::tui::update::update(&mut state, &km, msg);
        if answered {
            break;
        }
    }
    // The stored report alone (the log's own copy is not sent too), with its reason and cost.
    assert_eq!(reports.len(), 1, "{reports:?}");
    let reason = reports[0]
        .first_miss
        .as_ref()
        .and_then(|m| m.reason.as_ref());
    assert_eq!(reason.map(|r| r.kind), Some(MissKind::FilesChanged));
    assert_eq!(reports[0].time_lost_ms, Some(1_500));
    assert_eq!(
        asked,
        [Effect::LoadStepHistory {
            build: newest.clone(),
            docker_build: 0
        }]
    );
    let build = state.build().expect("the past build is open");
    assert_eq!(build.id, newest);
    let cache = &build.caches[0];
    assert_eq!(
        (cache.first_miss.as_deref(), cache.miss_reason.as_deref()),
        (Some("step 3: COPY a /a"), Some("files changed: a")),
        "the stored reason, not one re-derived from the log"
    );
    // Each step over the four builds, this one the newest: `COPY a /a` ran every time.
    let rates: Vec<(&str, String)> = cache
        .trends
        .iter()
        .map(|t| (t.instruction.as_str(), t.rate()))
        .collect();
    assert_eq!(
        rates,
        [
            ("RUN echo one", "misses 0/4".to_owned()),
            ("COPY a /a", "misses 4/4".to_owned())
        ]
    );
    assert_eq!(
        cache.followed().map(|(t, first)| (t.position, first)),
        Some((1, true))
    );
    h.close().await;
}
