//! The Reports panel's state and keys (part of the pure reducer: no IO). A build's
//! `BuildEvent::Report`s (local or cloud, one per report group) are kept with it, the newest
//! of a group replacing the older one. The panel lists each group (a bar of passed, failed and
//! skipped cases, or the coverage) and then the failed cases of every group, in one list the
//! cursor moves through. `open` on a case shows its message ([`Mode::Case`]) and jumps the
//! log to the case's first mention: a search for its name from the top of the log, so the
//! sliced search of [`super::logview`] does the reading and `n` goes on to the next mention.

use super::actions::search_outcome;
use super::keymap::Action;
use super::layout;
use super::logview::Matcher;
use super::msg::Effect;
use super::state::{Build, Focus, Mode, State};
use super::update::flash;
use crate::model::{BuildId, NoticeLevel, ReportBody, TestCase, TestReport};

/// Keeps `report` with its build: a group reported again replaces its older report.
pub fn on_report(state: &mut State, build_id: &BuildId, report: TestReport) {
    let Some(b) = state.builds.get_mut(build_id) else {
        return;
    };
    match b.reports.iter_mut().find(|r| r.group == report.group) {
        Some(slot) => *slot = report,
        None => b.reports.push(report),
    }
}

/// The failed and errored cases of every report of `b`, in report order: `(group, case)`.
#[must_use]
pub fn cases(b: &Build) -> Vec<(&str, &TestCase)> {
    b.reports
        .iter()
        .filter_map(|r| match &r.body {
            ReportBody::Test(t) => Some((r.group.as_str(), t)),
            ReportBody::Coverage(_) => None,
        })
        .flat_map(|(g, t)| t.failed_cases.iter().map(move |c| (g, c)))
        .collect()
}

/// The cursor in the list of failed cases, kept inside it.
#[must_use]
pub fn cursor(state: &State) -> usize {
    let n = state.build().map_or(0, |b| cases(b).len());
    state.report_cursor.min(n.saturating_sub(1))
}

/// What to look for in the log: the case's name without its prefix when the name repeats it
/// (`Calc.Tests.adds` → `adds`: a runner prints the short name), as literal text.
#[must_use]
pub fn mention_query(case: &TestCase) -> String {
    let name = case
        .name
        .strip_prefix(&case.prefix)
        .and_then(|n| n.strip_prefix('.'))
        .filter(|n| !n.is_empty())
        .unwrap_or(&case.name);
    regex::escape(name)
}

/// The keymap action `action` while the Reports panel has the keys (or, for
/// [`Action::Reports`], from anywhere); `None` when the usual action applies.
pub fn apply(state: &mut State, action: Action) -> Option<Vec<Effect>> {
    if action == Action::Reports {
        return Some(toggle_focus(state));
    }
    if state.focus != Focus::Reports {
        return None;
    }
    // Another build opened meanwhile (a new run, the palette), without reports: the panel is
    // gone, so the keys are the log's again.
    if state.build().is_none_or(|b| b.reports.is_empty()) {
        state.focus = Focus::Log;
        return None;
    }
    let n = state.build().map_or(0, |b| cases(b).len());
    let here = cursor(state);
    let last = n.saturating_sub(1);
    let to = match action {
        Action::Up => here.saturating_sub(1),
        Action::Down => (here + 1).min(last),
        Action::HalfPageUp => here.saturating_sub(5),
        Action::HalfPageDown => (here + 5).min(last),
        Action::Top => 0,
        Action::Bottom => last,
        Action::Open => return Some(open_case(state, here)),
        Action::Back => {
            state.focus = Focus::Log;
            return Some(Vec::new());
        }
        Action::FocusNext => {
            state.focus = Focus::Projects;
            return Some(Vec::new());
        }
        _ => return None,
    };
    state.report_cursor = to;
    Some(Vec::new())
}

/// `Reports`: the panel takes the keys, or gives them back to the log.
fn toggle_focus(state: &mut State) -> Vec<Effect> {
    if state.focus == Focus::Reports {
        state.focus = Focus::Log;
        return Vec::new();
    }
    match state.build() {
        Some(b) if !b.reports.is_empty() => {
            state.focus = Focus::Reports;
            state.report_cursor = cursor(state);
        }
        Some(_) => flash(
            state,
            NoticeLevel::Info,
            "no test reports in this build (a buildspec's reports: section makes them)",
        ),
        None => flash(state, NoticeLevel::Info, "no build open"),
    }
    Vec::new()
}

/// Shows case `index`'s message and jumps the log to the case's first mention.
pub fn open_case(state: &mut State, index: usize) -> Vec<Effect> {
    let Some(query) = state
        .build()
        .and_then(|b| cases(b).get(index).map(|(_, c)| mention_query(c)))
    else {
        flash(state, NoticeLevel::Info, "no failed test case to show");
        return Vec::new();
    };
    state.report_cursor = index;
    state.mode = Mode::Case { index };
    jump_to_first(state, &query)
}

/// A search for `query` whose first step starts at the log's first line (the cursor is put
/// on the last one: a forward search wraps to the top), with any filter lifted.
fn jump_to_first(state: &mut State, query: &str) -> Vec<Effect> {
    let rows = layout::log_rows(state);
    let Some(b) = state
        .open_build
        .as_ref()
        .and_then(|id| state.builds.get(id))
    else {
        return Vec::new();
    };
    let v = &mut state.log;
    v.set_filter(None, false, &b.log, rows);
    v.set_search(Matcher::new(query));
    v.count_step(&b.log);
    v.to_bottom(&b.log, rows);
    let step = v.search_begin(true, &b.log, rows);
    search_outcome(state, step)
}
