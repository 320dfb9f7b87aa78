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
/// Hints while a batch's graph has the keys.
const BATCH_HINTS: [Action; 6] = [
    Action::Help,
    Action::Open,
    Action::NextFailed,
    Action::Rerun,
    Action::Builds,
    Action::Back,
];
/// Hints while the Reports panel has the keys.
const REPORT_HINTS: [Action; 5] = [
    Action::Help,
    Action::Down,
    Action::Open,
    Action::Reports,
    Action::Back,
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
        Mode::Palette { query, .. } => {
            // The candidates, so a name can be completed (tab) without the overlay.
            let names: Vec<&str> = crate::tui::actions::palette_matches(state, query)
                .into_iter()
                .take(4)
                .map(|i| state.projects[i].key.name.as_str())
                .collect();
            let names = if names.is_empty() {
                "no match".to_owned()
            } else {
                names.join(" · ")
            };
            format!(":{query}▏ {names}  tab complete · enter open · esc cancel")
        }
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
        Mode::Confirm(Pending::RetryBatch { batch_id, .. }) => {
            let short = crate::tui::batch::short_id(batch_id);
            format!("retry the failed builds of batch {short} (RetryBuildBatch)? (y/n)")
        }
        Mode::Help { .. } => "j/k scroll · any other key closes help".to_owned(),
        Mode::Messages { .. } | Mode::CacheReport { .. } => {
            "j/k scroll · any other key closes".to_owned()
        }
        Mode::StartForm(_) => "tab next field · enter start (StartBuild) · esc cancel".to_owned(),
        Mode::RunForm(_) => "tab next field · space change · enter run · esc cancel".to_owned(),
        Mode::Builds { .. } => "j/k move · enter open · esc close".to_owned(),
        Mode::Diagnosis { .. } => "j/k next finding · any other key closes".to_owned(),
        Mode::Case { .. } => "j/k next failed case · any other key closes".to_owned(),
        Mode::Normal => {
            let set: &[Action] =
                if state.focus == Focus::Log && crate::tui::batch::graph_shown(state) {
                    &BATCH_HINTS
                } else if state.focus == Focus::Log {
                    &LOG_HINTS
                } else if state.focus == Focus::Reports {
                    &REPORT_HINTS
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

/// Columns the key hints keep beside a flash (the help key at least).
const HINTS_MIN: u16 = 12;

/// The flash as it fits in `width` columns: its first line, cut with an ellipsis, and the key
/// of the messages overlay when there is more (later lines, or what was cut).
#[must_use]
pub fn flash_text(text: &str, width: usize, key: &str) -> String {
    let first = text.lines().next().unwrap_or_default().trim_end();
    let more = text.lines().nth(1).is_some();
    let hint = format!(" · {key} details");
    if !more && first.chars().count() <= width {
        return first.to_owned();
    }
    if key.is_empty() {
        return crate::tui::fit::ellipsize(first, width);
    }
    let room = width.saturating_sub(hint.chars().count());
    let cut = if more && first.chars().count() <= room {
        first.to_owned()
    } else {
        crate::tui::fit::ellipsize(first, room)
    };
    format!("{cut}{hint}")
}

pub fn render(frame: &mut Frame, area: Rect, state: &State, ctx: &Ctx) {
    // A flash takes what it needs, leaving the hints a few columns; a long one is cut and
    // points at the messages overlay, which has it whole.
    let room = usize::from(area.width.saturating_sub(HINTS_MIN + 1));
    let key = ctx
        .keymap
        .keys(Action::Messages)
        .first()
        .map(ToString::to_string)
        .unwrap_or_default();
    let text = state
        .flash
        .as_ref()
        .map(|f| flash_text(&f.text, room, &key));
    // A space either side keeps it apart from the hints.
    let flash_w = text.as_ref().map_or(0, |t| {
        u16::try_from(t.chars().count() + 2).unwrap_or(u16::MAX)
    });
    let [left, right] =
        Layout::horizontal([Constraint::Fill(1), Constraint::Length(flash_w)]).areas(area);
    frame.render_widget(Paragraph::new(hints(state, ctx)), left);
    if let (Some(f), Some(text)) = (&state.flash, text) {
        frame.render_widget(
            Paragraph::new(format!(" {text} "))
                .style(ctx.theme.level(f.level))
                .right_aligned(),
            right,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::flash_text;

    #[test]
    fn a_flash_shows_its_first_line_and_points_at_the_rest() {
        assert_eq!(flash_text("saved", 40, "E"), "saved");
        assert_eq!(
            flash_text("invalid buildspec\nbuildspec.yml:3:5: bad", 40, "E"),
            "invalid buildspec · E details"
        );
        let long = "x".repeat(60);
        let cut = flash_text(&long, 40, "E");
        assert_eq!(cut.chars().count(), 40);
        assert!(cut.ends_with("… · E details"), "{cut}");
        assert_eq!(flash_text(&long, 10, "").chars().count(), 10);
    }
}
