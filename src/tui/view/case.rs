//! The failed case overlay (`open` on a case in the Reports panel): its group, status and
//! name in the title, its prefix and duration, and its message wrapped to the box. The
//! message is a test's output: untrusted, sanitized before it is drawn.

use ratatui::Frame;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};

use super::Ctx;
use super::diagnosis::{box_width, clean, failure_box};
use crate::tui::fit::wrap;
use crate::tui::reports::cases;
use crate::tui::state::State;
use crate::tui::view::fmt_ms;

/// Lines of the message shown at most (the rest is in the log).
const MAX_LINES: usize = 30;

pub fn render(frame: &mut Frame, state: &State, ctx: &Ctx, index: usize) {
    let Some(b) = state.build() else { return };
    let list = cases(b);
    let Some((group, case)) = list.get(index) else {
        return;
    };
    let t = ctx.theme;
    let width = box_width(frame.area());
    let text_w = usize::from(width.saturating_sub(4));
    let heading = t.accent.add_modifier(Modifier::BOLD);
    let mut lines = Vec::new();
    if !case.prefix.is_empty() {
        lines.push(Line::from(vec![
            Span::styled(" In ", heading),
            Span::raw(clean(&case.prefix)),
        ]));
    }
    if let Some(ms) = case.duration_ms {
        lines.push(Line::from(vec![
            Span::styled(" Took ", heading),
            Span::raw(fmt_ms(ms)),
        ]));
    }
    lines.push(Line::styled(" Message", heading));
    let message = case.message.as_deref().unwrap_or("(no message)");
    // Line by line: a line break is a control character to the sanitizer.
    let mut body: Vec<String> = message
        .lines()
        .map(clean)
        .flat_map(|l| {
            if l.trim().is_empty() {
                vec![String::new()]
            } else {
                wrap(&l, text_w.saturating_sub(2))
            }
        })
        .collect();
    if body.len() > MAX_LINES {
        body.truncate(MAX_LINES);
        body.push("…".to_owned());
    }
    lines.extend(
        body.into_iter()
            .map(|l| Line::styled(format!("   {l}"), t.failed)),
    );
    let title = format!(
        " {} {}/{} · {} · {} ",
        case.status.as_str(),
        index + 1,
        list.len(),
        clean(group),
        clean(&case.name)
    );
    let title = crate::tui::fit::ellipsize(&title, usize::from(width.saturating_sub(2)));
    failure_box(frame, width, title, lines, ctx);
}
