//! What each [`Action`] does to the state (the modal inputs that take keys before the keymap
//! does are in [`super::modal`]). Part of the pure reducer: no IO here either.

use super::keymap::Action;
use super::layout;
use super::logview::{Matcher, SearchStep};
use super::msg::{Effect, RunMode};
use super::state::{Focus, Group, Mode, Pending, ProjectKey, RunForm, StartForm, State};
use super::update::flash;
use crate::model::{BuildId, NoticeLevel, Status};

/// Selects project `idx` and opens its newest build (from the history or CodeBuild when this
/// session has none: see [`latest_past_build`]).
pub fn select(state: &mut State, idx: usize) -> Vec<Effect> {
    let Some(p) = state.projects.get(idx) else {
        return Vec::new();
    };
    state.selected = idx;
    let newest = p.builds.last().cloned();
    let key = p.key.clone();
    // Its newest is a batch: its graph (as it was left, when it is already shown).
    if let Some(id) = super::batch::newest(state, idx).map(|b| b.id.clone()) {
        if state.batch.as_ref().is_none_or(|v| v.id != id) {
            super::batch::open(state, id);
        }
        return vec![Effect::LoadHistory(key)];
    }
    state.batch = None;
    if state.open_build != newest {
        state.open_build = newest;
        state.log = state.log.reset();
        open_log(state);
    }
    let mut fx = vec![Effect::LoadHistory(key)];
    fx.extend(latest_past_build(state, idx));
    fx
}

/// A project with no build of this session opens its newest past build, as the console
/// does: the executor follows a cloud one (to its end when it still runs) or replays a local
/// one from the run history, and its `Started` opens it as the selected project's. `None`
/// before its builds are listed (`Msg::History` asks again then).
#[must_use]
pub fn latest_past_build(state: &State, idx: usize) -> Option<Effect> {
    let p = state.projects.get(idx)?;
    if !p.builds.is_empty() || !super::batch::of_project(state, idx).is_empty() {
        return None;
    }
    let newest = p.history.first()?;
    Some(Effect::FollowBuild {
        project: p.key.clone(),
        build: newest.build_id.clone(),
    })
}

/// Positions the log view on the open build's log (following its tail).
fn open_log(state: &mut State) {
    let rows = layout::log_rows(state);
    if let Some(b) = state
        .open_build
        .as_ref()
        .and_then(|id| state.builds.get(id))
    {
        state.log.on_append(&b.log, rows);
    }
}

/// Opens a specific build.
pub fn open(state: &mut State, id: BuildId) {
    state.batch = None;
    state.open_build = Some(id);
    state.log = state.log.reset();
    open_log(state);
    state.focus = Focus::Log;
}

/// Builds of the selected project, newest first: `(id, status, live)`.
#[must_use]
pub fn build_list(state: &State) -> Vec<(BuildId, Status, bool)> {
    let Some(p) = state.project() else {
        return Vec::new();
    };
    let live = p
        .builds
        .iter()
        .rev()
        .filter_map(|id| state.builds.get(id))
        .map(|b| (b.id.clone(), b.status, true));
    let past = p
        .history
        .iter()
        .filter(|h| !p.builds.contains(&h.build_id))
        .map(|h| (h.build_id.clone(), h.status, false));
    live.chain(past).collect()
}

pub(super) fn run_search(state: &mut State, query: &str) -> Vec<Effect> {
    state.log.set_search(Matcher::new(query));
    if state.log.search.is_none() {
        return Vec::new();
    }
    // A log of up to one slice is counted at once; a longer one in slices between keys.
    if let Some(b) = state
        .open_build
        .as_ref()
        .and_then(|id| state.builds.get(id))
    {
        state.log.count_step(&b.log);
    }
    let rows = layout::log_rows(state);
    let Some(b) = state
        .open_build
        .as_ref()
        .and_then(|id| state.builds.get(id))
    else {
        return Vec::new();
    };
    state.focus = Focus::Log;
    let step = state.log.search_begin(true, &b.log, rows);
    search_outcome(state, step)
}

