//! The pure reducer: `update(&mut State, Msg) -> Vec<Effect>`. No IO, no clock, no terminal:
//! everything it needs arrives in the message (keys already mapped by the keymap, time in
//! `Msg::Tick`), and everything it wants done leaves as an [`Effect`].

use chrono::TimeDelta;

use super::actions;
use super::cache_panel::on_cache;
use super::keymap::{Key, Keymap};
use super::layout;
use super::logbuf::LogStore;
use super::msg::{Effect, Msg};
use super::state::{Build, Flash, Mode, Pending, PhaseRow, ProjectKey, State};
use crate::model::{BuildEvent, NoticeLevel, Status};

/// How long a flash message stays.
const FLASH_SECS: i64 = 5;

/// Folds one message into the state.
pub fn update(state: &mut State, keymap: &Keymap, msg: Msg) -> Vec<Effect> {
    let effects = fold(state, keymap, msg);
    settle_log(state);
    effects
}

/// Keeps the log view's top line equal to what the pane shows (the size, the timeline above
/// the log, wrapping and timestamps all change it), so the next key scrolls from there.
fn settle_log(state: &mut State) {
    let inner = layout::log_inner(state);
    let (rows, width) = (usize::from(inner.height), usize::from(inner.width));
    if let Some(window) = state
        .build()
        .map(|b| layout::log_window(&state.log, &b.log, rows, width))
    {
        state.log.top = window.first;
    }
}

fn fold(state: &mut State, keymap: &Keymap, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::Key(key) => on_key(state, keymap, key),
        Msg::Build(ev) => on_event(state, None, ev),
        Msg::ProjectBuild { project, event } => on_event(state, Some(project), event),
        Msg::Tick(now) => {
            state.now = now;
            if state.flash.as_ref().is_some_and(|f| f.until <= now) {
                state.flash = None;
            }
            Vec::new()
        }
        Msg::Resize { width, height } => {
            state.width = width;
            state.height = height;
            Vec::new()
        }
        Msg::Projects(keys) => {
            for k in &keys {
                state.project_index(k);
            }
            // Every local project's history now (off the UI task), so the sidebar shows each
            // one's status and sparkline before it is selected.
            let mut fx: Vec<Effect> = keys
                .iter()
                .filter(|k| k.backend() == crate::model::BackendKind::Local)
                .map(|k| Effect::LoadHistory(k.clone()))
                .collect();
            if state.open_build.is_none() {
                let selected = state.selected;
                fx.extend(actions::select(state, selected));
            }
            fx
        }
        Msg::History {
            project,
            builds,
            phase_medians,
        } => {
            let i = state.project_index(&project);
            let p = &mut state.projects[i];
            p.history = builds;
            p.phase_medians = phase_medians.into_iter().collect();
            // The selected project's builds were just listed: open its newest.
            let showing_own = state.build().is_some_and(|b| b.belongs_to(&project));
            if i == state.selected && !showing_own {
                actions::latest_past_build(state, i).into_iter().collect()
            } else {
                Vec::new()
            }
        }
        Msg::CacheReport { build, report } => {
            // An answer about a build no longer asked about is dropped.
            if let Some(view) = state.cache_report.as_mut().filter(|v| v.build == build) {
                view.report = Some(report);
            }
            Vec::new()
        }
        msg @ Msg::StepHistory { .. } => super::cache_panel::on_step_history(state, msg),
        Msg::ContinueSearch => {
            let rows = layout::log_rows(state);
            let open = state
                .open_build
                .as_ref()
                .and_then(|id| state.builds.get(id));
            // The search was cleared or another build opened meanwhile: nothing to resume.
            let Some(b) = open.filter(|_| state.log.search.is_some()) else {
                return Vec::new();
            };
            state.log.count_step(&b.log);
            let step = if state.log.scan.is_some() {
                state.log.search_resume(&b.log, rows)
            } else {
                // Only counting: the cursor already is on a match.
                crate::tui::logview::SearchStep::Found(state.log.line_at(state.log.cursor))
            };
            actions::search_outcome(state, step)
        }
        Msg::Flash(level, text) => {
            flash(state, level, text);
            Vec::new()
        }
        Msg::Settings {
            project,
            image,
            docker,
        } => {
            let i = state.project_index(&project);
            state.projects[i].settings = Some((image, docker));
            Vec::new()
        }
        Msg::FilesChanged { project, files } => {
            let effects = actions::rerun_changed(state, &project);
            if !effects.is_empty() {
                let s = if files == 1 { "" } else { "s" };
                flash(
                    state,
                    NoticeLevel::Info,
                    format!("{files} file{s} changed: re-running {}", project.name),
                );
            }
            effects
        }
    }
}

