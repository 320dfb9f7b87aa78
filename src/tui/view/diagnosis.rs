//! The diagnosis overlay: one finding of the open build at a time (its phase and rule in the
//! title), with the cause, the evidence line from the log, the fix and the documentation link,
//! each wrapped to the box.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use super::Ctx;
use crate::model::Diagnosis;
use crate::tui::sanitize;
use crate::tui::state::State;

/// The widest the box gets.
const MAX_WIDTH: u16 = 100;

pub fn render(frame: &mut Frame, state: &State, ctx: &Ctx, selected: usize) {
    let Some(b) = state.build() else { return };
    let Some(d) = b.diagnoses.get(selected) else {
        return;
    };
    let width = box_width(frame.area());
    let lines = body(d, usize::from(width.saturating_sub(4)), ctx);
    let title = format!(
        " Diagnosis {}/{} · {} · {} ",
        selected + 1,
        b.diagnoses.len(),
        d.phase_name(),
        clean(&d.rule)
    );
    failure_box(frame, width, title, lines, ctx);
}

/// How wide the diagnosis and failed case (`super::case`) boxes are on `screen`.
pub(super) fn box_width(screen: Rect) -> u16 {
    MAX_WIDTH.min(screen.width.saturating_sub(4)).max(20)
}

/// A box in the middle of the screen, `width` wide and as tall as `lines` (as far as the
/// screen allows), with `title` on its border in the failed colour: the diagnosis and the
/// failed case overlays.
pub(super) fn failure_box(
    frame: &mut Frame,
    width: u16,
    title: String,
    lines: Vec<Line<'_>>,
    ctx: &Ctx,
) {
    let screen = frame.area();
    let height = u16::try_from(lines.len() + 2)
        .unwrap_or(u16::MAX)
        .min(screen.height.saturating_sub(2));
    let area = screen.centered(Constraint::Length(width), Constraint::Length(height));
    frame.render_widget(Clear, area);
    let block = Block::bordered()
        .title(title)
        .border_style(ctx.theme.failed);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    frame.render_widget(Paragraph::new(lines), inner);
}

/// The overlay's lines: a heading and the wrapped text of each part.
fn body(d: &Diagnosis, width: usize, ctx: &Ctx) -> Vec<Line<'static>> {
    let heading = ctx.theme.accent.add_modifier(Modifier::BOLD);
    let mut lines = Vec::new();
    let parts = [
        ("Cause", clean(&d.cause), Style::new()),
        ("Evidence (from the log)", clean(&d.line), ctx.theme.failed),
        ("Fix", clean(&d.fix), Style::new()),
    ];
    for (name, text, style) in parts {
        lines.push(Line::styled(format!(" {name}"), heading));
        for l in wrap(&text, width.saturating_sub(2)) {
            lines.push(Line::from(Span::styled(format!("   {l}"), style)));
        }
    }
    lines.push(Line::from(vec![
        Span::styled(" Docs ", heading),
        Span::styled(clean(&d.docs), ctx.theme.dim),
    ]));
    lines
}

/// Untrusted text as plain characters.
pub(super) fn clean(text: &str) -> String {
    sanitize::plain(&sanitize::sanitize(text)).into_owned()
}

pub use crate::tui::fit::wrap;

#[cfg(test)]
mod tests {
    use super::wrap;

    #[test]
    fn wrap_fills_lines_and_cuts_long_words() {
        assert_eq!(wrap("aaa bbb ccc ddd", 8), ["aaa bbb", "ccc ddd"]);
        assert_eq!(wrap(&"x".repeat(20), 8), ["xxxxxxxx", "xxxxxxxx", "xxxx"]);
        assert!(wrap("", 10).is_empty());
    }
}