/// Effects of a search slice: keep going (finding the next match, or counting them all), or
/// say that nothing matched.
pub fn search_outcome(state: &mut State, step: SearchStep) -> Vec<Effect> {
    let counting = state.build().is_some_and(|b| state.log.counting(&b.log));
    let mut fx = search_effects(state, step);
    if counting && fx.is_empty() {
        fx.push(Effect::ContinueSearch);
    }
    fx
}

fn search_effects(state: &mut State, step: SearchStep) -> Vec<Effect> {
    match step {
        SearchStep::Pending => vec![Effect::ContinueSearch],
        SearchStep::NotFound => {
            let q = state
                .log
                .search
                .as_ref()
                .map_or("", |m| m.query.as_str())
                .to_owned();
            flash(state, NoticeLevel::Warning, format!("no match for '{q}'"));
            Vec::new()
        }
        SearchStep::Found(_) => Vec::new(),
    }
}

pub(super) fn confirm(state: &mut State, pending: Pending) -> Vec<Effect> {
    match pending {
        Pending::Quit => {
            state.quitting = true;
            vec![Effect::Quit]
        }
        Pending::Stop(id) => {
            flash(state, NoticeLevel::Info, format!("stopping {id}"));
            vec![Effect::StopBuild(id)]
        }
        Pending::Start(project) => {
            flash(
                state,
                NoticeLevel::Info,
                format!("starting {}", project.name),
            );
            vec![Effect::StartBuild {
                project,
                mode: RunMode::Full,
            }]
        }
        Pending::Retry { project, build } => {
            flash(state, NoticeLevel::Info, format!("retrying {build}"));
            vec![Effect::RetryBuild { project, build }]
        }
        Pending::RetryBatch { project, batch_id } => {
            super::batch_actions::confirmed_retry(state, project, batch_id)
        }
    }
}

/// Indexes of projects whose name contains `query` (case-insensitive), in display order.
#[must_use]
pub fn palette_matches(state: &State, query: &str) -> Vec<usize> {
    let q = query.to_lowercase();
    state
        .ordered()
        .into_iter()
        .filter(|&i| state.projects[i].key.name.to_lowercase().contains(&q))
        .collect()
}

/// Applies a keymap action in normal mode.
pub fn apply(state: &mut State, action: Action) -> Vec<Effect> {
    if let Some(fx) = super::batch_actions::apply(state, action) {
        return fx;
    }
    if let Some(fx) = super::reports::apply(state, action) {
        return fx;
    }
    let rows = layout::log_rows(state);
    let in_log = state.focus == Focus::Log;
    match action {
        Action::Quit if state.any_running() => {
            ask(state, Pending::Quit);
            Vec::new()
        }
        Action::Quit => confirm(state, Pending::Quit),
        Action::Help => {
            state.mode = Mode::Help { scroll: 0 };
            Vec::new()
        }
        Action::Messages => {
            open_messages(state);
            Vec::new()
        }
        Action::Back => {
            back(state);
            Vec::new()
        }
        Action::Up | Action::Down | Action::HalfPageUp | Action::HalfPageDown if !in_log => {
            let step = match action {
                Action::Up => -1,
                Action::Down => 1,
                Action::HalfPageUp => -5,
                _ => 5,
            };
            move_project(state, step)
        }
        Action::Top | Action::Bottom if !in_log => {
            let order = state.ordered();
            let target = if action == Action::Top {
                order.first()
            } else {
                order.last()
            };
            target.copied().map_or_else(Vec::new, |i| select(state, i))
        }
        Action::NextGroup | Action::LocalGroup | Action::CloudGroup => jump_group(state, action),
        Action::FocusNext => {
            state.focus = if in_log { Focus::Projects } else { Focus::Log };
            Vec::new()
        }
        Action::Open => {
            state.focus = Focus::Log;
            Vec::new()
        }
        Action::Palette => {
            state.mode = Mode::Palette {
                query: String::new(),
                selected: 0,
            };
            Vec::new()
        }
        Action::Builds => {
            state.mode = Mode::Builds { selected: 0 };
            Vec::new()
        }
        Action::Search => {
            state.mode = Mode::Search {
                query: String::new(),
            };
            Vec::new()
        }
        Action::Rerun | Action::RerunAll => start(state, action == Action::Rerun),
        Action::Stop => {
            match state.build().filter(|b| b.status == Status::InProgress) {
                Some(b) => {
                    let id = b.id.clone();
                    ask(state, Pending::Stop(id));
                }
                None => flash(state, NoticeLevel::Warning, "no running build to stop"),
            }
            Vec::new()
        }
        Action::Reproduce => reproduce(state),
        Action::Shell => shell(state),
        Action::Watch => toggle_watch(state),
        Action::CacheReport => cache_report(state),
        Action::Diagnosis => {
            open_diagnosis(state);
            Vec::new()
        }
        _ => log_action(state, action, rows),
    }
}