/// How many messages the messages overlay keeps.
const MESSAGES: usize = 50;
/// A flash longer than this may be cut on an 80-column status line: it is kept whole too.
pub const LONG: usize = 50;

/// Shows a message on the status line for a few seconds (its first line: the status line
/// offers the messages overlay for the rest). Warnings, errors and any message of more than
/// one line, or long enough to be cut, are also kept whole for that overlay.
pub fn flash(state: &mut State, level: NoticeLevel, text: impl Into<String>) {
    let text = text.into();
    if level == NoticeLevel::Error || text.contains('\n') || text.chars().count() > LONG {
        if state.messages.len() >= MESSAGES {
            state.messages.remove(0);
        }
        state.messages.push(super::state::Message {
            level,
            text: text.clone(),
            at: state.now,
        });
    }
    state.flash = Some(Flash {
        level,
        text,
        until: state.now + TimeDelta::seconds(FLASH_SECS),
    });
}

fn on_key(state: &mut State, keymap: &Keymap, key: Key) -> Vec<Effect> {
    if let Some(effects) = super::modal::text_input(state, key) {
        return effects;
    }
    if let Some(action) = keymap.action(key) {
        return actions::apply(state, action);
    }
    // Any unbound key closes an overlay or cancels a confirmation.
    state.mode = super::state::Mode::Normal;
    Vec::new()
}

fn on_event(state: &mut State, owner: Option<ProjectKey>, ev: BuildEvent) -> Vec<Effect> {
    match ev {
        ev @ BuildEvent::Started { .. } => on_started(state, owner, ev),
        BuildEvent::PhaseStarted {
            build_id,
            phase,
            attempt,
            at,
        } => {
            on_phase_started(state, &build_id, phase, attempt, at);
            Vec::new()
        }
        BuildEvent::Logs { build_id, lines } => {
            on_logs(state, &build_id, &lines);
            Vec::new()
        }
        BuildEvent::PhaseFinished {
            build_id,
            phase,
            attempt,
            status,
            duration_ms,
            context,
            at,
        } => {
            if let Some(b) = state.builds.get_mut(&build_id) {
                let row = b
                    .phases
                    .iter_mut()
                    .rev()
                    .find(|p| p.kind == phase && p.attempt == attempt);
                match row {
                    Some(row) => {
                        row.status = status;
                        row.duration_ms = Some(duration_ms);
                        row.context = context;
                    }
                    None => b.phases.push(PhaseRow {
                        kind: phase,
                        attempt,
                        status,
                        started: at
                            - TimeDelta::milliseconds(i64::try_from(duration_ms).unwrap_or(0)),
                        duration_ms: Some(duration_ms),
                        context,
                        regression: None,
                    }),
                }
            }
            Vec::new()
        }
        // The keyed cache's lookup is also an agent line in the log, where the dashboard shows it.
        // The source version is the history's (`history show`), not the dashboard's.
        BuildEvent::Artifacts { .. }
        | BuildEvent::CacheKey { .. }
        | BuildEvent::SourceVersion { .. } => Vec::new(),
        BuildEvent::Report {
            build_id, report, ..
        } => {
            super::reports::on_report(state, &build_id, report);
            Vec::new()
        }
        ev @ (BuildEvent::Breakpoint { .. }
        | BuildEvent::Resumed { .. }
        | BuildEvent::DebugSession { .. }) => super::debug::on_event(state, ev),
        ev @ (BuildEvent::BatchStarted { .. }
        | BuildEvent::BatchBuild { .. }
        | BuildEvent::BatchFinished { .. }) => {
            super::batch::on_event(state, owner.as_ref(), ev).unwrap_or_default()
        }
        BuildEvent::Diagnosis {
            build_id,
            diagnosis,
        } => on_diagnosis(state, &build_id, diagnosis),
        BuildEvent::Cache { build_id, report } => on_cache(state, &build_id, &report),
        BuildEvent::Regression {
            build_id,
            regression,
        } => on_regression(state, &build_id, &regression),
        BuildEvent::Notice {
            build_id,
            level,
            message,
        } => {
            if let Some(b) = build_id.as_ref().and_then(|id| state.builds.get_mut(id)) {
                b.notice = Some((level, message.clone()));
            }
            if level != NoticeLevel::Info {
                flash(state, level, message);
            }
            Vec::new()
        }
        ev @ BuildEvent::Finished { .. } => on_finished(state, ev),
    }
}

