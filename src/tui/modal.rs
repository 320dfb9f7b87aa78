//! The modal inputs that take keys before the keymap does: the palette, the search prompt,
//! a confirmation, the builds list, the diagnosis, help and messages overlays, and the `R`
//! forms ([`super::form`]). Part of the pure reducer: no IO. The actions they lead to are in
//! [`super::actions`].

use super::actions::{confirm, open, palette_matches, run_search, select};
use super::batch_actions::Entry;
use super::keymap::{Key, KeyCode};
use super::msg::Effect;
use super::state::{Focus, Mode, Pending, State};
use super::update::flash;
use crate::model::NoticeLevel;

/// Keys for the modal inputs; `None` when the key goes to the keymap.
pub fn text_input(state: &mut State, key: Key) -> Option<Vec<Effect>> {
    let mode = std::mem::take(&mut state.mode);
    let typed = match key.code {
        KeyCode::Char(c) if !key.ctrl && !key.alt => Some(c),
        _ => None,
    };
    match mode {
        Mode::Normal => return None,
        Mode::Help { scroll } => {
            if let Some(scroll) = scrolled(key, typed, scroll) {
                state.mode = Mode::Help { scroll };
            }
        }
        Mode::Messages { scroll } => {
            if let Some(scroll) = scrolled(key, typed, scroll) {
                let rows = state.messages.iter().map(|m| m.text.lines().count() + 2);
                let max = u16::try_from(rows.sum::<usize>()).unwrap_or(u16::MAX);
                state.mode = Mode::Messages {
                    scroll: scroll.min(max),
                };
            }
        }
        Mode::RunForm(form) => return Some(super::form::run_key(state, key, typed, form)),
        Mode::Confirm(pending) => {
            // A second Ctrl-C confirms quitting, as in a shell.
            let again = pending == Pending::Quit && key.ctrl && key.code == KeyCode::Char('c');
            if matches!(typed, Some('y' | 'Y')) || key.code == KeyCode::Enter || again {
                return Some(confirm(state, pending));
            }
            flash(state, NoticeLevel::Info, "cancelled");
        }
        Mode::Palette {
            mut query,
            mut selected,
        } => {
            match (key.code, typed) {
                (KeyCode::Enter, _) => {
                    let hits = palette_matches(state, &query);
                    if let Some(&i) = hits.get(selected.min(hits.len().saturating_sub(1))) {
                        let fx = select(state, i);
                        state.focus = Focus::Log;
                        return Some(fx);
                    }
                    flash(
                        state,
                        NoticeLevel::Warning,
                        format!("no project matches '{query}'"),
                    );
                    return Some(Vec::new());
                }
                (KeyCode::Esc, _) => return Some(Vec::new()),
                (KeyCode::Backspace, _) => {
                    query.pop();
                    selected = 0;
                }
                // Tab completes the query to the highlighted candidate's name.
                (KeyCode::Tab, _) => {
                    let hits = palette_matches(state, &query);
                    if let Some(&i) = hits.get(selected.min(hits.len().saturating_sub(1))) {
                        query.clone_from(&state.projects[i].key.name);
                        selected = 0;
                    }
                }
                (KeyCode::Down, _) => selected += 1,
                (KeyCode::Up, _) => selected = selected.saturating_sub(1),
                (_, Some(c)) => {
                    query.push(c);
                    selected = 0;
                }
                _ => {}
            }
            state.mode = Mode::Palette { query, selected };
        }
        Mode::Search { mut query } => match (key.code, typed) {
            (KeyCode::Enter, _) => return Some(run_search(state, &query)),
            (KeyCode::Esc, _) => {}
            (KeyCode::Backspace, _) => {
                query.pop();
                state.mode = Mode::Search { query };
            }
            (_, Some(c)) => {
                query.push(c);
                state.mode = Mode::Search { query };
            }
            _ => state.mode = Mode::Search { query },
        },
        Mode::Builds { selected } => return Some(builds_key(state, key, typed, selected)),
        Mode::StartForm(form) => return Some(super::form::key(state, key, typed, form)),
        Mode::Diagnosis { selected } => diagnosis_key(state, key, typed, selected),
        Mode::Case { index } => return Some(case_key(state, key, typed, index)),
        Mode::CacheReport { scroll } => {
            if let Some(scroll) = scrolled(key, typed, scroll) {
                state.mode = Mode::CacheReport { scroll };
            }
        }
    }
    Some(Vec::new())
}