/// `d`: the open build's failure diagnosis, or a word that there is none.
fn open_diagnosis(state: &mut State) {
    match state.build() {
        Some(b) if !b.diagnoses.is_empty() => {
            state.mode = Mode::Diagnosis { selected: 0 };
        }
        Some(_) => flash(
            state,
            NoticeLevel::Info,
            "no known failure recognised in this build's log",
        ),
        None => flash(state, NoticeLevel::Info, "no build open"),
    }
}

/// `x`: the layer-cache report of the open build's Dockerfiles, loaded by the executor.
fn cache_report(state: &mut State) -> Vec<Effect> {
    let Some(b) = state.build() else {
        flash(state, NoticeLevel::Info, "no build open");
        return Vec::new();
    };
    // Asked of the history even when the panel is empty: a build replayed without its log
    // shows no cache panel, yet its docker builds are recorded.
    let build = b.id.clone();
    let dir = state
        .projects
        .iter()
        .find(|p| b.belongs_to(&p.key))
        .and_then(|p| p.key.dir.clone());
    state.cache_report = Some(crate::tui::state::CacheReportView {
        build: build.clone(),
        report: None,
    });
    state.mode = Mode::CacheReport { scroll: 0 };
    vec![Effect::LoadCacheReport { build, dir }]
}

/// `e`: a shell in the open build's container (a paused build's too), the debug session of a
/// cloud build that has one, or why there is none.
fn shell(state: &mut State) -> Vec<Effect> {
    if let Some(command) = super::debug::session_command(state) {
        return vec![Effect::JoinDebugSession(command)];
    }
    if let Some(id) = state.open_build.clone() {
        return vec![Effect::OpenShell(id)];
    }
    flash(
        state,
        NoticeLevel::Info,
        "no build open: a shell opens in a build's container (run one, or open one with b)",
    );
    Vec::new()
}

/// `E`: the messages overlay, or a word that there is nothing in it.
fn open_messages(state: &mut State) {
    if state.messages.is_empty() {
        flash(state, NoticeLevel::Info, "no errors or warnings to show");
    } else {
        state.mode = Mode::Messages { scroll: 0 };
    }
}

/// Asks for a confirmation on the status line; an older flash would sit beside the question
/// (a stale "cancelled"), so it goes.
fn ask(state: &mut State, pending: Pending) {
    state.flash = None;
    state.mode = Mode::Confirm(pending);
}

fn back(state: &mut State) {
    if state.log.filter.is_some() || state.log.search.is_some() {
        let rows = layout::log_rows(state);
        state.log.set_search(None);
        if let Some(b) = state
            .open_build
            .as_ref()
            .and_then(|id| state.builds.get(id))
        {
            state.log.set_filter(None, false, &b.log, rows);
        }
    } else {
        state.focus = Focus::Projects;
    }
}

fn move_project(state: &mut State, step: isize) -> Vec<Effect> {
    let order = state.ordered();
    let pos = order.iter().position(|&i| i == state.selected).unwrap_or(0);
    let new = pos
        .saturating_add_signed(step)
        .min(order.len().saturating_sub(1));
    order
        .get(new)
        .copied()
        .map_or_else(Vec::new, |i| select(state, i))
}

