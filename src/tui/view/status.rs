//! The bottom line: the keys that apply in the current mode (from the keymap) on the left,
//! a flash message (errors, notices) on the right.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::Ctx;
use crate::tui::keymap::Action;
use crate::tui::state::{Focus, Mode, Pending, State};

/// Hints for normal mode, by focus.
const PROJECT_HINTS: [Action; 8] = [
    Action::Help,
    Action::Quit,
    Action::Rerun,
    Action::Builds,
    Action::Palette,
    Action::NextGroup,
    Action::FocusNext,
    Action::Stop,
];
const LOG_HINTS: [Action; 8] = [
    Action::Help,
    Action::Search,
    Action::SearchNext,
    Action::FilterMatches,
    Action::Bottom,
    Action::NextPhase,
    Action::Wrap,
    Action::Back,
];

fn hints(state: &State, ctx: &Ctx) -> Line<'static> {
    let t = ctx.theme;
    let text = match &state.mode {
        Mode::Palette { query, .. } => format!(":{query}▏  enter open · esc cancel"),
        Mode::Search { query } => format!("/{query}▏  enter search · esc cancel"),
        Mode::Confirm(Pending::Quit) => "a build is running: quit anyway? (y/n)".to_owned(),
        Mode::Confirm(Pending::Stop(id)) => format!("stop {id}? (y/n)"),
        Mode::Confirm(Pending::Start(p)) => {
            format!(
                "start a CodeBuild build of {} in {}? (y/n)",
                p.name, p.group
            )
        }
        Mode::Confirm(Pending::Retry { build, .. }) => {
            format!("retry {build} in CodeBuild (RetryBuild)? (y/n)")
        }
        Mode::Help => "any key closes help".to_owned(),
        Mode::StartForm(_) => "tab next field · enter start (StartBuild) · esc cancel".to_owned(),
        Mode::Builds { .. } => "j/k move · enter open · esc close".to_owned(),
        Mode::Diagnosis { .. } => "j/k next finding · any other key closes".to_owned(),
        Mode::Normal => {
            let set: &[Action] = if state.focus == Focus::Log {
                &LOG_HINTS
            } else {
                &PROJECT_HINTS
            };
            let mut spans = Vec::new();
            for a in set {
                let key = ctx
                    .keymap
                    .keys(*a)
                    .first()
                    .map(ToString::to_string)
                    .unwrap_or_default();
                spans.push(Span::styled(format!(" {key}"), t.accent));
                spans.push(Span::raw(format!(" {}", a.describe())));
            }
            return Line::from(spans);
        }
    };
    Line::styled(format!(" {text}"), t.in_progress)
}

pub fn render(frame: &mut Frame, area: Rect, state: &State, ctx: &Ctx) {
    let flash_w = state.flash.as_ref().map_or(0, |f| {
        u16::try_from(f.text.chars().count() + 2).unwrap_or(u16::MAX)
    });
    let [left, right] = Layout::horizontal([
        Constraint::Fill(1),
        Constraint::Length(flash_w.min(area.width / 2)),
    ])
    .areas(area);
    frame.render_widget(Paragraph::new(hints(state, ctx)), left);
    if let Some(f) = &state.flash {
        frame.render_widget(
            Paragraph::new(format!("{} ", f.text))
                .style(ctx.theme.level(f.level))
                .right_aligned(),
            right,
        );
    }
}