/// j/k, the arrows and the page keys scroll an overlay; `None`: any other key (it closes).
fn scrolled(key: Key, typed: Option<char>, scroll: u16) -> Option<u16> {
    match (key.code, typed) {
        (KeyCode::Down, _) | (_, Some('j')) => Some(scroll.saturating_add(1)),
        (KeyCode::Up, _) | (_, Some('k')) => Some(scroll.saturating_sub(1)),
        (KeyCode::PageDown, _) => Some(scroll.saturating_add(10)),
        (KeyCode::Char('d'), _) if key.ctrl => Some(scroll.saturating_add(10)),
        (KeyCode::PageUp, _) => Some(scroll.saturating_sub(10)),
        (KeyCode::Char('u'), _) if key.ctrl => Some(scroll.saturating_sub(10)),
        (KeyCode::Home, _) | (_, Some('g')) => Some(0),
        _ => None,
    }
}

/// j/k (or the arrows) move between the findings; any other key closes the overlay.
fn diagnosis_key(state: &mut State, key: Key, typed: Option<char>, selected: usize) {
    let count = state.build().map_or(0, |b| b.diagnoses.len());
    let selected = match (key.code, typed) {
        (KeyCode::Down, _) | (_, Some('j')) => (selected + 1).min(count.saturating_sub(1)),
        (KeyCode::Up, _) | (_, Some('k')) => selected.saturating_sub(1),
        _ => return,
    };
    state.mode = Mode::Diagnosis { selected };
}

/// j/k (or the arrows) show the next or previous failed case (the log jumps with them); any
/// other key closes the overlay.
fn case_key(state: &mut State, key: Key, typed: Option<char>, index: usize) -> Vec<Effect> {
    let count = state.build().map_or(0, |b| super::reports::cases(b).len());
    let next = match (key.code, typed) {
        (KeyCode::Down, _) | (_, Some('j')) => (index + 1).min(count.saturating_sub(1)),
        (KeyCode::Up, _) | (_, Some('k')) => index.saturating_sub(1),
        _ => return Vec::new(),
    };
    if next == index {
        state.mode = Mode::Case { index };
        return Vec::new();
    }
    super::reports::open_case(state, next)
}

fn builds_key(state: &mut State, key: Key, typed: Option<char>, selected: usize) -> Vec<Effect> {
    let list = super::batch_actions::entries(state);
    let selected = match (key.code, typed) {
        (KeyCode::Down, _) | (_, Some('j')) => (selected + 1).min(list.len().saturating_sub(1)),
        (KeyCode::Up, _) | (_, Some('k')) => selected.saturating_sub(1),
        (KeyCode::Enter, _) => {
            match list.get(selected) {
                Some(Entry::Batch(id)) => super::batch_actions::open_from_list(state, id.clone()),
                Some(Entry::Build(id, _, true)) => open(state, id.clone()),
                // A past build: followed from CodeBuild, or replayed from the run history.
                Some(Entry::Build(id, _, false)) => {
                    let project = state.project().map(|p| p.key.clone());
                    return project.map_or_else(Vec::new, |project| {
                        flash(state, NoticeLevel::Info, format!("opening {id}"));
                        vec![Effect::FollowBuild {
                            project,
                            build: id.clone(),
                        }]
                    });
                }
                None => {}
            }
            return Vec::new();
        }
        _ => return Vec::new(),
    };
    state.mode = Mode::Builds { selected };
    Vec::new()
}