fn jump_group(state: &mut State, action: Action) -> Vec<Effect> {
    let order = state.ordered();
    let current = state.project().map(|p| p.key.group.clone());
    let target = match action {
        Action::LocalGroup => order
            .iter()
            .find(|&&i| state.projects[i].key.group == Group::Local),
        Action::CloudGroup => order
            .iter()
            .find(|&&i| state.projects[i].key.group != Group::Local),
        _ => order
            .iter()
            .find(|&&i| Some(&state.projects[i].key.group) > current.as_ref())
            .or_else(|| order.first()),
    };
    if let Some(i) = target.copied() {
        state.focus = Focus::Projects;
        return select(state, i);
    }
    flash(state, NoticeLevel::Info, "no projects in that group");
    Vec::new()
}

fn start(state: &mut State, failed_only: bool) -> Vec<Effect> {
    let Some(p) = state.project() else {
        return Vec::new();
    };
    let key = p.key.clone();
    let running = p
        .builds
        .iter()
        .filter_map(|id| state.builds.get(id))
        .any(|b| b.status == Status::InProgress)
        || super::batch::of_project(state, state.selected)
            .iter()
            .any(|b| b.running());
    if running {
        flash(
            state,
            NoticeLevel::Warning,
            format!("{} is already building", key.name),
        );
        return Vec::new();
    }
    let failed = state
        .build()
        .filter(|b| b.belongs_to(&key))
        .and_then(|b| b.failed_phase().map(|p| (b.id.clone(), p.kind)));
    if matches!(key.group, Group::Cloud { .. }) {
        // Cloud builds cost money and cannot resume a phase: retry the failed build as
        // CodeBuild does, or start a new one, after a confirmation either way.
        match failed {
            Some((build, _)) if failed_only => ask(
                state,
                Pending::Retry {
                    project: key,
                    build,
                },
            ),
            _ if failed_only => ask(state, Pending::Start(key)),
            _ => state.mode = Mode::StartForm(StartForm::new(key)),
        }
        return Vec::new();
    }
    if !failed_only {
        // `R`: the run form, prefilled with what the project's last build used, else with
        // what its `.cbdash.toml` says.
        let project = state.projects.iter().find(|p| p.key == key);
        let last = project
            .and_then(|p| p.builds.last())
            .and_then(|id| state.builds.get(id))
            .map(|b| (b.image.as_str(), b.docker))
            .or_else(|| {
                project
                    .and_then(|p| p.settings.as_ref())
                    .map(|(i, d)| (i.as_str(), *d))
            });
        state.mode = Mode::RunForm(RunForm::new(key, last));
        return Vec::new();
    }
    let mode = match failed {
        Some((build, phase)) if failed_only => RunMode::FromFailedPhase { build, phase },
        _ => RunMode::Full,
    };
    flash(state, NoticeLevel::Info, format!("starting {}", key.name));
    vec![Effect::StartBuild { project: key, mode }]
}

/// `w`: watch the selected local project's files (a change re-runs it, from the failed phase
/// when its last build failed), or stop watching them.
fn toggle_watch(state: &mut State) -> Vec<Effect> {
    let Some(key) = state
        .project()
        .map(|p| p.key.clone())
        .filter(|k| k.group == Group::Local)
    else {
        flash(
            state,
            NoticeLevel::Warning,
            "select a local project to watch it",
        );
        return Vec::new();
    };
    let on = !state.watching.remove(&key);
    state.rerun_pending.remove(&key);
    let text = if on {
        state.watching.insert(key.clone());
        format!("watching {}: a change re-runs it", key.name)
    } else {
        format!("stopped watching {}", key.name)
    };
    flash(state, NoticeLevel::Info, text);
    vec![Effect::Watch { project: key, on }]
}