/// A build's log lines, followed on screen when it is the open build.
fn on_logs(state: &mut State, build_id: &crate::model::BuildId, lines: &[crate::model::LogLine]) {
    let rows = layout::log_rows(state);
    let open = state.open_build.as_ref() == Some(build_id);
    if let Some(b) = state.builds.get_mut(build_id) {
        let at = u32::try_from(state.now.timestamp().max(0)).unwrap_or(u32::MAX);
        for l in lines {
            b.log.push(l, at);
        }
        if open {
            state.log.on_append(&b.log, rows);
        }
    }
}

fn on_phase_started(
    state: &mut State,
    build_id: &crate::model::BuildId,
    phase: crate::model::PhaseKind,
    attempt: u32,
    at: chrono::DateTime<chrono::Utc>,
) {
    let Some(b) = state.builds.get_mut(build_id) else {
        return;
    };
    // A phase reported after its build ended (out of order) ran no further.
    let (status, duration_ms) = match b.ended {
        Some(_) => (b.status, Some(0)),
        None => (Status::InProgress, None),
    };
    b.phases.push(PhaseRow {
        kind: phase,
        attempt,
        status,
        started: at,
        duration_ms,
        context: crate::model::PhaseContext::default(),
        regression: None,
    });
}

/// A finding is kept with its build: the timeline marks its phase, `d` explains it.
fn on_diagnosis(
    state: &mut State,
    build_id: &crate::model::BuildId,
    diagnosis: crate::model::Diagnosis,
) -> Vec<Effect> {
    if let Some(b) = state.builds.get_mut(build_id) {
        b.diagnoses.push(diagnosis);
    }
    Vec::new()
}

/// A regression marks its phase in the timeline; one with no phase (the cache) flashes.
fn on_regression(
    state: &mut State,
    build_id: &crate::model::BuildId,
    regression: &crate::model::Regression,
) -> Vec<Effect> {
    let line = regression.summary_line();
    let row = regression.phase.and_then(|phase| {
        state
            .builds
            .get_mut(build_id)
            .and_then(|b| b.phases.iter_mut().rev().find(|p| p.kind == phase))
    });
    match row {
        Some(row) => row.regression = Some(line),
        None => flash(state, NoticeLevel::Warning, line),
    }
    Vec::new()
}

fn on_started(state: &mut State, owner: Option<ProjectKey>, ev: BuildEvent) -> Vec<Effect> {
    let BuildEvent::Started {
        build_id,
        project,
        backend,
        image,
        docker,
        batch,
        at,
    } = ev
    else {
        return Vec::new();
    };
    // A batch's child build belongs to its node: no row of its own, and it stays in the
    // batch's graph until opened from there.
    let child = batch
        .as_ref()
        .is_some_and(|m| super::batch::adopt(state, m, &build_id, at));
    if let Some(b) = state.builds.get_mut(&build_id) {
        // A local build that starts again is resumed in place: its earlier attempts and log
        // stay, the new attempts follow. A cloud build followed again keeps what is on screen.
        if backend == crate::model::BackendKind::Local {
            b.status = Status::InProgress;
            b.duration_ms = None;
            b.ended = None;
            b.notice = None;
            b.started = at;
            b.docker = docker;
        }
        return Vec::new();
    }
    let pi = match owner {
        Some(key) => Some(state.project_index(&key)),
        None => only_project(state, &project, backend),
    };
    if let Some(pi) = pi.filter(|_| !child) {
        state.projects[pi].builds.push(build_id.clone());
    }
    state.builds.insert(
        build_id.clone(),
        Build {
            id: build_id.clone(),
            project,
            key: pi.map(|pi| state.projects[pi].key.clone()),
            backend,
            image,
            docker,
            started: at,
            ended: None,
            status: Status::InProgress,
            duration_ms: None,
            phases: Vec::new(),
            log: LogStore::new(),
            caches: Vec::new(),
            notice: None,
            diagnoses: Vec::new(),
            reports: Vec::new(),
            debug: None,
        },
    );
    // Follow a new build of the selected project (or when nothing is open).
    let nothing_open = state.open_build.is_none() && state.batch.is_none();
    if !child && (nothing_open || pi.is_some_and(|pi| pi == state.selected)) {
        state.open_build = Some(build_id);
        state.batch = None;
        state.log = state.log.reset();
    }
    Vec::new()
}

