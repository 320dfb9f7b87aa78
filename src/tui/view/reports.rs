//! The Reports panel under the phases: a row per report group ([`ReportBar`]), then the
//! failed cases of every group ([`CaseRow`]), scrolled so the cursor stays in view. Its
//! border is the accent colour while it has the keys.

use std::fmt::Write as _;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::widgets::Block;

use super::Ctx;
use crate::tui::reports::{cases, cursor};
use crate::tui::state::{Build, Focus, State};
use crate::tui::widgets::reports::{CaseRow, ReportBar};

pub fn render(frame: &mut Frame, area: Rect, state: &State, b: &Build, ctx: &Ctx) {
    let t = ctx.theme;
    let focused = state.focus == Focus::Reports;
    let list = cases(b);
    let more: u64 = b
        .reports
        .iter()
        .filter_map(|r| match &r.body {
            crate::model::ReportBody::Test(t) => Some(t.failed_more),
            crate::model::ReportBody::Coverage(_) => None,
        })
        .sum();
    let mut title = format!(" Reports · {} failed case", list.len());
    if list.len() != 1 {
        title.push('s');
    }
    if more > 0 {
        let _ = write!(title, " (+{more})");
    }
    if !focused && !list.is_empty() {
        let key = ctx.keymap.label(crate::tui::keymap::Action::Reports);
        let _ = write!(title, " · {key} to browse");
    }
    title.push(' ');
    let block = Block::bordered()
        .title(title)
        .border_style(if focused { t.accent } else { t.dim });
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let mut y = inner.y;
    for report in &b.reports {
        if y >= inner.bottom() {
            return;
        }
        frame.render_widget(
            ReportBar { report, theme: t },
            Rect::new(inner.x, y, inner.width, 1),
        );
        y += 1;
    }
    let rows = usize::from(inner.bottom().saturating_sub(y));
    let here = cursor(state);
    let first = here.saturating_sub(rows.saturating_sub(1));
    for (i, (group, case)) in list.iter().enumerate().skip(first).take(rows) {
        frame.render_widget(
            CaseRow {
                group,
                case,
                theme: t,
                selected: focused && i == here,
            },
            Rect::new(inner.x, y, inner.width, 1),
        );
        y += 1;
    }
}