/// A watched project changed: re-run it like `r` would (from the failed phase of its last
/// build, else whole); while it builds, once that build ends.
pub fn rerun_changed(state: &mut State, key: &ProjectKey) -> Vec<Effect> {
    if !state.watching.contains(key) {
        return Vec::new();
    }
    let Some(p) = state.projects.iter().find(|p| &p.key == key) else {
        return Vec::new();
    };
    let last = p.builds.last().and_then(|id| state.builds.get(id));
    if last.is_some_and(|b| b.status == Status::InProgress) {
        state.rerun_pending.insert(key.clone());
        return Vec::new();
    }
    let mode = match last.and_then(|b| b.failed_phase().map(|f| (b.id.clone(), f.kind))) {
        Some((build, phase)) => RunMode::FromFailedPhase { build, phase },
        None => RunMode::Full,
    };
    vec![Effect::StartBuild {
        project: key.clone(),
        mode,
    }]
}

/// `L`: the selected cloud project (its open build, if any) run locally as a local project
/// of the same name, which is selected so its build opens when it starts.
fn reproduce(state: &mut State) -> Vec<Effect> {
    let Some(cloud) = state
        .project()
        .map(|p| p.key.clone())
        .filter(|k| k.group != Group::Local)
    else {
        flash(
            state,
            NoticeLevel::Warning,
            "select a cloud project to reproduce it locally",
        );
        return Vec::new();
    };
    let build = state
        .build()
        .filter(|b| b.belongs_to(&cloud))
        .map(|b| b.id.clone());
    let local = ProjectKey {
        name: cloud.name.clone(),
        group: Group::Local,
        dir: None,
    };
    let i = state.project_index(&local);
    let mut fx = select(state, i);
    state.focus = Focus::Log;
    flash(
        state,
        NoticeLevel::Info,
        format!("reproducing {} locally", cloud.name),
    );
    fx.push(Effect::Reproduce {
        cloud,
        build,
        local,
    });
    fx
}

fn log_action(state: &mut State, action: Action, rows: usize) -> Vec<Effect> {
    let Some(b) = state
        .open_build
        .as_ref()
        .and_then(|id| state.builds.get(id))
    else {
        return Vec::new();
    };
    let log = &b.log;
    let v = &mut state.log;
    let half = isize::try_from(rows / 2).unwrap_or(1).max(1);
    match action {
        Action::Up => v.move_by(-1, log, rows),
        Action::Down => v.move_by(1, log, rows),
        Action::HalfPageUp => v.move_by(-half, log, rows),
        Action::HalfPageDown => v.move_by(half, log, rows),
        Action::Top => v.to_top(rows),
        Action::Bottom => v.to_bottom(log, rows),
        Action::Wrap => v.wrap = !v.wrap,
        Action::Timestamps => v.timestamps = !v.timestamps,
        Action::NextPhase | Action::PrevPhase => {
            v.phase_step(action == Action::NextPhase, log, rows);
        }
        Action::SearchNext | Action::SearchPrev => {
            if v.search.is_none() {
                flash(state, NoticeLevel::Warning, "search with / first");
                return Vec::new();
            }
            let step = v.search_begin(action == Action::SearchNext, log, rows);
            return search_outcome(state, step);
        }
        Action::FilterMatches | Action::FilterInverse => {
            let inverse = action == Action::FilterInverse;
            let same = v.filter.as_ref().is_some_and(|f| f.inverse == inverse);
            match v.search.clone() {
                _ if same => v.set_filter(None, false, log, rows),
                Some(m) => v.set_filter(Some(m), inverse, log, rows),
                None => flash(
                    state,
                    NoticeLevel::Warning,
                    "search with / first, then filter",
                ),
            }
        }
        Action::CopyLine => {
            let line = log.line(v.line_at(v.cursor)).unwrap_or_default();
            let text = super::sanitize::plain(&line).into_owned();
            flash(state, NoticeLevel::Info, "line copied");
            return vec![Effect::Clipboard(text)];
        }
        Action::SaveLog => {
            // Into cbdash's data directory, not the project (see `files`); beside, not in,
            // the history's own `logs/`.
            let name = format!(
                "{}-{}.log",
                super::files::file_name_part(&b.project),
                super::files::file_name_part(b.id.uuid())
            );
            return vec![Effect::SaveFile {
                path: std::path::Path::new("saved-logs").join(name),
                contents: log.to_plain_text(),
            }];
        }
        _ => {}
    }
    Vec::new()
}