/// The one project named `name` on `backend`; none when the name is ambiguous (one name in
/// two cloud groups), so a build is never filed under the wrong one.
pub(super) fn only_project(
    state: &State,
    name: &str,
    backend: crate::model::BackendKind,
) -> Option<usize> {
    let mut found = state
        .projects
        .iter()
        .enumerate()
        .filter(|(_, p)| p.key.name == name && p.key.backend() == backend)
        .map(|(i, _)| i);
    let first = found.next()?;
    found.next().is_none().then_some(first)
}

/// A confirmation asked about a build that has just ended no longer holds: the keys were
/// read before this event (input goes first), so `q` asked "a build is running" about a build
/// whose `Finished` was already on its way. The prompt goes, and the flash says why.
fn settle_prompt(state: &mut State, ended: &crate::model::BuildId) {
    let why = match &state.mode {
        Mode::Confirm(Pending::Quit) if !state.any_running() => "nothing runs now: quit again",
        Mode::Confirm(Pending::Stop(id)) if id == ended => "it ended before it was stopped",
        _ => return,
    };
    state.mode = Mode::Normal;
    let (level, done) = state
        .flash
        .as_ref()
        .map_or((NoticeLevel::Info, String::new()), |f| {
            (f.level, format!("{} · ", f.text))
        });
    flash(state, level, format!("{done}{why}"));
}

fn on_finished(state: &mut State, ev: BuildEvent) -> Vec<Effect> {
    let BuildEvent::Finished {
        build_id,
        status,
        duration_ms,
        at,
        ..
    } = ev
    else {
        return Vec::new();
    };
    // A batch's child: named by its node; the batch's end notifies, not each child's.
    let node = super::batch::child_finished(state, &build_id, duration_ms);
    let Some(b) = state.builds.get_mut(&build_id) else {
        return Vec::new();
    };
    let key = b.key.clone();
    b.status = status;
    b.duration_ms = Some(duration_ms);
    b.ended = Some(at);
    b.debug = None;
    // What still runs (COMPLETED, or a phase a stop cut short) ends now: its time stops.
    for p in &mut b.phases {
        if p.status == Status::InProgress {
            p.status = status;
            p.duration_ms = Some(u64::try_from((at - p.started).num_milliseconds()).unwrap_or(0));
        }
    }
    let child = node.is_some();
    let name = node.map_or_else(|| b.project.clone(), |n| format!("{}/{n}", b.project));
    let text = format!("{name}: {status} in {}", super::fmt::fmt_ms(duration_ms));
    let level = if status == Status::Succeeded {
        NoticeLevel::Info
    } else {
        NoticeLevel::Error
    };
    flash(state, level, text.clone());
    settle_prompt(state, &build_id);
    let mut effects = if state.options.notify && !child {
        vec![Effect::Notify(text)]
    } else {
        Vec::new()
    };
    // A watched project that changed while it built runs again now.
    let pending = key.filter(|k| state.rerun_pending.contains(k));
    if let Some(key) = pending {
        state.rerun_pending.remove(&key);
        effects.extend(actions::rerun_changed(state, &key));
    }
    effects
}
